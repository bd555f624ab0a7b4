"""Supply-chain and release hygiene rules for GitHub Actions workflows.

Each rule is a function `rule(workflow) -> list[str]` returning human-readable
violations (empty when the workflow complies). The tests run every rule on the real
workflows (must be clean) and on small patches of a good workflow (each must be rejected by
its rule).

Definitions the rules rely on, kept concrete on purpose:

- A job *assumes a role* when one of its steps uses `aws-actions/configure-aws-credentials`
  with a non-empty `role-to-assume`, or when it calls a local reusable workflow in which
  a job assumes a role (GitHub passes the caller's `id-token` grant down).
- The *test job* of a workflow is a job with a step that runs the project's test command:
  `.ci/run` or `make test`.
- A *cluster-changing job* (it changes a live environment) runs `scripts/deploy.sh`,
  `scripts/rollback.sh`, `helm upgrade/install/rollback/uninstall`,
  `kubectl apply/delete/rollout/patch/scale`, `scripts/terraform/stacks apply` or
  `terraform apply/destroy`.
  A *deploy job* is a cluster-changing job that runs `scripts/deploy.sh`, `helm upgrade` or
  `helm install`, or a job that calls a local reusable workflow containing one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


SHA_PIN = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+(?:/[^@\s]+)?@[0-9a-f]{40}$")
VERSION_COMMENT = re.compile(r"#\s*v?\d+(?:\.\d+){0,3}\b")
DIGEST_PIN = re.compile(r"@sha256:[0-9a-f]{64}$")
USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>[^\s#]+)\s*(?P<comment>#.*)?$")
LONG_LIVED_KEYS = re.compile(
    r"AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY|AWS_SESSION_TOKEN"
    r"|aws-access-key-id|aws-secret-access-key|aws-session-token",
    re.IGNORECASE,
)
TEST_COMMAND = re.compile(r"(^|[\s;&|(])(bash\s+)?(\./)?\.ci/run\b|(^|[\s;&|(])make\s+test(\s|$)")
DEPLOY_COMMAND = re.compile(r"scripts/(deploy)\.sh|\bhelm\s+(upgrade|install)\b")
CLUSTER_COMMAND = re.compile(
    r"scripts/(deploy|rollback)\.sh|\bhelm\s+(upgrade|install|rollback|uninstall)\b"
    r"|\bkubectl\s+(apply|delete|rollout|patch|scale)\b"
    r"|scripts/terraform/stacks\s+apply\b|\bterraform\b[^\n]*\s(apply|destroy)\b"
)
ROLE_ACTION = "aws-actions/configure-aws-credentials@"
READ_ONLY = {"read", "none"}


@dataclass
class Workflow:
    """A workflow file: its path, raw text (comments matter for pins) and parsed YAML."""

    path: Path
    text: str
    data: dict[Any, Any]  # PyYAML reads the bare key `on` as True, so keys are not all str
    _callees: dict[str, Workflow | None] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, path: Path) -> Workflow:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
        if not isinstance(data, dict):
            raise TypeError(f"{path}: expected a YAML mapping at the top level")
        return cls(path, text, data)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def on(self) -> Any:  # noqa: ANN401 - YAML: a string, list or mapping
        """The workflow's `on` section (PyYAML reads the bare key `on` as True, YAML 1.1)."""
        return self.data["on"] if "on" in self.data else self.data.get(True)

    @property
    def triggers(self) -> set[str]:
        on = self.on
        if isinstance(on, str):
            return {on}
        if isinstance(on, list):
            return {str(t) for t in on}
        if isinstance(on, dict):
            return {str(t) for t in on}
        return set()

    @property
    def jobs(self) -> dict[str, dict[str, Any]]:
        jobs = self.data.get("jobs")
        return jobs if isinstance(jobs, dict) else {}

    def callee(self, job: dict[str, Any]) -> Workflow | None:
        """The local reusable workflow a job calls (`./` or `$/` path), or None."""
        uses = job.get("uses")
        if not isinstance(uses, str) or not uses.startswith(("./", "$/")):
            return None
        if uses not in self._callees:
            # Local reusable workflows live next to their callers (.github/workflows/).
            target = self.path.parent / Path(uses).name
            self._callees[uses] = Workflow.load(target) if target.is_file() else None
        return self._callees[uses]


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    """A job's steps (those that are mappings)."""
    found = job.get("steps")
    return [s for s in found if isinstance(s, dict)] if isinstance(found, list) else []


def run_text(job: dict[str, Any]) -> str:
    """Every `run:` script of a job, joined."""
    return "\n".join(str(s.get("run", "")) for s in steps(job))


def _direct_role(job: dict[str, Any]) -> bool:
    for step in steps(job):
        uses = str(step.get("uses", ""))
        role = (step.get("with") or {}).get("role-to-assume")
        if uses.startswith(ROLE_ACTION) and isinstance(role, str) and role.strip():
            return True
    return False


def assumes_role(workflow: Workflow, job: dict[str, Any]) -> bool:
    """Whether a job signs in to a cloud (itself or through a composite action)."""
    if _direct_role(job):
        return True
    callee = workflow.callee(job)
    return callee is not None and any(assumes_role(callee, j) for j in callee.jobs.values())


def is_test_job(job: dict[str, Any]) -> bool:
    """Whether a job runs the tests."""
    return any(TEST_COMMAND.search(line) for line in run_text(job).splitlines())


def is_cluster_job(job: dict[str, Any]) -> bool:
    """Whether a job talks to a cluster."""
    return bool(CLUSTER_COMMAND.search(run_text(job)))


def is_deploy_job(workflow: Workflow, job: dict[str, Any]) -> bool:
    """Whether a job deploys."""
    if DEPLOY_COMMAND.search(run_text(job)):
        return True
    callee = workflow.callee(job)
    return callee is not None and any(is_deploy_job(callee, j) for j in callee.jobs.values())


def needs_of(job: dict[str, Any]) -> list[str]:
    """A job's `needs`, always a list."""
    needs = job.get("needs", [])
    return [needs] if isinstance(needs, str) else [str(n) for n in needs or []]


def ancestors(workflow: Workflow, job_id: str) -> set[str]:
    """Every job `job_id` depends on, directly or transitively."""
    seen: set[str] = set()
    todo = list(needs_of(workflow.jobs.get(job_id, {})))
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        todo.extend(needs_of(workflow.jobs.get(current, {})))
    return seen


def environment_name(job: dict[str, Any]) -> str | None:
    """The GitHub environment a job runs in, if any."""
    env = job.get("environment")
    if isinstance(env, dict):
        env = env.get("name")
    return env.strip() if isinstance(env, str) and env.strip() else None


def _iter_uses(workflow: Workflow) -> Iterator[str]:
    for job in workflow.jobs.values():
        if isinstance(job.get("uses"), str):
            yield job["uses"]
        for step in steps(job):
            if isinstance(step.get("uses"), str):
                yield step["uses"]


# --- rules -------------------------------------------------------------------------


def rule_pinned_actions(workflow: Workflow) -> list[str]:
    """Every third-party action/reusable workflow is pinned to a 40-hex SHA with `# vX` after it."""
    problems: list[str] = []
    seen: list[str] = []
    for number, line in enumerate(workflow.text.splitlines(), start=1):
        match = USES_LINE.match(line)
        if not match:
            continue
        ref = match["ref"].strip("'\"")
        seen.append(ref)
        where = f"{workflow.name}:{number}"
        if ref.startswith(("./", "$/")):
            continue
        if ref.startswith("docker://"):
            if not DIGEST_PIN.search(ref):
                problems.append(f"{where}: {ref} is not pinned to a sha256 digest")
            continue
        if not SHA_PIN.match(ref):
            problems.append(f"{where}: {ref} is not pinned to a full 40-hex commit SHA")
        elif not VERSION_COMMENT.search(match["comment"] or ""):
            problems.append(f"{where}: {ref} has no version comment (e.g. `# v4.2.2`)")
    parsed = sorted(_iter_uses(workflow))
    if sorted(seen) != parsed:
        problems.append(
            f"{workflow.name}: `uses:` written in a form this check cannot read line by line "
            f"(parsed {parsed}, read {sorted(seen)}); write each on its own `uses: ref # vX` line"
        )
    return problems


def rule_pinned_images(workflow: Workflow) -> list[str]:
    """Job containers and service images are pinned by digest."""
    problems = []
    for job_id, job in workflow.jobs.items():
        images = []
        container = job.get("container")
        images.append(container.get("image") if isinstance(container, dict) else container)
        services = job.get("services") or {}
        images += [s.get("image") if isinstance(s, dict) else s for s in services.values()]
        problems += [
            f"{workflow.name}: job {job_id}: image {image} is not pinned by sha256 digest"
            for image in images
            if isinstance(image, str) and not DIGEST_PIN.search(image)
        ]
    return problems


def rule_top_level_read_only(workflow: Workflow) -> list[str]:
    """The workflow declares top-level `permissions` and every scope there is read or none."""
    perms = workflow.data.get("permissions")
    if perms is None:
        return [f"{workflow.name}: no top-level `permissions:` (want `contents: read`)"]
    if not isinstance(perms, dict):
        return [
            f"{workflow.name}: top-level permissions {perms!r}: want a mapping like contents: read"
        ]
    return [
        f"{workflow.name}: top-level permission {scope}: {level} (only read/none allowed there)"
        for scope, level in perms.items()
        if level not in READ_ONLY
    ]


def rule_id_token_only_with_role(workflow: Workflow) -> list[str]:
    """`id-token: write` appears only in jobs that assume an AWS role."""
    problems = []
    for job_id, job in workflow.jobs.items():
        perms = job.get("permissions")
        grants = perms == "write-all" or (
            isinstance(perms, dict) and perms.get("id-token") == "write"
        )
        if grants and not assumes_role(workflow, job):
            problems.append(
                f"{workflow.name}: job {job_id} has id-token: write but assumes no role "
                f"(no {ROLE_ACTION}<sha> step with role-to-assume)"
            )
    return problems


def rule_deploy_needs_test(workflow: Workflow) -> list[str]:
    """Every deploy job depends, directly or transitively, on the test job."""
    if workflow.triggers == {"workflow_call"}:
        return []  # a reusable workflow is checked through the jobs that call it
    test_jobs = {job_id for job_id, job in workflow.jobs.items() if is_test_job(job)}
    problems = []
    for job_id, job in workflow.jobs.items():
        if is_deploy_job(workflow, job) and not (ancestors(workflow, job_id) & test_jobs):
            problems.append(
                f"{workflow.name}: deploy job {job_id} does not depend on a test job "
                f"(one running .ci/run or make test); test jobs here: {sorted(test_jobs)}"
            )
    return problems


def rule_cluster_changes_behind_environment(workflow: Workflow) -> list[str]:
    """Cluster-changing jobs declare an environment; prod deploys use the protected `prod` one."""
    problems = []
    for job_id, job in workflow.jobs.items():
        where = f"{workflow.name}: job {job_id}"
        if is_cluster_job(job):
            env = environment_name(job)
            if env is None:
                problems.append(f"{where} changes a cluster outside a GitHub environment")
            elif (
                "prod" in f"{job_id} {job.get('name', '')} {run_text(job)}"
                and "prod" not in env
                and env != "${{ inputs.environment }}"
            ):
                problems.append(f"{where} changes prod but its environment is {env!r}")
        callee = workflow.callee(job)
        target = (job.get("with") or {}).get("environment")
        if callee is not None and target == "prod":
            for callee_id, callee_job in callee.jobs.items():
                if is_cluster_job(callee_job) and environment_name(callee_job) not in {
                    "prod",
                    "${{ inputs.environment }}",
                }:
                    problems.append(
                        f"{where} deploys prod through {callee.name}, whose job {callee_id} "
                        f"does not run in the caller's environment (want environment "
                        f"name: ${{{{ inputs.environment }}}})"
                    )
    return problems


def rule_no_long_lived_aws_keys(workflow: Workflow) -> list[str]:
    """No reference to long-lived AWS access keys (OIDC role assumption only)."""
    return [
        f"{workflow.name}:{number}: references long-lived AWS keys: {line.strip()}"
        for number, line in enumerate(workflow.text.splitlines(), start=1)
        if LONG_LIVED_KEYS.search(line)
    ]


def rule_timeouts(workflow: Workflow) -> list[str]:
    """Every job that runs on a runner has `timeout-minutes` (GitHub's default is 6 hours)."""
    problems = []
    for job_id, job in workflow.jobs.items():
        if "uses" in job:
            continue  # a reusable-workflow call; its jobs carry their own timeouts
        minutes = job.get("timeout-minutes")
        if not isinstance(minutes, int) or not 0 < minutes <= 120:
            problems.append(
                f"{workflow.name}: job {job_id} timeout-minutes={minutes!r} (want 1-120)"
            )
    return problems


def rule_concurrency(workflow: Workflow) -> list[str]:
    """Runs are grouped, and jobs that change a cluster are serialised per environment."""
    problems = []
    grouped = "concurrency" in workflow.data or all(
        "concurrency" in job for job in workflow.jobs.values()
    )
    if workflow.triggers != {"workflow_call"} and not grouped:
        problems.append(f"{workflow.name}: no top-level `concurrency:` group")
    for job_id, job in workflow.jobs.items():
        if not is_cluster_job(job):
            continue
        group = job.get("concurrency")
        if not isinstance(group, dict) or group.get("cancel-in-progress") is not False:
            problems.append(
                f"{workflow.name}: job {job_id} changes a cluster without a job-level "
                "concurrency group with cancel-in-progress: false"
            )
    return problems


RULES: dict[str, Callable[[Workflow], list[str]]] = {
    "pinned-actions": rule_pinned_actions,
    "pinned-images": rule_pinned_images,
    "top-level-read-only": rule_top_level_read_only,
    "id-token-only-with-role": rule_id_token_only_with_role,
    "deploy-needs-test": rule_deploy_needs_test,
    "cluster-changes-behind-environment": rule_cluster_changes_behind_environment,
    "no-long-lived-aws-keys": rule_no_long_lived_aws_keys,
    "timeouts": rule_timeouts,
    "concurrency": rule_concurrency,
}


def check(workflow: Workflow) -> dict[str, list[str]]:
    """Run every rule; return the rules that found something, with their findings."""
    results = {rule_id: rule(workflow) for rule_id, rule in RULES.items()}
    return {rule_id: found for rule_id, found in results.items() if found}
