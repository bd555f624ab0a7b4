"""The database stack turns rotation on only after the app role and its network path exist.

Secrets Manager runs the rotation function's testSecret when rotation is turned on (RotateSecret,
even with `rotate_immediately = false`), so the rotation resource must not exist at the first
apply (the app role is made by the chart's hook at the first deploy), must be switched by
`enable_app_secret_rotation` (turned on in phase 10 of docs/getting-started.md) and must depend
on the security-group rules the function reaches PostgreSQL and the APIs through. The emulator
round trip (scripts/terraform/emulator_roundtrip.py) checks it on the applied stack.
"""

from __future__ import annotations

from typing import Any


ROTATION = "aws_secretsmanager_secret_rotation.app"
ROTATION_NEEDS = {
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
