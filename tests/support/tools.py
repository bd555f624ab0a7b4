"""Locate the command-line tools the tests drive. A missing tool fails the test, never skips it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest


REPO = Path(__file__).resolve().parents[2]


def find_tool(name: str) -> str:
    """Return the path of `name`, looking in the project's environments first, then PATH.

    Fails the calling test with an install hint when the tool is missing.
    """
    candidates = [REPO / ".venv" / "bin" / name]
    venvs = REPO / ".venvs"
    if venvs.is_dir():
        candidates += sorted(venvs.glob(f"*/bin/{name}"))
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which(name)
    if found:
        return found
    pytest.fail(f"required tool {name!r} is not installed; run `scripts/bootstrap`", pytrace=False)
