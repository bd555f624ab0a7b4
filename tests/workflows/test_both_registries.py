"""Both registries: for an AWS-only, an Azure-only and a both-clouds repository, publish delivers
the signed image to every registry an environment pulls from, and each deploy verifies the
signature in the registry it pulls from (test_app_tooling.workflows.delivery walks the jobs).

The variables are the ones docs/release.md tells a repository to set."""

from __future__ import annotations

import pytest
from workflows.test_pipeline import load

from test_app_tooling.workflows import delivery
from test_app_tooling.workflows.expressions import condition, evaluate, interpolate


ACCOUNT = "111122223333"
AWS_REPO = {
    "AWS_ACCOUNT_ID": ACCOUNT,
    "AWS_CI_PUSH_ROLE_ARN": f"arn:aws:iam::{ACCOUNT}:role/test-app-ci-push",
}
AZURE_REPO = {
    "AZURE_TENANT_ID": "72f988bf-86f1-41af-91ab-2d7cd011db47",
    "ACR_LOGIN_SERVER_STAGING": "acmetestappstaging.azurecr.io",
    "AZURE_CI_PUSH_CLIENT_ID_STAGING": "11111111-1111-4111-8111-111111111111",
    "AZURE_SUBSCRIPTION_ID_STAGING": "22222222-2222-4222-8222-222222222222",
    "ACR_LOGIN_SERVER_PROD": "acmetestappprod.azurecr.io",
    "AZURE_CI_PUSH_CLIENT_ID_PROD": "33333333-3333-4333-8333-333333333333",
    "AZURE_SUBSCRIPTION_ID_PROD": "44444444-4444-4444-8444-444444444444",
}


def aws_env(env: str) -> dict[str, str]:
    return {"AWS_DEPLOY_ROLE_ARN": f"arn:aws:iam::{ACCOUNT}:role/test-app-{env}-deploy"}


def azure_env(env: str) -> dict[str, str]:
    return {
        "CLOUD": "azure",
        "AZURE_DEPLOY_CLIENT_ID": "55555555-5555-4555-8555-555555555555",
        "AZURE_SUBSCRIPTION_ID": AZURE_REPO[f"AZURE_SUBSCRIPTION_ID_{env.upper()}"],
    }


def only(keys: list[str], variables: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in variables.items() if any(k.endswith(s) for s in keys)}


REPOSITORIES = [
    delivery.Repository(
        "acme/aws-only", AWS_REPO, {"staging": aws_env("staging"), "prod": aws_env("prod")}
    ),
    delivery.Repository(
        "acme/azure-only", AZURE_REPO, {"staging": azure_env("staging"), "prod": azure_env("prod")}
    ),
    delivery.Repository(
        "acme/staging-on-aws-prod-on-azure",
        AWS_REPO | only(["_PROD", "TENANT_ID"], AZURE_REPO),
        {"staging": aws_env("staging"), "prod": azure_env("prod")},
    ),
    delivery.Repository(
        "acme/staging-on-azure-prod-on-aws",
        AWS_REPO | only(["_STAGING", "TENANT_ID"], AZURE_REPO),
        {"staging": azure_env("staging"), "prod": aws_env("prod")},
    ),
]


@pytest.mark.parametrize("repository", REPOSITORIES, ids=lambda r: r.name)
def test_every_environment_deploys_a_signed_image_publish_delivered(repository):
    assert delivery.check(load("ci.yml"), load("deploy.yml"), repository) == []


def test_an_environment_whose_registry_publish_skips_fails():
    # prod on Azure, but its registry variable is missing at repository level.
    repository = delivery.Repository(
        "acme/forgot-prod",
        AWS_REPO | only(["_STAGING", "TENANT_ID"], AZURE_REPO),
        {"staging": aws_env("staging"), "prod": azure_env("prod")},
    )
    problems = delivery.check(load("ci.yml"), load("deploy.yml"), repository)
    assert problems, "a prod on Azure without its registry variable must not pass"
    assert any(p.startswith("[acme/forgot-prod] prod:") for p in problems), problems


def test_a_deploy_without_verification_fails():
    deploy = load("deploy.yml")
    [job] = deploy.jobs.values()
    job["steps"] = [s for s in job["steps"] if not str(s.get("name", "")).startswith("Verify")]
    problems = delivery.check(load("ci.yml"), deploy, REPOSITORIES[1])
    assert any("where no earlier step verified the signature" in p for p in problems), problems


def test_a_copy_before_signing_fails():
    ci = load("ci.yml")
    job = ci.jobs["publish"]
    sign = next(s for s in job["steps"] if str(s.get("name", "")).startswith("Sign"))
    job["steps"].remove(sign)
    job["steps"].append(sign)
    problems = delivery.check(ci, load("deploy.yml"), REPOSITORIES[1])
    assert any("before it is signed there" in p for p in problems), problems


def test_a_copy_without_a_registry_login_fails():
    ci = load("ci.yml")
    job = ci.jobs["publish"]
    job["steps"] = [s for s in job["steps"] if "az acr login" not in str(s.get("run", ""))]
    problems = delivery.check(ci, load("deploy.yml"), REPOSITORIES[1])
    assert any("without signing in to it" in p for p in problems), problems


# --- the expression evaluator the walk relies on ----------------------------------------------


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("vars.CLOUD == 'azure'", True),
        ("vars.cloud == 'AZURE'", True),  # names and string comparison ignore case
        ("vars.UNSET != ''", False),  # null equals '' (both are 0)
        ("vars.UNSET || 'aws'", "aws"),
        ("vars.CLOUD && 'x' || 'y'", "x"),
        ("!vars.UNSET", True),
        ("format('{0}.dkr.ecr.{1}.amazonaws.com', vars.ID, 'eu-central-1')",
         "1.dkr.ecr.eu-central-1.amazonaws.com"),
        ("vars[format('ACR_{0}', 'prod')]", "p.azurecr.io"),
        ("contains('a,b', 'B') && startsWith('abc', 'a') && endsWith('abc', 'c')", True),
        ("('it''s')", "it's"),
    ],
)  # fmt: skip
def test_expressions_evaluate_like_github(expression, expected):
    contexts = {"vars": {"CLOUD": "azure", "ID": "1", "ACR_PROD": "p.azurecr.io"}}
    assert evaluate(expression, contexts) == expected


def test_interpolation_and_conditions():
    contexts = {"vars": {"A": "x"}, "inputs": {"environment": "prod"}}
    assert interpolate("${{ vars.A }}-${{ inputs.environment }}", contexts) == "x-prod"
    assert condition("vars.A != ''", contexts) is True
    assert condition("${{ vars.B != '' }}", contexts) is False
    assert condition(None, contexts) is True
    with pytest.raises(ValueError, match=r"function toJSON\(\) is not supported"):
        evaluate("toJSON(vars)", contexts)
