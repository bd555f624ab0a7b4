"""The docs scripts (scripts/draw_diagrams.py, scripts/scaling_table.py) as fixtures."""

from __future__ import annotations

from types import ModuleType

import pytest

import draw_diagrams
import scaling_table


@pytest.fixture(scope="session")
def diagrams_script() -> ModuleType:
    return draw_diagrams


@pytest.fixture(scope="session")
def scaling_script() -> ModuleType:
    return scaling_table
