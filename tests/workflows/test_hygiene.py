"""Hygiene rules on the real workflows, and proof that each rule rejects a bad workflow."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from workflows.conftest import FIXTURES, workflow_files
from workflows.hygiene import RULES, Workflow, check


BAD = sorted(p for p in (FIXTURES / "bad").glob("*.yml") if not p.name.startswith("_"))


def expected_rule(path: Path) -> str:
    match = re.match(r"# expect: (\S+)", path.read_text(encoding="utf-8"))
    assert match, f"{path.name} must start with '# expect: <rule id>'"
    return match[1]


@pytest.mark.parametrize("path", workflow_files(), ids=lambda p: p.name)
def test_real_workflow_follows_every_rule(path):
    assert check(Workflow.load(path)) == {}


def test_the_project_workflows_exist(workflows):
    names = {p.name for p in workflows}
    assert {"ci.yml", "deploy.yml", "rollback.yml", "terraform.yml"} <= names


def test_good_fixture_follows_every_rule():
    assert check(Workflow.load(FIXTURES / "good.yml")) == {}


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_bad_fixture_is_rejected_by_its_rule_only(path):
    rule = expected_rule(path)
    assert rule in RULES, f"{path.name}: unknown rule {rule!r}"
    findings = check(Workflow.load(path))
    assert set(findings) == {rule}, findings


def test_every_rule_has_a_bad_fixture():
    assert len(BAD) >= len(RULES)
    assert {expected_rule(p) for p in BAD} == set(RULES)


def test_role_assumption_is_found_through_a_reusable_workflow():
    caller = Workflow.load(FIXTURES / "good.yml")
    job = caller.jobs["deploy-staging-reusable"]
    callee = caller.callee(job)
    assert callee is not None
    assert callee.name == "_good-callee.yml"
