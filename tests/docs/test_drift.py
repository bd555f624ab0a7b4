"""Docs that cannot drift: each table or claim below is compared with what it describes.

- the tooling README's module table against the modules of `test_app_tooling`;
- the environment table of docs/conventions.md against what `load_settings` reads, and its
  defaults against the parsed defaults;
- the burn-rate table of docs/observability.md against `generate.py --explain`, byte for byte;
- each rehearsal report page (docs/rehearsal/*.md) against its rendering from its JSON;
- the add-on steps and the clean-up of docs/deployment.md against platform/addons.yaml;
- "Generated ... from <path>" headers against the files they name;
- ADR numbers without gaps the index does not explain;
- no `sys.path` edits in project code.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from rehearsal.measure import report
from test_app.settings import load_settings
from test_app_tooling.tools import REPO


def _found(items: list[Any], what: str) -> list[Any]:
    if not items:
        pytest.fail(f"found no {what}: nothing to check")
    return items


def table_rows(text: str, header: str) -> list[list[str]]:
    """The cells of the Markdown table whose header row starts with `header`."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith(header)), None)
    if start is None:
        pytest.fail(f"no table with the header {header!r}")
    rows = []
    for line in lines[start + 2 :]:
        if not line.lstrip().startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return _found(rows, f"rows under {header!r}")


# Module tables ---------------------------------------------------------------------------------

TOOLING = REPO / "tooling" / "src" / "test_app_tooling"


def package_modules(root: Path = TOOLING) -> set[str]:
    """`mod` for top-level modules, `pkg/` for subpackages and `pkg/mod` for their modules."""
    found = set()
    for path in root.rglob("*.py"):
        parts = path.relative_to(root).with_suffix("").parts
        if parts[-1] == "__init__":
            if len(parts) > 1:
                found.add(f"{'/'.join(parts[:-1])}/")
            continue
        found.add("/".join(parts))
    return found


def documented_modules(readme: str) -> set[str]:
    return {row[0].strip("`") for row in table_rows(readme, "| module | job |")}


def undocumented(modules: set[str], documented: set[str]) -> set[str]:
    """Modules no row covers: a `pkg/` row covers all of pkg, a `pkg/mod` row one module."""
    return {
        m
        for m in modules
        if m not in documented
        and not any(m.startswith(row) for row in documented if row.endswith("/"))
        and not (m.endswith("/") and any(row.startswith(m) for row in documented))
    }


def test_the_tooling_readme_lists_every_module_of_the_package():
    modules = _found(sorted(package_modules()), "modules in test_app_tooling")
    documented = documented_modules((REPO / "tooling" / "README.md").read_text(encoding="utf-8"))
    assert undocumented(set(modules), documented) == set(), "modules missing from tooling/README.md"
    stale = {row for row in documented if not row.endswith("/") and row not in modules}
    stale |= {row for row in documented if row.endswith("/") and row not in modules}
    assert stale == set(), "tooling/README.md names modules that do not exist"


def test_the_module_table_check_catches_a_missing_and_a_stale_row():
    modules = {"tools", "podbench/", "podbench/report", "infra/", "infra/iam", "infra/new"}
    documented = {"tools", "podbench/", "infra/iam"}
    assert undocumented(modules, documented) == {"infra/new"}
    assert undocumented(modules, documented | {"infra/new"}) == set()


# The environment table -------------------------------------------------------------------------

CONVENTIONS = REPO / "docs" / "conventions.md"


class RecordingEnviron(dict[str, str]):
    """An environment that remembers every variable asked for."""

    def __init__(self, values: dict[str, str] | None = None) -> None:
        super().__init__(values or {})
        self.asked: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.asked.add(key)
        return super().get(key, default)

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            self.asked.add(key)
        return super().__contains__(key)

    def __getitem__(self, key: str) -> str:
        self.asked.add(key)
        return super().__getitem__(key)


def environment_table() -> dict[str, str]:
    """Variable -> its default cell; `A` / `B` rows give each name its half of the default."""
    found = {}
    for row in table_rows(CONVENTIONS.read_text(encoding="utf-8"), "| variable | default |"):
        names = re.findall(r"`([A-Z_]+)`", row[0])
        defaults = [d.strip() for d in row[1].split(" / ")]
        for i, name in enumerate(names):
            found[name] = defaults[i] if len(defaults) == len(names) else row[1]
    return found


def test_the_environment_table_lists_exactly_what_the_service_reads():
    environ = RecordingEnviron()
    load_settings(environ)
    read = _found(sorted(environ.asked), "variables read by load_settings")
    assert set(read) == set(environment_table())


@pytest.mark.parametrize(
    ("name", "default"),
    [(n, d) for n, d in environment_table().items() if re.fullmatch(r"`[^`]+`", d)],
)
def test_each_documented_default_is_the_parsed_default(name, default):
    assert load_settings({name: default.strip("`")}) == load_settings({})


# The burn-rate table ---------------------------------------------------------------------------


def test_the_burn_rate_table_is_the_generators_output_byte_for_byte():
    explain = subprocess.run(
        [sys.executable, str(REPO / "observability" / "generate.py"), "--explain"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert explain.count("\n") > 2, "the generator printed no table"
    doc = (REPO / "docs" / "observability.md").read_text(encoding="utf-8")
    assert explain in doc, (
        "docs/observability.md's burn-rate table differs from "
        "`.venv/bin/python observability/generate.py --explain`: paste its output"
    )


# Rehearsal reports -----------------------------------------------------------------------------

REPORTS = REPO / "docs" / "rehearsal"


def test_every_rehearsal_page_is_its_json_rendered():
    _found(sorted(REPORTS.glob("*.json")), "rehearsal reports")
    pages = {p.stem for p in REPORTS.glob("*.md")}
    documents = {p.stem for p in REPORTS.glob("*.json")}
    assert pages == documents, "every report page needs the JSON it is rendered from"
    assert report.stale_pages(REPORTS) == [], "edit the JSON, then render its page again"


def test_a_page_edited_by_hand_is_stale(tmp_path: Path):
    source = _found(sorted(REPORTS.glob("*.json")), "rehearsal reports")[0]
    (tmp_path / source.name).write_text(source.read_text())
    page = tmp_path / f"{source.stem}.md"
    page.write_text(report.render(json.loads(source.read_text())))
    assert report.stale_pages(tmp_path) == []
    page.write_text(page.read_text().replace("| yes |", "| **no** |", 1))
    assert report.stale_pages(tmp_path) == [page]


# The add-on list -------------------------------------------------------------------------------

DEPLOYMENT = REPO / "docs" / "deployment.md"


def addon_steps() -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = yaml.safe_load(
        (REPO / "platform" / "addons.yaml").read_text(encoding="utf-8")
    )["steps"]
    return _found(steps, "steps in platform/addons.yaml")


def test_the_install_table_lists_the_steps_in_order():
    rows = table_rows(DEPLOYMENT.read_text(encoding="utf-8"), "   | # | step |")
    documented = [name for row in rows for name in re.findall(r"`([a-z0-9-]+)`", row[1])]
    assert documented == [step["name"] for step in addon_steps()]


def uninstalled_releases(text: str) -> list[str]:
    """The releases of every `helm uninstall` line, in order (`-n NAMESPACE` skipped)."""
    releases = []
    for line in text.splitlines():
        words = line.split("#")[0].split()
        if words[:2] != ["helm", "uninstall"]:
            continue
        rest = iter(words[2:])
        for word in rest:
            if word in {"-n", "--namespace"}:
                next(rest, None)
            elif not word.startswith("-"):
                releases.append(word)
    return releases


def test_the_clean_up_uninstalls_every_chart_in_reverse_order():
    text = DEPLOYMENT.read_text(encoding="utf-8").split("## Clean up", 1)[1]
    charts = [step["name"] for step in addon_steps() if step["type"] == "chart"]
    assert uninstalled_releases(text) == ["test-app", *reversed(charts)]


# Headers naming their source -------------------------------------------------------------------

GENERATED_FROM = re.compile(r"Generated by .* from (\S+?)\.? ")


def test_generated_file_headers_name_existing_sources():
    named = _found(
        [
            (path, match.group(1))
            for path in sorted((REPO / "rehearsal").rglob("*.tmpl"))
            if (match := GENERATED_FROM.search(path.read_text(encoding="utf-8").splitlines()[0]))
        ],
        "templates with a `Generated by ... from` header",
    )
    for path, source in named:
        assert (REPO / source) == path, f"{path.relative_to(REPO)} names {source}"


# ADR numbers -----------------------------------------------------------------------------------


def test_adr_numbers_have_no_gap_the_index_does_not_explain():
    adr = REPO / "docs" / "adr"
    numbers = {int(p.name[:4]) for p in adr.glob("[0-9][0-9][0-9][0-9]-*.md")}
    _found(sorted(numbers), "ADRs")
    index = (adr / "README.md").read_text(encoding="utf-8")
    line = re.search(r"^Unused numbers: (.+)$", index, re.MULTILINE)
    unused = {int(n) for n in re.findall(r"\b(\d{4})\b", line.group(1))} if line else set()
    gaps = set(range(max(numbers) + 1)) - numbers
    assert gaps == unused, "an ADR number is missing: say why under `Unused numbers:`"


# No sys.path edits -----------------------------------------------------------------------------

PYTHON_ROOTS = ("app", "tooling", "rehearsal", "scripts", "observability", "platform", "tests")


def python_files() -> Iterator[Path]:
    for root in PYTHON_ROOTS:
        yield from (REPO / root).rglob("*.py")


def path_edits(source: str) -> list[str]:
    """`sys.path` uses and `syspath_prepend` calls in one module."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute):
            if node.attr == "syspath_prepend":
                found.append("syspath_prepend")
            elif (
                node.attr == "path" and isinstance(node.value, ast.Name) and node.value.id == "sys"
            ):
                found.append("sys.path")
    return found


def test_no_project_code_edits_sys_path():
    files = _found(list(python_files()), "Python files")
    edits = {
        str(path.relative_to(REPO)): found
        for path in files
        if path.name != "test_drift.py" and (found := path_edits(path.read_text(encoding="utf-8")))
    }
    assert edits == {}


def test_the_path_edit_check_sees_both_forms():
    assert path_edits("import sys\nsys.path.insert(0, 'x')\n") == ["sys.path"]
    assert path_edits("def f(monkeypatch):\n    monkeypatch.syspath_prepend('x')\n") == [
        "syspath_prepend"
    ]
