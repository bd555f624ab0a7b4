"""Who can read each AWS secret, in CI and through the cluster (infra/secret_reach).

The master secret must be reachable only on the role hook's path (the deploy role creating the
hook's ExternalSecret in the app's namespace) and by the Terraform apply role, both from `main`
only; the app secret additionally by pull-request plans (the documented exception). The staging
environment used to have no branch policy, so a workflow on any branch could take the staging
deploy role and materialise the master password: the walkthrough of that time fails below.
"""

from __future__ import annotations

import pytest

from test_app_tooling.infra import secret_reach


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
    problems = secret_reach.check("staging", OLD_ENVIRONMENTS)
    assert (
        "staging: github-deploy reads the master secret (ExternalSecret in test-app via "
        "aws-secrets-manager) from environment:staging, not only main"
    ) in problems
    assert secret_reach.check("prod", OLD_ENVIRONMENTS) == []


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
