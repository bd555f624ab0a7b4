"""IAM policies as data, and how AWS evaluates the parts of them this project uses.

`terraform_policy` turns an `aws_iam_policy_document` of a stack into the JSON form AWS sees
(statements with actions, resources and conditions), with the stack's locals filled in.
`allows` decides one request of an identity the way IAM evaluates its identity policies
(AWS IAM User Guide, "Policy evaluation logic" and "IAM JSON policy elements"):

* an explicit Deny in any statement wins over every Allow; without one, some Allow statement
  must match, else the request is implicitly denied;
* `Action`/`NotAction` and `Resource`/`NotResource`; actions compare case-insensitively, ARNs
  case-sensitively and segment by segment (the six colon-separated parts);
* the only wildcards are `*` (any run of characters) and `?` (one character); everything else,
  `[0-9]` included, is literal;
* condition operators `String*` (`StringEquals`/`StringLike` case-sensitive, `...IgnoreCase`
  not), `Arn*`, `Bool`, `Null`, each with `IfExists` and the `ForAnyValue:`/`ForAllValues:`
  set qualifiers; condition key names are case-insensitive. A key absent from the request
  makes a positive operator false and a negated one (`StringNotEquals`, `ArnNotLike`, ...)
  true; `...IfExists` and `ForAllValues:` are true on an absent key, `Null` tests absence.

`crosscheck` asks an independent evaluator, npm's `@cloud-copilot/iam-simulate` (installed by
`scripts/bootstrap` from `tooling/node/package-lock.json`, offline: its action and resource data
ship in the package), for its verdicts on the same requests.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import hcl2
import yaml

from test_app_tooling import fields
from test_app_tooling.tools import REPO


PLATFORM_POLICIES = REPO / "platform" / "iam-policies"
NODE_DIR = REPO / "tooling" / "node"


@dataclass(frozen=True)
class Request:
    """One API call of a controller: action, resource ARN, and the context keys it carries."""

    action: str
    resource: str = "*"
    resource_tags: dict[str, str] = field(default_factory=dict)
    request_tags: dict[str, str] = field(default_factory=dict)
    context: dict[str, str] = field(default_factory=dict)

    def context_keys(self) -> dict[str, list[str]]:
        """Every context key of the request with its values, names as written."""
        found: dict[str, list[str]] = {k: [v] for k, v in self.context.items()}
        found |= {f"aws:ResourceTag/{k}": [v] for k, v in self.resource_tags.items()}
        found |= {f"aws:RequestTag/{k}": [v] for k, v in self.request_tags.items()}
        if self.request_tags:
            found["aws:TagKeys"] = sorted(self.request_tags)
        return found

    def keys(self) -> dict[str, list[str]]:
        """The context keys by lower-cased name: IAM compares key names case-insensitively."""
        return {k.lower(): v for k, v in self.context_keys().items()}


def _as_list(value: object) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


@cache
def _wildcard(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    """IAM's wildcards: `*` any run of characters, `?` one character, all else literal."""
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def _wild(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    return _wildcard(pattern, ignore_case).fullmatch(value) is not None


def action_matches(pattern: str, action: str) -> bool:
    """Action names are case-insensitive; the pattern may use `*` and `?`."""
    return _wild(pattern, action, ignore_case=True)


def arn_matches(pattern: str, arn: str) -> bool:
    """ARN matching of `Resource` and `ArnLike`: case-sensitive, each of the six segments alone.

    `*` alone matches every resource; otherwise a wildcard cannot cross a colon of the first
    five separators (the resource segment, the sixth, may itself hold colons).
    """
    if pattern == "*":
        return True
    wanted = pattern.split(":", 5)
    have = arn.split(":", 5)
    if len(wanted) != 6 or len(have) != 6:
        return False
    return all(_wild(w, h) for w, h in zip(wanted, have, strict=True))


def _value_matches(base: str, expected: str, value: str) -> bool:
    if base in {"StringEquals", "StringNotEquals"}:
        return expected == value
    if base in {"StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase"}:
        return expected.lower() == value.lower()
    if base in {"StringLike", "StringNotLike"}:
        return _wild(expected, value)
    if base in {"ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike"}:
        return arn_matches(expected, value)
    if base == "Bool":
        return expected.lower() == value.lower()
    msg = f"condition operator {base!r} is not modelled; extend test_app_tooling.infra.iam"
    raise ValueError(msg)


NEGATED = {
    "StringNotEquals",
    "StringNotEqualsIgnoreCase",
    "StringNotLike",
    "ArnNotEquals",
    "ArnNotLike",
}


def _condition_holds(operator: str, key: str, expected: list[str], req: Request) -> bool:
    present = req.keys().get(key.lower())
    if operator == "Null":
        return (present is None) == (expected[0].lower() == "true")
    quantifier, _, base = operator.rpartition(":")
    if_exists = base.endswith("IfExists")
    base = base.removesuffix("IfExists")
    if quantifier not in {"", "ForAnyValue", "ForAllValues"}:
        msg = f"condition operator {operator!r}: unknown set qualifier {quantifier!r}"
        raise ValueError(msg)
    negated = base in NEGATED
    if present is None:
        return if_exists or negated or quantifier == "ForAllValues"

    def one(value: str) -> bool:
        hit = any(_value_matches(base, e, value) for e in expected)
        return not hit if negated else hit

    if quantifier == "ForAllValues":
        return all(one(v) for v in present)
    return any(one(v) for v in present)


def statement_matches(statement: dict[str, Any], req: Request) -> bool:
    """Whether one statement applies to the request (action, resource, conditions)."""
    if "Action" in statement:
        if not any(action_matches(a, req.action) for a in _as_list(statement["Action"])):
            return False
    elif any(action_matches(a, req.action) for a in _as_list(statement["NotAction"])):
        return False
    if "NotResource" in statement:
        if any(arn_matches(r, req.resource) for r in _as_list(statement["NotResource"])):
            return False
    elif not any(arn_matches(r, req.resource) for r in _as_list(statement.get("Resource", "*"))):
        return False
    return all(
        _condition_holds(op, key, _as_list(expected), req)
        for op, pairs in statement.get("Condition", {}).items()
        for key, expected in pairs.items()
    )


def statement_allows(statement: dict[str, Any], req: Request) -> bool:
    """Whether one Allow statement matches the request (a Deny statement never allows)."""
    return statement.get("Effect") == "Allow" and statement_matches(statement, req)


def decide(policies: list[dict[str, Any]], req: Request) -> str:
    """IAM's verdict over identity policies: `ExplicitlyDenied`, `Allowed` or `ImplicitlyDenied`."""
    statements = [s for p in policies for s in p["Statement"]]
    for s in statements:
        if s.get("Effect") not in {"Allow", "Deny"}:
            raise fields.expected(f"statement {s!r}.Effect", "Allow or Deny", s.get("Effect"))
    if any(s["Effect"] == "Deny" and statement_matches(s, req) for s in statements):
        return "ExplicitlyDenied"
    if any(statement_allows(s, req) for s in statements):
        return "Allowed"
    return "ImplicitlyDenied"


def allows(policy: dict[str, Any], req: Request) -> bool:
    """Whether the identity policy allows the request (no Deny matches, some Allow does)."""
    return decide([policy], req) == "Allowed"


def _account(arn: str, default: str) -> str:
    parts = arn.split(":")
    return parts[4] if len(parts) > 4 and parts[4].isdigit() else default


def _default_key_policy(key_arn: str) -> dict[str, Any]:
    """KMS's default key policy: the account's IAM policies decide who uses the key."""
    root = f"arn:aws:iam::{key_arn.split(':')[4]}:root"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": root}, "Action": "kms:*", "Resource": "*"}
        ],
    }


def crosscheck(
    cases: list[tuple[list[dict[str, Any]], Request]], account: str = "111122223333"
) -> list[str]:
    """iam-simulate's verdict on each (identity policies, request), in order.

    A KMS key also needs its key policy to let IAM policies decide: the cases on keys carry
    the default key policy (the account root allowed `kms:*`), which does exactly that.
    Raises when Node or the package is missing (run scripts/bootstrap) or when the simulator
    refuses an input (an invalid action, ARN or context key) or drops a context key, naming
    the case. (Version 0.1.173 drops `kms:EncryptionContext:<key>`: its match of variable
    condition keys knows only the `prefix/<name>` form, `listHasVariableKeyMatch` in
    simulationEngine.js; such cases cannot be cross-checked and must not be passed.)
    """
    script = NODE_DIR / "simulate.mjs"
    if not (NODE_DIR / "node_modules" / "@cloud-copilot" / "iam-simulate").is_dir():
        msg = f"{NODE_DIR}/node_modules lacks @cloud-copilot/iam-simulate: run scripts/bootstrap"
        raise FileNotFoundError(msg)
    payload = [
        {
            "policies": policies,
            "action": req.action,
            "resource": req.resource,
            "account": _account(req.resource, account),
            "context": {
                k: (v if k == "aws:TagKeys" else v[0]) for k, v in req.context_keys().items()
            },
        }
        | ({"resourcePolicy": _default_key_policy(req.resource)} if ":kms:" in req.resource else {})
        for policies, req in cases
    ]
    done = subprocess.run(
        ["node", str(script)],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        check=True,
        cwd=NODE_DIR,
        timeout=300,
    )
    verdicts: list[Any] = json.loads(done.stdout)
    for (_, req), verdict in zip(cases, verdicts, strict=True):
        if not isinstance(verdict, str):
            msg = f"iam-simulate refused the case {req}: {verdict}"
            raise TypeError(msg)
    return [str(v) for v in verdicts]


def actions(policy: dict[str, Any]) -> set[str]:
    """Every action the Allow statements of a policy name."""
    return {
        a
        for s in policy["Statement"]
        if s.get("Effect") == "Allow" and "Action" in s
        for a in _as_list(s["Action"])
    }


def _unquote(value: object) -> str:
    return str(value).strip('"')


def _fill(text: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        text = text.replace("${" + name + "}", value)
    if "${" in text:
        msg = f"unresolved expression in {text!r}; add it to the values of terraform_policy"
        raise ValueError(msg)
    return text


def terraform_policy(stack_file: Path, name: str, values: dict[str, str]) -> dict[str, Any]:
    """The `aws_iam_policy_document.<name>` of a Terraform file, as AWS policy JSON."""
    parsed = hcl2.loads(stack_file.read_text(encoding="utf-8"))
    for block in parsed.get("data", []):
        documents = block.get('"aws_iam_policy_document"', {})
        body = documents.get(f'"{name}"')
        if body is not None:
            break
    else:
        msg = f"{stack_file} has no aws_iam_policy_document.{name}"
        raise LookupError(msg)
    statements = []
    for raw in body.get("statement", []):
        statement: dict[str, Any] = {"Effect": _unquote(raw.get("effect", "Allow"))}
        for hcl_name, json_name in (
            ("actions", "Action"),
            ("not_actions", "NotAction"),
            ("resources", "Resource"),
            ("not_resources", "NotResource"),
        ):
            if hcl_name in raw:
                statement[json_name] = [_fill(_unquote(v), values) for v in raw[hcl_name]]
        if "Action" not in statement and "NotAction" not in statement:
            msg = f"aws_iam_policy_document.{name}: a statement has neither actions nor not_actions"
            raise ValueError(msg)
        if "Resource" not in statement and "NotResource" not in statement:
            statement["Resource"] = ["*"]
        conditions: dict[str, dict[str, list[str]]] = {}
        for cond in raw.get("condition", []):
            test = _fill(_unquote(cond["test"]), values)
            key = _fill(_unquote(cond["variable"]), values)
            conditions.setdefault(test, {})[key] = [
                _fill(_unquote(v), values) for v in cond["values"]
            ]
        if conditions:
            statement["Condition"] = conditions
        statements.append(statement)
    return {"Version": "2012-10-17", "Statement": statements}


def upstream_index() -> dict[str, Any]:
    """platform/iam-policies/policies.yaml: which upstream policy each add-on takes."""
    loaded: dict[str, Any] = yaml.safe_load(
        (PLATFORM_POLICIES / "policies.yaml").read_text(encoding="utf-8")
    )
    return loaded


def upstream_policy(addon: str) -> dict[str, Any]:
    """The upstream policy document of one add-on, as committed."""
    entry = upstream_index()["policies"][addon]
    loaded: dict[str, Any] = json.loads((PLATFORM_POLICIES / entry["file"]).read_text("utf-8"))
    return loaded


def resource_tags(kind: str, values: dict[str, str]) -> dict[str, str]:
    """The tags an add-on's upstream policy conditions on, filled with `values`."""
    tags = upstream_index()["resource_tags"][kind]
    return {_fill(k, values): _fill(str(v), values) for k, v in tags.items()}
