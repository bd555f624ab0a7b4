"""The Mermaid diagrams of the docs, rendered by mermaid-cli (`mmdc`) with Debian's chromium.

Each fenced `mermaid` block is rendered to SVG; a block Mermaid cannot parse or lay out is an
error naming the file and the block's first line. mermaid-cli comes from tooling/node (npm, pinned
by package-lock.json); puppeteer downloads no browser and drives the system's `chromium`.

    python -m test_app_tooling.mermaid   # render every block, exit 1 on the first error
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from test_app_tooling.tools import REPO, find_tool


# The documents whose diagrams CI renders.
DOCUMENTS = (REPO / "README.md", REPO / "docs" / "architecture.md", REPO / "docs" / "rehearsal.md")
BLOCK = re.compile(r"^```mermaid\n(.*?)^```", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Diagram:
    """One fenced mermaid block: the file, its line, its source."""

    path: Path
    line: int
    source: str


class MermaidError(RuntimeError):
    """A diagram did not render; the message names the file, the line and Mermaid's error."""


def diagrams(paths: tuple[Path, ...] = DOCUMENTS) -> list[Diagram]:
    """Every mermaid block of `paths`, in order."""
    found = []
    for path in paths:
        text = path.read_text(encoding="utf-8")
        for match in BLOCK.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            found.append(Diagram(path, line, match.group(1)))
    return found


def _first_lines(stderr: str) -> str:
    """Mermaid's message without the JavaScript stack trace under it."""
    lines = []
    for line in stderr.strip().splitlines():
        if line.startswith(("Parser.", "    at ")):
            break
        lines.append(line)
    return "\n".join(lines)


def render(diagram: Diagram, out_dir: Path) -> Path:
    """Render one diagram to SVG in `out_dir`; raise MermaidError when Mermaid fails."""
    config = out_dir / "puppeteer.json"
    # Root cannot use chromium's sandbox; the diagrams are the repository's own text.
    sandbox = ["--no-sandbox"] if os.geteuid() == 0 else []
    config.write_text(json.dumps({"executablePath": find_tool("chromium"), "args": sandbox}))
    name = f"{diagram.path.stem}-{diagram.line}"
    source, svg = out_dir / f"{name}.mmd", out_dir / f"{name}.svg"
    source.write_text(diagram.source, encoding="utf-8")
    result = subprocess.run(
        [find_tool("mmdc"), "--quiet", "-i", str(source), "-o", str(svg), "-p", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "PUPPETEER_SKIP_DOWNLOAD": "1"},
    )
    where = f"{diagram.path.relative_to(REPO)}:{diagram.line}"
    if result.returncode != 0 or not svg.is_file():
        raise MermaidError(f"{where}: mermaid failed:\n{_first_lines(result.stderr)}")
    if "<svg" not in svg.read_text(encoding="utf-8"):
        raise MermaidError(f"{where}: mermaid wrote no SVG")
    return svg


def main() -> int:
    """Render every diagram of the documents; report the first failure."""
    found = diagrams()
    if not found:
        sys.stderr.write("no mermaid block found: nothing to render\n")
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        for diagram in found:
            try:
                render(diagram, Path(tmp))
            except MermaidError as error:
                sys.stderr.write(f"{error}\n")
                return 1
            sys.stdout.write(f"rendered {diagram.path.relative_to(REPO)}:{diagram.line}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
