"""The shared names of docs/conventions.md are the ones the code uses."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import hcl2
import pytest
import yaml

from test_app_tooling.helm_render import app_container, chart_values, render_value_set


REPO = Path(__file__).resolve().parents[2]
CONVENTIONS = (REPO / "docs" / "conventions.md").read_text()
APP_SOURCE = "\n".join(p.read_text() for p in sorted((REPO / "app" / "src").rglob("*.py")))


def convention(thing: str) -> str:
    """The first backticked value in the Names table row whose first cell starts with `thing`."""
    for line in CONVENTIONS.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        match = re.search(r"`([^`]+)`", cells[1]) if len(cells) >= 2 else None
        if match and cells[0].startswith(thing):
            return match.group(1)
    pytest.fail(f"docs/conventions.md has no row starting with {thing!r}")


def tfvars(env: str, stack: str) -> dict[str, Any]:
    with (REPO / "infra" / "envs" / env / f"{stack}.tfvars").open() as handle:
        raw = hcl2.load(handle)
    return {k: v.strip('"') if isinstance(v, str) else v for k, v in raw.items()}


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_region_kubernetes_version_and_names_match_the_environments(env):
    region = convention("AWS region")
    assert region == "eu-central-1"
    assert tfvars(env, "network")["region"] == region
    assert tfvars(env, "cluster")["cluster_version"] == convention("EKS / Kubernetes version")
    assert tfvars(env, "registry")["repository_name"] == convention("app, image, chart")
    project = tomllib.loads((REPO / "infra" / "envs" / "project.toml").read_text())
    assert project["github_repository"] == convention("GitHub repository")
    assert chart_values([f"values-{env}.yaml"])["environment"] == env
    assert (
        f'region       = "{region}"'
        in (REPO / "infra" / "envs" / env / "backend.tfbackend").read_text()
    )


def test_the_platform_and_chart_use_the_conventions():
    addons = yaml.safe_load((REPO / "platform" / "addons.yaml").read_text())
    assert addons["kubernetesVersion"] == convention("EKS / Kubernetes version")
    values = chart_values()
    assert values["image"]["repository"] == convention("app, image, chart")
    assert values["image"]["ecr"]["region"] == convention("AWS region")
    assert values["podSecurityContext"]["runAsUser"] == 10001
    assert values["podSecurityContext"]["runAsGroup"] == 10001
    assert "UID `10001`, GID `10001`" in CONVENTIONS
    port, name = re.findall(r"`([^`]+)`", next(
        line for line in CONVENTIONS.splitlines() if line.startswith("| container port")
    ))  # fmt: skip
    ports = app_container(render_value_set("defaults"))["ports"]
    assert {"name": name, "containerPort": int(port), "protocol": "TCP"} in ports, ports
    namespaces = (REPO / "platform" / "manifests" / "namespaces.yaml").read_text()
    assert f"name: {convention('Kubernetes namespace of the app')}" in namespaces
    assert f"name: {convention('monitoring namespace')}" in namespaces


def test_every_documented_variable_and_metric_exists_in_the_service():
    variables = re.findall(r"^\| `([A-Z_]+)`(?: / `([A-Z_]+)`)? \|", CONVENTIONS, re.MULTILINE)
    names = [n for pair in variables for n in pair if n]
    assert len(names) >= 15, f"expected the environment table, found {names}"
    missing = [n for n in names if f'"{n}"' not in APP_SOURCE]
    assert missing == [], f"documented but not read by app/src: {missing}"
    metrics = re.findall(r"^\| `(test_app_[a-z_]+)` \|", CONVENTIONS, re.MULTILINE)
    assert len(metrics) >= 10
    # prometheus_client appends `_total` to counters itself.
    bare = [m.removeprefix("test_app_").removesuffix("_total") for m in metrics]
    absent = [m for m in bare if m not in APP_SOURCE]
    assert absent == [], f"documented metrics not defined in app/src: {absent}"


TRACKER_WORDS = re.compile(r"\bissues?\b|\btracker\b", re.IGNORECASE)


def test_docs_and_make_files_speak_without_the_issue_tracker():
    """The repository explains itself: no "issue 5", "issue" columns or tracker references."""
    files = [
        *REPO.glob("*.md"),
        *(REPO / "docs").rglob("*.md"),
        *(REPO / "mk").glob("*.mk"),
        REPO / "Makefile",
        *(REPO / "infra").rglob("README.md"),
        *(REPO / "tooling").glob("*.md"),
    ]
    assert len(files) > 30, files
    found = [
        f"{path.relative_to(REPO)}:{number}: {line.strip()}"
        for path in files
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if TRACKER_WORDS.search(line)
    ]
    assert not found, "\n".join(found)


# The groups keep this pattern's own source from matching it.
PATH_HACKS = re.compile(
    r"\bspec_from_(file)_location\b|\bsys\.path\s*(\.(insert|append|extend)|\+?=)"
)


def test_project_code_imports_without_path_hacks():
    """One way to import project code: installed packages or pytest's pythonpath."""
    listed = subprocess.run(
        ["git", "ls-files", "*.py"], cwd=REPO, capture_output=True, text=True, check=True
    )
    files = [REPO / name for name in listed.stdout.split()]
    assert len(files) > 50, files
    found = [
        f"{path.relative_to(REPO)}:{number}: {line.strip()}"
        for path in files
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if PATH_HACKS.search(line)
    ]
    assert not found, "\n".join(found)


SCRIPT_PATH = re.compile(r"\bscripts/[A-Za-z0-9_/.-]*[A-Za-z0-9_]")


def test_every_script_the_repository_names_exists():
    """Docs, workflows, make files and configuration name only scripts that exist (not tests)."""
    listed = subprocess.run(
        ["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True
    )
    files = [REPO / name for name in listed.stdout.split() if not name.startswith("tests/")]
    named = [
        (f"{path.relative_to(REPO)}:{number}", match)
        for path in files
        if path.is_file()
        for number, line in enumerate(
            path.read_text(encoding="utf-8", errors="replace").splitlines(), 1
        )
        for match in SCRIPT_PATH.findall(line)
    ]
    assert len(named) > 100, "the scan found almost no script names"
    missing = [f"{where}: {name}" for where, name in named if not (REPO / name).exists()]
    assert not missing, "\n".join(missing)
