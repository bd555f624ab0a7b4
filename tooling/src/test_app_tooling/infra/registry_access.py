"""Cross-account delivery: each environment can pull and verify the image where it lives.

One ECR registry, in the account of `registry_environment` (infra/envs/project.toml), serves
both environments: the deploy workflow verifies the signature of `$REGISTRY/test-app@digest`
with cosign and the nodes pull it. For each environment that needs, from the repository as
written:

* credentials: the workflow's `aws-actions/amazon-ecr-login` step logs Docker (and so cosign,
  which reads the Docker config) in to the registries named in its `registries` input, or, when
  the input is absent, only to the default registry of the account whose role it assumed;
* the deploy role's IAM policy (infra/stacks/ci, `deploy`) allows reading images in the
  registry's repository, held against the IAM evaluator of `test_app_tooling.infra.iam`;
* the repository policy of the registry account (infra/modules/ecr, `pull`, fed
  `pull_account_ids` by scripts/terraform/project_vars.py) admits the environment's account
  when it is another account.

`check` takes the project file's accounts and the GitHub variables as the walkthrough sets
them and returns one line per gap.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hcl2
import yaml

from test_app_tooling.infra.iam import Request, allows, terraform_policy
from test_app_tooling.tools import REPO
from test_app_tooling.walkthrough import shell_blocks


DEPLOY_WORKFLOW = REPO / ".github" / "workflows" / "deploy.yml"
CI_STACK = REPO / "infra" / "stacks" / "ci" / "main.tf"
ECR_MODULE = REPO / "infra" / "modules" / "ecr" / "main.tf"
ECR_LOGIN = "aws-actions/amazon-ecr-login@"
REGION = "eu-central-1"
REPOSITORY = "test-app"
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
VARIABLE = re.compile(r"^vars\.([A-Z0-9_]+)$")
ECR_HOST = re.compile(
    r"format\('\{0\}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com',\s*vars\.([A-Z0-9_]+)\)"
)
PULL_ACTIONS = ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")


@dataclass(frozen=True)
class Environment:
    """One environment as the walkthrough sets it up: its account and GitHub variables."""

    name: str
    account: str
    variables: dict[str, str]


def _steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for job in workflow["jobs"].values() for s in job.get("steps", [])]


def load_workflow(path: Path = DEPLOY_WORKFLOW) -> dict[str, Any]:
    """The workflow as data."""
    loaded: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return loaded


def registry_variable(workflow: dict[str, Any]) -> str:
    """The GitHub variable holding the ECR registry's account, read from the REGISTRY env."""
    for job in workflow["jobs"].values():
        registry = str(job.get("env", {}).get("REGISTRY", ""))
        found = ECR_HOST.search(registry)
        if found:
            return found[1]
    msg = "deploy.yml: no job env REGISTRY of the form format('{0}.dkr.ecr...', vars.X)"
    raise LookupError(msg)


def _resolve(value: str, env: Environment) -> str:
    """A workflow value with `${{ vars.X }}` expressions filled from the environment."""

    def one(match: re.Match[str]) -> str:
        name = VARIABLE.match(match[1])
        if not name:
            msg = f"deploy.yml: expression {match[0]!r} is not a plain vars.X reference"
            raise ValueError(msg)
        return env.variables.get(name[1], "")

    return EXPRESSION.sub(one, value)


def logged_in_accounts(workflow: dict[str, Any], env: Environment) -> set[str]:
    """Accounts whose ECR registry the workflow's ECR login gives Docker credentials for."""
    accounts: set[str] = set()
    logins = [s for s in _steps(workflow) if str(s.get("uses", "")).startswith(ECR_LOGIN)]
    if not logins:
        msg = "deploy.yml has no aws-actions/amazon-ecr-login step"
        raise LookupError(msg)
    for step in logins:
        named = str(step.get("with", {}).get("registries", "")).strip()
        if not named:
            # amazon-ecr-login: without `registries`, the default registry of the caller's
            # account (the role the job assumed, in this environment's account).
            accounts.add(env.account)
            continue
        accounts |= {a.strip() for a in _resolve(named, env).split(",") if a.strip()}
    return accounts


def verifies_in_registry(workflow: dict[str, Any]) -> bool:
    """Whether cosign verify and the deploy both name the image under $REGISTRY."""
    runs = [str(s.get("run", "")) for s in _steps(workflow)]
    verify = any("cosign verify" in r and '"$REGISTRY/test-app@' in r for r in runs)
    deploy = any("scripts/deploy.sh" in r and '"$REGISTRY"' in r for r in runs)
    return verify and deploy


def deploy_policy(env_values: dict[str, Any], env: Environment) -> dict[str, Any]:
    """The ci stack's deploy role policy for one environment, with its values filled in."""
    registry_account = env_values.get("registry_account_id") or env.account
    repository = f"arn:aws:ecr:{REGION}:{registry_account}:repository/{REPOSITORY}"
    values = {
        "data.aws_eks_cluster.this.arn": (
            f"arn:aws:eks:{REGION}:{env.account}:cluster/test-app-{env.name}"
        ),
        "local.repository_arn": repository,
    }
    return terraform_policy(CI_STACK, "deploy", values)


def pull_principals(pull_account_ids: list[str]) -> set[str]:
    """The principals the ECR module's repository policy admits, for these account IDs.

    Read from the module's `pull` document: its statement must grant the pull actions and its
    principal identifiers must be the `root` of each listed account.
    """
    parsed = hcl2.loads(ECR_MODULE.read_text(encoding="utf-8"))
    documents = [
        b['"aws_iam_policy_document"']['"pull"']
        for b in parsed.get("data", [])
        if '"pull"' in b.get('"aws_iam_policy_document"', {})
    ]
    if not documents:
        msg = f"{ECR_MODULE}: no aws_iam_policy_document.pull"
        raise LookupError(msg)
    admitted: set[str] = set()
    for statement in documents[0].get("statement", []):
        actions = {str(a).strip('"') for a in statement.get("actions", [])}
        if not set(PULL_ACTIONS) <= actions:
            continue
        for principal in statement.get("principals", []):
            identifiers = str(principal.get("identifiers", ""))
            if "var.pull_account_ids" in identifiers and ":iam::${id}:root" in identifiers:
                admitted |= {f"arn:aws:iam::{a}:root" for a in pull_account_ids}
    return admitted


def deploy_requests(account: str) -> list[Request]:
    """The calls the deploy job makes on the registry of `account`: the login and the pulls."""
    repository = f"arn:aws:ecr:{REGION}:{account}:repository/{REPOSITORY}"
    return [Request(a, repository) for a in PULL_ACTIONS] + [Request("ecr:GetAuthorizationToken")]


def registry_account(workflow: dict[str, Any], env: Environment) -> str:
    """The account of the registry the workflow pulls from and verifies in, for `env`."""
    return _resolve(f"${{{{ vars.{registry_variable(workflow)} }}}}", env)


def deploy_calls(
    environments: list[Environment],
    project_values: Callable[[str], dict[str, Any]],
    workflow: dict[str, Any] | None = None,
) -> list[tuple[Environment, dict[str, Any], Request]]:
    """Each environment's deploy role policy with each call it makes on its registry.

    `check` decides these with the IAM evaluator; the tests hand the same list to its
    independent cross-check.
    """
    workflow = workflow if workflow is not None else load_workflow()
    return [
        (env, deploy_policy(project_values(env.name), env), req)
        for env in environments
        for req in deploy_requests(registry_account(workflow, env))
    ]


def check(
    environments: list[Environment],
    registry_environment: str,
    project_values: Callable[[str], dict[str, Any]],
    workflow: dict[str, Any] | None = None,
) -> list[str]:
    """Every gap between an environment and the registry it pulls from and verifies in."""
    workflow = workflow if workflow is not None else load_workflow()
    by_name = {e.name: e for e in environments}
    registry = by_name[registry_environment]
    pull_ids = list(project_values(registry_environment).get("pull_account_ids", []))
    admitted = pull_principals(pull_ids)
    variable = registry_variable(workflow)
    calls = deploy_calls(environments, project_values, workflow)
    problems = []
    if not verifies_in_registry(workflow):
        problems.append("deploy.yml: cosign verify and deploy.sh must both use $REGISTRY")
    for env in environments:
        account = registry_account(workflow, env)
        if account != registry.account:
            problems.append(
                f"{env.name}: deploy.yml's registry account (vars.{variable} = {account!r}) "
                f"is not the registry environment's account {registry.account!r}"
            )
        if account not in logged_in_accounts(workflow, env):
            problems.append(
                f"{env.name}: no ECR credentials for {account}.dkr.ecr.{REGION}.amazonaws.com "
                "(cosign verify gets 401): name it in amazon-ecr-login's `registries`"
            )
        repository = f"arn:aws:ecr:{REGION}:{account}:repository/{REPOSITORY}"
        refused = [req.action for e, policy, req in calls if e is env and not allows(policy, req)]
        if refused:
            problems.append(f"{env.name}: the deploy role may not {refused} on {repository}")
        if env.account != account and f"arn:aws:iam::{env.account}:root" not in admitted:
            problems.append(
                f"{env.name}: the repository policy in account {account} does not admit "
                f"account {env.account} (registry stack of {registry_environment}: "
                f"pull_account_ids = {pull_ids})"
            )
    return problems


# How the walkthrough applies an environment's stacks: all of them in order, or those named.
APPLY_ALL = re.compile(r"\bmake infra ENV=(\w+)")
APPLY_NAMED = re.compile(r"\bscripts/terraform/stacks apply (\w+)((?:[ \t]+[a-z]+)*)")


def own_registry_applies(walkthrough: str, env: str) -> list[str]:
    """Why the walkthrough's commands would apply `env`'s own registry stack, or none of its stacks.

    Only the page's shell blocks are read.

    An environment that pulls from another environment's registry has no use for its own
    `registry` stack. `make infra ENV=<env>` (scripts/terraform/stacks apply <env>) plans every
    stack in order and asks before each: applied, the stack makes an unused repository; answered
    no, the run stops there ("stopped before registry") and the cluster, database and ci stacks
    are never applied. The walkthrough must apply the environment's stacks by name, without it.
    """
    commands = shell_blocks(walkthrough)
    problems = [
        f"`{m[0]}` applies every stack of {env}, its own registry included: answering no stops "
        f"the run before the stacks after it; name {env}'s stacks without registry "
        f"(scripts/terraform/stacks apply {env} network cluster database ci)"
        for m in APPLY_ALL.finditer(commands)
        if m[1] == env
    ]
    named = [m for m in APPLY_NAMED.finditer(commands) if m[1] == env]
    problems += [
        f"`{m[0].strip()}` applies {env}'s own registry stack, which {env} does not use"
        for m in named
        if not m[2].split() or "registry" in m[2].split()
    ]
    if not named:
        problems.append(
            f"the walkthrough never applies {env}'s stacks by name "
            f"(scripts/terraform/stacks apply {env} network cluster database ci)"
        )
    return problems
