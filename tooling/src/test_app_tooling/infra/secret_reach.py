"""Who can read each AWS secret: directly in CI, or by materialising it in the cluster.

The secrets: the database's app login (`<env>/database-app`), its managed master login
(`rds!cluster-...`) and Alertmanager's receivers (`<env>/alertmanager-receivers`).

An identity reaches a secret

* directly, when its IAM policies allow `secretsmanager:GetSecretValue` on it (the CI roles of
  infra/stacks/ci, with the AWS managed policies they hold modelled for Secrets Manager);
* through the cluster, when it may create an ExternalSecret in a namespace (RBAC of
  platform/manifests bound to the Kubernetes groups of its EKS access entry) that a
  ClusterSecretStore admits (its `conditions`), and the External Secrets controller's IAM role
  (the cluster stack's and the database stack's `external_secrets` documents) reads the secret;
  or when it may create a namespaced SecretStore, which without `auth` acts with that same
  controller identity whatever the ClusterSecretStore admits.

Each CI role is gated by the OIDC subjects its trust policy accepts: `environment:<name>` is as
narrow as that GitHub environment's deployment branch policy, which docs/getting-started.md
sets (`.../environments/<name>/deployment-branch-policies -f name=main`); `pull_request` is any
pull request. `main` itself is only as narrow as who can change it: a required status check
does not stop a writer pushing an unreviewed commit, so `main` (a `ref:refs/heads/main` subject,
or an environment restricted to it) counts as gated only when the walkthrough creates a ruleset
on `main` that requires an approving code-owner review and lets nobody bypass it
(`main_reviewed`). Environment reviewers are not counted: private repositories get them only on
GitHub Enterprise, and the walkthrough's fallback on other plans is that same ruleset. `check`
reports every (identity, secret) pair not gated to `main`, except the
documented one: the plan role refreshes the app secret in pull-request plans (ADR 0015 and
tests/infra/test_plan_role.py).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hcl2
import yaml

from test_app_tooling.infra.iam import Request, decide, terraform_policy
from test_app_tooling.tools import REPO
from test_app_tooling.walkthrough import shell_blocks


ACCOUNT = "111122223333"
REGION = "eu-central-1"
MANIFESTS = REPO / "platform" / "manifests"
CI_STACK = REPO / "infra" / "stacks" / "ci"
CLUSTER_MAIN = REPO / "infra" / "stacks" / "cluster" / "main.tf"
DATABASE_MAIN = REPO / "infra" / "stacks" / "database" / "main.tf"
WALKTHROUGH = REPO / "docs" / "getting-started.md"
GET = "secretsmanager:GetSecretValue"
# The Secrets Manager part of the AWS managed policies the CI roles hold: ReadOnlyAccess lists
# and describes but reads no value; AdministratorAccess is `*` on `*`.
MANAGED: dict[str, dict[str, Any]] = {
    "ReadOnlyAccess": {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["secretsmanager:Describe*", "secretsmanager:List*"],
                "Resource": "*",
            }
        ]
    },
    "AdministratorAccess": {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]},
}
# The one documented path off `main`: pull-request plans refresh the app secret's version.
EXCEPTIONS = {("terraform-plan", "app")}


def secrets(env: str) -> dict[str, str]:
    """The ARN of each secret of one environment, as Secrets Manager forms it."""
    base = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret"
    return {
        "app": f"{base}:test-app-{env}/database-app-AbCdEf",
        "master": f"{base}:rds!cluster-0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9-XyZ789",
        "receivers": f"{base}:test-app-{env}/alertmanager-receivers-AbCdEf",
    }


@dataclass(frozen=True)
class Role:
    """A CI role: the OIDC subjects it trusts, its policies, its Kubernetes groups."""

    name: str
    subjects: list[str]
    policies: list[dict[str, Any]]
    kubernetes_groups: list[str]


def _stack_values(env: str) -> dict[str, str]:
    name = f"test-app-{env}"
    secret = secrets(env)
    return {
        "data.aws_partition.current.partition": "aws",
        "local.partition": "aws",
        "local.name": name,
        "var.region": REGION,
        "data.aws_caller_identity.current.account_id": ACCOUNT,
        "data.aws_eks_cluster.this.arn": f"arn:aws:eks:{REGION}:{ACCOUNT}:cluster/{name}",
        "local.repository_arn": f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/test-app",
        "local.app_secret_arn": f"{secret['app'].rsplit('-', 1)[0]}-??????",
        "local.state_bucket_arn": f"arn:aws:s3:::test-app-tfstate-{ACCOUNT}-{REGION}",
        "aws_secretsmanager_secret.app.arn": secret["app"],
        "module.aurora.cluster_master_user_secret_arn": secret["master"],
        "module.aurora.kms_key_arn": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0a1b",
        "var.environment": env,
    }


def _variable_default(folder: Path, name: str) -> Any:  # noqa: ANN401
    for tf in sorted(folder.glob("*.tf")):
        for block in hcl2.loads(tf.read_text(encoding="utf-8")).get("variable", []):
            body = block.get(name, block.get(f'"{name}"'))
            if body is not None:
                return body.get("default")
    msg = f"{folder}: no variable {name}"
    raise LookupError(msg)


def ci_roles(env: str) -> list[Role]:
    """The roles of the ci stack's github_oidc module, with their policies filled in."""
    main = (CI_STACK / "main.tf").read_text(encoding="utf-8")
    values = _stack_values(env)
    groups = [str(g).strip('"') for g in _variable_default(CI_STACK, "deploy_kubernetes_groups")]
    roles = []
    for name, body in re.findall(r"\n    ([a-z-]+) = \{\n(.*?)\n    \}", main, re.DOTALL):
        subjects_match = re.search(r"subjects\s*=\s*(.+)", body)
        if not subjects_match:
            continue
        expression = subjects_match[1]
        subjects = []
        for variable in re.findall(r"var\.(\w+_subjects)", expression):
            subjects += [str(v).strip('"') for v in _variable_default(CI_STACK, variable) or []]
        if not subjects:
            subjects = re.findall(r'"([a-z_]+(?::[^"]*)?)"', expression)
        subjects = [s.replace("${var.environment}", env) for s in subjects]
        policies: list[dict[str, Any]] = []
        inline = re.search(r"data\.aws_iam_policy_document\.(\w+)\.json", body)
        if inline:
            policies.append(terraform_policy(CI_STACK / "main.tf", inline[1], values))
        policies += [MANAGED[m] for m in re.findall(r"iam::aws:policy/(\w+)", body)]
        has_entry = name == "github-deploy" and "aws_eks_access_entry" in main
        roles.append(Role(name, subjects, policies, groups if has_entry else []))
    if not roles:
        msg = f"{CI_STACK}/main.tf: no roles found in module github_oidc"
        raise LookupError(msg)
    return roles


def _documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]


def externalsecret_writers(
    resource: str = "externalsecrets", subject_kind: str = "Group"
) -> dict[str, set[str]]:
    """Namespace -> Kubernetes groups (or `subject_kind`) that may create `resource` there.

    From the platform's RBAC (platform/manifests).

    `secretstores`: a namespaced SecretStore without `auth` acts with the controller's own
    identity, so its creators reach whatever the controller reads, whatever the ClusterSecretStore
    admits. (The chart's aggregation of those rights into `view`/`edit` is off:
    test_app_tooling.addon_values.)
    """
    docs = [d for p in sorted(MANIFESTS.glob("*.yaml")) for d in _documents(p)]
    creating = {
        (d["metadata"].get("namespace", ""), d["metadata"]["name"])
        for d in docs
        if d.get("kind") in {"Role", "ClusterRole"}
        and any(
            {resource, "*"} & set(r.get("resources", []))
            and {"create", "*"} & set(r.get("verbs", []))
            for r in d.get("rules", [])
        )
    }
    found: dict[str, set[str]] = {}
    for d in docs:
        if d.get("kind") not in {"RoleBinding", "ClusterRoleBinding"}:
            continue
        namespace = d["metadata"].get("namespace", "*")
        ref = d["roleRef"]
        key = ("" if ref["kind"] == "ClusterRole" else namespace, ref["name"])
        if key not in creating:
            continue
        groups = {s["name"] for s in d.get("subjects", []) if s.get("kind") == subject_kind}
        found.setdefault(namespace, set()).update(groups)
    return found


def store_namespaces(path: Path | None = None) -> dict[str, list[str]]:
    """ClusterSecretStore name -> namespaces its conditions admit (`*`: every namespace).

    From `path`, by default the EKS store of platform/manifests.
    """
    found: dict[str, list[str]] = {}
    for doc in _documents(path or MANIFESTS / "cluster-secret-store.yaml"):
        if doc.get("kind") != "ClusterSecretStore":
            continue
        conditions = doc["spec"].get("conditions") or []
        names = [n for c in conditions for n in c.get("namespaces", [])]
        found[doc["metadata"]["name"]] = names or ["*"]
    return found


def controller_policies(env: str) -> list[dict[str, Any]]:
    """The External Secrets controller's IAM policies (cluster and database stacks)."""
    values = _stack_values(env)
    return [
        terraform_policy(CLUSTER_MAIN, "external_secrets", values),
        terraform_policy(DATABASE_MAIN, "external_secrets", values),
    ]


def main_only_environments(walkthrough: str) -> set[str]:
    """GitHub environments the walkthrough restricts to the `main` branch."""
    found: set[str] = set()
    rule = r'environments/{}/deployment-branch-policies" -f name=main'
    for names, body in re.findall(
        r"for env in ([\w -]+); do\n(.*?)\n\s*done", walkthrough, re.DOTALL
    ):
        if re.search(rule.format(r"\$env"), body):
            found |= set(names.split())
    found |= set(re.findall(rule.format(r"([a-z][a-z0-9-]*)"), walkthrough))
    return found


# `gh api -X POST "repos/$REPO/rulesets" --input FILE`, FILE a path in the repository (both
# walkthroughs name RULESET_FILE), or `--input - <<'EOF'` with the JSON body up to `EOF`.
RULESET = re.compile(
    r"gh api -X POST \"?repos/\$REPO/rulesets\"? --input "
    r"(?:- <<'?EOF'?\n(.*?)\n\s*EOF\b|([^\s-]\S*))",
    re.DOTALL,
)
RULESET_FILE = REPO / ".github" / "rulesets" / "main.json"
MAIN_REFS = {"refs/heads/main", "~DEFAULT_BRANCH"}


def ruleset_problems(ruleset: dict[str, Any]) -> list[str]:
    """Why a branch ruleset does not make every change of `main` a reviewed one."""
    problems = []
    if ruleset.get("target", "branch") != "branch":
        problems.append(f"target is {ruleset.get('target')!r}, not 'branch'")
    if ruleset.get("enforcement") != "active":
        problems.append(f"enforcement is {ruleset.get('enforcement')!r}, not 'active'")
    if ruleset.get("bypass_actors"):
        problems.append(f"bypass_actors {ruleset['bypass_actors']} may push around it")
    refs = ruleset.get("conditions", {}).get("ref_name", {})
    if not MAIN_REFS & set(refs.get("include", [])) or MAIN_REFS & set(refs.get("exclude", [])):
        problems.append(f"conditions.ref_name {refs} does not include main")
    reviews = [r for r in ruleset.get("rules", []) if r.get("type") == "pull_request"]
    parameters = reviews[0].get("parameters", {}) if reviews else {}
    if int(parameters.get("required_approving_review_count", 0)) < 1:
        problems.append("no pull_request rule with required_approving_review_count >= 1")
    if parameters.get("require_code_owner_review") is not True:
        problems.append("the pull_request rule does not require_code_owner_review")
    return problems


def main_reviewed(walkthrough: str, root: Path = REPO) -> list[str]:
    """Why `main` takes unreviewed changes (empty: the walkthrough's ruleset gates it).

    A ruleset given as a file (`--input .github/rulesets/main.json`) is read from `root`.
    """
    commands = RULESET.findall(shell_blocks(walkthrough))
    if not commands:
        return ["the walkthrough creates no ruleset on main (gh api -X POST repos/$REPO/rulesets)"]
    found = []
    for inline, path in commands:
        if path and not (root / path).is_file():
            found.append(f"the ruleset file {path} does not exist")
            continue
        body = (root / path).read_text(encoding="utf-8") if path else inline
        try:
            ruleset = json.loads(body)
        except json.JSONDecodeError as error:
            found.append(f"the ruleset's JSON does not parse: {error}")
            continue
        problems = ruleset_problems(ruleset)
        if not problems:
            return []
        found.append(f"ruleset {ruleset.get('name')!r}: {'; '.join(problems)}")
    return found


def gate(role: Role, main_only: set[str], *, main_gated: bool = True) -> str:
    """`main` when every subject the role trusts runs only from a reviewed main, else what opens it.

    `main_gated` says whether `main` takes reviewed changes only (`main_reviewed`).
    """
    opened = []
    for subject in role.subjects:
        kind, _, value = subject.partition(":")
        from_main = (kind == "environment" and value in main_only) or (
            kind == "ref" and value == "refs/heads/main"
        )
        if from_main and main_gated:
            continue
        opened.append(f"{subject} (main takes unreviewed pushes)" if from_main else subject)
    return "main" if not opened else ", ".join(opened)


@dataclass(frozen=True)
class Reach:
    """One way an identity reads one secret."""

    identity: str
    secret: str
    path: str
    gate: str


CONTROLLER = "external-secrets"


def secret_reads(env: str) -> list[tuple[str, list[dict[str, Any]], str, Request]]:
    """Each identity's GetSecretValue on each secret: (identity, its policies, secret, request).

    The identities are the External Secrets controller and each CI role; `reach` decides these
    requests, and the tests hand the same list to the IAM evaluator's independent cross-check.
    """
    identities = [(CONTROLLER, controller_policies(env))]
    identities += [(role.name, role.policies) for role in ci_roles(env)]
    return [
        (name, policies, secret, Request(GET, arn))
        for name, policies in identities
        for secret, arn in secrets(env).items()
    ]


def reach(env: str, walkthrough: str | None = None) -> list[Reach]:
    """Every (identity, secret, path, gate) of one environment."""
    text = walkthrough if walkthrough is not None else WALKTHROUGH.read_text(encoding="utf-8")
    main_only = main_only_environments(text)
    main_gated = not main_reviewed(text)
    # An identity's policies are decided together, as IAM does: a Deny in one beats an Allow.
    reads = {
        (name, secret)
        for name, policies, secret, req in secret_reads(env)
        if decide(policies, req) == "Allowed"
    }
    readable = {secret for name, secret in reads if name == CONTROLLER}
    writers = externalsecret_writers()
    store_writers = externalsecret_writers("secretstores")
    stores = store_namespaces()
    found = []
    for role in ci_roles(env):
        opened = gate(role, main_only, main_gated=main_gated)
        found += [
            Reach(role.name, secret, "GetSecretValue", opened)
            for secret in secrets(env)
            if (role.name, secret) in reads
        ]
        for namespace, groups in writers.items():
            if not set(role.kubernetes_groups) & groups:
                continue
            for store, admitted in stores.items():
                if "*" not in admitted and namespace not in admitted:
                    continue
                found += [
                    Reach(role.name, s, f"ExternalSecret in {namespace} via {store}", opened)
                    for s in sorted(readable)
                ]
        for namespace, groups in store_writers.items():
            if set(role.kubernetes_groups) & groups:
                found += [
                    Reach(role.name, s, f"SecretStore in {namespace} as the controller", opened)
                    for s in sorted(readable)
                ]
    return found


# The master secret's only paths: the role hook's ExternalSecret in the app's namespace (created
# by the deploy role, through Helm) and the Terraform apply role (an administrator).
MASTER_PATHS = {
    ("github-deploy", "ExternalSecret in test-app via aws-secrets-manager"),
    ("terraform-apply", "GetSecretValue"),
}


def ungated(env: str, found: list[Reach], exceptions: set[tuple[str, str]]) -> list[str]:
    """Each reach that runs from more than a reviewed `main`, but for the documented exceptions."""
    return [
        f"{env}: {r.identity} reads the {r.secret} secret ({r.path}) from {r.gate}, not only main"
        for r in found
        if r.gate != "main" and (r.identity, r.secret) not in exceptions
    ]


def check(env: str, walkthrough: str | None = None) -> list[str]:
    """Every way to read a secret that is not gated to `main` and not the documented one."""
    found = reach(env, walkthrough)
    problems = ungated(env, found, EXCEPTIONS)
    problems += [
        f"{env}: {r.identity} reads the master secret ({r.path}), not the role hook's path"
        for r in found
        if r.secret == "master" and (r.identity, r.path) not in MASTER_PATHS
    ]
    return problems
