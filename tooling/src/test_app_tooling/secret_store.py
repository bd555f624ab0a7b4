"""Whether an Azure Key Vault secret store can authenticate: what External Secrets needs.

The rules are those of External Secrets v0.20.1's Azure Key Vault provider
(external-secrets/external-secrets, pkg/provider/azure/keyvault/keyvault.go,
`authorizerForWorkloadIdentity`), for `authType: WorkloadIdentity`:

- `vaultUrl` is required (every call goes to it).
- With `serviceAccountRef`, the controller asks the Kubernetes API for a token of that
  ServiceAccount itself (TokenRequest, audience `api://AzureADTokenExchange`) and exchanges it
  with Entra ID. So the ServiceAccount must exist, carry the
  `azure.workload.identity/client-id` annotation (or the store names `authSecretRef.clientId`,
  never both: "multiple clientID found"), and the tenant must come from exactly one of
  `spec.provider.azurekv.tenantId` / `authSecretRef.tenantId` or the ServiceAccount's
  `azure.workload.identity/tenant-id` annotation (both: "multiple tenantID found"). The last
  fallback is the controller's own `AZURE_TENANT_ID`, which exists only when the workload
  identity webhook mutated the controller pod (label `azure.workload.identity/use: "true"`);
  without any of them the store stops with "missing tenantID in store config". No pod needs the
  label in this mode: the controller exchanges the token, nothing is injected.
  A ClusterSecretStore's `serviceAccountRef` without `namespace` is resolved in the namespace
  of each ExternalSecret (a "referent" store), so it must name its namespace here.
- Without `serviceAccountRef`, the controller reads `AZURE_CLIENT_ID`, `AZURE_TENANT_ID` and
  `AZURE_FEDERATED_TOKEN_FILE`, which the webhook injects only into a pod labelled
  `azure.workload.identity/use: "true"` whose ServiceAccount has the client-id annotation.

Outside the store, for every pod that talks to Azure itself: the webhook mutates a pod only
when it carries the label, and a labelled pod without the ServiceAccount annotation gets no
client ID; `workload_identity_pods` checks both directions.

Each check returns human-readable problems (empty when complete), naming the object and field.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


CLIENT_ID = "azure.workload.identity/client-id"
TENANT_ID = "azure.workload.identity/tenant-id"
USE_LABEL = "azure.workload.identity/use"
WORKLOAD_IDENTITY = "WorkloadIdentity"
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
VAULT_URL = re.compile(r"^https://[a-z0-9-]{3,24}\.vault\.azure\.net/?$")
POD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod", "Rollout"}


@dataclass(frozen=True)
class Controller:
    """The External Secrets controller as its Helm values install it.

    `service_account` is what the chart renders from `serviceAccount` (name, annotations) in
    `namespace`; `pod_labels` are `podLabels`, the labels of the controller's pods.
    """

    namespace: str
    service_account: dict[str, Any]
    pod_labels: dict[str, str]

    @classmethod
    def from_values(cls, values: dict[str, Any], namespace: str) -> Controller:
        """Read the chart values (`serviceAccount.name`, `.annotations`, `podLabels`)."""
        account = values.get("serviceAccount") or {}
        name = account.get("name")
        if not isinstance(name, str) or not name:
            msg = "external-secrets values: serviceAccount.name must name the ServiceAccount"
            raise ValueError(msg)
        service_account = {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {
                "name": name,
                "namespace": namespace,
                "annotations": dict(account.get("annotations") or {}),
            },
        }
        return cls(namespace, service_account, dict(values.get("podLabels") or {}))


def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def _where(obj: dict[str, Any]) -> str:
    meta = _meta(obj)
    namespace = f"{meta['namespace']}/" if meta.get("namespace") else ""
    return f"{obj.get('kind')} {namespace}{meta.get('name')}"


def service_accounts(objects: Iterable[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """ServiceAccounts by (namespace, name)."""
    return {
        (str(_meta(o).get("namespace", "")), str(_meta(o).get("name", ""))): o
        for o in objects
        if o.get("kind") == "ServiceAccount"
    }


def allowed_namespaces(store: dict[str, Any]) -> list[str] | None:
    """The namespaces a ClusterSecretStore's `conditions` list, None when unrestricted."""
    conditions = store.get("spec", {}).get("conditions")
    if not conditions:
        return None
    return [ns for c in conditions for ns in c.get("namespaces") or []]


def check_store(
    store: dict[str, Any],
    accounts: dict[tuple[str, str], dict[str, Any]],
    controller: Controller,
) -> list[str]:
    """Problems that keep an `azurekv` workload-identity store from authenticating."""
    where = _where(store)
    provider = (store.get("spec") or {}).get("provider") or {}
    azurekv = provider.get("azurekv")
    if not isinstance(azurekv, dict):
        return [f"{where}: spec.provider.azurekv is missing (providers: {sorted(provider)})"]
    problems: list[str] = []
    if azurekv.get("authType") != WORKLOAD_IDENTITY:
        problems.append(
            f"{where}: spec.provider.azurekv.authType is {azurekv.get('authType')!r}, "
            f"want {WORKLOAD_IDENTITY!r} (no secret in the cluster)"
        )
    vault = azurekv.get("vaultUrl")
    if not isinstance(vault, str) or not VAULT_URL.match(vault):
        problems.append(
            f"{where}: spec.provider.azurekv.vaultUrl {vault!r} is not a Key Vault URI "
            "(https://<name>.vault.azure.net)"
        )
    ref = azurekv.get("serviceAccountRef")
    if ref is None:
        return problems + _check_injected(where, controller)
    return problems + _check_referenced(where, store, azurekv, ref, accounts)


def _check_injected(where: str, controller: Controller) -> list[str]:
    """No serviceAccountRef: the controller pod itself must be mutated by the webhook."""
    problems = []
    if controller.pod_labels.get(USE_LABEL) != "true":
        problems.append(
            f"{where}: without serviceAccountRef the controller reads AZURE_CLIENT_ID, "
            f"AZURE_TENANT_ID and AZURE_FEDERATED_TOKEN_FILE, but its pods lack the label "
            f'{USE_LABEL}: "true" (external-secrets values podLabels)'
        )
    annotations = _meta(controller.service_account).get("annotations") or {}
    if not GUID.match(str(annotations.get(CLIENT_ID, ""))):
        problems.append(
            f"{where}: the controller's {_where(controller.service_account)} lacks a GUID "
            f"{CLIENT_ID} annotation (external-secrets values serviceAccount.annotations)"
        )
    return problems


def _check_referenced(
    where: str,
    store: dict[str, Any],
    azurekv: dict[str, Any],
    ref: dict[str, Any],
    accounts: dict[tuple[str, str], dict[str, Any]],
) -> list[str]:
    name = ref.get("name")
    namespace = ref.get("namespace")
    if store.get("kind") == "ClusterSecretStore" and not namespace:
        return [
            (
                f"{where}: spec.provider.azurekv.serviceAccountRef.namespace is missing: the "
                "ServiceAccount would be looked up in each ExternalSecret's namespace "
                f"({allowed_namespaces(store)}), not the identity's"
            )
        ]
    namespace = namespace or _meta(store).get("namespace", "")
    account = accounts.get((str(namespace), str(name)))
    if account is None:
        return [
            (
                f"{where}: serviceAccountRef {namespace}/{name} names no ServiceAccount the "
                f"manifests create (found {sorted(f'{n}/{a}' for n, a in accounts)})"
            )
        ]
    annotations = _meta(account).get("annotations") or {}
    problems = []
    secret_ref = azurekv.get("authSecretRef") or {}
    client_sources = [s for s in (annotations.get(CLIENT_ID), secret_ref.get("clientId")) if s]
    if not client_sources:
        problems.append(
            f"{where}: {_where(account)} lacks the {CLIENT_ID} annotation "
            "(missing clientID: either serviceAccountRef or service account annotation)"
        )
    elif len(client_sources) > 1:
        problems.append(f"{where}: client ID both in authSecretRef and {CLIENT_ID} (multiple)")
    elif isinstance(client_sources[0], str) and not GUID.match(client_sources[0]):
        problems.append(
            f"{where}: {CLIENT_ID} {client_sources[0]!r} of {_where(account)} is not a GUID"
        )
    in_store = [s for s in (azurekv.get("tenantId"), secret_ref.get("tenantId")) if s]
    on_account = annotations.get(TENANT_ID)
    if in_store and on_account:
        problems.append(
            f"{where}: tenant both in the store (tenantId) and in {TENANT_ID} of "
            f"{_where(account)}: External Secrets refuses it (multiple tenantID found)"
        )
    elif not in_store and not on_account:
        problems.append(
            f"{where}: no tenant: set spec.provider.azurekv.tenantId or the {TENANT_ID} "
            f"annotation of {_where(account)} (missing tenantID in store config)"
        )
    else:
        tenant = in_store[0] if in_store else on_account
        if isinstance(tenant, str) and not GUID.match(tenant):
            problems.append(f"{where}: tenant {tenant!r} is not a GUID")
    return problems


def check_external_secrets(
    objects: Iterable[dict[str, Any]], stores: Iterable[dict[str, Any]]
) -> list[str]:
    """Every ExternalSecret names a store that exists and admits its namespace."""
    by_name = {
        (str(s.get("kind")), str(_meta(s).get("name"))): s
        for s in stores
        if s.get("kind") in {"ClusterSecretStore", "SecretStore"}
    }
    problems = []
    for external in (o for o in objects if o.get("kind") == "ExternalSecret"):
        ref = (external.get("spec") or {}).get("secretStoreRef") or {}
        key = (str(ref.get("kind", "SecretStore")), str(ref.get("name")))
        store = by_name.get(key)
        if store is None:
            problems.append(
                f"{_where(external)}: secretStoreRef {key[0]} {key[1]} is in no platform "
                f"manifest (stores: {sorted(n for _, n in by_name)})"
            )
            continue
        allowed = allowed_namespaces(store)
        namespace = _meta(external).get("namespace")
        if allowed is not None and namespace not in allowed:
            problems.append(f"{_where(external)}: {_where(store)} admits only namespaces {allowed}")
    return problems


def _pod_template(obj: dict[str, Any]) -> dict[str, Any] | None:
    spec = obj.get("spec") or {}
    if obj.get("kind") == "Pod":
        return obj
    if obj.get("kind") == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    template = spec.get("template")
    return template if isinstance(template, dict) else None


def workload_identity_pods(
    objects: Iterable[dict[str, Any]], accounts: dict[tuple[str, str], dict[str, Any]]
) -> list[str]:
    """Pods and their ServiceAccounts agree on workload identity, in both directions."""
    problems = []
    for obj in objects:
        if obj.get("kind") not in POD_KINDS:
            continue
        template = _pod_template(obj)
        if template is None:
            continue
        labels = _meta(template).get("labels") or {}
        spec = template.get("spec") or {}
        namespace = str(_meta(obj).get("namespace", ""))
        account_name = str(spec.get("serviceAccountName") or "default")
        account = accounts.get((namespace, account_name))
        annotations = (_meta(account).get("annotations") or {}) if account else {}
        labelled = labels.get(USE_LABEL) == "true"
        annotated = bool(annotations.get(CLIENT_ID))
        if annotated and not labelled:
            problems.append(
                f"{_where(obj)}: ServiceAccount {account_name} has {CLIENT_ID} but the pods lack "
                f'the label {USE_LABEL}: "true", so the webhook injects no token'
            )
        if labelled and not annotated:
            problems.append(
                f'{_where(obj)}: pods labelled {USE_LABEL}: "true" but ServiceAccount '
                f"{account_name} has no {CLIENT_ID} annotation"
            )
    return problems


def check(
    chart_objects: list[dict[str, Any]],
    platform_objects: list[dict[str, Any]],
    controller: Controller,
) -> list[str]:
    """Every check over a cluster's manifests: the chart's render plus the platform's."""
    everything = [*chart_objects, *platform_objects, controller.service_account]
    accounts = service_accounts(everything)
    stores = [o for o in platform_objects if o.get("kind") in {"ClusterSecretStore", "SecretStore"}]
    used = {
        ((o.get("spec") or {}).get("secretStoreRef") or {}).get("name")
        for o in chart_objects
        if o.get("kind") == "ExternalSecret"
    }
    if not used:
        return ["the chart renders no ExternalSecret: nothing to check"]
    problems = check_external_secrets([*chart_objects, *platform_objects], stores)
    for store in stores:
        if _meta(store).get("name") in used:
            problems += check_store(store, accounts, controller)
    return problems + workload_identity_pods(everything, accounts)
