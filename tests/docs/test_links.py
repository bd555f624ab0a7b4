"""Every relative link and anchor in every Markdown file resolves; so do the alerts' runbooks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from test_app_tooling.fork import blob_url
from test_app_tooling.mdlinks import broken_links, check_link, markdown_files, parse, slug
from test_app_tooling.tools import REPO


RULE_FILES = sorted((REPO / "observability" / "rules").glob("*.yaml")) + sorted(
    (REPO / "charts" / "test-app" / "files" / "rules").glob("*.yaml")
)
RUNBOOK_PREFIX = blob_url("docs/runbooks/")  # the repository of infra/envs/project.toml


def test_every_local_link_and_anchor_in_the_repository_resolves():
    files = markdown_files()
    assert len(files) >= 20, f"expected the repository's Markdown, found {len(files)} files"
    checked, problems = broken_links(files)
    assert checked >= 50, f"only {checked} local links found: the parser is not seeing them"
    assert problems == [], "broken links:\n" + "\n".join(problems)


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        ("The service's contract", "the-services-contract"),
        ("Fresh, coalesced pings", "fresh-coalesced-pings"),
        ("1. Point kubectl at the cluster", "1-point-kubectl-at-the-cluster"),
        ("GET /health: pods → nodes", "get-health-pods--nodes"),
        (
            "Pods \u00d7 workers \u00d7 pool \u2264 max_connections",
            "pods--workers--pool--max_connections",
        ),
    ],
)
def test_anchors_follow_githubs_rules(heading, anchor):
    assert slug(heading) == anchor


def test_the_checker_reports_missing_files_and_anchors(tmp_path: Path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "b.md").write_text(
        '# Title\n\n## `make up`: the rehearsal\n\n## Steps\n\n## Steps\n\n<a name="manual"></a>\n'
    )
    a = tmp_path / "a.md"
    a.write_text(
        "# A\n\n"
        "[ok](docs/b.md#make-up-the-rehearsal) [dup](docs/b.md#steps-1) [html](docs/b.md#manual)\n"
        "[self](#a) [dir](docs/) [web](https://example.com/x) ![img](docs/b.md)\n\n"
        "[gone](docs/c.md) [bad anchor](docs/b.md#nope) [self bad](#b)\n\n"
        "```bash\n[not a link](missing.md)\n```\n"
    )
    checked, problems = broken_links([a], tmp_path)
    assert checked == 9
    assert problems == [
        "a.md:6: docs/c.md: no such file or folder",
        "a.md:6: docs/b.md#nope: no heading or anchor #nope in b.md",
        "a.md:6: #b: no heading or anchor #b in a.md",
    ]
    assert check_link(a, blob_url("docs/b.md"), tmp_path) is None
    assert "no such file" in str(check_link(a, blob_url("x.md"), tmp_path))


def alerts() -> list[tuple[Path, dict[str, Any]]]:
    found = []
    for path in RULE_FILES:
        for group in (yaml.safe_load(path.read_text()) or {}).get("groups", []):
            found += [(path, rule) for rule in group.get("rules", []) if "alert" in rule]
    return found


def test_every_alert_links_a_runbook_that_exists_and_is_titled_by_the_alert():
    found = alerts()
    assert len(RULE_FILES) >= 2
    assert len(found) >= 10, f"expected the alert rules, found {len(found)}"
    problems = []
    for path, rule in found:
        name, url = rule["alert"], rule.get("annotations", {}).get("runbook_url", "")
        where = f"{path.relative_to(REPO)}: {name}"
        if not url.startswith(RUNBOOK_PREFIX):
            problems.append(f"{where}: runbook_url {url!r} does not start with {RUNBOOK_PREFIX}")
            continue
        if problem := check_link(REPO / "README.md", url):
            problems.append(f"{where}: {problem}")
            continue
        runbook = REPO / url.removeprefix(blob_url())
        if runbook.stem != name:
            problems.append(f"{where}: runbook file {runbook.name} is not named after the alert")
        titles = [text for level, text in parse(runbook).headings if level == 1]
        if titles != [name]:
            problems.append(f"{where}: {runbook.name} H1 is {titles}, expected [{name!r}]")
    assert problems == [], "\n".join(problems)
