"""Secret store completeness on AKS: the chart's ExternalSecrets (rendered with the AKS values),
the platform's ClusterSecretStore and External Secrets' own ServiceAccount hold everything
External Secrets v0.20.1's Azure Key Vault provider needs for workload identity
(test_app_tooling.secret_store names the rules and their source).

The real files must pass; each rule must also catch its defect on a small break of them."""

from __future__ import annotations

import copy
import re
from typing import Any

import jsonschema
import pytest
import yaml

import install
from test_app_tooling import secret_store
from test_app_tooling.crd_schemas import CRD_SCHEMAS
from test_app_tooling.helm_render import AKS_INSTALL_TIME, deep_merge, load_values, render
from test_app_tooling.tools import REPO


PLATFORM = REPO / "platform"
AKS = PLATFORM / "aks"
# What the platform phase of docs/getting-started-azure.md fills in from the cluster stack.
FILLED = {
    "AZURE_TENANT_ID": "72f988bf-86f1-41af-91ab-2d7cd011db47",
    "KEY_VAULT_URI": "https://acme-test-app-stg.vault.azure.net/",
    "EXTERNAL_SECRETS_CLIENT_ID": "0b9d3c4e-1111-4222-8333-944455556666",
    "CLUSTER_NAME": "test-app-staging",
}


def _load(path: Any) -> list[dict[str, Any]]:
    text = install.substitute(path.read_text(encoding="utf-8"), FILLED)
    return [d for d in yaml.safe_load_all(text) if d]


def platform_objects() -> list[dict[str, Any]]:
    return [o for p in sorted(AKS.glob("*.yaml")) if p.name != "external-secrets-values.yaml"
               for o in _load(p)]  # fmt: skip


def controller(overlay: dict[str, Any] | None = None) -> secret_store.Controller:
    base = yaml.safe_load((PLATFORM / "values" / "external-secrets.yaml").read_text())
    [aks] = _load(AKS / "external-secrets-values.yaml")
    values = deep_merge(deep_merge(base, aks), overlay or {})
    return secret_store.Controller.from_values(values, "external-secrets")


@pytest.fixture(scope="module", params=["values-aks-staging.yaml", "values-aks-prod.yaml"])
def chart(request) -> list[dict[str, Any]]:
    extra: dict[str, Any] = copy.deepcopy(AKS_INSTALL_TIME)
    if "prod" in request.param:
        extra["image"] = {"digest": "sha256:" + "ab" * 32}
        extra["ingress"] = {
            "host": "test-app.example.com",
            "tls": [{"hosts": ["test-app.example.com"], "secretName": "keyvault-test-app"}],
        }
    return render(load_values([request.param], extra))


def test_the_aks_store_service_account_and_pods_are_complete(chart):
    problems = secret_store.check(chart, platform_objects(), controller())
    assert problems == []


def test_the_aks_platform_objects_match_their_schemas():
    objects = platform_objects()
    assert {o["kind"] for o in objects} == {"ClusterSecretStore", "ExternalSecret"}
    for obj in objects:
        jsonschema.validate(obj, CRD_SCHEMAS[(obj["apiVersion"], obj["kind"])])


def test_alertmanager_receivers_come_from_the_key_vault_store():
    [external] = [o for o in platform_objects() if o["kind"] == "ExternalSecret"]
    assert external["metadata"]["namespace"] == "monitoring"
    assert external["spec"]["secretStoreRef"] == {
        "kind": "ClusterSecretStore",
        "name": "azure-key-vault",
    }
    assert "/" not in external["spec"]["dataFrom"][0]["extract"]["key"], (
        "Key Vault names allow no /"
    )


def test_the_store_is_the_identity_the_cluster_stack_federates():
    # The cluster stack's workload identity for External Secrets trusts exactly
    # system:serviceaccount:<external_secrets_namespace>:<external_secrets_service_account>.
    variables = (REPO / "infra" / "azure" / "stacks" / "cluster" / "variables.tf").read_text()
    defaults = {}
    for name in ("external_secrets_namespace", "external_secrets_service_account"):
        found = re.search(
            rf'variable "{name}" {{[^}}]*?default\s*=\s*"([^"]+)"', variables, re.DOTALL
        )
        assert found, f"{name} has no default in the cluster stack"
        defaults[name] = found.group(1)
    ref = _store()["spec"]["provider"]["azurekv"]["serviceAccountRef"]
    assert ref == {
        "name": defaults["external_secrets_service_account"],
        "namespace": defaults["external_secrets_namespace"],
    }
    assert controller().service_account["metadata"]["name"] == ref["name"]


def _store() -> dict[str, Any]:
    [store] = [o for o in platform_objects() if o["kind"] == "ClusterSecretStore"]
    return store


def test_a_store_without_tenant_fails(chart):
    store = _store()
    del store["spec"]["provider"]["azurekv"]["tenantId"]
    problems = secret_store.check(chart, [store], controller())
    assert any("missing tenantID in store config" in p for p in problems), problems


def test_a_tenant_in_store_and_annotation_fails(chart):
    tenant = {secret_store.TENANT_ID: FILLED["AZURE_TENANT_ID"]}
    overlay = {"serviceAccount": {"annotations": tenant}}
    problems = secret_store.check(chart, [_store()], controller(overlay))
    assert any("multiple tenantID found" in p for p in problems), problems


def test_a_service_account_with_only_the_tenant_annotation_passes(chart):
    store = _store()
    del store["spec"]["provider"]["azurekv"]["tenantId"]
    overlay = {
        "serviceAccount": {"annotations": {secret_store.TENANT_ID: FILLED["AZURE_TENANT_ID"]}}
    }
    assert secret_store.check(chart, [store], controller(overlay)) == []


def test_a_service_account_without_client_id_fails(chart):
    base = controller()
    base.service_account["metadata"]["annotations"].pop(secret_store.CLIENT_ID)
    problems = secret_store.check(chart, [_store()], base)
    assert any("lacks the azure.workload.identity/client-id" in p for p in problems), problems


def test_a_referent_service_account_fails(chart):
    store = _store()
    del store["spec"]["provider"]["azurekv"]["serviceAccountRef"]["namespace"]
    problems = secret_store.check(chart, [store], controller())
    assert any("serviceAccountRef.namespace is missing" in p for p in problems), problems


def test_without_service_account_ref_the_controller_pod_needs_the_label(chart):
    store = _store()
    del store["spec"]["provider"]["azurekv"]["serviceAccountRef"]
    problems = secret_store.check(chart, [store], controller())
    assert any("its pods lack the label" in p for p in problems), problems
    labelled = controller({"podLabels": {secret_store.USE_LABEL: "true"}})
    assert secret_store.check(chart, [store], labelled) == []


def test_an_external_secret_of_a_namespace_the_store_refuses_fails(chart):
    store = _store()
    store["spec"]["conditions"] = [{"namespaces": ["test-app"]}]
    externals = [o for o in platform_objects() if o["kind"] == "ExternalSecret"]
    problems = secret_store.check(chart, [store, *externals], controller())
    assert any("admits only namespaces ['test-app']" in p for p in problems), problems


def test_a_chart_store_the_platform_lacks_fails(chart):
    store = _store()
    store["metadata"]["name"] = "another-store"
    problems = secret_store.check(chart, [store], controller())
    assert any("is in no platform manifest" in p for p in problems), problems


def test_an_unlabelled_pod_whose_service_account_has_a_client_id_fails():
    account = {
        "kind": "ServiceAccount",
        "metadata": {"name": "rotate", "namespace": "test-app",
                     "annotations": {secret_store.CLIENT_ID: FILLED["EXTERNAL_SECRETS_CLIENT_ID"]}},
    }  # fmt: skip
    cron: dict[str, Any] = {
        "kind": "CronJob",
        "metadata": {"name": "rotate", "namespace": "test-app"},
        "spec": {"jobTemplate": {"spec": {"template": {
            "metadata": {"labels": {}}, "spec": {"serviceAccountName": "rotate"}}}}},
    }  # fmt: skip
    accounts = secret_store.service_accounts([account])
    [problem] = secret_store.workload_identity_pods([cron], accounts)
    assert "the pods lack the label azure.workload.identity/use" in problem
    labels = cron["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
    labels[secret_store.USE_LABEL] = "true"
    assert secret_store.workload_identity_pods([cron], accounts) == []


def test_the_walkthrough_installs_these_files_and_no_inline_store():
    text = (REPO / "docs" / "getting-started-azure.md").read_text(encoding="utf-8")
    assert "platform/aks/cluster-secret-store.yaml" in text
    assert "platform/aks/external-secrets-values.yaml" in text
    assert "kind: ClusterSecretStore" not in text
    for name in FILLED:
        assert f"export {name}=" in text or f"{name}=$(" in text, name
