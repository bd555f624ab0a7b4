"""Hygiene rules on the real workflows, and proof that each rule rejects a bad workflow.

Each bad workflow is good.yml with one small patch (a list of exact text replacements), written
next to the reusable callee the good workflow calls, so every patch shows exactly what breaks
its rule.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from workflows.conftest import FIXTURES, workflow_files

from test_app_tooling.workflows.hygiene import RULES, Workflow, check


GOOD = (FIXTURES / "good.yml").read_text(encoding="utf-8")
CALLEE = (FIXTURES / "_good-callee.yml").read_text(encoding="utf-8")
CALLEE_ENVIRONMENT = "    environment:\n      name: ${{ inputs.environment }}\n"

# Pieces of good.yml, each found exactly once (patched() checks it).
TOP_PERMISSIONS = "permissions:\n  contents: read\nconcurrency:"
WORKFLOW_CONCURRENCY = (
    "concurrency:\n  group: good-${{ github.ref }}\n  cancel-in-progress: false\n"
)
IMAGE = "debian:12@sha256:8a8cd02c5912770b4980228a54d4aff9e4f986f1eb2525d2d371dec5232cefcc"
CHECKOUT_SHA = "actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8"
TEST_CHECKOUT = f"{IMAGE}\n    steps:\n      - uses: {CHECKOUT_SHA} # v5.0.0\n"
TEST_RUN = "      - run: bash .ci/run\n"
TEST_JOB = "    timeout-minutes: 30\n    container:\n"
PROD_NEEDS = "    needs: [test]\n    runs-on"
PROD_ENVIRONMENT = "    timeout-minutes: 30\n    environment: prod\n"
PROD_CONCURRENCY = "    concurrency:\n      group: deploy-prod\n      cancel-in-progress: false\n"
AWS_REGION = "          aws-region: eu-central-1\n"
ROLE = "          role-to-assume: ${{ vars.AWS_DEPLOY_ROLE_ARN }}\n"
DEPLOY = '      - run: scripts/deploy.sh prod "$REGISTRY" "$DIGEST" "$GITHUB_SHA"\n'
REUSABLE_NEEDS = "    needs: [test]\n    permissions:\n"
REUSABLE = (
    "    permissions:\n      contents: read\n      id-token: write\n"
    "    uses: $/.github/workflows/_good-callee.yml\n"
)


def pin(reference: str) -> tuple[str, str]:
    """Replace the test job's pinned checkout with `reference`."""
    return TEST_CHECKOUT, f"{IMAGE}\n    steps:\n      - uses: {reference}\n"


# name -> (the rule that must reject it, replacements (old, new) applied to good.yml)
BAD: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "aws-access-key-secret": (
        "no-long-lived-aws-keys",
        [
            (
                AWS_REGION,
                AWS_REGION + "          aws-access-key-id: ${{ secrets.AWS_ACCESS_KEY_ID }}\n",
            )
        ],
    ),
    "aws-secret-env": (
        "no-long-lived-aws-keys",
        [
            (
                DEPLOY,
                "      - env:\n          AWS_SECRET_ACCESS_KEY: ${{ secrets.KEY }}\n"
                + DEPLOY.replace("- run:", "  run:"),
            )
        ],
    ),
    "deploy-needs-lint-only": ("deploy-needs-test", [(TEST_RUN, "      - run: make lint\n")]),
    "deploy-without-concurrency": ("concurrency", [(PROD_CONCURRENCY, "")]),
    "deploy-without-needs": ("deploy-needs-test", [(PROD_NEEDS, "    runs-on")]),
    "id-token-role-action-without-role": ("id-token-only-with-role", [(ROLE, "")]),
    "id-token-without-role": (
        "id-token-only-with-role",
        [
            (
                TEST_JOB,
                TEST_JOB.replace(
                    "    container:",
                    "    permissions:\n      contents: read\n      id-token: write\n    container:",
                ),
            )
        ],
    ),
    "missing-timeout": ("timeouts", [(PROD_ENVIRONMENT, "    environment: prod\n")]),
    "no-top-level-permissions": ("top-level-read-only", [(TOP_PERMISSIONS, "concurrency:")]),
    "no-workflow-concurrency": ("concurrency", [(WORKFLOW_CONCURRENCY, "")]),
    "pinned-without-version-comment": ("pinned-actions", [pin(CHECKOUT_SHA)]),
    "prod-in-staging-environment": (
        "cluster-changes-behind-environment",
        [(PROD_ENVIRONMENT, PROD_ENVIRONMENT.replace("prod", "staging"))],
    ),
    "prod-via-callee-outside-environment": (
        "cluster-changes-behind-environment",
        [("_good-callee.yml", "_callee-no-env.yml")],
    ),
    "prod-without-environment": (
        "cluster-changes-behind-environment",
        [(PROD_ENVIRONMENT, "    timeout-minutes: 30\n")],
    ),
    "reusable-deploy-without-test": ("deploy-needs-test", [(REUSABLE_NEEDS, "    permissions:\n")]),
    "terraform-apply-without-environment": (
        "cluster-changes-behind-environment",
        [
            (PROD_ENVIRONMENT, "    timeout-minutes: 30\n"),
            (DEPLOY, "      - run: scripts/terraform/stacks apply prod network\n"),
        ],
    ),
    "top-level-id-token": (
        "top-level-read-only",
        [(TOP_PERMISSIONS, TOP_PERMISSIONS.replace("read\n", "read\n  id-token: write\n"))],
    ),
    "top-level-write": (
        "top-level-read-only",
        [(TOP_PERMISSIONS, TOP_PERMISSIONS.replace("read", "write"))],
    ),
    "unpinned-branch-reusable": (
        "pinned-actions",
        [(REUSABLE, "    uses: acme/shared/.github/workflows/deploy.yml@main\n")],
    ),
    "unpinned-container": ("pinned-images", [(IMAGE, "debian:12")]),
    "unpinned-docker-step": (
        "pinned-actions",
        [(TEST_RUN, "      - uses: docker://alpine:3.20\n" + TEST_RUN)],
    ),
    "unpinned-short-sha": ("pinned-actions", [pin("actions/checkout@08c6903 # v5.0.0")]),
    "unpinned-tag": ("pinned-actions", [pin("actions/checkout@v5")]),
}


def patched(text: str, replacements: list[tuple[str, str]]) -> str:
    """`text` with each `old` (which must occur exactly once) replaced by `new`."""
    for old, new in replacements:
        assert text.count(old) == 1, f"expected {old!r} once in good.yml, found {text.count(old)}"
        text = text.replace(old, new)
    return text


def write_bad(folder: Path, name: str) -> Path:
    """The bad workflow `name` in `folder`, beside the callees good.yml and the patches call."""
    _, replacements = BAD[name]
    (folder / "_good-callee.yml").write_text(CALLEE, encoding="utf-8")
    (folder / "_callee-no-env.yml").write_text(
        patched(CALLEE, [(CALLEE_ENVIRONMENT, "")]), encoding="utf-8"
    )
    path = folder / f"{name}.yml"
    path.write_text(patched(GOOD, replacements), encoding="utf-8")
    return path


@pytest.mark.parametrize("path", workflow_files(), ids=lambda p: p.name)
def test_real_workflow_follows_every_rule(path):
    assert check(Workflow.load(path)) == {}


def test_the_project_workflows_exist(workflows):
    names = {p.name for p in workflows}
    assert {"ci.yml", "deploy.yml", "rollback.yml", "terraform.yml"} <= names


def test_good_fixture_follows_every_rule():
    assert check(Workflow.load(FIXTURES / "good.yml")) == {}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_workflow_is_rejected_by_its_rule_only(name, tmp_path):
    rule, _ = BAD[name]
    assert rule in RULES, f"{name}: unknown rule {rule!r}"
    findings = check(Workflow.load(write_bad(tmp_path, name)))
    assert set(findings) == {rule}, findings


def test_the_callees_of_the_patches_are_well_formed(tmp_path):
    write_bad(tmp_path, "prod-via-callee-outside-environment")
    assert check(Workflow.load(tmp_path / "_good-callee.yml")) == {}
    assert CALLEE_ENVIRONMENT not in (tmp_path / "_callee-no-env.yml").read_text(encoding="utf-8")


def test_every_rule_has_a_bad_workflow():
    assert len(BAD) >= len(RULES)
    assert {rule for rule, _ in BAD.values()} == set(RULES)


def test_role_assumption_is_found_through_a_reusable_workflow():
    caller = Workflow.load(FIXTURES / "good.yml")
    job = caller.jobs["deploy-staging-reusable"]
    callee = caller.callee(job)
    assert callee is not None
    assert callee.name == "_good-callee.yml"
