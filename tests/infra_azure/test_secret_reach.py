"""Who can read each Azure Key Vault secret, in CI and through AKS (infra/azure_secret_reach).

The server administrator's secret must be reachable only on the documented paths (the deploy
identity's role hook and rotation CronJob in the app's namespace, the Terraform apply
identity), each from a reviewed `main` only; the app's login additionally by pull-request plans.
The Azure walkthrough used to create `staging` with no branch policy, leave `infra-<env>` to be
created unprotected by the first workflow naming it, and set no rule on `main`: any writer could
take the staging deploy identity from a branch and materialise the administrator password. That
walkthrough fails below.
"""

from __future__ import annotations

import re
import shutil

import pytest

from test_app_tooling import walkthrough
from test_app_tooling.infra import azure_secret_reach, secret_reach
from test_app_tooling.tools import REPO
from test_app_tooling.walkthrough import sections


HOOK = "ExternalSecret in test-app via azure-key-vault"
CRONJOB = "pod in test-app as test-app-rotation"


def _guide() -> str:
    return azure_secret_reach.WALKTHROUGH.read_text(encoding="utf-8")


def _ruleset_command(text: str) -> str:
    [command] = re.findall(r"gh api -X POST \"repos/\$REPO/rulesets\" --input \S+", text)
    return str(command)


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_every_secret_is_reachable_only_from_main_or_the_documented_exception(env):
    assert azure_secret_reach.check(env) == []


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_the_paths_found_are_the_ones_the_design_has(env):
    # The model must see the real paths, or a clean check means nothing.
    found = {(r.identity, r.secret, r.path) for r in azure_secret_reach.reach(env)}
    assert ("deploy", "admin", HOOK) in found
    assert ("deploy", "app", HOOK) in found
    assert ("deploy", "receivers", HOOK) in found
    assert ("deploy", "admin", CRONJOB) in found
    assert ("plan", "app", f"Key Vault Secrets User on secret test-app-{env}-database") in found
    assert ("apply", "admin", "Key Vault Secrets Officer on the vault") in found
    assert not any(i == "plan" and s == "admin" for i, s, _ in found)
    assert not any(i == "push" for i, _, _ in found)
    # The administrator's password is reached only on the documented paths.
    assert {(i, p) for i, s, p in found if s == "admin"} == {
        (i, p.format(env=env)) for i, p in azure_secret_reach.ADMIN_PATHS
    }


# The environments of the walkthrough before this check: staging without a branch policy, no
# infra-<env> environment, no ruleset on main.
OLD_ENVIRONMENTS = """
```bash
gh api -X PUT "repos/$REPO/environments/staging"
gh api -X PUT "repos/$REPO/environments/prod" --input - <<EOF
{"reviewers":[{"type":"User","id":$ME}],
 "deployment_branch_policy":{"protected_branches":false,"custom_branch_policies":true}}
EOF
gh api -X POST "repos/$REPO/environments/prod/deployment-branch-policies" -f name=main
```
"""


def test_the_old_walkthrough_exposes_the_administrator_password():
    problems = azure_secret_reach.check("staging", OLD_ENVIRONMENTS)
    assert (
        f"staging: deploy reads the admin secret ({HOOK}) from environment:staging, not only main"
    ) in problems
    assert (
        "staging: apply reads the admin secret (Key Vault Secrets Officer on the vault) from "
        "environment:infra-staging, not only main"
    ) in problems
    assert (
        f"prod: deploy reads the admin secret ({HOOK}) from environment:prod (main takes "
        "unreviewed pushes), not only main"
    ) in azure_secret_reach.check("prod", OLD_ENVIRONMENTS)


def test_main_without_the_ruleset_exposes_the_administrator_password():
    old = _guide().replace(_ruleset_command(_guide()), "")
    assert secret_reach.main_reviewed(old) != []
    assert (
        f"staging: deploy reads the admin secret ({HOOK}) from environment:staging (main takes "
        "unreviewed pushes), not only main"
    ) in azure_secret_reach.check("staging", old)


def test_both_walkthroughs_post_the_one_ruleset_file():
    aws = secret_reach.WALKTHROUGH.read_text(encoding="utf-8")
    assert _ruleset_command(_guide()) == _ruleset_command(aws)
    assert _ruleset_command(_guide()).endswith(
        secret_reach.RULESET_FILE.relative_to(REPO).as_posix()
    )
    assert secret_reach.main_reviewed(_guide()) == []


def test_main_is_protected_and_the_environments_exist_before_the_first_pipeline_run():
    phases = {p.id: p for p in walkthrough.AZURE.load()}
    first = phases["first-deploy"]
    for item in [
        "ruleset:main",
        "github-environment:staging",
        "github-environment:infra-staging",
        "github-environment:infra-prod",
    ]:
        assert item in first.sets, item
    body = sections(_guide())[first.title]
    run = body.index("gh workflow run ci.yml")
    assert body.index(_ruleset_command(_guide())) < run
    assert body.index('environments/$env/deployment-branch-policies" -f name=main') < run
    assert secret_reach.main_only_environments(body) == {
        "staging",
        "prod",
        "infra-staging",
        "infra-prod",
    }


def test_a_deploy_identity_that_may_create_secret_stores_is_caught(tmp_path, monkeypatch):
    """A namespaced SecretStore may act as any ServiceAccount of its namespace: the rotation's."""
    _secret_store_rights(tmp_path, monkeypatch)
    assert (
        "staging: deploy reads the admin secret (SecretStore in test-app as test-app-rotation), "
        "not a documented path"
    ) in azure_secret_reach.check("staging")


def test_a_plan_identity_reading_the_vault_is_caught(tmp_path, monkeypatch):
    ci = tmp_path / "ci"
    shutil.copytree(azure_secret_reach.CI_MAIN.parent, ci)
    main = ci / "main.tf"
    one_secret = '"${data.azurerm_key_vault.this.id}/secrets/${local.name}-database"'
    text = main.read_text(encoding="utf-8")
    assert text.count(one_secret) == 1
    main.write_text(text.replace(one_secret, "data.azurerm_key_vault.this.id"))
    monkeypatch.setattr(azure_secret_reach, "CI_MAIN", main)
    problems = azure_secret_reach.check("staging")
    assert (
        "staging: plan reads the admin secret (Key Vault Secrets User on the vault) from "
        "pull_request, not only main"
    ) in problems
    assert (
        "staging: plan reads the admin secret (Key Vault Secrets User on the vault), not a "
        "documented path"
    ) in problems


def test_a_kubernetes_role_without_known_data_actions_fails(tmp_path, monkeypatch):
    ci = tmp_path / "ci"
    shutil.copytree(azure_secret_reach.CI_MAIN.parent, ci)
    main = ci / "main.tf"
    text = main.read_text(encoding="utf-8")
    writer = 'role_definition_name = "Azure Kubernetes Service RBAC Writer"'
    assert writer in text
    main.write_text(
        text.replace(writer, 'role_definition_name = "Azure Kubernetes Service RBAC Admin"')
    )
    monkeypatch.setattr(azure_secret_reach, "CI_MAIN", main)
    with pytest.raises(LookupError, match=r"Azure Kubernetes Service RBAC Admin on .*: no data"):
        azure_secret_reach.reach("staging")


def test_a_kubernetes_role_on_the_whole_cluster_reaches_every_namespace(tmp_path, monkeypatch):
    ci = tmp_path / "ci"
    shutil.copytree(azure_secret_reach.CI_MAIN.parent, ci)
    main = ci / "main.tf"
    text = main.read_text(encoding="utf-8")
    namespaced = '"${data.azurerm_kubernetes_cluster.this.id}/namespaces/${ns}"'
    assert text.count(namespaced) == 1
    main.write_text(text.replace(namespaced, "data.azurerm_kubernetes_cluster.this.id"))
    monkeypatch.setattr(azure_secret_reach, "CI_MAIN", main)
    assert (
        "staging: deploy reads the admin secret (pod in external-secrets as external-secrets), "
        "not a documented path"
    ) in azure_secret_reach.check("staging")


def _secret_store_rights(tmp_path, monkeypatch):
    manifests = tmp_path / "manifests"
    shutil.copytree(secret_reach.MANIFESTS, manifests)
    rbac = manifests / "deploy-rbac.yaml"
    text = rbac.read_text(encoding="utf-8")
    old = '    resources: ["externalsecrets"]\n'
    assert old in text
    rbac.write_text(text.replace(old, '    resources: ["externalsecrets", "secretstores"]\n'))
    monkeypatch.setattr(secret_reach, "MANIFESTS", manifests)


def test_a_secret_store_acts_as_the_controller_once_its_identity_is_injected(tmp_path, monkeypatch):
    _secret_store_rights(tmp_path, monkeypatch)
    controller = "SecretStore in test-app as the controller"
    assert not any(r.path == controller for r in azure_secret_reach.reach("staging"))
    values = tmp_path / "eso.yaml"
    values.write_text('podLabels:\n  azure.workload.identity/use: "true"\n', encoding="utf-8")
    monkeypatch.setattr(azure_secret_reach, "ESO_VALUES", [values])
    found = {
        (r.identity, r.secret) for r in azure_secret_reach.reach("staging") if r.path == controller
    }
    assert found == {("deploy", "app"), ("deploy", "admin"), ("deploy", "receivers")}
