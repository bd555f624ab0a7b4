"""Fixtures of the chart tests: every value set rendered once per session."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from test_app_tooling.helm_render import VALUE_SETS, load_values, render


@pytest.fixture(scope="session")
def rendered_sets() -> dict[str, list[dict[str, Any]]]:
    """Every value set rendered once."""
    return {name: render(load_values(files, extra)) for name, (files, extra) in VALUE_SETS.items()}


@pytest.fixture(params=sorted(VALUE_SETS))
def value_set(request: pytest.FixtureRequest) -> str:
    """Each value set's name."""
    name: str = request.param
    return name


@pytest.fixture
def objects(rendered_sets: dict[str, list[dict[str, Any]]], value_set: str) -> list[dict[str, Any]]:
    """The objects of one value set (the test runs once per set)."""
    return rendered_sets[value_set]


@pytest.fixture(scope="session")
def rendered_dir(
    rendered_sets: dict[str, list[dict[str, Any]]], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """Every value set written as one manifest file each (for checkov)."""
    directory = tmp_path_factory.mktemp("rendered")
    for name, objs in rendered_sets.items():
        (directory / f"{name}.yaml").write_text(
            yaml.safe_dump_all(objs, sort_keys=False), encoding="utf-8"
        )
    return directory
