"""IAM policies as data, and how AWS evaluates the parts of them this project uses.

`terraform_policy` turns an `aws_iam_policy_document` of a stack into the identity-policy JSON
AWS sees (statements with actions, resources and conditions, those of its
`source_policy_documents` first), with the stack's locals filled in and Terraform's `&{...}`
written as IAM's `${...}`. `decide` gives IAM's verdict on one request over an identity's
policies, `allows` over one policy (AWS IAM User Guide, "Policy evaluation logic", "IAM JSON
policy elements" and "Condition operators", "Single-valued vs. multivalued context keys",
"IAM policy elements: Variables and tags"):

* an explicit Deny in any statement wins over every Allow; without one, some Allow statement
  must match, else the request is implicitly denied;
* `Action`/`NotAction` and `Resource`/`NotResource`; actions compare case-insensitively,
  ARNs case-sensitively;
* the only wildcards are `*` (any run of characters) and `?` (one character); everything
  else, `[0-9]` included, is literal. In `Resource`/`NotResource` a wildcard stays within its
  ARN segment, except that a `*` ending a segment may match beyond the colon, so
  `arn:aws:secretsmanager:*` covers every secret; `ArnLike`/`ArnEquals` (which also takes
  wildcards) compare each of the six segments alone;
* condition operators `String*` (`StringEquals`/`StringLike` case-sensitive, `...IgnoreCase`
  not), `Arn*`, `Bool`, `Null`, each with `IfExists` and the `ForAnyValue:`/`ForAllValues:`
  set qualifiers; condition key names are case-insensitive. A key absent from the request
  makes a positive operator false and a negated one (`StringNotEquals`, `ArnNotLike`, ...)
  true, `...IfExists` true; `ForAnyValue:` is false on an absent key whatever the operator,
  `ForAllValues:` true; `Null` tests absence;
* policy variables (`${aws:PrincipalTag/env}`, `${aws:username, 'default'}`, `${*}`) in
  Resource, NotResource and condition values are filled from the request's context keys, as
  literal text.

It raises (`fields.FieldError`, naming the policy, statement and element) instead of giving a
verdict on what IAM refuses or what would need a guess:

* a statement without exactly one of Action/NotAction and of Resource/NotResource (IAM:
  MalformedPolicyDocument), a Principal in an identity policy, an Effect other than
  Allow/Deny; in `terraform_policy` also a statement with principals or without resources;
* a policy variable whose key the request does not carry (and no default), a multivalued key
  as a variable, a variable in a policy whose Version is not 2012-10-17 (IAM reads it
  literally there), Terraform's `&{...}` left in JSON;
* a single-valued operator without `ForAnyValue:`/`ForAllValues:` on a multivalued key
  (`MULTIVALUED_KEYS`, or a key the request gives as a list);
* a Resource of fewer than six segments not ending in `*`, an `Arn*` condition value of fewer
  than six, and a six-segment Resource whose verdict hangs on a `*` ending an inner segment
  crossing a colon (AWS's docs allow it, iam-simulate does not);
* an operator it does not model (Numeric*, Date*, IpAddress, ...).

`crosscheck` asks an independent evaluator, npm's `@cloud-copilot/iam-simulate` (installed by
`scripts/bootstrap` from `tooling/node/package-lock.json`, offline: its action and resource data
ship in the package), for its verdicts on the same requests, with every value of a multivalued
key. The tests hand it the table of known verdicts (tests/infra/test_iam.py), the add-ons'
calls, the plan role's calls and the requests of `registry_access` and `secret_reach`.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Mapping
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


# Global condition keys AWS documents as multivalued (value type "Multivalued" in "AWS global
# condition context keys"); a request may also give any other key as a list of values.
MULTIVALUED_KEYS = frozenset(
    {
        "aws:tagkeys",
        "aws:calledvia",
        "aws:principalservicenameslist",
        "aws:principalorgpaths",
        "aws:resourceorgpaths",
        "aws:sourceorgpaths",
    }
)
POLICY_VERSION = "2012-10-17"


@dataclass(frozen=True)
class Request:
    """One API call of a controller: action, resource ARN, and the context keys it carries.

    `context` maps a key to its value, or to a list of values for a multivalued key.
    """

    action: str
    resource: str = "*"
    resource_tags: dict[str, str] = field(default_factory=dict)
    request_tags: dict[str, str] = field(default_factory=dict)
    context: Mapping[str, str | list[str]] = field(default_factory=dict)

    def context_keys(self) -> dict[str, list[str]]:
        """Every context key of the request with its values, names as written."""
        found: dict[str, list[str]] = {k: _as_list(v) for k, v in self.context.items()}
        found |= {f"aws:ResourceTag/{k}": [v] for k, v in self.resource_tags.items()}
        found |= {f"aws:RequestTag/{k}": [v] for k, v in self.request_tags.items()}
        if self.request_tags:
            found["aws:TagKeys"] = sorted(self.request_tags)
        return found

    def keys(self) -> dict[str, list[str]]:
        """The context keys by lower-cased name: IAM compares key names case-insensitively."""
        return {k.lower(): v for k, v in self.context_keys().items()}

    def multivalued(self) -> set[str]:
        """Lower-cased names of multivalued keys: the documented ones and any given as a list."""
        given = {k.lower() for k, v in self.context.items() if isinstance(v, list)}
        return set(MULTIVALUED_KEYS) | given


def _as_list(value: object) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


# One character of a policy value after its variables are filled in, and whether it is literal
# (from a variable or an escape such as `${*}`) or policy text, where `*` and `?` are wildcards.
Char = tuple[str, bool]
VARIABLE = re.compile(r"\$\{([^}]*)\}")
ESCAPES = frozenset({"*", "?", "$"})


def _variable(body: str, req: Request, where: str) -> str:
    """The value of one `${...}`: the request's single value of the key, else its default."""
    if body in ESCAPES:
        return body
    name, comma, default = body.partition(",")
    name = name.strip()
    if name.lower() in req.multivalued():
        raise fields.expected(
            f"{where}: policy variable ${{{name}}}", "a single-valued key (IAM substitutes no list)"
        )
    values = req.keys().get(name.lower())
    if values is not None:
        return values[0]
    default = default.strip()
    if comma and len(default) >= 2 and default[0] == default[-1] == "'":
        return default[1:-1]
    raise fields.expected(
        f"{where}: policy variable ${{{name}}}",
        "a key the request carries (Request.context) or a default like ${key, 'value'}",
    )


def _chars(text: str, req: Request, version: str, where: str) -> tuple[Char, ...]:
    """A Resource or condition value with its policy variables filled in from the request.

    Raises (naming the variable) when the request lacks the key, when the policy's Version
    reads variables literally, and on Terraform's `&{...}` spelling left in JSON.
    """
    if "&{" in text:
        raise fields.expected(where, "IAM's ${...} (&{...} is Terraform's spelling)", text)
    if "${" not in text:
        return tuple((c, False) for c in text)
    if version != POLICY_VERSION:
        raise fields.expected(
            f"{where}: policy Version", f"{POLICY_VERSION} for the variables in {text!r}", version
        )
    found: list[Char] = []
    position = 0
    for match in VARIABLE.finditer(text):
        found += [(c, False) for c in text[position : match.start()]]
        found += [(c, True) for c in _variable(match[1], req, where)]
        position = match.end()
    rest = text[position:]
    if "${" in rest:
        raise fields.expected(where, "policy variables closed by }", text)
    return (*found, *[(c, False) for c in rest])


@cache
def _compile(chars: tuple[Char, ...], mode: str, ignore_case: bool = False) -> re.Pattern[str]:
    """IAM's wildcards over a filled-in value: `*` any run of characters, `?` one character.

    `string` (StringLike): anywhere. `resource` (Resource, NotResource): within one of the first
    five colon-separated ARN segments, except that a `*` ending a segment may match beyond the
    colon; the sixth segment (the resource, which may hold colons) takes any character. `arn`
    (ArnLike, ArnEquals): each segment alone, a wildcard never crossing a colon of the first five.
    Everything else, `[0-9]` and literal characters from variables included, is literal.
    """
    out = []
    segment = 0
    for i, (c, literal) in enumerate(chars):
        if literal or c not in "*?":
            out.append(re.escape(c))
            segment += c == ":"
        elif mode == "string" or segment >= 5:
            out.append(".*" if c == "*" else ".")
        elif c == "?":
            out.append("[^:]")
        else:
            ends_segment = i + 1 == len(chars) or chars[i + 1][0] == ":"
            out.append(".*" if mode == "resource" and ends_segment else "[^:]*")
    return re.compile("".join(out), re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def _wild(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    chars = tuple((c, False) for c in pattern)
    return _compile(chars, "string", ignore_case).fullmatch(value) is not None


def action_matches(pattern: str, action: str) -> bool:
    """Action names are case-insensitive; the pattern may use `*` and `?`."""
    return _wild(pattern, action, ignore_case=True)


def _resource_matches(pattern: str, req: Request, version: str, where: str) -> bool:
    """`Resource`/`NotResource` matching: case-sensitive, see `_compile` (`resource`)."""
    if pattern == "*":
        return True
    if not pattern.startswith("arn:"):
        raise fields.expected(where, "* or an ARN", pattern)
    chars = _chars(pattern, req, version, where)
    if sum(c == ":" for c, _ in chars) < 5 and chars[-1] != ("*", False):
        raise fields.expected(
            where, "an ARN of six colon-separated segments, or fewer ending in *", pattern
        )
    if req.resource == "*":
        return False  # a request naming no resource is matched by "*" alone
    crossing = _compile(chars, "resource").fullmatch(req.resource) is not None
    if sum(c == ":" for c, _ in chars) >= 5 and crossing != (
        _compile(chars, "arn").fullmatch(req.resource) is not None
    ):
        # Six segments, and the verdict hangs on a `*` ending an inner segment swallowing a
        # colon: AWS's docs allow it, iam-simulate does not; no verdict rests on a guess.
        raise fields.expected(
            where,
            f"a pattern whose match of {req.resource} does not hang on a * crossing a colon",
            pattern,
        )
    return crossing


def _value_matches(base: str, chars: tuple[Char, ...], value: str, where: str) -> bool:
    expected = "".join(c for c, _ in chars)
    if base in {"StringEquals", "StringNotEquals"}:
        return expected == value
    if base in {"StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase"}:
        return expected.lower() == value.lower()
    if base in {"StringLike", "StringNotLike"}:
        return _compile(chars, "string").fullmatch(value) is not None
    if base in {"ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike"}:
        if expected.count(":") < 5:
            raise fields.expected(where, "an ARN of six colon-separated segments", expected)
        return _compile(chars, "arn").fullmatch(value) is not None
    return expected.lower() == value.lower()  # Bool


MODELLED = frozenset(
    {
        "StringEquals",
        "StringNotEquals",
        "StringEqualsIgnoreCase",
        "StringNotEqualsIgnoreCase",
        "StringLike",
        "StringNotLike",
        "ArnEquals",
        "ArnLike",
        "ArnNotEquals",
        "ArnNotLike",
        "Bool",
    }
)
NEGATED = {
    "StringNotEquals",
    "StringNotEqualsIgnoreCase",
    "StringNotLike",
    "ArnNotEquals",
    "ArnNotLike",
}


def _condition_holds(  # noqa: PLR0913 - one condition pair and where it is evaluated
    operator: str, key: str, expected: list[str], *, req: Request, version: str, where: str
) -> bool:
    where = f"{where}.Condition.{operator}.{key}"
    if "{" in key:
        raise fields.expected(where, "a condition key without policy variables", key)
    present = req.keys().get(key.lower())
    quantifier, _, base = operator.rpartition(":")
    if quantifier not in {"", "ForAnyValue", "ForAllValues"}:
        raise fields.expected(where, "the set qualifier ForAnyValue: or ForAllValues:", quantifier)
    if base == "Null":
        return (present is None) == (expected[0].lower() == "true")
    if not quantifier and key.lower() in req.multivalued():
        raise fields.expected(
            where,
            "ForAnyValue: or ForAllValues: before the operator of a multivalued key",
            operator,
        )
    if_exists = base.endswith("IfExists")
    base = base.removesuffix("IfExists")
    if base not in MODELLED:
        raise fields.expected(where, f"an operator of {sorted(MODELLED)} (or Null)", operator)
    negated = base in NEGATED
    if present is None:
        # ForAnyValue: no value matches; ForAllValues: every (no) value does; otherwise a
        # negated operator holds and a positive one fails, unless ...IfExists.
        if quantifier:
            return quantifier == "ForAllValues"
        return if_exists or negated
    patterns = [_chars(e, req, version, where) for e in expected]

    def one(value: str) -> bool:
        hit = any(_value_matches(base, p, value, where) for p in patterns)
        return not hit if negated else hit

    if quantifier == "ForAllValues":
        return all(one(v) for v in present)
    return any(one(v) for v in present)


def _check_statement(statement: dict[str, Any], where: str) -> None:
    """What IAM refuses in an identity policy's statement, before any request is decided."""
    if statement.get("Effect") not in {"Allow", "Deny"}:
        raise fields.expected(f"{where}.Effect", "Allow or Deny", statement.get("Effect"))
    for one, other in (("Action", "NotAction"), ("Resource", "NotResource")):
        if (one in statement) == (other in statement):
            raise fields.expected(
                where,
                f"exactly one of {one} and {other} (IAM refuses the policy: "
                "MalformedPolicyDocument)",
                sorted(statement),
            )
    for element in ("Principal", "NotPrincipal"):
        if element in statement:
            raise fields.expected(
                f"{where}.{element}", "none in an identity policy", statement[element]
            )


def statement_matches(
    statement: dict[str, Any], req: Request, version: str = POLICY_VERSION, where: str = "Statement"
) -> bool:
    """Whether one statement applies to the request (action, resource, conditions)."""
    _check_statement(statement, where)
    if "Action" in statement:
        if not any(action_matches(a, req.action) for a in _as_list(statement["Action"])):
            return False
    elif any(action_matches(a, req.action) for a in _as_list(statement["NotAction"])):
        return False
    element = "NotResource" if "NotResource" in statement else "Resource"
    named = any(
        _resource_matches(r, req, version, f"{where}.{element}")
        for r in _as_list(statement[element])
    )
    if named == (element == "NotResource"):
        return False
    return all(
        _condition_holds(op, key, _as_list(expected), req=req, version=version, where=where)
        for op, pairs in statement.get("Condition", {}).items()
        for key, expected in pairs.items()
    )


def decide(policies: list[dict[str, Any]], req: Request) -> str:
    """IAM's verdict over identity policies: `ExplicitlyDenied`, `Allowed` or `ImplicitlyDenied`.

    Raises, naming the statement, on what IAM refuses or this module does not decide (see the
    module's docstring).
    """
    statements = []
    for p, policy in enumerate(policies):
        # IAM reads a policy without Version as 2008-10-17, where ${...} is literal text.
        version = str(policy.get("Version", "2008-10-17"))
        for s, statement in enumerate(_as_statements(policy, f"policy[{p}]")):
            where = f"policy[{p}].Statement[{s}]"
            _check_statement(statement, where)
            statements.append((statement, version, where))
    if any(s["Effect"] == "Deny" and statement_matches(s, req, v, w) for s, v, w in statements):
        return "ExplicitlyDenied"
    if any(s["Effect"] == "Allow" and statement_matches(s, req, v, w) for s, v, w in statements):
        return "Allowed"
    return "ImplicitlyDenied"


def _as_statements(policy: dict[str, Any], where: str) -> list[dict[str, Any]]:
    found = policy.get("Statement")
    if isinstance(found, dict):
        return [found]
    if not isinstance(found, list) or not all(isinstance(s, dict) for s in found):
        raise fields.expected(f"{where}.Statement", "a statement or a list of statements", found)
    return found


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
    simulationEngine.js; tests/infra/test_plan_role.py holds those cases as a strict xfail.)
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
                k: (v if k.lower() in req.multivalued() else v[0])
                for k, v in req.context_keys().items()
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
    """A Terraform string with its expressions filled in from `values`.

    Terraform writes IAM's policy variables as `&{...}` (a `${...}` is its own expression);
    they come out as `${...}` for the evaluator to fill from the request.
    """
    for name, value in values.items():
        text = text.replace("${" + name + "}", value)
    if "${" in text:
        msg = f"unresolved expression in {text!r}; add it to the values of terraform_policy"
        raise ValueError(msg)
    return text.replace("&{", "${")


SOURCE_DOCUMENT = re.compile(r"^\$\{data\.aws_iam_policy_document\.(\w+)\.json\}$")


def _documents(stack_file: Path) -> dict[str, dict[str, Any]]:
    parsed = hcl2.loads(stack_file.read_text(encoding="utf-8"))
    return {
        name.strip('"'): body
        for block in parsed.get("data", [])
        for name, body in block.get('"aws_iam_policy_document"', {}).items()
    }


def terraform_policy(stack_file: Path, name: str, values: dict[str, str]) -> dict[str, Any]:
    """The `aws_iam_policy_document.<name>` of a Terraform file, as AWS identity-policy JSON.

    Statements of its `source_policy_documents` (other documents of the same file) come first;
    one of its own with the same `sid` replaces them, as the provider does. Raises on what an
    identity policy cannot hold: a statement with principals (a resource-based or trust
    policy) or without `resources`/`not_resources` (IAM: MalformedPolicyDocument).
    """
    documents = _documents(stack_file)
    return {"Version": POLICY_VERSION, "Statement": _statements(documents, name, values, ())}


def _statements(
    documents: dict[str, dict[str, Any]],
    name: str,
    values: dict[str, str],
    seen: tuple[str, ...],
) -> list[dict[str, Any]]:
    where = f"aws_iam_policy_document.{name}"
    if name not in documents:
        msg = f"no {where} in the stack file"
        raise LookupError(msg)
    if name in seen:
        raise fields.expected(f"{where}.source_policy_documents", "no cycle", [*seen, name])
    body = documents[name]
    if "override_policy_documents" in body:
        raise fields.expected(f"{where}.override_policy_documents", "absent (not modelled)")
    inherited: list[dict[str, Any]] = []
    for source in body.get("source_policy_documents", []):
        found = SOURCE_DOCUMENT.match(str(source))
        if not found:
            raise fields.expected(
                f"{where}.source_policy_documents",
                "data.aws_iam_policy_document.<name>.json of the same file",
                source,
            )
        inherited += _statements(documents, found[1], values, (*seen, name))
    own = [
        _statement(raw, values, f"{where}.statement[{i}]")
        for i, raw in enumerate(body.get("statement", []))
    ]
    replaced = {s["Sid"] for s in own if "Sid" in s}
    return [s for s in inherited if s.get("Sid") not in replaced] + own


def _statement(raw: dict[str, Any], values: dict[str, str], where: str) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": _unquote(raw.get("effect", "Allow"))}
    if "sid" in raw:
        statement["Sid"] = _unquote(raw["sid"])
    for hcl_name, json_name in (
        ("actions", "Action"),
        ("not_actions", "NotAction"),
        ("resources", "Resource"),
        ("not_resources", "NotResource"),
    ):
        if hcl_name in raw:
            statement[json_name] = [_fill(_unquote(v), values) for v in raw[hcl_name]]
    for hcl_name in ("principals", "not_principals"):
        if hcl_name in raw:
            raise fields.expected(
                f"{where}.{hcl_name}", "none in an identity policy", raw[hcl_name]
            )
    if "Action" not in statement and "NotAction" not in statement:
        raise fields.expected(where, "actions or not_actions")
    if "Resource" not in statement and "NotResource" not in statement:
        raise fields.expected(
            where,
            "resources or not_resources (IAM refuses an identity policy without: "
            "MalformedPolicyDocument)",
        )
    conditions: dict[str, dict[str, list[str]]] = {}
    for cond in raw.get("condition", []):
        test = _fill(_unquote(cond["test"]), values)
        key = _fill(_unquote(cond["variable"]), values)
        conditions.setdefault(test, {})[key] = [_fill(_unquote(v), values) for v in cond["values"]]
    if conditions:
        statement["Condition"] = conditions
    return statement


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
