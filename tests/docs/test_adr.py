"""ADRs: MADR front matter and sections, unique numbers, and an index that lists every one."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
import yaml
from docs.mdlinks import REPO, parse, resolve


ADR_DIR = REPO / "docs" / "adr"
NAME = re.compile(r"^(\d{4})-[a-z0-9]+(?:-[a-z0-9]+)*\.md$")
STATUS = re.compile(r"^(proposed|rejected|accepted|deprecated|superseded by \[ADR-\d{4}\]\(.+\))$")
SECTIONS = ["Context and Problem Statement", "Considered Options", "Decision Outcome"]


def adr_files() -> list[Path]:
    return sorted(p for p in ADR_DIR.glob("*.md") if p.name != "README.md")


def front_matter(path: Path) -> dict:
    text = path.read_text()
    if not text.startswith("---\n"):
        pytest.fail(f"{path.name}: no YAML front matter (--- ... ---) at the top")
    block, sep, _ = text[4:].partition("\n---\n")
    if not sep:
        pytest.fail(f"{path.name}: the front matter is not closed by ---")
    data = yaml.safe_load(block)
    assert isinstance(data, dict), f"{path.name}: front matter is not a mapping"
    return data


def test_there_are_adrs_and_their_names_are_numbered():
    files = adr_files()
    assert len(files) >= 6, f"expected the project's ADRs in {ADR_DIR}, found {len(files)}"
    bad = [p.name for p in files if not NAME.match(p.name)]
    assert bad == [], f"ADR file names must be NNNN-title-with-dashes.md: {bad}"
    numbers = [NAME.match(p.name)[1] for p in files]  # type: ignore[index]
    assert len(numbers) == len(set(numbers)), f"duplicate ADR numbers: {numbers}"
    assert numbers[0] == "0000"


@pytest.mark.parametrize("path", adr_files(), ids=lambda p: p.name[:4])
def test_front_matter_has_status_date_and_deciders(path: Path):
    data = front_matter(path)
    status = str(data.get("status", ""))
    assert STATUS.match(status), f"{path.name}: status {status!r} is not a MADR status"
    date = data.get("date")
    if isinstance(date, str):
        date = dt.date.fromisoformat(date)
    assert isinstance(date, dt.date), f"{path.name}: date must be YYYY-MM-DD, got {date!r}"
    deciders = data.get("deciders")
    assert deciders, f"{path.name}: deciders is empty"


@pytest.mark.parametrize("path", adr_files(), ids=lambda p: p.name[:4])
def test_sections_follow_madr(path: Path):
    headings = parse(path).headings
    titles = [text for level, text in headings if level == 1]
    assert len(titles) == 1, f"{path.name}: expected one H1 (the decision), got {titles}"
    h2 = [text for level, text in headings if level == 2]
    positions = [h2.index(s) if s in h2 else -1 for s in SECTIONS]
    assert -1 not in positions, f"{path.name}: missing sections {SECTIONS} (has {h2})"
    assert positions == sorted(positions), f"{path.name}: sections out of MADR order: {h2}"
    # MADR writes `Chosen option: "X", because ...`; `Chosen: X, because` is accepted too.
    assert re.search(r"^Chosen( option)?: ", path.read_text(), re.MULTILINE), (
        f"{path.name}: the Decision Outcome does not start a line with `Chosen option: `"
    )


def test_the_index_lists_every_adr_with_its_status():
    index = ADR_DIR / "README.md"
    linked = set()
    for _, target in parse(index).links:
        resolved = resolve(index, target)
        if resolved and resolved[0].parent == ADR_DIR and resolved[0].name != "README.md":
            linked.add(resolved[0].name)
    files = {p.name for p in adr_files()}
    assert files - linked == set(), f"ADRs missing from docs/adr/README.md: {files - linked}"
    assert linked - files == set(), f"the index links ADRs that do not exist: {linked - files}"
    text = index.read_text()
    for path in adr_files():
        rows = [line for line in text.splitlines() if line.startswith("| [")]
        row = next((line for line in rows if f"({path.name})" in line), "")
        status = str(front_matter(path)["status"]).split(" ")[0]
        assert status in row, f"docs/adr/README.md: the row of {path.name} lacks status {status}"
