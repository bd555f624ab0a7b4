"""The chart README's parameters table, generated from the `##` comments of values.yaml.

The values file documents each key with `##` lines above it (prometheus-community's style).
Bitnami's readme-generator-for-helm (npm, pinned in tooling/node) writes the table, but reads
`## @param <path> <description>` lines: `annotate` turns the `##` comments into those, in a
copy, and `render` runs the generator on it. A comment documents the keys below it at its
indentation until a blank line or the next comment; a key without one takes its parent's.

    python -m test_app_tooling.chart_readme           # rewrite charts/test-app/README.md
    python -m test_app_tooling.chart_readme --check   # exit 1 when the README is stale
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from test_app_tooling.tools import REPO, run_tool


CHART = REPO / "charts" / "test-app"
README = CHART / "README.md"
KEY = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z0-9_./-]+):(?P<value>.*)$")


@dataclass
class _Level:
    indent: int
    parts: tuple[str, ...]
    doc: str = ""

    @property
    def path(self) -> str:
        """The generator's dotted name of the key."""
        return ".".join(self.parts)


def _description(lines: list[str]) -> str:
    text = " ".join(line.strip()[2:].strip() for line in lines)
    return text.replace("|", "\\|")


def _leaf_names(data: Any, parts: tuple[str, ...]) -> list[str]:  # noqa: ANN401 - parsed YAML
    """The dotted name; `name[i].key` for a list of mappings, `name[i]` for numbers."""
    path = ".".join(parts)
    value = data
    for part in parts:
        value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
        return [f"{path}[{i}].{key}" for i, item in enumerate(value) for key in item]
    if isinstance(value, list) and value and not all(isinstance(item, str) for item in value):
        # readme-generator-for-helm takes a list of strings as one parameter, but wants each
        # element of a list of numbers documented.
        return [f"{path}[{i}]" for i in range(len(value))]
    return [path]


def _next_content(lines: list[str], start: int) -> str:
    return next(
        (line for line in lines[start:] if line.strip() and not line.strip().startswith("#")), ""
    )


def annotate(values: str) -> str:  # noqa: C901, PLR0912, PLR0915 - one pass, line by line
    """The values file with a `## @param` line above every leaf key, from the `##` comments.

    Leaves are scalars, `{}`/`[]` and lists (one parameter each); a mapping gets no line of its
    own, its keys do.
    """
    data = yaml.safe_load(values)
    lines = values.splitlines()
    out: list[str] = []
    stack: list[_Level] = [_Level(-1, ())]
    pending: list[str] = []
    groups: dict[int, str] = {}
    skip_deeper_than: int | None = None
    section = ""
    for index, line in enumerate(lines):
        stripped = line.strip()
        indent = len(line) - len(line.lstrip(" "))
        if skip_deeper_than is not None:
            if stripped and (indent > skip_deeper_than or stripped.startswith("-")):
                out.append(line)
                continue
            skip_deeper_than = None
        if not stripped:
            groups.clear()
            pending = []
        elif stripped.startswith("##"):
            pending.append(stripped)
        match = KEY.match(line) if stripped and not stripped.startswith("#") else None
        if match is None:
            out.append(line)
            continue
        while stack[-1].indent >= indent:
            stack.pop()
        parent = stack[-1]
        if pending:
            groups[indent] = _description(pending)
            pending = []
        for deeper in [level for level in groups if level > indent]:
            del groups[deeper]
        doc = groups.get(indent) or parent.doc
        parts = (*parent.parts, match["key"])
        value = match["value"].split(" #")[0].strip()
        following = _next_content(lines, index + 1)
        following_indent = len(following) - len(following.lstrip(" "))
        is_mapping = (
            not value and following_indent > indent and not following.strip().startswith("-")
        )
        if indent == 0:
            title = f"`{match['key']}`" if is_mapping else "Top-level values"
            if title != section:
                out.append(f"## @section {title}")
                section = title
        if is_mapping:
            stack.append(_Level(indent, parts, doc))  # a mapping: its keys carry the params
        else:
            pad = " " * indent
            out += [f"{pad}## @param {name} {doc}".rstrip() for name in _leaf_names(data, parts)]
            if not value:
                skip_deeper_than = indent  # a list
        out.append(line)
    return "\n".join(out) + "\n"


def render(readme: Path = README, values: Path = CHART / "values.yaml") -> str:
    """The README with its parameters table regenerated (the file itself is left alone)."""
    with tempfile.TemporaryDirectory() as tmp:
        annotated = Path(tmp) / "values.yaml"
        annotated.write_text(annotate(values.read_text(encoding="utf-8")))
        out = Path(tmp) / "README.md"
        shutil.copyfile(readme, out)
        run_tool("readme-generator", "--values", str(annotated), "--readme", str(out), timeout=120)
        return out.read_text(encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """Rewrite the chart README, or with --check report whether it is stale."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the README is stale")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if README.read_text(encoding="utf-8") != text:
            sys.stderr.write(f"out of date: {README.relative_to(REPO)}: run `make chart-readme`\n")
            return 1
        return 0
    README.write_text(text, encoding="utf-8")
    sys.stdout.write(f"wrote {README.relative_to(REPO)}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
