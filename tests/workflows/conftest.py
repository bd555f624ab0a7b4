"""Fixtures of the workflow tests: the real workflow files and the bad/good fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

from test_app_tooling.tools import REPO


WORKFLOWS = REPO / ".github" / "workflows"
FIXTURES = Path(__file__).parent / "fixtures"


def workflow_files() -> list[Path]:
    return sorted(WORKFLOWS.glob("*.yml")) + sorted(WORKFLOWS.glob("*.yaml"))


@pytest.fixture(scope="session")
def workflows() -> list[Path]:
    files = workflow_files()
    # A check that finds nothing to check must fail, not pass vacuously.
    assert len(files) >= 4, f"expected the project's workflows in {WORKFLOWS}, found {files}"
    return files
