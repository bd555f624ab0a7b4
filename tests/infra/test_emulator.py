"""The Terraform round trip on the AWS emulator (slow tier, marker `emulator`).

Runs scripts/terraform/emulator_roundtrip.py: moto on loopback, every stack applied with its
real S3 backend, re-planned (only the documented emulator drift may remain) and destroyed in
reverse order. The runner always tears down and stops moto, even when a stack fails.
The same run writes the stacks' outputs, and the walkthrough's phases (scripts/day_one.py)
must find every Terraform output they use among them, non-empty.
"""

from __future__ import annotations

import json
import re
import sys

import pytest

import day_one
from test_app_tooling.infra import rotation_function, rotation_order


STACKS = ["bootstrap", "network", "registry", "cluster", "database", "ci"]
BUDGET_SECONDS = 1500


@pytest.mark.emulator
@pytest.mark.timeout(BUDGET_SECONDS + 60)
def test_round_trip_on_the_emulator(tool, emulator_round_trip):
    """The round trip started in the background when collection ended (conftest.py)."""
    tool("terraform")
    tool("moto_server")  # installed by scripts/bootstrap into .venvs/moto
    returncode, output = emulator_round_trip.finish(BUDGET_SECONDS)
    sys.stdout.write(output)  # per-stack lines and timings, shown with -rA or on failure
    summary = re.search(r"emulator round trip: (\d+) passed, (\d+) failed", output)
    assert summary, output
    assert (int(summary.group(1)), int(summary.group(2))) == (len(STACKS), 0), output
    assert returncode == 0, output
    for stack in STACKS:
        assert f"PASS {stack} apply+replan" in output, output
        assert f"PASS {stack} destroy" in output, output
    assert "moto on http://127.0.0.1:" in output
    assert "PASS database rotation order" in output, output
    # The rotation function was created (create_app_secret_rotation) and the emulator's Lambda
    # holds it as the stack sets it: handler, runtime, architecture, role and the zip's code.
    assert "PASS database rotation function" in output, output
    outputs = json.loads(emulator_round_trip.outputs.read_text(encoding="utf-8"))
    assert set(outputs) == set(STACKS)
    assert day_one.check_emulator_outputs(day_one.load(), outputs) == []


def _plan(count_refs: list[str], depends_on: list[str]) -> dict[str, object]:
    resource = {
        "address": rotation_order.ROTATION,
        "count_expression": {"references": count_refs},
        "depends_on": depends_on,
    }
    return {"configuration": {"root_module": {"resources": [resource]}}}


def test_rotation_order_holds_for_the_stack_as_written():
    good = _plan(
        ["var.create_app_secret_rotation", "var.enable_app_secret_rotation"],
        sorted(rotation_order.ROTATION_NEEDS),
    )
    assert rotation_order.rotation_order_problems(good, ["aws_secretsmanager_secret.app"]) == []


def test_rotation_turned_on_at_first_apply_or_before_the_network_is_found():
    # The database stack before: rotation counted on create_app_secret_rotation only and
    # depended on the secret version alone.
    old = _plan(["var.create_app_secret_rotation"], ["aws_secretsmanager_secret_version.app"])
    problems = rotation_order.rotation_order_problems(
        old, ["aws_secretsmanager_secret_rotation.app[0]"]
    )
    assert len(problems) == 3
    assert "first apply created" in problems[0]
    assert "enable_app_secret_rotation" in problems[1]
    assert "does not depend on" in problems[2]


ROLE_ARN = "arn:aws:iam::123456789012:role/test-app-staging-db-rotation"
CODE = "4zzpZ6rdMIEEtEC/vKffbrHZTbT/xIIlaBq91ak0J8Q="


def _function_plan(created: bool) -> dict[str, object]:
    """A re-plan of the database stack as `terraform show -json` gives it (the parts read)."""
    configured = {
        "address": rotation_function.FUNCTION,
        "expressions": {
            "handler": {"constant_value": "test_app_rotation.handler.lambda_handler"},
            "runtime": {"constant_value": "python3.13"},
            "architectures": {"constant_value": ["arm64"]},
            "role": {"references": ["aws_iam_role.rotation[0].arn", "aws_iam_role.rotation[0]"]},
        },
    }
    applied = [
        {
            "address": "aws_lambda_function.rotation[0]",
            "values": {"function_name": "test-app-staging-db-rotation"},
        },
        {"address": "aws_iam_role.rotation[0]", "values": {"name": "test-app-staging-db-rotation"}},
    ]
    return {
        "configuration": {"root_module": {"resources": [configured]}},
        "prior_state": {"values": {"root_module": {"resources": applied if created else []}}},
    }


def _emulated(**changes: object) -> dict[str, object]:
    """GetFunction's Configuration of the function as the stack sets it, with `changes`."""
    function: dict[str, object] = {
        "Handler": "test_app_rotation.handler.lambda_handler",
        "Runtime": "python3.13",
        "Architectures": ["arm64"],
        "Role": ROLE_ARN,
        "CodeSha256": CODE,
    }
    return {**function, **changes}


def test_the_emulators_function_is_the_one_the_stack_sets():
    plan = _function_plan(created=True)
    assert rotation_function.applied_names(plan) == (
        "test-app-staging-db-rotation",
        "test-app-staging-db-rotation",
    )
    assert rotation_function.rotation_function_problems(plan, _emulated(), ROLE_ARN, CODE) == []


def test_a_round_trip_that_created_no_function_fails():
    # The emulator profile before: create_app_secret_rotation = false, nothing to look up.
    plan = _function_plan(created=False)
    assert rotation_function.applied_names(plan) is None
    problems = rotation_function.rotation_function_problems(plan, None, None, CODE)
    assert len(problems) == 1
    assert "the apply created no aws_lambda_function.rotation[0]" in problems[0]
    assert "create_app_secret_rotation" in problems[0]
    assert rotation_function.rotation_function_problems(
        _function_plan(created=True), None, ROLE_ARN, CODE
    ) == ["the emulator's Lambda has no function test-app-staging-db-rotation"]


def test_a_function_unlike_the_stacks_is_named_attribute_by_attribute():
    other_role = "arn:aws:iam::123456789012:role/other"
    function = _emulated(Architectures=["x86_64"], Role=other_role, CodeSha256="old")
    problems = rotation_function.rotation_function_problems(
        _function_plan(created=True), function, ROLE_ARN, CODE
    )
    assert problems == [
        "Architectures: the stack sets ['arm64'], the emulator has ['x86_64']",
        f"Role: the stack's role is {ROLE_ARN}, the function has '{other_role}'",
        f"CodeSha256: the zip's is {CODE}, the emulator has 'old'",
    ]
    assert rotation_function.rotation_function_problems(
        _function_plan(created=True), _emulated(), None, CODE
    ) == ["the emulator's IAM has no role of the stack's role name"]
