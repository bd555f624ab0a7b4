"""Who can read each Azure Key Vault secret: directly in CI, or through the AKS cluster.

The Azure counterpart of `secret_reach` (same gates, same report). The secrets: the app's login
(`<name>-database`), the PostgreSQL server administrator's (`<name>-database-admin`, both made
by infra/azure/stacks/database) and Alertmanager's receivers (`<name>-alertmanager-receivers`,
written in phase 5 of docs/getting-started-azure.md).

A pipeline identity (infra/azure/stacks/ci, module `github_oidc`) reaches a secret

* directly, through an Azure role assignment: a Key Vault data role whose scope holds the
  secret (Azure RBAC inherits down the vault's resource tree), a role that may assign roles on
  the vault (it gives itself one), or Contributor/Owner on the database's resource group (it
  resets the server administrator's password: what the administrator's secret is for);
* through the cluster, with its Entra object ID as Kubernetes user (`<IDENTITY>_PRINCIPAL_ID`
  in platform/manifests, filled in by the walkthrough):
  - an ExternalSecret in a namespace its RBAC lets it create them in, read through a
    ClusterSecretStore of platform/aks that admits that namespace, as the workload identity of
    the store's `serviceAccountRef`;
  - a pod (or a ServiceAccount token) in a namespace where its Azure Kubernetes role
    (platform/iam-policies/aks-role-*.yaml) writes pods, as any workload identity federated with
    a ServiceAccount of that namespace (infra/azure/stacks/cluster, `workload_identities`);
  - a namespaced SecretStore it may create, as those same ServiceAccounts (External Secrets
    takes a namespaced store's `serviceAccountRef` from the store's own namespace), or, without
    `serviceAccountRef`, as the controller once its pods get their identity injected
    (`controller_identity_injected`).

Workload identities read what the cluster stack (the vault's `secret_reader_principal_ids`)
and the database stack (`azurerm_role_assignment`s on single secrets) grant them.

Gates are `secret_reach.gate`'s: `environment:<name>` is as narrow as the walkthrough's
deployment branch policy of that environment, and `main` counts only when the walkthrough
creates the ruleset that requires a code-owner review on it (`secret_reach.main_reviewed`).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hcl2
import yaml

from test_app_tooling.infra.secret_reach import (
    Reach,
    Role,
    externalsecret_writers,
    gate,
    main_only_environments,
    main_reviewed,
    store_namespaces,
    ungated,
)
from test_app_tooling.tools import REPO


AZURE = REPO / "infra" / "azure"
CI_MAIN = AZURE / "stacks" / "ci" / "main.tf"
CLUSTER_MAIN = AZURE / "stacks" / "cluster" / "main.tf"
DATABASE_MAIN = AZURE / "stacks" / "database" / "main.tf"
KEY_VAULT_MODULE = AZURE / "modules" / "key-vault" / "main.tf"
STORES = REPO / "platform" / "aks" / "cluster-secret-store.yaml"
AKS_ROLES = REPO / "platform" / "iam-policies"
WALKTHROUGH = REPO / "docs" / "getting-started-azure.md"
SUBSCRIPTION = "/subscriptions/00000000-0000-0000-0000-000000000000"
# Azure roles that read secret values where they are assigned (built-in roles, Security).
SECRET_READERS = {"Key Vault Secrets User", "Key Vault Secrets Officer", "Key Vault Administrator"}
# Roles that may assign roles, so may give themselves one of the above.
ROLE_ASSIGNERS = {"Owner", "User Access Administrator", "Role Based Access Control Administrator"}
# Roles that may change the PostgreSQL server, its administrator password included.
SERVER_WRITERS = {"Owner", "Contributor"}
# Azure's Kubernetes data roles (Azure RBAC for Kubernetes authorization): the only built-in
# roles with `Microsoft.ContainerService/managedClusters/*` data actions. Each one assigned must
# have its data actions in platform/iam-policies/aks-role-<name>.yaml. (The Cluster User and
# Cluster Admin roles only list credentials, which carry no rights of their own with local
# accounts off.)
KUBERNETES_DATA_ROLES = "Azure Kubernetes Service RBAC "
POD_ACTIONS = {
    "Microsoft.ContainerService/managedClusters/pods/*",
    "Microsoft.ContainerService/managedClusters/pods/write",
    "Microsoft.ContainerService/managedClusters/serviceaccounts/*",
}
# The one documented path off `main`: pull-request plans refresh the app secret.
EXCEPTIONS = {("plan", "app")}


def names(env: str) -> dict[str, str]:
    """The symbols of the stacks, as plain strings, for one environment."""
    name = f"test-app-{env}"
    cluster_group = f"{SUBSCRIPTION}/resourceGroups/{name}-cluster"
    return {
        "local.name": name,
        "var.environment": env,
        "data.azurerm_subscription.current.id": SUBSCRIPTION,
        "data.azurerm_key_vault.this.id": (
            f"{cluster_group}/providers/Microsoft.KeyVault/vaults/u-{name}"
        ),
        "data.azurerm_kubernetes_cluster.this.id": (
            f"{cluster_group}/providers/Microsoft.ContainerService/managedClusters/{name}"
        ),
    }


def _resolve(expression: str, env: str, **more: str) -> str:
    """A Terraform string or reference with the stacks' symbols replaced."""
    values = names(env) | more
    text = expression.strip()
    if text.startswith('"') and text.endswith('"'):
        text = text[1:-1]
    elif text.startswith("${") and text.endswith("}") and "${" not in text[2:]:
        text = text[2:-1]
    if text in values:
        return values[text]
    return re.sub(r"\$\{([\w.\[\]\"-]+)\}", lambda m: values.get(m[1], m[0]), text)


def _parse(path: Path) -> dict[str, Any]:
    return _parse_text(path.read_text(encoding="utf-8"))


@functools.lru_cache(maxsize=64)
def _parse_text(text: str) -> dict[str, Any]:
    """HCL parsed once per text (read only by this module)."""
    parsed: dict[str, Any] = hcl2.loads(text)
    return parsed


def _variable_default(folder: Path, name: str) -> Any:  # noqa: ANN401
    for tf in sorted(folder.glob("*.tf")):
        for block in _parse(tf).get("variable", []):
            body = block.get(name, block.get(f'"{name}"'))
            if body is not None:
                return body.get("default")
    msg = f"{folder}: no variable {name}"
    raise LookupError(msg)


def secrets(env: str) -> dict[str, str]:
    """The Key Vault ID of each secret of one environment (the database stack's names)."""
    text = DATABASE_MAIN.read_text(encoding="utf-8")
    vault = names(env)["data.azurerm_key_vault.this.id"]
    found = {}
    for key, resource in {
        "app": r'resource "azurerm_key_vault_secret" "database"',
        "admin": r'resource "azapi_resource" "administrator_secret"',
    }.items():
        match = re.search(resource + r' \{.*?\n  name\s*=\s*("[^"\n]+")', text, re.DOTALL)
        if not match:
            msg = f"{DATABASE_MAIN}: no {resource} with a name"
            raise LookupError(msg)
        found[key] = f"{vault}/secrets/{_resolve(match[1], env)}"
    # Written by the operator in phase 5 (`$CLUSTER_NAME-alertmanager-receivers`).
    found["receivers"] = f"{vault}/secrets/test-app-{env}-alertmanager-receivers"
    return found


@dataclass(frozen=True)
class Assignment:
    """One Azure role assignment: the role and the resolved scope."""

    role: str
    scope: str


@dataclass(frozen=True)
class Identity:
    """A pipeline identity: the GitHub subjects it trusts and its role assignments."""

    name: str
    subjects: list[str]
    assignments: list[Assignment]


# `[for x in SOURCE : ]{scope = SCOPE, role_definition_name = "ROLE"` in an identity's list.
ASSIGNMENT = re.compile(
    r"(?:\[for (\w+) in ([\w.]+) : )?\{scope = (\"[^\"]*\"|[\w.\[\]\"-]+), "
    r"role_definition_name = \\?\"([^\"\\]+)"
)


def _iterated(source: str, env: str) -> list[str]:
    """The values of a `for` source the ci stack uses in its assignments."""
    if source == "var.deploy_namespaces":
        return [str(n).strip('"') for n in _variable_default(CI_MAIN.parent, "deploy_namespaces")]
    if source == "local.resource_group_ids":
        match = re.search(r"for stack in \[([^\]]*)\] :", CI_MAIN.read_text(encoding="utf-8"))
        if not match:
            msg = f"{CI_MAIN}: local.resource_group_ids is not `for stack in [...]`"
            raise LookupError(msg)
        stacks = re.findall(r'"([\w-]+)"', match[1])
        return [f"{SUBSCRIPTION}/resourceGroups/test-app-{env}-{s}" for s in stacks]
    msg = f"{CI_MAIN}: role assignments iterate over {source}, which this model does not know"
    raise LookupError(msg)


def _assignments(value: object, env: str) -> list[Assignment]:
    if isinstance(value, list):
        return [
            Assignment(str(a["role_definition_name"]).strip('"'), _resolve(str(a["scope"]), env))
            for a in value
        ]
    text = str(value)
    found = []
    for variable, source, scope, role in ASSIGNMENT.findall(text.replace('\\"', '"')):
        if not variable:
            found.append(Assignment(role, _resolve(scope, env)))
            continue
        found.extend(
            Assignment(role, _resolve(scope, env, **{variable: item}))
            for item in _iterated(source, env)
        )
    return found


def ci_identities(env: str) -> list[Identity]:
    """The identities of the ci stack's github_oidc module, with resolved subjects and scopes."""
    module = _parse(CI_MAIN)["module"][0]['"github_oidc"']
    identities = []
    for name, body in module["identities"].items():
        subjects = body["subjects"]
        if isinstance(subjects, str):
            variable = subjects.removeprefix("${var.").removesuffix("}")
            subjects = _variable_default(CI_MAIN.parent, variable)
        resolved = [_resolve(str(s), env) for s in subjects]
        identities.append(Identity(name, resolved, _assignments(body["role_assignments"], env)))
    if not identities:
        msg = f"{CI_MAIN}: no identities in module github_oidc"
        raise LookupError(msg)
    return identities


def _covers(scope: str, resource: str) -> bool:
    return resource == scope or resource.startswith(scope.rstrip("/") + "/")


def _label(scope: str, env: str) -> str:
    vault = names(env)["data.azurerm_key_vault.this.id"]
    if scope == vault:
        return "the vault"
    if scope.startswith(f"{vault}/secrets/"):
        return f"secret {scope.removeprefix(f'{vault}/secrets/')}"
    if scope.startswith(f"{SUBSCRIPTION}/resourceGroups/"):
        return f"resource group {scope.removeprefix(f'{SUBSCRIPTION}/resourceGroups/')}"
    return scope


def may_assign_a_reader() -> bool:
    """Whether the apply identity's role-assignment condition admits a Key Vault secrets role.

    The ci stack limits what its role administrators may assign to `local.assignable_roles`.
    """
    text = CI_MAIN.read_text(encoding="utf-8")
    block = re.search(r"assignable_roles = \{(.*?)\n  \}", text, re.DOTALL)
    if not block:
        return True
    return bool(set(re.findall(r'"([^"]+)"\s*=', block[1])) & SECRET_READERS)


def direct_reads(assignments: list[Assignment], env: str) -> dict[str, list[str]]:
    """Secret -> the paths by which these role assignments read it, without the cluster."""
    vault = names(env)["data.azurerm_key_vault.this.id"]
    database_group = f"{SUBSCRIPTION}/resourceGroups/test-app-{env}-database"
    keys = secrets(env)
    assigner = may_assign_a_reader()
    found: dict[str, list[str]] = {}
    for a in assignments:
        for key, secret in keys.items():
            if a.role in SECRET_READERS and _covers(a.scope, secret):
                found.setdefault(key, []).append(f"{a.role} on {_label(a.scope, env)}")
            elif a.role in ROLE_ASSIGNERS and _covers(a.scope, vault) and assigner:
                path = f"assigns itself a reader ({a.role} on {_label(a.scope, env)})"
                found.setdefault(key, []).append(path)
        if a.role in SERVER_WRITERS and _covers(a.scope, database_group):
            path = f"resets the administrator password ({a.role} on {_label(a.scope, env)})"
            found.setdefault("admin", []).append(path)
    return found


def workload_identities() -> dict[str, tuple[str, str]]:
    """Workload identity -> (namespace, ServiceAccount) it is federated with (cluster stack)."""
    aks = next(block['"aks"'] for block in _parse(CLUSTER_MAIN)["module"] if '"aks"' in block)
    found = {}
    for name, body in aks["workload_identities"].items():
        namespace, account = (
            _variable_default(CLUSTER_MAIN.parent, str(body[k]).removeprefix("${var.")[:-1])
            for k in ("namespace", "service_account")
        )
        found[name.strip('"')] = (str(namespace).strip('"'), str(account).strip('"'))
    return found


def workload_reads(env: str) -> dict[str, set[str]]:
    """Workload identity -> the secrets it reads (cluster and database stacks)."""
    keys = secrets(env)
    vault = names(env)["data.azurerm_key_vault.this.id"]
    module = _parse(KEY_VAULT_MODULE)
    [readers] = [
        body
        for r in module.get("resource", [])
        for key, body in r.get('"azurerm_role_assignment"', {}).items()
        if key == '"secrets_user"'
    ]
    if readers["role_definition_name"].strip('"') not in SECRET_READERS or not readers[
        "scope"
    ].startswith("${azurerm_key_vault.this"):
        msg = f"{KEY_VAULT_MODULE}: secrets_user does not assign a secrets role on the vault"
        raise LookupError(msg)
    found: dict[str, set[str]] = {name: set() for name in workload_identities()}
    cluster = CLUSTER_MAIN.read_text(encoding="utf-8")
    block = re.search(r"secret_reader_principal_ids = \{(.*?)\n  \}", cluster, re.DOTALL)
    if not block:
        msg = f"{CLUSTER_MAIN}: no secret_reader_principal_ids"
        raise LookupError(msg)
    for name in re.findall(r'workload_identity_principal_ids\["([\w-]+)"\]', block[1]):
        found.setdefault(name, set()).update(k for k, s in keys.items() if _covers(vault, s))
    # The database stack: one secret per assignment, to an identity it looks up by name.
    database = _parse(DATABASE_MAIN)
    lookups = {
        key.strip('"'): _resolve(str(body["name"]), env)
        for data in database.get("data", [])
        for key, body in data.get('"azurerm_user_assigned_identity"', {}).items()
    }
    targets = {
        f"{kind}.{key.strip(chr(34))}": _resolve(str(body["name"]), env)
        for resource in database.get("resource", [])
        for kind in ("azurerm_key_vault_secret", "azapi_resource")
        for key, body in resource.get(f'"{kind}"', {}).items()
    }
    for resource in database.get("resource", []):
        for body in resource.get('"azurerm_role_assignment"', {}).values():
            principal = re.search(r"azurerm_user_assigned_identity\.(\w+)\.", body["principal_id"])
            target = re.match(r"\$\{(\w+\.\w+)\.", body["scope"])
            role = body["role_definition_name"].strip('"')
            if not principal or not target or role not in SECRET_READERS:
                continue
            identity = lookups[principal[1]].removeprefix(f"test-app-{env}-")
            name = targets[target[1]]
            found.setdefault(identity, set()).update(
                k for k, s in keys.items() if s == f"{vault}/secrets/{name}"
            )
    return found


def kubernetes_pod_namespaces(assignments: list[Assignment], env: str) -> set[str]:
    """Namespaces where these Azure roles let the identity run pods (`*`: every namespace).

    A pod (or a ServiceAccount token) may name any ServiceAccount of its namespace.
    """
    cluster = names(env)["data.azurerm_kubernetes_cluster.this.id"]
    found = set()
    for a in assignments:
        inside, above = _covers(cluster, a.scope), _covers(a.scope, cluster)
        if not a.role.startswith(KUBERNETES_DATA_ROLES) or not (inside or above):
            continue
        path = AKS_ROLES / f"aks-role-{a.role.lower().replace(' ', '-')}.yaml"
        if not path.is_file():
            msg = f"{a.role} on {a.scope}: no data actions in {path.relative_to(REPO)}"
            raise LookupError(msg)
        actions = set(yaml.safe_load(path.read_text(encoding="utf-8"))["dataActions"])
        if actions & POD_ACTIONS:
            namespace = a.scope.removeprefix(cluster).removeprefix("/namespaces/")
            found.add(namespace if inside and namespace else "*")
    return found


ESO_VALUES = [
    REPO / "platform" / "values" / "external-secrets.yaml",
    REPO / "platform" / "aks" / "external-secrets-values.yaml",
]


def controller_identity_injected() -> bool:
    """Whether the External Secrets pods get their workload identity injected (pod label).

    Then a SecretStore with WorkloadIdentity and no serviceAccountRef acts as the controller's
    identity (External Secrets' azurekv provider reads AZURE_CLIENT_ID and
    AZURE_FEDERATED_TOKEN_FILE, which the workload identity webhook injects for the label).
    """
    for path in ESO_VALUES:
        values = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        labels = values.get("podLabels") or {}
        if str(labels.get("azure.workload.identity/use", "")).lower() == "true":
            return True
    return False


def stores() -> dict[str, tuple[list[str], tuple[str, str]]]:
    """ClusterSecretStore -> (namespaces it admits, the ServiceAccount it acts as)."""
    admitted = store_namespaces(STORES)
    found = {}
    for doc in yaml.safe_load_all(STORES.read_text(encoding="utf-8")):
        if not doc or doc.get("kind") != "ClusterSecretStore":
            continue
        ref = doc["spec"]["provider"]["azurekv"]["serviceAccountRef"]
        name = doc["metadata"]["name"]
        found[name] = (admitted[name], (ref["namespace"], ref["name"]))
    if not found:
        msg = f"{STORES}: no ClusterSecretStore"
        raise LookupError(msg)
    return found


def cluster_reads(identity: Identity, env: str) -> list[tuple[str, str]]:
    """(secret, path) for each way this identity reads a secret through the cluster."""
    workloads = workload_identities()
    reads = workload_reads(env)
    as_account = {account: name for name, account in workloads.items()}
    user = f"{identity.name.upper()}_PRINCIPAL_ID"
    found: list[tuple[str, str]] = []
    # ExternalSecrets through a ClusterSecretStore that admits the namespace.
    cluster_stores = stores()
    for namespace, users in externalsecret_writers(subject_kind="User").items():
        for store, (admitted, store_account) in cluster_stores.items():
            if user in users and ("*" in admitted or namespace in admitted):
                path = f"ExternalSecret in {namespace} via {store}"
                acting = as_account.get(store_account, "")
                found += [(s, path) for s in sorted(reads.get(acting, set()))]
    # Pods, ServiceAccount tokens and namespaced SecretStores as a ServiceAccount there.
    pods = kubernetes_pod_namespaces(identity.assignments, env)
    secret_stores = {
        n for n, users in externalsecret_writers("secretstores", "User").items() if user in users
    }
    for name, (namespace, account) in workloads.items():
        for kind, where in (("pod", pods), ("SecretStore", secret_stores)):
            if namespace in where or "*" in where:
                path = f"{kind} in {namespace} as {account}"
                found += [(s, path) for s in sorted(reads.get(name, set()))]
    if secret_stores and controller_identity_injected():
        controller = as_account.get(_controller_account(), "")
        for namespace in sorted(secret_stores):
            path = f"SecretStore in {namespace} as the controller"
            found += [(s, path) for s in sorted(reads.get(controller, set()))]
    return found


def reach(env: str, walkthrough: str | None = None) -> list[Reach]:
    """Every (identity, secret, path, gate) of one environment."""
    text = walkthrough if walkthrough is not None else WALKTHROUGH.read_text(encoding="utf-8")
    main_only = main_only_environments(text)
    main_gated = not main_reviewed(text)
    found = []
    for identity in ci_identities(env):
        role = Role(identity.name, identity.subjects, [], [])
        opened = gate(role, main_only, main_gated=main_gated)
        direct = direct_reads(identity.assignments, env)
        paths = [(s, p) for s, ps in direct.items() for p in ps] + cluster_reads(identity, env)
        found += [Reach(identity.name, s, p, opened) for s, p in paths]
    return found


def _controller_account() -> tuple[str, str]:
    """The External Secrets controller's ServiceAccount: the one the stores act as."""
    accounts = {account for _, account in stores().values()}
    if len(accounts) != 1:
        msg = f"{STORES}: the stores act as {sorted(accounts)}, not one controller account"
        raise LookupError(msg)
    return accounts.pop()


# The administrator's secret's only paths: the role hook's ExternalSecret in the app's namespace
# and the rotation CronJob, both installed by the deploy identity through Helm (so it can run
# anything as the rotation identity), and the Terraform apply identity, the environment's
# administrator.
ADMIN_PATHS = {
    ("deploy", "ExternalSecret in test-app via azure-key-vault"),
    ("deploy", "pod in test-app as test-app-rotation"),
    ("apply", "Key Vault Secrets Officer on the vault"),
    (
        "apply",
        (
            "assigns itself a reader (Role Based Access Control Administrator on resource group "
            "test-app-{env}-cluster)"
        ),
    ),
    (
        "apply",
        "resets the administrator password (Contributor on resource group test-app-{env}-database)",
    ),
}


def _documented(r: Reach, env: str) -> bool:
    return any(
        r.identity == identity and r.path == path.format(env=env) for identity, path in ADMIN_PATHS
    )


def check(env: str, walkthrough: str | None = None) -> list[str]:
    """Every way to read a secret that is not gated to a reviewed `main` nor documented."""
    found = reach(env, walkthrough)
    problems = ungated(env, found, EXCEPTIONS)
    problems += [
        f"{env}: {r.identity} reads the admin secret ({r.path}), not a documented path"
        for r in found
        if r.secret == "admin" and not _documented(r, env)
    ]
    return problems
