"""`make help`: grouped by area, one column as wide as the longest target, colour only on a
terminal and never with NO_COLOR."""

from __future__ import annotations

import os
import pty
import re
import subprocess

from test_app_tooling.tools import REPO


DOCUMENTED = re.compile(r"^([a-zA-Z0-9_.-]+):.*## ", re.MULTILINE)
ESCAPE = "\x1b["


def documented_targets() -> list[str]:
    files = [REPO / "Makefile", *sorted((REPO / "mk").glob("*.mk"))]
    return [t for path in files for t in DOCUMENTED.findall(path.read_text(encoding="utf-8"))]


def make_help(env: dict[str, str] | None = None, *, terminal: bool = False) -> str:
    environ = {k: v for k, v in os.environ.items() if k != "NO_COLOR"} | (env or {})
    if not terminal:
        return subprocess.run(
            ["make", "--no-print-directory", "help"],
            cwd=REPO, env=environ, capture_output=True, text=True, check=True, timeout=60,
        ).stdout  # fmt: skip
    leader, follower = pty.openpty()
    with subprocess.Popen(
        ["make", "--no-print-directory", "help"], cwd=REPO, env=environ, stdout=follower
    ) as process:
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal closed when make exited
                break
            if not chunk:
                break
            chunks.append(chunk)
        process.wait(timeout=60)
    os.close(leader)
    return b"".join(chunks).decode()


def test_every_documented_target_is_listed_once_under_its_area():
    targets = documented_targets()
    assert len(targets) > 20, "too few documented targets to be the real Makefile"
    text = make_help()
    listed = [line.split()[0] for line in text.splitlines() if line.startswith("  ")]
    assert sorted(listed) == sorted(targets)
    headings = [line for line in text.splitlines() if line and not line.startswith(" ")]
    assert headings[0] == "General"
    assert len(headings) == 1 + len(list((REPO / "mk").glob("*.mk")))
    assert "Observability" in headings


def test_the_description_column_fits_the_longest_target():
    width = max(len(t) for t in documented_targets())
    for line in make_help().splitlines():
        if line.startswith("  "):
            target = line.split()[0]
            assert line[2 + width : 2 + width + 2] == "  ", line
            assert line[2 + width + 2] != " ", f"{target}: description not in the column"


def test_colour_only_on_a_terminal_without_no_color():
    assert ESCAPE not in make_help()
    assert ESCAPE not in make_help({"NO_COLOR": "1"}, terminal=True)
    assert ESCAPE in make_help(terminal=True)
