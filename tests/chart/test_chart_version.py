"""A change to the chart bumps its version (chart-testing's rule), checked against git history."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from test_app_tooling.chart_version import CHART, base_ref, parse, problem


def test_the_chart_version_is_bumped_when_the_chart_changes():
    assert problem(base_ref()) is None


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, timeout=60)


def test_an_unbumped_change_is_named_and_a_bump_passes(tmp_path: Path):
    chart = tmp_path / CHART
    chart.mkdir(parents=True)
    (chart / "Chart.yaml").write_text("name: test-app\nversion: 0.1.0\n")
    (chart / "values.yaml").write_text("replicaCount: 2\n")
    _git(tmp_path, "init", "-q", "-b", "main")
    _git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty",
         "-m", "empty")  # fmt: skip
    _git(tmp_path, "add", ".")
    _git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "chart")
    base = base_ref(tmp_path)
    assert problem(base, tmp_path) is None  # the newest chart commit against its parent: new
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=tmp_path, capture_output=True, text=True, check=True
    ).stdout.strip()
    (chart / "values.yaml").write_text("replicaCount: 3\n")
    found = problem(head, tmp_path)
    assert found is not None
    assert "values.yaml" in found
    assert "still 0.1.0" in found
    (chart / "Chart.yaml").write_text("name: test-app\nversion: 0.1.1\n")
    assert problem(head, tmp_path) is None


def test_versions_compare_as_numbers_and_a_bad_one_is_named():
    assert parse("0.10.0") > parse("0.9.9")
    with pytest.raises(ValueError, match=r"Chart\.yaml version: expected MAJOR\.MINOR\.PATCH"):
        parse("1.0")
