"""Locate the repository and the command-line tools the project drives."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path


# tooling/src/test_app_tooling/tools.py -> the repository root (installed editable).
REPO = Path(__file__).resolve().parents[3]
# The Node.js tools scripts/bootstrap installs from tooling/node/package-lock.json.
NODE_BIN = REPO / "tooling" / "node" / "node_modules" / ".bin"


class MissingToolError(FileNotFoundError):
    """A command-line tool the project needs is not installed."""


class ToolFailedError(RuntimeError):
    """A command-line tool exited non-zero; the message names the command and what it said."""


def find_tool(name: str, *, path: bool = True) -> str:
    """Return the path of `name`, looking in the project's environments first, then PATH.

    The environments are .venv, .venvs/* and the Node.js tools of tooling/node. With
    `path=False` only they count: for a tool a Debian package also ships in another version
    (Patroni), or that must be this checkout's (the app).

    Raises `MissingToolError` with an install hint when the tool is missing (the tests' `tool`
    fixture turns it into a failure, never a skip).
    """
    candidates = [REPO / ".venv" / "bin" / name, NODE_BIN / name]
    venvs = REPO / ".venvs"
    if venvs.is_dir():
        candidates += sorted(venvs.glob(f"*/bin/{name}"))
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which(name) if path else None
    if found:
        return found
    where = "" if path else " in the project's environments (.venv, .venvs)"
    raise MissingToolError(
        f"required tool {name!r} is not installed{where}; run `scripts/bootstrap`"
    )


def run_tool(
    name: str,
    *args: str,
    check: bool = True,
    cwd: Path | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Run tool `name` (found by `find_tool`) with `args`, capturing its text output.

    With `check` a non-zero exit raises `ToolFailedError` naming the command, its exit status
    and its standard error (its standard output when that is empty).
    """
    result = subprocess.run(
        [find_tool(name), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and result.returncode != 0:
        said = (result.stderr.strip() or result.stdout.strip()) or "no output"
        raise ToolFailedError(f"{name} {' '.join(args)} failed (exit {result.returncode}): {said}")
    return result
