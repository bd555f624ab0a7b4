"""Render the test-app chart with Helm's own engine (helm-python-sdk) for the value sets CI checks.

`VALUE_SETS` are the value sets CI renders; the chart tests render each once per session. A
render that produces no object raises, so no check can pass by checking nothing.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import helm_python as helm
import yaml

from test_app_tooling.tools import REPO


CHART = REPO / "charts" / "test-app"
RELEASE = "test-app"
NAMESPACE = "test-app"

# What an operator passes at install time (docs/deployment.md): outputs of the database stack.
INSTALL_TIME = {
    "database": {"host": "test-app-prod.cluster-abcdefghijkl.eu-central-1.rds.amazonaws.com"},
    "externalSecret": {
        "remoteSecretName": (
            "arn:aws:secretsmanager:eu-central-1:111122223333:secret:test-app-prod/database-app-AbCdEf"
        )
    },
    "dbRole": {
        "adminRemoteSecretName": (
            "arn:aws:secretsmanager:eu-central-1:111122223333:secret:rds!cluster-0a1b2c3d-AbCdEf"
        )
    },
}
PROD_INSTALL_TIME = {
    **INSTALL_TIME,
    "image": {"digest": "sha256:" + "0123456789abcdef" * 4},
    "ingress": {
        "host": "test-app.example.com",
        "alb": {
            "certificateArn": (
                "arn:aws:acm:eu-central-1:111122223333:certificate/"
                "0a1b2c3d-0a1b-0a1b-0a1b-0a1b2c3d4e5f"
            )
        },
    },
}

# On AKS: the virtual endpoint hosts of the Azure database stack, and in prod the Key Vault
# certificate application routing serves (docs/getting-started-azure.md, phase 6).
AKS_INSTALL_TIME = {
    "database": {
        "host": "test-app-prod.writer.postgres.database.azure.com",
        "readHost": "test-app-prod.reader.postgres.database.azure.com",
    },
    # The cluster stack's vault and rotation identity (the rotation CronJob's workload identity).
    "rotation": {
        "keyVaultUrl": "https://acme-test-app-prod.vault.azure.net/",
        "clientId": "0b9d3c4e-1111-4222-8333-944455556666",
    },
}
AKS_PROD_INSTALL_TIME = {
    **AKS_INSTALL_TIME,
    "image": {"digest": "sha256:" + "0123456789abcdef" * 4},
    "ingress": {
        "host": "test-app.example.com",
        "annotations": {
            "kubernetes.azure.com/tls-cert-keyvault-uri": (
                "https://acme-test-app-prod.vault.azure.net/certificates/test-app"
            )
        },
        "tls": [{"hosts": ["test-app.example.com"], "secretName": "keyvault-test-app"}],
    },
}

# name -> (values files relative to the chart, extra values given with --set)
VALUE_SETS: dict[str, tuple[list[str], dict[str, Any]]] = {
    "defaults": (["ci/default-values.yaml"], {}),
    "staging": (["values-staging.yaml"], INSTALL_TIME),
    "prod": (["values-prod.yaml"], PROD_INSTALL_TIME),
    "autoscaling-off": (["ci/autoscaling-off-values.yaml"], {}),
    "ingress": (["ci/ingress-values.yaml"], {}),
    "existing-secret": (["ci/existing-secret-values.yaml"], {}),
    "namespace": (["ci/namespace-values.yaml"], {}),
    "probe": (["ci/probe-values.yaml"], {}),
    "rollout": (["ci/rollout-values.yaml"], {}),
    "admission-proxy": (["ci/admission-proxy-values.yaml"], {}),
    "aks-staging": (["values-aks-staging.yaml"], AKS_INSTALL_TIME),
    "aks-prod": (["values-aks-prod.yaml"], AKS_PROD_INSTALL_TIME),
}


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Merge `override` into a copy of `base` the way repeated `helm -f` files merge."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def load_values(
    files: list[str], extra: dict[str, Any] | None = None, chart: Path = CHART
) -> dict[str, Any]:
    """The user-supplied values of `files` (relative to the chart) plus `extra`."""
    values: dict[str, Any] = {}
    for name in files:
        document = yaml.safe_load((chart / name).read_text(encoding="utf-8")) or {}
        values = deep_merge(values, document)
    return deep_merge(values, extra or {})


def chart_values(
    files: list[str] | None = None, extra: dict[str, Any] | None = None, chart: Path = CHART
) -> dict[str, Any]:
    """The values a render sees: the chart's defaults merged with `files` and `extra` by Helm.

    For what the chart's values are, not what it makes of them (that is `render`'s job).
    """
    with helm.Chart.load(chart) as loaded:
        return loaded.merge_values(load_values(files or [], extra, chart))


def parse_manifests(manifests: dict[str, str]) -> list[dict[str, Any]]:
    """Every object of a render (NOTES.txt excluded). Raises `ValueError` on an empty render."""
    objects = [
        document
        for path, text in sorted(manifests.items())
        if path.endswith((".yaml", ".yml"))
        for document in yaml.safe_load_all(text)
        if document
    ]
    if not objects:
        raise ValueError(
            f"the render produced no Kubernetes object (templates: {sorted(manifests)})"
        )
    return objects


def render(values: dict[str, Any], chart: Path = CHART) -> list[dict[str, Any]]:
    """Render `chart` with `values` as release test-app in namespace test-app."""
    with helm.Chart.load(chart) as loaded:
        manifests = loaded.render(values, name=RELEASE, namespace=NAMESPACE)
    return parse_manifests(manifests)


def render_value_set(name: str) -> list[dict[str, Any]]:
    """Render one of VALUE_SETS by name; a `KeyError` names the sets there are."""
    if name not in VALUE_SETS:
        raise KeyError(f"value set: expected one of {sorted(VALUE_SETS)}, got {name!r}")
    files, extra = VALUE_SETS[name]
    return render(load_values(files, extra))


def render_error(values: dict[str, Any]) -> str:
    """The error message of a render that must fail (`AssertionError` if it renders)."""
    try:
        render(values)
    except helm.HelmError as error:
        return str(error)
    raise AssertionError(f"the chart rendered with values that must be rejected: {values}")


def schema_error(values: dict[str, Any], chart: Path = CHART) -> str | None:
    """Helm's verdict on `values` against the chart's values.schema.json (None when valid).

    As at install: Helm merges the values with the chart's defaults, then validates them.
    """
    with helm.Chart.load(chart) as loaded:
        try:
            loaded.validate_schema(loaded.merge_values(values))
        except helm.HelmError as error:
            return str(error)
    return None


def by_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    """The objects of one kind."""
    return [obj for obj in objects if obj.get("kind") == kind]


def one(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    """The single object of `kind` (and `name`, when given); fails if there is not exactly one."""
    found = [
        obj
        for obj in by_kind(objects, kind)
        if name is None or obj.get("metadata", {}).get("name") == name
    ]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


WORKLOAD_KINDS = ("Deployment", "Rollout")


def workload(objects: list[dict[str, Any]]) -> dict[str, Any]:
    """The owner of the app's pods: the Deployment, or the Argo Rollout, never both."""
    found = [obj for obj in objects if obj.get("kind") in WORKLOAD_KINDS]
    kinds = [obj["kind"] for obj in found]
    assert len(found) == 1, f"expected one Deployment or Rollout, found {kinds or 'none'}"
    return found[0]


def app_container(objects: list[dict[str, Any]]) -> dict[str, Any]:
    """The test-app container of the Deployment or Rollout."""
    containers: list[dict[str, Any]] = workload(objects)["spec"]["template"]["spec"]["containers"]
    matching = [c for c in containers if c["name"] == "test-app"]
    assert len(matching) == 1, f"expected one container named test-app, found {containers}"
    return matching[0]


def literal_env(container: dict[str, Any]) -> dict[str, str]:
    """The container's environment variables with a literal value (references left out)."""
    return {
        item["name"]: str(item["value"]) for item in container.get("env", []) if "value" in item
    }


@dataclass(frozen=True)
class RenderedPod:
    """A value set's render and the app's container in it, with its literal environment."""

    objects: list[dict[str, Any]]
    container: dict[str, Any]
    env: dict[str, str]


def rendered_pod(value_set: str) -> RenderedPod:
    """Render a value set and find the app's pod (`KeyError` names the value sets there are)."""
    objects = render_value_set(value_set)
    container = app_container(objects)
    return RenderedPod(objects, container, literal_env(container))
