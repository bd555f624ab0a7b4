"""actionlint (with shellcheck) and zizmor on every workflow; each shown to reject a bad one."""

from __future__ import annotations

import json
import subprocess

import pytest
from workflows.conftest import FIXTURES, workflow_files

from test_app_tooling.tools import REPO


LINTERS = FIXTURES / "linters"


def actionlint(tool, *paths) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool("actionlint"), "-no-color", "-shellcheck", tool("shellcheck"), *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def zizmor(tool, *paths) -> subprocess.CompletedProcess[str]:
    # Pedantic persona: stricter than the default; --offline: no GitHub API calls.
    return subprocess.run(
        [
            tool("zizmor"),
            "--offline",
            "--persona",
            "pedantic",
            "--format",
            "json",
            *map(str, paths),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=REPO,
    )


@pytest.mark.parametrize("path", workflow_files(), ids=lambda p: p.name)
def test_actionlint_accepts_the_workflow(tool, path):
    result = actionlint(tool, path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_rejects_a_bad_workflow(tool):
    result = actionlint(tool, LINTERS / "actionlint-bad.yml")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "no-such-job" in result.stdout
    assert "SC2086" in result.stdout


def test_zizmor_finds_nothing_in_the_workflows(tool, workflows):
    result = zizmor(tool, "--collect=workflows,dependabot", ".github")
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout) == []
    # It must actually have audited every workflow and Dependabot (not zero files).
    assert "completed .github/dependabot.yml" in result.stderr, result.stderr
    for path in workflows:
        assert f"completed .github/workflows/{path.name}" in result.stderr, result.stderr


def test_zizmor_rejects_a_bad_workflow(tool):
    result = zizmor(tool, LINTERS / "zizmor-bad.yml")
    assert result.returncode != 0
    found = {finding["ident"] for finding in json.loads(result.stdout)}
    assert {"unpinned-uses", "template-injection", "artipacked"} <= found, found
