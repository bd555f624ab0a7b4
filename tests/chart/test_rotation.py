"""The rotation CronJob (AKS, rotation.enabled): `test-app-db-role rotate` on a schedule as its own
workload identity, never two at once, reading the administrator's login from Key Vault itself."""

from __future__ import annotations

import copy

import pytest

from test_app_tooling.helm_render import (
    AKS_INSTALL_TIME,
    app_container,
    load_values,
    one,
    render,
    render_error,
)


AKS_SETS = ["aks-staging", "aks-prod"]


@pytest.mark.parametrize("name", AKS_SETS)
def test_the_cronjob_rotates_into_the_apps_vault_secret(rendered_sets, name):
    objects = rendered_sets[name]
    values = load_values(["values.yaml", f"values-{name}.yaml"], AKS_INSTALL_TIME)
    cron = one(objects, "CronJob", "test-app-rotation")
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]
    assert pod["metadata"]["labels"]["azure.workload.identity/use"] == "true"
    assert pod["spec"]["serviceAccountName"] == "test-app-rotation"
    [container] = pod["spec"]["containers"]
    assert container["image"] == app_container(objects)["image"]
    assert container["command"] == [
        "test-app-db-role", "rotate", "--role", values["dbRole"]["name"],
        "--key-vault-url", AKS_INSTALL_TIME["rotation"]["keyVaultUrl"],
        "--secret-name", values["externalSecret"]["remoteSecretName"],
        "--admin-secret-name", values["dbRole"]["adminRemoteSecretName"],
    ]  # fmt: skip
    env = {e["name"] for e in container["env"]}
    assert {"POSTGRESQL_HOST", "POSTGRESQL_DBNAME", "POSTGRESQL_SSLMODE"} <= env
    assert not env & {"POSTGRESQL_USER", "POSTGRESQL_PASSWORD", "POSTGRESQL_PASSWORD_FILE"}
    account = one(objects, "ServiceAccount", "test-app-rotation")
    assert (
        account["metadata"]["annotations"]["azure.workload.identity/client-id"]
        == AKS_INSTALL_TIME["rotation"]["clientId"]
    )
    policy = one(objects, "NetworkPolicy", "test-app-rotation")
    assert {"port": 443, "protocol": "TCP"} in [
        p for r in policy["spec"]["egress"] for p in r["ports"]
    ]


def test_the_eks_values_render_no_rotation(rendered_sets):
    assert not [o for o in rendered_sets["prod"] if o["kind"] == "CronJob"]


@pytest.mark.parametrize("missing", ["clientId", "keyVaultUrl"])
def test_rotation_without_its_identity_or_vault_is_refused_by_name(missing):
    extra = copy.deepcopy(AKS_INSTALL_TIME)
    del extra["rotation"][missing]
    error = render_error(load_values(["values-aks-staging.yaml"], extra))
    assert f"/rotation/{missing}" in error


def test_rotation_needs_external_secrets():
    values = load_values(["values-aks-staging.yaml"], AKS_INSTALL_TIME)
    values["externalSecret"]["enabled"] = False
    values["database"]["existingSecret"] = "mine"
    values["dbRole"]["enabled"] = False
    with pytest.raises(Exception, match=r"rotation.enabled needs externalSecret.enabled"):
        render(values)
