"""The pipeline's deploy role can do every Kubernetes call its Helm commands make.

Renders the chart with the prod values, lists each (apiGroup, resource, verb) that
`helm upgrade --install --atomic --wait` (scripts/deploy.sh), `helm rollback --wait
--cleanup-on-fail` (scripts/rollback.sh, the rollback workflow) and `helm test` need, and proves
the deploy identity holds each one: from the rules of the EKS access policy associated in
infra/stacks/ci (platform/iam-policies/eks-access-policy-*.yaml, as documented by EKS) plus the
Roles the platform binds to the access entry's Kubernetes groups (platform/manifests/).
"""

from __future__ import annotations

from typing import Any

import hcl2
import pytest
import yaml

from test_app_tooling.helm_render import NAMESPACE, VALUE_SETS, load_values, render
from test_app_tooling.tools import REPO


CI_MAIN = REPO / "infra" / "stacks" / "ci" / "main.tf"
CI_VARIABLES = REPO / "infra" / "stacks" / "ci" / "variables.tf"
PLATFORM = REPO / "platform"

# What Helm does with every object of a release: read it (and watch it while waiting), create
# it, patch it (three-way merge), delete it when a later revision drops it.
OBJECT_VERBS = ("get", "list", "watch", "create", "patch", "delete")
# The release records: Secrets `sh.helm.release.v1.<release>.v<n>` in the release namespace,
# pruned by --history-max (delete), listed by `helm history` and `helm list`.
RELEASE_STORAGE = [("", "secrets", v) for v in ("get", "list", "create", "update", "delete")]
# `helm test`: create the hook pod, wait for it, print its log, delete it (hook-delete-policy).
TEST_HOOK_EXTRA = [("", "pods/log", "get")]


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
        if "test" in obj["metadata"].get("annotations", {}).get("helm.sh/hook", ""):
            wanted |= set(TEST_HOOK_EXTRA)
    return wanted


def rule_grants(rule: dict[str, Any], group: str, resource: str, verb: str) -> bool:
    return (
        (group in rule["apiGroups"] or "*" in rule["apiGroups"])
        and (resource in rule["resources"] or "*" in rule["resources"])
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


@pytest.fixture(scope="module")
def prod_objects() -> list[dict[str, Any]]:
    files, extra = VALUE_SETS["prod"]
    return render(load_values(files, extra))


def test_every_object_is_in_the_namespaces_the_role_may_edit(prod_objects):
    _, namespaces, _ = deploy_access()
    assert NAMESPACE in namespaces
    outside = [
        f"{o['kind']}/{o['metadata']['name']}"
        for o in prod_objects
        if o["metadata"].get("namespace") not in namespaces
    ]
    assert not outside, f"objects outside {namespaces} (or cluster-scoped): {outside}"


def test_deploy_role_holds_every_permission_helm_needs(prod_objects):
    policy, _, groups = deploy_access()
    rules = access_policy_rules(policy) + platform_rbac_rules(groups, NAMESPACE)
    wanted = needed(prod_objects)
    kinds = {(g, r) for g, r, _ in wanted}
    # The render holds the custom resources the finding is about; a render without them
    # would prove nothing about them.
    assert {
        ("external-secrets.io", "externalsecrets"),
        ("monitoring.coreos.com", "probes"),
    } <= kinds
    missing = sorted(
        f"{g or 'core'}/{r}: {v}"
        for g, r, v in wanted
        if not any(rule_grants(rule, g, r, v) for rule in rules)
    )
    assert not missing, f"the deploy role ({policy} + groups {groups}) lacks {missing}"


def test_platform_role_is_bound_to_the_access_entry_group():
    _, _, groups = deploy_access()
    assert groups, "the deploy role's access entry names no Kubernetes group"
    assert platform_rbac_rules(groups, NAMESPACE), (
        f"no platform RoleBinding in {NAMESPACE} names the groups {groups}"
    )
