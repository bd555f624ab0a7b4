"""Locate the repository and the command-line tools the project drives."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


# tooling/src/test_app_tooling/tools.py -> the repository root (installed editable).
REPO = Path(__file__).resolve().parents[3]


class MissingToolError(FileNotFoundError):
    """A command-line tool the project needs is not installed."""


def find_tool(name: str) -> str:
    """Return the path of `name`, looking in the project's environments first, then PATH.

    Raises `MissingToolError` with an install hint when the tool is missing (the tests' `tool`
    fixture turns it into a failure, never a skip).
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
    raise MissingToolError(f"required tool {name!r} is not installed; run `scripts/bootstrap`")
