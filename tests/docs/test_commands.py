"""Every project command shown in the docs exists: `make <target>` and `scripts/...`."""

from __future__ import annotations

import re
from pathlib import Path

from test_app_tooling.mdlinks import markdown_files, parse
from test_app_tooling.tools import REPO


MAKE = re.compile(r"(?:^|[\s;&|(`$])make\s+(?:-\S+\s+)*(?:[A-Z_]+=\S*\s+)*([a-z][\w.-]*)")
SCRIPT = re.compile(r"(?<![\w./-])(?:\./)?(scripts/[\w./-]*\w)")
TARGET = re.compile(r"^([A-Za-z0-9_.-]+(?:[ \t]+[A-Za-z0-9_.-]+)*)[ \t]*:(?!=)", re.MULTILINE)


def make_targets(root: Path = REPO) -> set[str]:
    targets: set[str] = set()
    for path in [root / "Makefile", *sorted((root / "mk").glob("*.mk"))]:
        for match in TARGET.finditer(path.read_text()):
            targets.update(t for t in match.group(1).split() if not t.startswith("."))
    return targets


def commands(files: list[Path]) -> tuple[list[tuple[Path, str]], list[tuple[Path, str]]]:
    """`make` targets and `scripts/` paths shown in code blocks and inline code."""
    makes, scripts = [], []
    for path in files:
        for code in parse(path).code:
            makes += [(path, m) for m in MAKE.findall(code)]
            scripts += [(path, s.rstrip(".")) for s in SCRIPT.findall(code)]
    return makes, scripts


def problems(files: list[Path], root: Path = REPO) -> tuple[int, list[str]]:
    targets = make_targets(root)
    makes, scripts = commands(files)
    found = [
        f"{path.relative_to(root)}: `make {target}`: no such target in Makefile or mk/*.mk"
        for path, target in makes
        if target not in targets
    ]
    found += [
        f"{path.relative_to(root)}: `{script}`: no such file"
        for path, script in scripts
        if not (root / script).exists()
    ]
    return len(makes) + len(scripts), found


def test_the_makefile_defines_the_documented_entry_points():
    targets = make_targets()
    assert {"help", "up", "down", "test", "docs-check", "docs-diagrams", "scaling-table"} <= targets


def test_every_command_shown_in_the_docs_exists():
    files = markdown_files()
    makes, scripts = commands(files)
    assert len(makes) >= 30, f"only {len(makes)} `make` commands found in the docs"
    assert len(scripts) >= 10, f"only {len(scripts)} `scripts/` paths found in the docs"
    count, found = problems(files)
    assert count == len(makes) + len(scripts)
    assert found == [], "\n".join(found)


def test_the_check_reports_unknown_targets_and_scripts(tmp_path: Path):
    (tmp_path / "mk").mkdir()
    (tmp_path / "Makefile").write_text(".PHONY: up\nup: bootstrap ## start\nVAR := x\n")
    (tmp_path / "mk" / "docs.mk").write_text("docs-check scaling-table: ## two\n")
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "real.sh").write_text("")
    doc = tmp_path / "guide.md"
    doc.write_text(
        "Run `make up` then `make docs-check`; make sure prose is ignored.\n\n"
        "```bash\nmake ENV=prod infra\nmake -s scaling-table && ./scripts/real.sh\n"
        "python scripts/missing.py\n```\n"
    )
    assert make_targets(tmp_path) == {"up", "docs-check", "scaling-table"}
    count, found = problems([doc], tmp_path)
    assert count == 6
    assert found == [
        "guide.md: `make infra`: no such target in Makefile or mk/*.mk",
        "guide.md: `scripts/missing.py`: no such file",
    ]
