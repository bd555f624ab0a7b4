"""Both registries: whether every environment deploys a signed image that publish delivered.

The walk follows the release workflows for one repository's variables and says whether every
environment's deploy pulls a signed image from a registry the publish job delivered it to.

A `Repository` is what GitHub knows of a copy of the project: its repository variables and each
GitHub environment's variables (`CLOUD`, ...). The walk evaluates the jobs' `env` and each
step's `if:` (test_app_tooling.workflows.expressions), expands the shell variables of `run:`
scripts from the step's environment, and follows what each active step does to registries:

- sign-ins: `aws-actions/configure-aws-credentials` (its `role-to-assume` must not be empty),
  `aws-actions/amazon-ecr-login` (the registries it names, else the role's account),
  `azure/login` (its `client-id` must not be empty) then `az acr login --name <registry>`;
- `docker/build-push-action` with `push: true` puts the image into the registries of its tags;
- `scripts/sign_image.sh REF` signs REF (the image must be in that registry);
- `cosign copy SRC DST` copies the image with its signatures (both registries signed in, SRC
  signed before);
- in a deploy: `cosign verify REF` (signed in to REF's registry) and
  `scripts/deploy.sh ENV REGISTRY ...`, which must pull from the registry just verified.

`check` returns the problems of one repository (empty when every environment deploys a
verified, signed image that publish delivered), each naming the job, step or environment.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from test_app_tooling.workflows.expressions import condition, interpolate, text_of
from test_app_tooling.workflows.hygiene import Workflow, steps


DIGEST = "sha256:" + "0" * 64
GIT_SHA = "0123456789abcdef0123456789abcdef01234567"
SHELL_VARIABLE = re.compile(
    r"\$\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?P<op>%%\.\*)?\}|\$(?P<bare>[A-Za-z_][A-Za-z0-9_]*)"
)
REDIRECTION = re.compile(r"\d?(?:>>?|<)")
ROLE_ACCOUNT = re.compile(r"^arn:aws:iam::(\d{12}):role/")


@dataclass
class Repository:
    """A repository's GitHub variables: repository-wide and per GitHub environment."""

    name: str
    variables: dict[str, str]
    environments: dict[str, dict[str, str]]


@dataclass
class _State:
    """What the steps of one job have done so far."""

    job: str
    aws_role: str | None = None
    azure: bool = False
    logged_in: set[str] = field(default_factory=set)
    holds_image: set[str] = field(default_factory=set)
    signed: set[str] = field(default_factory=set)
    verified: set[str] = field(default_factory=set)
    pulls: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def registry_of(ref: str) -> str:
    """The registry host of an image reference."""
    return ref.split("/", 1)[0]


def _placeholder_steps() -> dict[str, Any]:
    # A fresh build: no earlier image of the commit; every other step output is the digest.
    return {
        "existing": {"outputs": {"digest": ""}},
        "*": {"outputs": {"digest": DIGEST, "*": "<step output>"}},
    }


def contexts(
    repository: Repository, environment: str | None, inputs: Mapping[str, str]
) -> dict[str, Any]:
    """The expression contexts of a run on main, for a job in `environment` (or none)."""
    variables = dict(repository.variables)
    if environment is not None:
        variables |= repository.environments.get(environment, {})
    return {
        "vars": variables,
        "inputs": dict(inputs),
        "github": {
            "event_name": "push",
            "ref": "refs/heads/main",
            "sha": GIT_SHA,
            "repository": repository.name,
        },
        "steps": _placeholder_steps(),
        "needs": {"*": {"outputs": {"digest": DIGEST, "*": "<job output>"}}},
        "env": {},
    }


def _expand(script: str, env: Mapping[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group("braced") or match.group("bare")
        value = env.get(name, "")
        return value.split(".", 1)[0] if match.group("op") else value

    return SHELL_VARIABLE.sub(replace, script)


def _commands(script: str) -> list[list[str]]:
    joined = script.replace("\\\n", " ")
    found = []
    for line in joined.splitlines():
        try:
            words = shlex.split(line, comments=True)
        except ValueError:
            continue
        found.append(_without_redirections(words))
    return found


def _without_redirections(words: list[str]) -> list[str]:
    """A command's words without shell redirections (`> /dev/null`, `2>&1`, `>> "$FILE"`)."""
    kept: list[str] = []
    skip = False
    for word in words:
        if skip:
            skip = False
        elif REDIRECTION.fullmatch(word):
            skip = True  # the target is the next word
        elif not REDIRECTION.match(word):  # `2>&1`, `>file`: operator and target in one word
            kept.append(word)
    return kept


def _need_login(state: _State, where: str, registry: str, purpose: str) -> None:
    if registry not in state.logged_in:
        state.problems.append(
            f"{where}: {purpose} {registry!r} without signing in to it "
            f"(signed in: {sorted(state.logged_in)})"
        )


def _action(
    state: _State, where: str, uses: str, inputs: dict[str, Any], env: Mapping[str, str]
) -> None:
    if uses.startswith("aws-actions/configure-aws-credentials@"):
        role = text_of(inputs.get("role-to-assume"))
        if not role:
            state.problems.append(f"{where}: signs in to AWS with an empty role-to-assume")
        state.aws_role = role
    elif uses.startswith("aws-actions/amazon-ecr-login@"):
        if not state.aws_role:
            state.problems.append(f"{where}: ECR login without an AWS sign-in before it")
            return
        region = env.get("AWS_REGION", "eu-central-1")
        named = [a.strip() for a in text_of(inputs.get("registries")).split(",") if a.strip()]
        own = ROLE_ACCOUNT.match(state.aws_role)
        accounts = named or ([own.group(1)] if own else [])
        state.logged_in |= {f"{a}.dkr.ecr.{region}.amazonaws.com" for a in accounts}
    elif uses.startswith("azure/login@"):
        if not text_of(inputs.get("client-id")):
            state.problems.append(f"{where}: signs in to Azure with an empty client-id")
        else:
            state.azure = True
    elif uses.startswith("docker/build-push-action@") and inputs.get("push") is True:
        for tag in re.split(r"[,\s]+", text_of(inputs.get("tags")).strip()):
            if tag:
                _need_login(state, where, registry_of(tag), "pushes to")
                state.holds_image.add(registry_of(tag))


def _copy(state: _State, where: str, refs: list[str]) -> None:
    source, target = refs
    _need_login(state, where, registry_of(source), "copies from")
    _need_login(state, where, registry_of(target), "copies to")
    if registry_of(source) not in state.signed:
        state.problems.append(f"{where}: copies {source!r} before it is signed there")
    else:
        state.holds_image.add(registry_of(target))
        state.signed.add(registry_of(target))


def _run(state: _State, where: str, words: list[str]) -> None:
    if words[:3] == ["az", "acr", "login"] and "--name" in words:
        name = words[words.index("--name") + 1]
        if not state.azure:
            state.problems.append(f"{where}: az acr login --name {name!r} before an Azure sign-in")
        elif name:
            state.logged_in.add(name if "." in name else f"{name}.azurecr.io")
        else:
            state.problems.append(f"{where}: az acr login with an empty registry name")
    elif words[:1] == ["scripts/sign_image.sh"] and len(words) > 1:
        registry = registry_of(words[1])
        if registry not in state.holds_image:
            state.problems.append(f"{where}: signs {words[1]!r}, which no earlier step pushed")
        state.signed.add(registry)
    elif words[:2] == ["cosign", "copy"]:
        _copy(state, where, [w for w in words[2:] if not w.startswith("-")][:2])
    elif words[:2] == ["cosign", "verify"]:
        reference = words[-1]
        _need_login(state, where, registry_of(reference), "verifies the signature in")
        state.verified.add(registry_of(reference))
    elif words[:1] == ["scripts/deploy.sh"] and len(words) > 2:
        registry = words[2]
        if registry not in state.verified:
            state.problems.append(
                f"{where}: deploys from {registry!r}, where no earlier step verified the "
                f"signature (verified: {sorted(state.verified)})"
            )
        state.pulls.append(registry)


def walk_job(
    workflow: Workflow, job_id: str, base: dict[str, Any], github_env: Mapping[str, str]
) -> _State:
    """Follow one job's active steps; return what they did to registries."""
    job = workflow.jobs[job_id]
    state = _State(job_id)
    context = dict(base)
    job_env: dict[str, str] = {}
    workflow_env = workflow.data.get("env") or {}
    for key, value in [*workflow_env.items(), *(job.get("env") or {}).items()]:
        context["env"] = dict(job_env)
        job_env[str(key)] = text_of(interpolate(value, context))
    context["env"] = job_env
    if not condition(job.get("if"), context):
        return state
    for number, step in enumerate(steps(job), start=1):
        where = (
            f"{workflow.name} job {job_id} step {number} ({step.get('name') or step.get('uses')})"
        )
        if not condition(step.get("if"), context):
            continue
        step_env = dict(github_env) | job_env
        for key, value in (step.get("env") or {}).items():
            step_env[str(key)] = text_of(interpolate(value, context))
        if "uses" in step:
            inputs = {k: interpolate(v, context) for k, v in (step.get("with") or {}).items()}
            _action(state, where, str(step["uses"]), inputs, step_env)
        if "run" in step:
            for words in _commands(_expand(str(step["run"]), step_env)):
                if words:
                    _run(state, where, words)
    return state


def check(ci: Workflow, deploy: Workflow, repository: Repository) -> list[str]:
    """Problems of one repository: publish, then each environment's deploy."""
    github_env = {"GITHUB_SHA": GIT_SHA, "GITHUB_REPOSITORY": repository.name}
    publish = walk_job(ci, "publish", contexts(repository, None, {}), github_env)
    problems = [f"[{repository.name}] {p}" for p in publish.problems]
    if not publish.signed:
        problems.append(f"[{repository.name}] publish signs no image in any registry")
    for environment in repository.environments:
        inputs = {"environment": environment, "digest": DIGEST, "git-sha": GIT_SHA}
        [job_id] = list(deploy.jobs)
        state = walk_job(deploy, job_id, contexts(repository, environment, inputs), github_env)
        problems += [f"[{repository.name}] {environment}: {p}" for p in state.problems]
        if not state.pulls:
            problems.append(f"[{repository.name}] {environment}: the deploy pulls from no registry")
        for registry in state.pulls:
            if registry not in publish.signed:
                problems.append(
                    f"[{repository.name}] {environment}: deploys from {registry!r}, but publish "
                    f"delivered the signed image only to {sorted(publish.signed)}"
                )
    return problems
