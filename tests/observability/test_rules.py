"""The rule files: valid for promtool, unit-tested alert by alert, documented by runbooks."""

from __future__ import annotations

import re
import subprocess
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import yaml

from test_app_tooling.fork import blob_url
from test_app_tooling.tools import REPO


PROMTOOL_TESTS = Path(__file__).resolve().parent / "promtool"
RUNBOOKS = REPO / "docs" / "runbooks"
RUNBOOK_BASE = blob_url("docs/runbooks/")  # the repository of infra/envs/project.toml


SEVERITIES = {"critical", "warning", "info"}
TEAMS = {"test-app", "platform"}
RUNBOOK_SECTIONS = ["## Meaning", "## Impact", "## Diagnosis", "## Mitigation"]


def _promtool_tests() -> list[Path]:
    return sorted(PROMTOOL_TESTS.glob("*_test.yaml"))


def test_promtool_check_rules_accepts_every_rule_file(tool, rule_files):
    result = subprocess.run(
        [tool("promtool"), "check", "rules", *map(str, rule_files)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(rule_files)


@pytest.mark.parametrize("test_file", _promtool_tests(), ids=lambda p: p.name)
def test_promtool_unit_tests_pass(tool, test_file):
    result = subprocess.run(
        [tool("promtool"), "test", "rules", test_file.name],
        cwd=test_file.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def _alert_cases() -> dict[str, dict[str, int]]:
    """alertname -> number of cases that expect it firing / expect silence."""
    cases: dict[str, dict[str, int]] = defaultdict(lambda: {"fires": 0, "silent": 0})
    for path in _promtool_tests():
        for test in yaml.safe_load(path.read_text(encoding="utf-8"))["tests"]:
            for case in test.get("alert_rule_test", []):
                kind = "fires" if case.get("exp_alerts") else "silent"
                cases[case["alertname"]][kind] += 1
    return cases


def test_there_are_promtool_unit_tests():
    assert len(_promtool_tests()) >= 3


def test_every_alert_has_a_firing_and_a_silent_unit_test(alerts):
    cases = _alert_cases()
    names = {alert["alert"] for alert in alerts}
    missing = {
        name: cases.get(name, {"fires": 0, "silent": 0})
        for name in sorted(names)
        if not cases.get(name, {}).get("fires") or not cases.get(name, {}).get("silent")
    }
    assert not missing, f"alerts without both a firing and a silent unit test: {missing}"
    assert not set(cases) - names, f"unit tests for unknown alerts: {set(cases) - names}"


def test_every_alert_with_for_has_a_boundary_case(alerts):
    """A silent evaluation one step before the firing one proves the `for` duration."""
    silent_times: dict[str, set[str]] = defaultdict(set)
    firing_times: dict[str, set[str]] = defaultdict(set)
    for path in _promtool_tests():
        for test in yaml.safe_load(path.read_text(encoding="utf-8"))["tests"]:
            for case in test.get("alert_rule_test", []):
                target = firing_times if case.get("exp_alerts") else silent_times
                target[case["alertname"]].add(case["eval_time"])

    def minutes(value: str) -> int:
        match = re.fullmatch(r"(\d+)m", value)
        assert match, f"eval_time {value!r}: expected whole minutes"
        return int(match.group(1))

    without_boundary = [
        alert["alert"]
        for alert in alerts
        if "for" in alert
        and not any(
            minutes(fired) - 1 in {minutes(s) for s in silent_times[alert["alert"]]}
            for fired in firing_times[alert["alert"]]
        )
    ]
    assert not without_boundary, f"no silent case one minute before firing: {without_boundary}"


def test_alert_names_are_unique(alerts):
    names = [alert["alert"] for alert in alerts]
    assert len(names) == len(set(names))


def test_every_alert_has_labels_and_annotations(alerts):
    problems = []
    for alert in alerts:
        name, labels, notes = alert["alert"], alert.get("labels", {}), alert.get("annotations", {})
        if labels.get("severity") not in SEVERITIES:
            problems.append(f"{name}: severity {labels.get('severity')!r} not in {SEVERITIES}")
        if labels.get("team") not in TEAMS:
            problems.append(f"{name}: team {labels.get('team')!r} not in {TEAMS}")
        if labels.get("service") != "test-app":
            problems.append(f"{name}: label service must be test-app (inhibition uses it)")
        summary = notes.get("summary", "")
        if not summary.endswith(".") or summary.count(". ") > 0:
            problems.append(f"{name}: summary must be one sentence, got {summary!r}")
        if "$labels." not in notes.get("description", ""):
            problems.append(f"{name}: description must fill in $labels")
        if not re.fullmatch(r"\d+[smh]", str(alert.get("for", ""))):
            problems.append(f"{name}: needs a `for` duration")
    assert not problems, "\n".join(problems)


def _runbook_path(alert: dict[str, Any]) -> Path:
    url: str = alert["annotations"]["runbook_url"]
    assert url.startswith(RUNBOOK_BASE), f"{alert['alert']}: runbook_url {url!r}"
    relative = url.removeprefix(RUNBOOK_BASE)
    component, file_name = relative.split("/")
    assert file_name == f"{alert['alert']}.md", f"{url}: the file must be named after the alert"
    return RUNBOOKS / component / file_name


def test_every_alert_links_a_runbook_that_exists(alerts):
    missing = [
        str(_runbook_path(a).relative_to(REPO)) for a in alerts if not _runbook_path(a).is_file()
    ]
    assert not missing, f"runbooks missing: {missing}"


def test_every_runbook_belongs_to_an_alert(alerts):
    runbooks = set(RUNBOOKS.glob("*/*.md"))
    assert runbooks, "no runbook found"
    linked = {_runbook_path(alert) for alert in alerts}
    orphans = sorted(str(p.relative_to(REPO)) for p in runbooks - linked)
    assert not orphans, f"runbooks for no alert: {orphans}"


def test_runbooks_follow_the_template(alerts):
    problems = []
    for alert in alerts:
        text = _runbook_path(alert).read_text(encoding="utf-8")
        if not text.startswith(f"# {alert['alert']}\n"):
            problems.append(f"{alert['alert']}: the H1 must be the alert name")
        positions = [text.find(f"\n{section}\n") for section in RUNBOOK_SECTIONS]
        if -1 in positions or positions != sorted(positions):
            problems.append(f"{alert['alert']}: sections must be {RUNBOOK_SECTIONS} in order")
        if "```" not in text:
            problems.append(f"{alert['alert']}: Diagnosis needs exact commands in code blocks")
    assert not problems, "\n".join(problems)


def test_promtool_unit_tests_can_fail(tool, tmp_path):
    """A wrong expectation (a page expected as a ticket) makes promtool fail."""
    source = PROMTOOL_TESTS / "slo_test.yaml"
    text = source.read_text(encoding="utf-8").replace(
        "../../../observability/rules/", f"{REPO / 'observability' / 'rules'}/"
    )
    assert "severity: critical" in text
    broken = tmp_path / "broken_test.yaml"
    broken.write_text(text.replace("severity: critical", "severity: warning", 1), encoding="utf-8")
    result = subprocess.run(
        [tool("promtool"), "test", "rules", str(broken)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "FAILED" in result.stdout + result.stderr
