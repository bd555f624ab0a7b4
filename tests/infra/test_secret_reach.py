"""Who can read each AWS secret, in CI and through the cluster (infra/secret_reach).

The master secret must be reachable only on the role hook's path (the deploy role creating the
hook's ExternalSecret in the app's namespace) and by the Terraform apply role, both from `main`
only; the app secret additionally by pull-request plans (the documented exception). The staging
environment used to have no branch policy, so a workflow on any branch could take the staging
deploy role and materialise the master password: the walkthrough of that time fails below.
"""

from __future__ import annotations

import json
import re
import shutil

import pytest
import yaml

import day_one
from test_app_tooling.infra import secret_reach
from test_app_tooling.tools import REPO
from test_app_tooling.walkthrough import sections


RULESET_PATH = secret_reach.RULESET_FILE.relative_to(REPO).as_posix()


def _guide() -> str:
    return secret_reach.WALKTHROUGH.read_text(encoding="utf-8")


def _ruleset_block() -> str:
    """The walkthrough's shell block that creates the ruleset on `main`."""
    body = sections(_guide())["Connect GitHub (environments and variables)"]
    [block] = [b for b in re.findall(r"```bash\n.*?```", body, re.DOTALL) if "rulesets" in b]
    return str(block)


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_every_secret_is_reachable_only_from_main_or_the_documented_exception(env):
    assert secret_reach.check(env) == []


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_the_paths_found_are_the_ones_the_design_has(env):
    # The model must see the real paths, or a clean check means nothing.
    found = {(r.identity, r.secret, r.path) for r in secret_reach.reach(env)}
    hook = "ExternalSecret in test-app via aws-secrets-manager"
    assert ("github-deploy", "master", hook) in found
    assert ("github-deploy", "app", hook) in found
    assert ("terraform-plan", "app", "GetSecretValue") in found
    assert ("terraform-apply", "master", "GetSecretValue") in found
    assert not any(r == "terraform-plan" and s == "master" for r, s, _ in found)
    assert not any(r == "github-push" for r, _, _ in found)


OLD_ENVIRONMENTS = """
   gh api -X PUT "repos/$REPO/environments/staging"
   for env in prod infra-staging infra-prod; do
     gh api -X PUT "repos/$REPO/environments/$env" --input - <<EOF
   EOF
     gh api -X POST "repos/$REPO/environments/$env/deployment-branch-policies" -f name=main
   done
"""


def test_a_staging_environment_without_branch_policy_exposes_the_master_secret():
    problems = secret_reach.check("staging", OLD_ENVIRONMENTS + _ruleset_block())
    assert (
        "staging: github-deploy reads the master secret (ExternalSecret in test-app via "
        "aws-secrets-manager) from environment:staging, not only main"
    ) in problems
    assert secret_reach.check("prod", OLD_ENVIRONMENTS + _ruleset_block()) == []


def test_branch_policies_are_read_from_loops_and_single_commands():
    text = OLD_ENVIRONMENTS + (
        'gh api -X POST "repos/$REPO/environments/staging/deployment-branch-policies" -f name=main'
    )
    assert secret_reach.main_only_environments(OLD_ENVIRONMENTS) == {
        "prod",
        "infra-staging",
        "infra-prod",
    }
    assert "staging" in secret_reach.main_only_environments(text)


def test_a_role_trusting_a_branch_pattern_is_not_main_only():
    role = secret_reach.Role("r", ["ref:refs/heads/*"], [], [])
    assert secret_reach.gate(role, set()) == "ref:refs/heads/*"
    assert secret_reach.gate(secret_reach.Role("r", ["ref:refs/heads/main"], [], []), set()) == (
        "main"
    )


def test_the_walkthrough_makes_main_take_reviewed_changes_only():
    assert secret_reach.main_reviewed(_guide()) == []
    # In the phase that produces it, before the first deploy runs from main.
    phases = {p.id: p for p in day_one.load()}
    assert "ruleset:main" in phases["github"].produces
    assert "ruleset:main" in phases["first-deploy"].uses
    assert _ruleset_block() in sections(_guide())[phases["github"].title]


def test_main_without_a_required_review_exposes_the_master_secret():
    """The walkthrough as it was: `main` had a required status check and nothing more."""
    old = _guide().replace(_ruleset_block(), "")
    assert secret_reach.main_reviewed(old) == [
        "the walkthrough creates no ruleset on main (gh api -X POST repos/$REPO/rulesets)"
    ]
    problems = secret_reach.check("staging", old)
    assert (
        "staging: github-deploy reads the master secret (ExternalSecret in test-app via "
        "aws-secrets-manager) from environment:staging (main takes unreviewed pushes), not only "
        "main"
    ) in problems
    assert any(
        p.startswith("prod: github-deploy reads the master secret")
        for p in (secret_reach.check("prod", old))
    )


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (
            {
                "bypass_actors": [
                    {"actor_id": 5, "actor_type": "RepositoryRole", "bypass_mode": "always"}
                ]
            },
            "may push around it",
        ),
        ({"enforcement": "evaluate"}, "enforcement is 'evaluate', not 'active'"),
        (
            {"conditions": {"ref_name": {"include": ["refs/heads/release"], "exclude": []}}},
            "does not include main",
        ),
        (
            {"rules": [{"type": "required_status_checks", "parameters": {}}]},
            "no pull_request rule with required_approving_review_count >= 1",
        ),
    ],
)
def test_a_ruleset_that_lets_an_unreviewed_change_in_fails(change, problem, tmp_path):
    ruleset = json.loads(secret_reach.RULESET_FILE.read_text(encoding="utf-8")) | change
    # The walkthrough's file, weakened ...
    weak_file = tmp_path / secret_reach.RULESET_FILE.relative_to(REPO)
    weak_file.parent.mkdir(parents=True)
    weak_file.write_text(json.dumps(ruleset), encoding="utf-8")
    [found] = secret_reach.main_reviewed(_guide(), root=tmp_path)
    assert found.startswith("ruleset 'main': "), found
    assert problem in found, found
    # ... and the same ruleset given inline.
    inline = _guide().replace(
        f"--input {RULESET_PATH}", f"--input - <<'EOF'\n{json.dumps(ruleset)}\nEOF"
    )
    assert secret_reach.main_reviewed(inline) == [found]
    assert secret_reach.check("staging", inline) != []


def test_a_ruleset_file_that_is_not_there_gates_nothing(tmp_path):
    assert f"--input {RULESET_PATH}" in _ruleset_block()
    assert secret_reach.main_reviewed(_guide(), root=tmp_path) == [
        f"the ruleset file {RULESET_PATH} does not exist"
    ]


def test_a_role_that_may_create_secret_stores_reaches_what_the_controller_reads(
    tmp_path, monkeypatch
):
    """A namespaced SecretStore without `auth` acts as the controller: no store admits it."""
    manifests = tmp_path / "manifests"
    shutil.copytree(secret_reach.MANIFESTS, manifests)
    rbac = manifests / "deploy-rbac.yaml"
    text = rbac.read_text(encoding="utf-8")
    old = '    resources: ["externalsecrets"]\n'
    assert old in text
    rbac.write_text(text.replace(old, '    resources: ["externalsecrets", "secretstores"]\n'))
    monkeypatch.setattr(secret_reach, "MANIFESTS", manifests)
    assert secret_reach.externalsecret_writers("secretstores") == {
        "test-app": {"test-app-deployers"}
    }
    assert (
        "staging: github-deploy reads the master secret (SecretStore in test-app as the "
        "controller), not the role hook's path"
    ) in secret_reach.check("staging")


def test_no_platform_role_may_create_secret_stores():
    assert secret_reach.externalsecret_writers("secretstores") == {}


def test_the_ruleset_requires_the_pipeline_gate_by_its_check_name():
    """A required check no job reports blocks every merge: it must be ci.yml's gate job."""
    ruleset = json.loads(secret_reach.RULESET_FILE.read_text(encoding="utf-8"))
    [checks] = [
        r["parameters"]["required_status_checks"]
        for r in ruleset["rules"]
        if r["type"] == "required_status_checks"
    ]
    ci = yaml.safe_load((REPO / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8"))
    reported = {job.get("name", job_id) for job_id, job in ci["jobs"].items()}
    assert [c["context"] for c in checks] == ["required-checks-pass"]
    assert "required-checks-pass" in reported


def test_a_role_s_policies_are_decided_together(monkeypatch):
    # IAM decides an identity's policies together: a Deny in one beats an Allow in another.
    master = secret_reach.secrets("staging")["master"]
    policies = [
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
        },
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Deny", "Action": secret_reach.GET, "Resource": master}],
        },
    ]
    role = secret_reach.Role("guarded", ["environment:prod"], policies, [])
    monkeypatch.setattr(secret_reach, "ci_roles", lambda _env: [role])
    found = secret_reach.reach("staging")
    assert {r.secret for r in found if r.identity == "guarded"} == {"app", "receivers"}
