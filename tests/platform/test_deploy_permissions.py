"""The pipeline's deploy identity can make every Kubernetes call of its Helm commands (EKS, AKS).

Renders the chart with each cloud's prod values, lists each (apiGroup, resource, verb) that
`helm upgrade --install --rollback-on-failure --wait` (scripts/deploy.sh), `helm rollback --wait
--cleanup-on-fail` (scripts/rollback.sh, the rollback workflow) and `helm test` need, and proves
the deploy identity holds each one.

* EKS: the rules of the EKS access policy associated in infra/stacks/ci
  (platform/iam-policies/eks-access-policy-*.yaml, as documented by EKS) plus the Roles the
  platform binds to the access entry's Kubernetes groups (platform/manifests/, addons.yaml).
* AKS: the data actions of the built-in Azure roles assigned in infra/azure/stacks/ci
  (platform/iam-policies/aks-role-*.yaml, as documented by Microsoft) plus the Roles bound to the
  identity's Entra object ID by the manifests docs/getting-started-azure.md applies.
"""

from __future__ import annotations

import re
from typing import Any

import hcl2
import pytest
import yaml

from test_app_tooling.helm_render import NAMESPACE, VALUE_SETS, load_values, render
from test_app_tooling.tools import REPO


CI_MAIN = REPO / "infra" / "stacks" / "ci" / "main.tf"
CI_VARIABLES = REPO / "infra" / "stacks" / "ci" / "variables.tf"
PLATFORM = REPO / "platform"
AZURE_CI = REPO / "infra" / "azure" / "stacks" / "ci"
AZURE_GUIDE = REPO / "docs" / "getting-started-azure.md"
# The placeholder of the deploy identity's object ID in platform/manifests/deploy-rbac-aks.yaml.
PRINCIPAL_PLACEHOLDER = "DEPLOY_PRINCIPAL_ID"
AKS_DATA_ACTION = "Microsoft.ContainerService/managedClusters/"
# What an Azure data action's operation allows, in Kubernetes verbs.
AKS_OPERATION_VERBS = {
    "read": ["get", "list", "watch"],
    "write": ["create", "update", "patch"],
    "delete": ["delete", "deletecollection"],
    "*": ["*"],
}

# What Helm does with every object of a release: read it (and watch it while waiting), create
# it, patch it (three-way merge), delete it when a later revision drops it.
OBJECT_VERBS = ("get", "list", "watch", "create", "patch", "delete")
# The release records: Secrets `sh.helm.release.v1.<release>.v<n>` in the release namespace,
# pruned by --history-max (delete), listed by `helm history` and `helm list`.
RELEASE_STORAGE = [("", "secrets", v) for v in ("get", "list", "create", "update", "delete")]
# `helm test`: create the hook pod, wait for it, print its log, delete it (hook-delete-policy).
TEST_HOOK_EXTRA = [("", "pods/log", "get")]
# The canary (scripts/deploy.sh, docs/release.md): wait on the Rollout and read its AnalysisRuns;
# `kubectl argo rollouts promote` patches the Rollout, `abort` and `retry` its status.
ROLLOUT_COMMANDS = [
    ("argoproj.io", "rollouts", "get"),
    ("argoproj.io", "rollouts", "watch"),
    ("argoproj.io", "rollouts", "patch"),
    ("argoproj.io", "rollouts/status", "patch"),
    ("argoproj.io", "analysisruns", "get"),
    ("argoproj.io", "analysisruns", "list"),
    ("apps", "replicasets", "list"),
]


def plural(kind: str) -> str:
    lower = kind.lower()
    if lower.endswith("y"):
        return lower[:-1] + "ies"
    if lower.endswith(("s", "x")):
        return lower + "es"
    return lower + "s"


def group_of(api_version: str) -> str:
    return api_version.rpartition("/")[0]


def needed(objects: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    """Every (apiGroup, resource, verb) the three Helm commands need for these objects."""
    wanted = set(RELEASE_STORAGE)
    for obj in objects:
        key = (group_of(obj["apiVersion"]), plural(obj["kind"]))
        wanted |= {(*key, verb) for verb in OBJECT_VERBS}
        # A template may render `annotations:` with nothing under it (null).
        if "test" in (obj["metadata"].get("annotations") or {}).get("helm.sh/hook", ""):
            wanted |= set(TEST_HOOK_EXTRA)
    return wanted


def rule_grants(rule: dict[str, Any], group: str, resource: str, verb: str) -> bool:
    """`<resource>/*` (AKS data actions only) also covers the resource's subresources."""
    resources = rule["resources"]
    return (
        (group in rule["apiGroups"] or "*" in rule["apiGroups"])
        and (
            resource in resources
            or "*" in resources
            or f"{resource.split('/', maxsplit=1)[0]}/*" in resources
        )
        and (verb in rule["verbs"] or "*" in rule["verbs"])
    )


def unquote(value: Any) -> str:
    return str(value).strip('"')


def variable_default(name: str) -> Any:
    parsed = hcl2.loads(CI_VARIABLES.read_text(encoding="utf-8"))
    for block in parsed["variable"]:
        if f'"{name}"' in block:
            return block[f'"{name}"'].get("default")
    pytest.fail(f"infra/stacks/ci/variables.tf has no variable {name}")


def resolve(value: Any) -> Any:
    text = unquote(value)
    if text.startswith("${var.") and text.endswith("}"):
        return variable_default(text[len("${var.") : -1])
    return value


def deploy_access() -> tuple[str, list[str], list[str]]:
    """(access policy name, namespaces it is scoped to, Kubernetes groups) of the deploy role."""
    parsed = hcl2.loads(CI_MAIN.read_text(encoding="utf-8"))
    resources = {
        (kind, name): body
        for block in parsed["resource"]
        for kind, named in block.items()
        for name, body in named.items()
    }
    entry = resources[('"aws_eks_access_entry"', '"deploy"')]
    association = resources[('"aws_eks_access_policy_association"', '"deploy"')]
    policy = unquote(association["policy_arn"]).rpartition("/")[2]
    scope = association["access_scope"][0]
    namespaces = [unquote(n) for n in resolve(scope["namespaces"])]
    groups = [unquote(g) for g in resolve(entry.get("kubernetes_groups", []))]
    return policy, namespaces, groups


def access_policy_rules(name: str) -> list[dict[str, Any]]:
    path = PLATFORM / "iam-policies" / f"eks-access-policy-{name}.yaml"
    assert path.is_file(), f"no documented rules for the access policy {name} ({path})"
    rules: list[dict[str, Any]] = yaml.safe_load(path.read_text(encoding="utf-8"))["rules"]
    return rules


def platform_rbac_rules(groups: list[str], namespace: str) -> list[dict[str, Any]]:
    """Rules of the Roles that platform manifests bind to `groups` in `namespace`."""
    addons = yaml.safe_load((PLATFORM / "addons.yaml").read_text(encoding="utf-8"))
    objects = [
        obj
        for step in addons["steps"]
        if step["type"] == "manifest"
        for obj in yaml.safe_load_all((PLATFORM / step["path"]).read_text(encoding="utf-8"))
        if obj
    ]
    roles = {
        o["metadata"]["name"]: o["rules"]
        for o in objects
        if o["kind"] == "Role" and o["metadata"].get("namespace") == namespace
    }
    return [
        rule
        for o in objects
        if o["kind"] == "RoleBinding" and o["metadata"].get("namespace") == namespace
        if any(s["kind"] == "Group" and s["name"] in groups for s in o["subjects"])
        if o["roleRef"]["kind"] == "Role"
        for rule in roles.get(o["roleRef"]["name"], [])
    ]


# --- AKS ------------------------------------------------------------------------------------


def aks_data_action_rule(action: str) -> dict[str, Any]:
    """A Kubernetes RBAC rule equivalent to one AKS data action (`<group>/<resource>/<operation>`,
    no group for the core API; `*` covers every operation and subresource)."""
    assert action.startswith(AKS_DATA_ACTION), f"not an AKS data action: {action}"
    *path, operation = action.removeprefix(AKS_DATA_ACTION).split("/")
    group, resource = ("", path[0]) if len(path) == 1 else (path[0], path[1])
    assert operation in AKS_OPERATION_VERBS, f"unknown operation {operation!r} in {action}"
    resources = [resource, f"{resource}/*"] if operation == "*" else [resource]
    return {"apiGroups": [group], "resources": resources, "verbs": AKS_OPERATION_VERBS[operation]}


def aks_role_rules(name: str) -> list[dict[str, Any]]:
    slug = name.lower().replace(" ", "-")
    path = PLATFORM / "iam-policies" / f"aks-role-{slug}.yaml"
    assert path.is_file(), f"no documented data actions for the Azure role {name} ({path})"
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert document["name"] == name
    return [aks_data_action_rule(action) for action in document["dataActions"]]


def aks_deploy_roles() -> list[str]:
    """The built-in roles the ci stack assigns to the `deploy` identity on the app's namespaces."""
    text = (AZURE_CI / "main.tf").read_text(encoding="utf-8")
    deploy = text.split("    deploy = {", 1)[1].split("\n    }\n", 1)[0]
    namespaced = re.findall(
        r'scope\s*=\s*"\$\{data\.azurerm_kubernetes_cluster\.this\.id\}/namespaces/\$\{ns\}"\s*'
        r'role_definition_name\s*=\s*"([^"]+)"',
        deploy,
    )
    assert "for ns in var.deploy_namespaces" in deploy, "the deploy identity has no namespace scope"
    return namespaced


def aks_applied_manifests() -> list[str]:
    """The platform manifests the Azure walkthrough applies."""
    return sorted(set(re.findall(r"platform/manifests/[\w.-]+\.yaml", AZURE_GUIDE.read_text())))


def aks_platform_rbac_rules(namespace: str) -> list[dict[str, Any]]:
    """Rules of the Roles the walkthrough's manifests bind to the deploy identity in `namespace`."""
    objects = [
        obj
        for name in aks_applied_manifests()
        for obj in yaml.safe_load_all((REPO / name).read_text(encoding="utf-8"))
        if obj
    ]
    roles = {
        o["metadata"]["name"]: o["rules"]
        for o in objects
        if o["kind"] == "Role" and o["metadata"].get("namespace") == namespace
    }
    return [
        rule
        for o in objects
        if o["kind"] == "RoleBinding" and o["metadata"].get("namespace") == namespace
        if any(s["kind"] == "User" and s["name"] == PRINCIPAL_PLACEHOLDER for s in o["subjects"])
        if o["roleRef"]["kind"] == "Role"
        for rule in roles.get(o["roleRef"]["name"], [])
    ]


def test_aks_binding_names_the_deploy_identitys_object_id():
    """The placeholder is the ci stack's `deploy_principal_id`, filled in by the walkthrough."""
    outputs = hcl2.loads((AZURE_CI / "outputs.tf").read_text(encoding="utf-8"))["output"]
    values = {unquote(k): v["value"] for block in outputs for k, v in block.items()}
    assert values["deploy_principal_id"] == (
        '${module.github_oidc.identity_principal_ids["deploy"]}'
    )
    guide = AZURE_GUIDE.read_text(encoding="utf-8")
    assert "output -raw deploy_principal_id" in guide
    assert (
        f'sed "s/{PRINCIPAL_PLACEHOLDER}/${PRINCIPAL_PLACEHOLDER}/" '
        "platform/manifests/deploy-rbac-aks.yaml | kubectl apply -f -"
    ) in guide
    assert aks_platform_rbac_rules(NAMESPACE), (
        f"no manifest of the walkthrough binds a Role in {NAMESPACE} to {PRINCIPAL_PLACEHOLDER}"
    )


# --- both clouds ------------------------------------------------------------------------------

PROD_SETS = {"aws": "prod", "azure": "aks-prod"}


@pytest.fixture(scope="module", params=sorted(PROD_SETS))
def cloud(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def prod_objects(cloud: str) -> list[dict[str, Any]]:
    files, extra = VALUE_SETS[PROD_SETS[cloud]]
    return render(load_values(files, extra))


def deploy_identity(cloud: str) -> tuple[str, list[dict[str, Any]]]:
    """(description, every rule) of the deploy identity in the app's namespace."""
    if cloud == "aws":
        policy, _, groups = deploy_access()
        rules = access_policy_rules(policy) + platform_rbac_rules(groups, NAMESPACE)
        return f"the deploy role ({policy} + groups {groups})", rules
    roles = aks_deploy_roles()
    assert roles, "the Azure deploy identity has no role on the app's namespaces"
    rules = [r for role in roles for r in aks_role_rules(role)]
    rules += aks_platform_rbac_rules(NAMESPACE)
    return f"the Azure deploy identity ({roles} + {aks_applied_manifests()})", rules


def deploy_namespaces(cloud: str) -> list[str]:
    """The namespaces the deploy identity may write to."""
    if cloud == "aws":
        return deploy_access()[1]
    envs = REPO / "infra" / "azure" / "envs"
    found = {
        str(path): [unquote(n) for n in hcl2.loads(path.read_text())["deploy_namespaces"]]
        for path in sorted(envs.glob("*/ci.tfvars"))
    }
    assert found, f"no ci.tfvars under {envs}"
    namespaces = next(iter(found.values()))
    assert all(n == namespaces for n in found.values()), found
    return namespaces


def test_every_object_is_in_the_namespaces_the_role_may_edit(prod_objects, cloud):
    namespaces = deploy_namespaces(cloud)
    assert NAMESPACE in namespaces
    outside = [
        f"{o['kind']}/{o['metadata']['name']}"
        for o in prod_objects
        if o["metadata"].get("namespace") not in namespaces
    ]
    assert not outside, f"objects outside {namespaces} (or cluster-scoped): {outside}"


def test_deploy_role_holds_every_permission_helm_needs(prod_objects, cloud):
    who, rules = deploy_identity(cloud)
    wanted = needed(prod_objects)
    kinds = {(g, r) for g, r, _ in wanted}
    # The render holds the custom resources the finding is about; a render without them
    # would prove nothing about them.
    assert {
        ("external-secrets.io", "externalsecrets"),
        ("monitoring.coreos.com", "probes"),
        ("argoproj.io", "rollouts"),
        ("argoproj.io", "analysistemplates"),
    } <= kinds
    missing = sorted(
        f"{g or 'core'}/{r}: {v}"
        for g, r, v in wanted
        if not any(rule_grants(rule, g, r, v) for rule in rules)
    )
    assert not missing, f"{who} lacks {missing}"


def test_platform_role_is_bound_to_the_access_entry_group():
    _, _, groups = deploy_access()
    assert groups, "the deploy role's access entry names no Kubernetes group"
    assert platform_rbac_rules(groups, NAMESPACE), (
        f"no platform RoleBinding in {NAMESPACE} names the groups {groups}"
    )


def test_deploy_identity_can_promote_abort_and_retry_a_canary(prod_objects, cloud):
    assert any(o["kind"] == "Rollout" for o in prod_objects), "prod renders no Rollout"
    who, rules = deploy_identity(cloud)
    missing = sorted(
        f"{g or 'core'}/{r}: {v}"
        for g, r, v in ROLLOUT_COMMANDS
        if not any(rule_grants(rule, g, r, v) for rule in rules)
    )
    assert not missing, f"{who} lacks {missing}"
