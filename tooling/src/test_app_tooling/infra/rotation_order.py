"""The database stack turns rotation on only after the app role and its network path exist.

Secrets Manager runs the rotation function's testSecret when rotation is turned on (RotateSecret,
even with `rotate_immediately = false`), so the rotation resource must not exist at the first
apply (the app role is made by the chart's hook at the first deploy), must be switched by
`enable_app_secret_rotation` (turned on in phase 10 of docs/getting-started.md) and must depend
on the security-group rules the function reaches PostgreSQL and the APIs through and on the
permission that lets Secrets Manager invoke the function (a separate resource, which the
reference to the function's ARN does not wait for). The emulator
round trip (scripts/terraform/emulator_roundtrip.py) checks it on the applied stack.

`walkthrough_problems` checks the same order in the walkthrough (scripts/day_one.py): every
environment turns rotation on (`rotation-enabled:<env>`) in a phase that uses its app role
(`app-role:<env>`, made by that environment's first deploy), after subscribing its alarm topic;
and the teardown turns it off again (`rotation-disabled:<env>`), because the committed
`enable_app_secret_rotation = true` would otherwise turn rotation on at a re-create's first apply,
before any deploy made the app role. It turns an environment's flag off only after destroying
that environment (`make infra-destroy ENV=<env>` earlier in the same phase): committed while the
environment runs, `false` makes its next apply delete the rotation, which cancels it
(CancelRotateSecret), and the environment stops rotating without a page.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from test_app_tooling.walkthrough import shell_blocks


ROTATION = "aws_secretsmanager_secret_rotation.app"
ROTATION_NEEDS = {
    "aws_lambda_permission.rotation",
    "aws_vpc_security_group_egress_rule.rotation_database",
    "aws_vpc_security_group_egress_rule.rotation_https",
    "aws_vpc_security_group_ingress_rule.database_from_rotation",
}


def rotation_order_problems(plan: dict[str, Any], state: list[str]) -> list[str]:
    """Why the database stack could turn rotation on before the app role and network exist.

    `plan` is `terraform show -json` of a plan, whose `configuration` holds each resource's
    count expression and depends_on; `state` is `terraform state list` after the first apply.
    """
    problems = []
    if any(address.startswith(ROTATION) for address in state):
        problems.append(f"the first apply created {ROTATION}: it must wait for the first deploy")
    resources = plan.get("configuration", {}).get("root_module", {}).get("resources", [])
    rotation = next((r for r in resources if r.get("address") == ROTATION), None)
    if rotation is None:
        return [*problems, f"{ROTATION} is not in the configuration"]
    count = rotation.get("count_expression", {}).get("references", [])
    if "var.enable_app_secret_rotation" not in count:
        problems.append(f"{ROTATION} is not switched by var.enable_app_secret_rotation")
    missing = ROTATION_NEEDS - set(rotation.get("depends_on", []))
    if missing:
        problems.append(f"{ROTATION} does not depend on {sorted(missing)}")
    return problems


# The guide's switch: `sed ... s/^enable_app_secret_rotation = .../enable_app_secret_rotation =
# <value>/' infra/envs/<env>/database.tfvars`.
SWITCH = re.compile(
    r"/enable_app_secret_rotation = (true|false)/'[\s\\]*infra/envs/(\w+)/database\.tfvars"
)
SUBSCRIBE = "aws sns subscribe"
# An environment's destroy: `make infra-destroy ENV=<env>` or `scripts/terraform/stacks destroy
# <env>`.
DESTROY = re.compile(r"(?:make infra-destroy ENV=|scripts/terraform/stacks destroy )(\w+)")


class PhaseLike(Protocol):
    """What the check reads of a walkthrough phase (test_app_tooling.walkthrough.Phase)."""

    id: str
    title: str
    uses: list[str]
    produces: list[str]


def _switches(section: str, value: str, env: str) -> list[int]:
    return [m.start() for m in SWITCH.finditer(section) if m.group(1, 2) == (value, env)]


def walkthrough_problems(
    phases: Sequence[PhaseLike], sections: Mapping[str, str], environments: Iterable[str]
) -> list[str]:
    """Why the walkthrough could turn an environment's rotation on before its app role exists.

    `sections` is the body of each phase's section of the page, by phase title.
    """
    problems = []
    index = {p.id: i for i, p in enumerate(phases)}
    for env in environments:
        enabled = [p for p in phases if f"rotation-enabled:{env}" in p.produces]
        disabled = [p for p in phases if f"rotation-disabled:{env}" in p.produces]
        if not enabled:
            problems.append(f"no phase produces rotation-enabled:{env}: {env} never rotates")
        for phase in enabled:
            section = sections.get(phase.title, "")
            if f"app-role:{env}" not in phase.uses:
                problems.append(
                    f"phase {phase.id!r} turns {env}'s rotation on without using app-role:{env}"
                )
            switched = _switches(section, "true", env)
            if not switched:
                problems.append(
                    f"phase {phase.id!r} produces rotation-enabled:{env} but does not set "
                    f"enable_app_secret_rotation = true in infra/envs/{env}/database.tfvars"
                )
            elif not any(0 <= section.find(SUBSCRIBE) < at for at in switched):
                problems.append(
                    f"phase {phase.id!r} turns {env}'s rotation on before `{SUBSCRIBE}` "
                    "of its alarm topic: a failing rotation would page nobody"
                )
            if not any(index[d.id] > index[phase.id] for d in disabled):
                problems.append(
                    f"no phase after {phase.id!r} produces rotation-disabled:{env}: a re-create "
                    f"would turn {env}'s rotation on at its first apply, before the app role exists"
                )
        problems += [
            f"phase {phase.id!r} produces rotation-disabled:{env} but does not set "
            f"enable_app_secret_rotation = false in infra/envs/{env}/database.tfvars"
            for phase in disabled
            if not _switches(sections.get(phase.title, ""), "false", env)
        ]
        problems += _disabled_while_running(phases, sections, env)
    return problems


def _disabled_while_running(
    phases: Sequence[PhaseLike], sections: Mapping[str, str], env: str
) -> list[str]:
    """Phases that set `env`'s flag to false before (or without) destroying `env`."""
    problems = []
    for phase in phases:
        section = shell_blocks(sections.get(phase.title, ""))  # prose destroys nothing
        destroyed = [m.start() for m in DESTROY.finditer(section) if m.group(1) == env]
        if any(not any(d < at for d in destroyed) for at in _switches(section, "false", env)):
            problems.append(
                f"phase {phase.id!r} sets enable_app_secret_rotation = false in "
                f"infra/envs/{env}/database.tfvars without destroying {env} before it "
                f"(make infra-destroy ENV={env}): {env}'s next apply would cancel its rotation "
                "while it runs"
            )
    return problems
