"""Fixtures of the observability tests: the rule files, their alerts, the dashboards."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from test_app_tooling.tools import REPO


OBSERVABILITY = REPO / "observability"
RULES = OBSERVABILITY / "rules"
DASHBOARDS = OBSERVABILITY / "dashboards"


def _nonempty(paths: list[Path], what: str) -> list[Path]:
    if not paths:
        pytest.fail(f"found no {what}: nothing to check")
    return paths


@pytest.fixture(scope="session")
def rule_files() -> list[Path]:
    return _nonempty(sorted(RULES.glob("*.yaml")), "rule files in observability/rules")


@pytest.fixture(scope="session")
def rules(rule_files: list[Path]) -> list[dict[str, Any]]:
    """Every rule of every rule file, with the file name under `_file`."""
    found = []
    for path in rule_files:
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]:
            found += [rule | {"_file": path.name} for rule in group["rules"]]
    return found


@pytest.fixture(scope="session")
def alerts(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = [rule for rule in rules if "alert" in rule]
    if not found:
        pytest.fail("no alerting rule found")
    return found


@pytest.fixture(scope="session")
def dashboards() -> dict[str, dict[str, Any]]:
    paths = _nonempty(sorted(DASHBOARDS.glob("*.json")), "dashboards")
    return {path.name: json.loads(path.read_text(encoding="utf-8")) for path in paths}


@pytest.fixture
def observability_module():
    """Import a module of observability/ by bare name (pytest's `pythonpath`)."""

    def load(name: str) -> ModuleType:
        return importlib.import_module(name)

    return load


@pytest.fixture(scope="session")
def dashboard_queries(dashboards: dict[str, dict[str, Any]]) -> list[tuple[str, str, str]]:
    """(dashboard file, panel title, PromQL) of every query, panels inside rows included."""
    found = []
    for name, dashboard in dashboards.items():
        panels = list(dashboard.get("panels", []))
        while panels:
            panel = panels.pop()
            panels += panel.get("panels", [])
            found += [
                (name, panel["title"], target["expr"])
                for target in panel.get("targets", [])
                if "expr" in target
            ]
    if not found:
        pytest.fail("the dashboards hold no PromQL query")
    return found
