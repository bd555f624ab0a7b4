"""ADRs: MADR front matter and sections, unique numbers, and an index that lists every one."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from test_app_tooling.mdlinks import parse, resolve
from test_app_tooling.tools import REPO


ADR_DIR = REPO / "docs" / "adr"
NAME = re.compile(r"^(\d{4})-[a-z0-9]+(?:-[a-z0-9]+)*\.md$")
STATUS = re.compile(r"^(proposed|rejected|accepted|deprecated|superseded by \[ADR-\d{4}\]\(.+\))$")
SECTIONS = ["Context and Problem Statement", "Considered Options", "Decision Outcome"]


def adr_files(folder: Path = ADR_DIR) -> list[Path]:
    return sorted(p for p in folder.glob("*.md") if p.name != "README.md")


def front_matter(path: Path) -> dict[str, Any] | str:
    """The front matter as a mapping, or a message saying what is wrong with it."""
    text = path.read_text()
    if not text.startswith("---\n"):
        return "no YAML front matter (--- ... ---) at the top"
    block, sep, _ = text[4:].partition("\n---\n")
    if not sep:
        return "the front matter is not closed by ---"
    try:
        data = yaml.safe_load(block)
    except (yaml.YAMLError, ValueError) as err:  # ValueError: an impossible date
        return f"the front matter is not valid YAML: {err}"
    return data if isinstance(data, dict) else "the front matter is not a mapping"


def problems(path: Path) -> list[str]:
    """What keeps one ADR from being a MADR record: front matter, H1, sections, outcome."""
    found = []
    data = front_matter(path)
    if isinstance(data, str):
        return [data]
    status = str(data.get("status", ""))
    if not STATUS.match(status):
        found.append(f"status {status!r} is not a MADR status")
    date = data.get("date")
    try:
        date = dt.date.fromisoformat(date) if isinstance(date, str) else date
    except ValueError:
        date = None
    if not isinstance(date, dt.date):
        found.append(f"date must be YYYY-MM-DD, got {data.get('date')!r}")
    if not data.get("deciders"):
        found.append("deciders is empty")
    headings = parse(path).headings
    titles = [text for level, text in headings if level == 1]
    if len(titles) != 1:
        found.append(f"expected one H1 (the decision), got {titles}")
    h2 = [text for level, text in headings if level == 2]
    positions = [h2.index(s) if s in h2 else -1 for s in SECTIONS]
    if -1 in positions or positions != sorted(positions):
        found.append(f"sections {SECTIONS} missing or out of order: {h2}")
    # MADR writes `Chosen option: "X", because ...`; `Chosen: X, because` is accepted too.
    if not re.search(r"^Chosen( option)?: ", path.read_text(), re.MULTILINE):
        found.append("no line starting with `Chosen option: ` in the Decision Outcome")
    return found


def test_there_are_adrs_and_their_names_are_numbered():
    files = adr_files()
    assert len(files) >= 10, f"expected the project's ADRs in {ADR_DIR}, found {len(files)}"
    bad = [p.name for p in files if not NAME.match(p.name)]
    assert bad == [], f"ADR file names must be NNNN-title-with-dashes.md: {bad}"
    numbers = [p.name[:4] for p in files]
    assert len(numbers) == len(set(numbers)), f"duplicate ADR numbers: {numbers}"
    assert numbers[0] == "0000"


@pytest.mark.parametrize("path", adr_files(), ids=lambda p: p.name[:4])
def test_every_adr_follows_madr(path: Path):
    assert problems(path) == []


def test_the_checks_catch_a_malformed_record(tmp_path: Path):
    bad = tmp_path / "0001-bad.md"
    bad.write_text(
        "---\nstatus: maybe\ndate: 26.11.2026\ndeciders: ''\n---\n\n# One\n\n# Two\n\n"
        "## Decision Outcome\n\nWe picked X.\n\n## Context and Problem Statement\n"
    )
    assert problems(bad) == [
        "status 'maybe' is not a MADR status",
        "date must be YYYY-MM-DD, got '26.11.2026'",
        "deciders is empty",
        "expected one H1 (the decision), got ['One', 'Two']",
        (
            f"sections {SECTIONS} missing or out of order: "
            "['Decision Outcome', 'Context and Problem Statement']"
        ),
        "no line starting with `Chosen option: ` in the Decision Outcome",
    ]
    none = tmp_path / "0002-none.md"
    none.write_text("# Title\n")
    assert problems(none) == ["no YAML front matter (--- ... ---) at the top"]


def index_problems(folder: Path) -> list[str]:
    index = folder / "README.md"
    linked = set()
    for _, target in parse(index).links:
        resolved = resolve(index, target, folder)
        if resolved and resolved[0].parent == folder and resolved[0].name != "README.md":
            linked.add(resolved[0].name)
    files = {p.name for p in adr_files(folder)}
    found = [f"{name}: missing from the index" for name in sorted(files - linked)]
    found += [f"{name}: linked from the index but absent" for name in sorted(linked - files)]
    rows = [line for line in index.read_text().splitlines() if line.startswith("| [")]
    for path in adr_files(folder):
        row = next((line for line in rows if f"({path.name})" in line), None)
        data = front_matter(path)
        status = str(data.get("status", "")).split(" ")[0] if isinstance(data, dict) else ""
        if row is not None and f"| {status} |" not in row:
            found.append(f"{path.name}: the index row lacks its status {status!r}")
    return found


def test_the_index_lists_every_adr_with_its_status():
    assert index_problems(ADR_DIR) == []


def test_the_index_check_catches_missing_and_stale_rows(tmp_path: Path):
    record = "---\nstatus: {}\ndate: 2026-01-01\ndeciders: us\n---\n\n# T\n"
    (tmp_path / "0000-a.md").write_text(record.format("accepted"))
    (tmp_path / "0001-b.md").write_text(record.format("deprecated"))
    (tmp_path / "README.md").write_text(
        "| ADR | status |\n| --- | --- |\n"
        "| [0001](0001-b.md) | accepted |\n| [0002](0002-c.md) | x |\n"
    )
    assert index_problems(tmp_path) == [
        "0000-a.md: missing from the index",
        "0002-c.md: linked from the index but absent",
        "0001-b.md: the index row lacks its status 'deprecated'",
    ]
