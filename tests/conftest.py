"""Fixtures shared by every test area."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from support.tools import REPO, find_tool


@pytest.fixture(scope="session")
def repo_root():
    return REPO


@pytest.fixture(scope="session")
def tool() -> Callable[[str], str]:
    """`tool("promtool")` returns the tool's path or fails the test if it is missing."""
    return find_tool
