"""The database stack's rotation function as the AWS emulator's own APIs report it.

The emulator round trip (scripts/terraform/emulator_roundtrip.py) applies the database stack
with `create_app_secret_rotation = true` and then asks the emulator, not Terraform, for the
function: Lambda's GetFunction must return it with the handler, runtime and architectures the
stack's configuration sets, the code of the zip the round trip built (its SHA-256), and the role
the stack created (IAM's GetRole of that name). `rotation_function_problems` compares; the
`emulator_*` functions ask a moto server on loopback (it reads the service and region from the
request's credential scope and checks no signature).
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from typing import Any


FUNCTION = "aws_lambda_function.rotation"
ROLE = "aws_iam_role.rotation"
# The attributes compared with the stack's configuration (constant values there) and the names
# Lambda's GetFunction gives them.
CONSTANTS = {"handler": "Handler", "runtime": "Runtime", "architectures": "Architectures"}


def _configured(plan: dict[str, Any]) -> dict[str, Any] | None:
    resources = plan.get("configuration", {}).get("root_module", {}).get("resources", [])
    return next((r for r in resources if r.get("address") == FUNCTION), None)


def _applied(plan: dict[str, Any], address: str) -> dict[str, Any] | None:
    """The values of `address` (index 0) in the plan's prior (refreshed) state."""
    state = plan.get("prior_state", {}).get("values", {}).get("root_module", {})
    found = next((r for r in state.get("resources", []) if r.get("address") == address), None)
    return None if found is None else dict(found.get("values", {}))


def applied_names(plan: dict[str, Any]) -> tuple[str, str] | None:
    """(function name, role name) the applied stack holds, or None when it holds no function."""
    function = _applied(plan, f"{FUNCTION}[0]")
    role = _applied(plan, f"{ROLE}[0]")
    if function is None or role is None:
        return None
    return str(function["function_name"]), str(role["name"])


def rotation_function_problems(
    plan: dict[str, Any],
    function: dict[str, Any] | None,
    role_arn: str | None,
    code_sha256: str,
) -> list[str]:
    """Why the emulator's function is not the one the stack sets.

    `plan` is `terraform show -json` of the re-plan after the apply (its `configuration` and
    refreshed `prior_state`); `function` is GetFunction's `Configuration` (None: no function);
    `role_arn` the ARN of the emulator's IAM role of the stack's role name (None: no role);
    `code_sha256` the zip's `filebase64sha256`.
    """
    configured = _configured(plan)
    if configured is None:
        return [f"{FUNCTION} is not in the configuration"]
    names = applied_names(plan)
    if names is None:
        return [f"the apply created no {FUNCTION}[0] and {ROLE}[0] (create_app_secret_rotation)"]
    if function is None:
        return [f"the emulator's Lambda has no function {names[0]}"]
    return _differences(configured.get("expressions", {}), function, role_arn, code_sha256)


def _differences(
    expressions: dict[str, Any], function: dict[str, Any], role_arn: str | None, code_sha256: str
) -> list[str]:
    problems = []
    for attribute, key in CONSTANTS.items():
        expected = expressions.get(attribute, {}).get("constant_value")
        found = function.get(key)
        if expected is None:
            problems.append(f"{FUNCTION}.{attribute} is not a constant in the configuration")
        elif found != expected:
            problems.append(f"{key}: the stack sets {expected!r}, the emulator has {found!r}")
    if f"{ROLE}[0].arn" not in expressions.get("role", {}).get("references", []):
        problems.append(f"{FUNCTION}.role is not {ROLE}[0].arn in the configuration")
    if role_arn is None:
        problems.append("the emulator's IAM has no role of the stack's role name")
    elif function.get("Role") != role_arn:
        problems.append(
            f"Role: the stack's role is {role_arn}, the function has {function.get('Role')!r}"
        )
    if function.get("CodeSha256") != code_sha256:
        found = function.get("CodeSha256")
        problems.append(f"CodeSha256: the zip's is {code_sha256}, the emulator has {found!r}")
    return problems


def _emulator_request(
    endpoint: str, service: str, region: str, path: str, data: bytes | None = None
) -> bytes | None:
    """The body of a request to the emulator, or None when it answers 404."""
    headers = {
        "Authorization": f"AWS4-HMAC-SHA256 Credential=test/20260101/{region}/{service}/"
        "aws4_request, SignedHeaders=host, Signature=0",
    }
    if data is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded; charset=utf-8"
    request = urllib.request.Request(endpoint + path, data=data, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - loopback
            body: bytes = answer.read()
    except urllib.error.HTTPError as err:
        if err.code == 404:
            return None
        raise
    return body


def emulator_function(endpoint: str, region: str, name: str) -> dict[str, Any] | None:
    """Lambda GetFunction's `Configuration` of `name` on the emulator, None when it has none."""
    path = f"/2015-03-31/functions/{urllib.parse.quote(name, safe='')}"
    body = _emulator_request(endpoint, "lambda", region, path)
    if body is None:
        return None
    configuration: dict[str, Any] = json.loads(body)["Configuration"]
    return configuration


def emulator_role_arn(endpoint: str, region: str, name: str) -> str | None:
    """IAM GetRole's ARN of `name` on the emulator, None when it has no such role."""
    query = urllib.parse.urlencode({"Action": "GetRole", "RoleName": name, "Version": "2010-05-08"})
    body = _emulator_request(endpoint, "iam", region, "/", query.encode())
    if body is None:
        return None
    found = re.search(r"<Arn>([^<]+)</Arn>", body.decode())
    return found.group(1) if found else None
