"""IAM policies as data, and how AWS evaluates the parts of them this project uses.

`terraform_policy` turns an `aws_iam_policy_document` of a stack into the JSON form AWS sees
(statements with actions, resources and conditions), with the stack's locals filled in.
`allows` decides one request the way IAM does for identity policies without Deny statements:
some Allow statement must match the action, the resource and every condition. Condition keys
that are absent make every operator but `Null` false, which is exactly how a condition on a tag
a resource does not carry denies the request.
"""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hcl2
import yaml

from test_app_tooling.tools import REPO


PLATFORM_POLICIES = REPO / "platform" / "iam-policies"


@dataclass(frozen=True)
class Request:
    """One API call of a controller: action, resource ARN, and the context keys it carries."""

    action: str
    resource: str = "*"
    resource_tags: dict[str, str] = field(default_factory=dict)
    request_tags: dict[str, str] = field(default_factory=dict)
    context: dict[str, str] = field(default_factory=dict)

    def keys(self) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {k: [v] for k, v in self.context.items()}
        found |= {f"aws:ResourceTag/{k}": [v] for k, v in self.resource_tags.items()}
        found |= {f"aws:RequestTag/{k}": [v] for k, v in self.request_tags.items()}
        if self.request_tags:
            found["aws:TagKeys"] = sorted(self.request_tags)
        return found


def _as_list(value: object) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _wild(pattern: str, value: str) -> bool:
    return fnmatch.fnmatchcase(value.lower(), pattern.lower())


def _condition_holds(operator: str, key: str, expected: list[str], req: Request) -> bool:
    present = req.keys().get(key)
    if operator == "Null":
        return (present is None) == (expected[0].lower() == "true")
    if present is None:
        return False
    quantifier, _, base = operator.rpartition(":")
    if base in {"StringEquals", "ArnEquals"}:
        match = [v in expected for v in present]
    elif base in {"StringLike", "ArnLike"}:
        match = [any(_wild(e, v) for e in expected) for v in present]
    else:
        msg = f"condition operator {operator!r} is not modelled; extend test_app_tooling.infra.iam"
        raise ValueError(msg)
    return all(match) if quantifier == "ForAllValues" else any(match)


def statement_allows(statement: dict[str, Any], req: Request) -> bool:
    """Whether one Allow statement matches the request (action, resource, conditions)."""
    if statement.get("Effect", "Allow") != "Allow":
        return False
    if not any(_wild(a, req.action) for a in _as_list(statement["Action"])):
        return False
    if not any(_wild(r, req.resource) for r in _as_list(statement.get("Resource", "*"))):
        return False
    return all(
        _condition_holds(op, key, _as_list(expected), req)
        for op, pairs in statement.get("Condition", {}).items()
        for key, expected in pairs.items()
    )


def allows(policy: dict[str, Any], req: Request) -> bool:
    """Whether the identity policy allows the request (some statement matches)."""
    return any(statement_allows(s, req) for s in policy["Statement"])


def actions(policy: dict[str, Any]) -> set[str]:
    """Every action a policy names."""
    return {a for s in policy["Statement"] for a in _as_list(s["Action"])}


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
        statement: dict[str, Any] = {
            "Effect": _unquote(raw.get("effect", "Allow")),
            "Action": [_fill(_unquote(a), values) for a in raw["actions"]],
            "Resource": [_fill(_unquote(r), values) for r in raw.get("resources", ["*"])],
        }
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
