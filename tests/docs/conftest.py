"""Load the docs scripts (scripts/diagrams.py, scripts/scaling_table.py) as modules."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest


REPO = Path(__file__).resolve().parents[2]


def load_script(name: str) -> ModuleType:
    """Import scripts/<name>.py under a name that cannot shadow a library (`diagrams`)."""
    module_name = f"_docs_script_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, REPO / "scripts" / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def diagrams_script() -> ModuleType:
    return load_script("diagrams")


@pytest.fixture(scope="session")
def scaling_script() -> ModuleType:
    return load_script("scaling_table")
