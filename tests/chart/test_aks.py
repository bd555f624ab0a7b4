"""The chart on AKS (values-aks-*.yaml): what differs from EKS, and what must agree with
infra/azure. Every check of the other value sets also runs on `aks-staging` and `aks-prod`."""

from __future__ import annotations

import ipaddress
import re
import tomllib

import hcl2
import pytest

from test_app_tooling.helm_render import CHART, app_container, by_kind, load_values, one, render
from test_app_tooling.tools import REPO


AKS_SETS = ["aks-staging", "aks-prod"]
ENVIRONMENT = {"aks-staging": "staging", "aks-prod": "prod"}


def _tfvars(env: str, stack: str) -> dict[str, object]:
    with (REPO / "infra" / "azure" / "envs" / env / f"{stack}.tfvars").open() as handle:
        values: dict[str, object] = hcl2.load(handle)
    return values


def _unquote(value: object) -> str:
    return str(value).strip('"')


@pytest.mark.parametrize("name", AKS_SETS)
def test_ingress_uses_application_routing_without_alb_annotations(rendered_sets, name):
    ingress = one(rendered_sets[name], "Ingress")
    assert ingress["spec"]["ingressClassName"] == "webapprouting.kubernetes.azure.com"
    annotations = ingress["metadata"].get("annotations") or {}
    assert not [a for a in annotations if a.startswith("alb.ingress.kubernetes.io/")]


def test_prod_serves_tls_from_key_vault_and_probes_https(rendered_sets):
    objects = rendered_sets["aks-prod"]
    ingress = one(objects, "Ingress")
    assert ingress["spec"]["tls"] == [
        {"hosts": ["test-app.example.com"], "secretName": "keyvault-test-app"}
    ]
    uri = ingress["metadata"]["annotations"]["kubernetes.azure.com/tls-cert-keyvault-uri"]
    assert uri.startswith("https://")
    (probe,) = by_kind(objects, "Probe")
    assert probe["spec"]["targets"]["staticConfig"]["static"] == [
        "https://test-app.example.com/health"
    ]


def test_prod_on_aks_refuses_plain_http():
    values = load_values(["values-aks-prod.yaml"], {"image": {"digest": "sha256:" + "ab" * 32}})
    values["ingress"]["host"] = "test-app.example.com"
    with pytest.raises(Exception, match=r"/ingress/tls"):
        render(values)


@pytest.mark.parametrize("name", AKS_SETS)
def test_image_comes_from_the_registry_stacks_acr(rendered_sets, name):
    # The registry stack names it `<azure.unique_name>testapp<env>` (infra/envs/project.toml).
    project = tomllib.loads((REPO / "infra" / "envs" / "project.toml").read_text(encoding="utf-8"))
    registry = f"{project['azure']['unique_name']}testapp{ENVIRONMENT[name]}"
    image = app_container(rendered_sets[name])["image"]
    assert image.startswith(f"{registry}.azurecr.io/test-app:1.0.0"), image


@pytest.mark.parametrize("name", AKS_SETS)
def test_secret_comes_from_the_database_stacks_key_vault_secret(rendered_sets, name):
    external = one(rendered_sets[name], "ExternalSecret", "test-app-db")
    assert external["spec"]["secretStoreRef"] == {
        "kind": "ClusterSecretStore",
        "name": "azure-key-vault",
    }
    # The database stack names its secret "${local.name}-database", local.name = test-app-<env>.
    stack = (REPO / "infra" / "azure" / "stacks" / "database" / "main.tf").read_text()
    assert 'name         = "${local.name}-database"' in stack
    remote = {d["remoteRef"]["key"] for d in external["spec"]["data"]}
    assert remote == {f"test-app-{ENVIRONMENT[name]}-database"}
    assert {d["remoteRef"]["property"] for d in external["spec"]["data"]} == {
        "username",
        "password",
    }


@pytest.mark.parametrize("name", AKS_SETS)
def test_role_hook_reads_the_administrators_key_vault_secret(rendered_sets, name):
    """The app logs in as its own role; the server administrator's secret reaches only the hook."""
    objects = rendered_sets[name]
    job = one(objects, "Job", "test-app-db-role")
    assert job["spec"]["template"]["spec"]["containers"][0]["command"][:3] == [
        "test-app-db-role",
        "--role",
        "test_app",
    ]
    admin = one(objects, "ExternalSecret", "test-app-db-admin")
    assert admin["spec"]["secretStoreRef"] == {
        "kind": "ClusterSecretStore",
        "name": "azure-key-vault",
    }
    # The database stack names the administrator's secret "${local.name}-database-admin".
    stack = (REPO / "infra" / "azure" / "stacks" / "database" / "main.tf").read_text()
    assert re.search(r'\n  name\s+= "\$\{local\.name\}-database-admin"\n', stack)
    keys = {d["secretKey"]: d["remoteRef"]["key"] for d in admin["spec"]["data"]}
    env = ENVIRONMENT[name]
    assert keys == {
        "admin-user": f"test-app-{env}-database-admin",
        "admin-password": f"test-app-{env}-database-admin",
        "app-password": f"test-app-{env}-database",
    }
    app = one(objects, "ExternalSecret", "test-app-db")
    assert {d["remoteRef"]["key"] for d in app["spec"]["data"]} == {f"test-app-{env}-database"}


def test_prod_pods_are_sized_like_the_measured_aws_prod_pods(rendered_sets):
    """ADR 0010: the requests and limits come from `make bench-pod`, whichever cloud runs them."""
    assert (
        app_container(rendered_sets["aks-prod"])["resources"]
        == (app_container(rendered_sets["prod"])["resources"])
    )
    hpa = {
        name: one(rendered_sets[name], "HorizontalPodAutoscaler")["spec"]
        for name in ("prod", "aks-prod")
    }
    assert hpa["aks-prod"]["metrics"] == hpa["prod"]["metrics"]


@pytest.mark.parametrize("name", AKS_SETS)
def test_network_policy_allows_the_routing_controller_and_the_database_subnet(rendered_sets, name):
    policy = one(rendered_sets[name], "NetworkPolicy", "test-app")
    sources = [peer for rule in policy["spec"]["ingress"] for peer in rule["from"]]
    namespaces = [
        p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
        for p in sources
        if "namespaceSelector" in p and "podSelector" not in p
    ]
    assert namespaces == ["app-routing-system"]
    assert not [p for p in sources if "ipBlock" in p]
    # The database subnet as the network stack computes it: cidrsubnet(address_space, 8, 5).
    space = ipaddress.ip_network(_unquote(_tfvars(ENVIRONMENT[name], "network")["address_space"]))
    network_stack = (REPO / "infra" / "azure" / "stacks" / "network" / "main.tf").read_text()
    assert re.search(
        r"database_subnet_prefix\s*=\s*cidrsubnet\(var\.address_space, 8, 5\)", network_stack
    )
    subnet = str(list(space.subnets(new_prefix=space.prefixlen + 8))[5])
    egress = [
        peer["ipBlock"]["cidr"]
        for rule in policy["spec"]["egress"]
        for peer in rule.get("to", [])
        if "ipBlock" in peer
    ]
    assert egress == [subnet]


@pytest.mark.parametrize("name", AKS_SETS)
def test_database_tls_and_reader_endpoint(rendered_sets, name):
    env = {e["name"]: e.get("value") for e in app_container(rendered_sets[name])["env"]}
    assert env["POSTGRESQL_SSLMODE"] == "require"
    assert env["POSTGRESQL_READ_HOST"].endswith(".reader.postgres.database.azure.com")
    assert env["POSTGRESQL_HOST"].endswith(".writer.postgres.database.azure.com")


def test_aks_values_files_exist_for_both_environments():
    assert sorted(p.name for p in CHART.glob("values-aks-*.yaml")) == [
        "values-aks-prod.yaml",
        "values-aks-staging.yaml",
    ]
