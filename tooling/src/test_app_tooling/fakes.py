"""Recording fakes of command-line tools, to run the project's shell scripts without a cloud.

A fake is an executable on a private PATH folder that appends its argv (one call per line) to
`$FAKE_LOG`, then runs a shell `body`. `calls` reads the log back.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Fakes:
    """A folder of fakes, their call log and the environment that puts them first on PATH."""

    bin_dir: Path
    log: Path
    env: dict[str, str]

    def add(self, name: str, body: str = "") -> Path:
        """Install a fake `name` that logs its argv, then runs `body`."""
        path = self.bin_dir / name
        path.write_text(f'#!/usr/bin/env bash\nprintf "%s\\n" "{name} $*" >> "$FAKE_LOG"\n{body}\n')
        path.chmod(0o755)
        return path

    def calls(self) -> list[list[str]]:
        """The argv of every call so far, in order."""
        return [shlex.split(line) for line in self.log.read_text().splitlines()]


def make_fakes(folder: Path) -> Fakes:
    """An empty set of fakes in `folder`; its env also isolates HOME and the Terraform cache."""
    bin_dir = folder / "bin"
    bin_dir.mkdir()
    log = folder / "calls.log"
    log.touch()
    env = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "FAKE_LOG": str(log),
        "HOME": str(folder),
        "TF_PROJECT_CACHE": str(folder / "tf-cache"),
        "TF_PROVIDER_MIRROR": "",
    }
    return Fakes(bin_dir, log, env)
