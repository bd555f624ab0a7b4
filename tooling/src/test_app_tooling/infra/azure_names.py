"""The names infra/azure gives its Azure resources, evaluated from the Terraform.

`names(azure, env, inputs)` walks every stack: each resource of a type in
`infra/azure/global-names.yaml` directly in the stack, and each one inside a module the stack
calls, with the name attribute evaluated from literals, `var.<x>` (the environment's tfvars, the
inputs the project file gives, else the variable's default), `local.<x>` and `each.key` (a zone:
one character). Anything else in a name is an error naming the resource: a name that cannot be
evaluated offline cannot be checked, so it is refused rather than guessed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from test_app_tooling import fields
from test_app_tooling.infra.hcl_check import declarations, parse, unquote


REFERENCE = re.compile(r"\$\{([^{}]*)\}")
EACH_KEY = "3"  # for_each keys of named resources are zones


class NamingError(fields.FieldError):
    """A name that cannot be evaluated, or a rules table of the wrong form."""


@dataclass(frozen=True)
class NameRule:
    """Azure's rule for one resource type's name attribute."""

    type: str
    attribute: str
    regex: re.Pattern[str]
    scope: str  # global, subscription or resource-group
    source: str


@dataclass(frozen=True)
class Name:
    """One evaluated name."""

    type: str
    attribute: str
    value: str
    where: str


def load_rules(path: Path) -> dict[str, NameRule]:
    """The rules table, keyed by resource type."""
    data = fields.mapping(yaml.safe_load(path.read_text(encoding="utf-8")), path.name)
    rules: dict[str, NameRule] = {}
    for where, entry in fields.entries(data, "rules", path.name):
        rule = NameRule(
            fields.text(entry, "type", where),
            fields.text(entry, "attribute", where),
            re.compile(fields.text(entry, "regex", where)),
            fields.one_of(entry, "scope", where, ("global", "subscription", "resource-group")),
            fields.text(entry, "source", where),
        )
        rules[rule.type] = rule
    return rules


@dataclass(frozen=True)
class Deferred:
    """A module argument: evaluated in the calling stack, only when a name refers to it."""

    context: Context
    expression: object
    where: str


@dataclass
class Context:
    """What `var.` and `local.` mean in one stack or module."""

    variables: dict[str, object]
    locals_: dict[str, object]
    where: str

    def resolve(self, expression: object, where: str, depth: int = 0) -> str:
        """A string expression, evaluated; anything but literals, var, local, each.key fails."""
        if depth > 10:
            msg = f"{where}: references nest too deep"
            raise NamingError(msg)
        if isinstance(expression, bool) or not isinstance(expression, (str, int)):
            msg = f"{where}: expected a string, got {expression!r}"
            raise NamingError(msg)
        text = str(expression)
        if len(text) >= 2 and text[0] == text[-1] == '"':
            text = text[1:-1]

        def one(match: re.Match[str]) -> str:
            inner = match.group(1).strip()
            if inner == "each.key":
                return EACH_KEY
            ref = re.fullmatch(r"(var|local)\.([a-z0-9_]+)", inner)
            if not ref:
                msg = f"{where}: cannot evaluate ${{{inner}}} offline (only var., local., each.key)"
                raise NamingError(msg)
            table = self.variables if ref.group(1) == "var" else self.locals_
            if ref.group(2) not in table:
                msg = f"{where}: {inner} has no value in {self.where}"
                raise NamingError(msg)
            value = table[ref.group(2)]
            if isinstance(value, Deferred):
                return value.context.resolve(value.expression, value.where, depth + 1)
            return self.resolve(value, f"{where} -> {inner}", depth + 1)

        return REFERENCE.sub(one, text)


def _blocks(folder: Path, kind: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for tf in sorted(folder.glob("*.tf")):
        for group in parse(tf).get(kind, []):
            found.update({unquote(k): v for k, v in group.items()})
    return found


def _locals(folder: Path) -> dict[str, object]:
    found: dict[str, object] = {}
    for tf in sorted(folder.glob("*.tf")):
        for block in parse(tf).get("locals", []):
            found.update({k: v for k, v in block.items() if not k.startswith("__")})
    return found


def _defaults(folder: Path) -> dict[str, object]:
    return {
        name: body["default"]
        for name, body in _blocks(folder, "variable").items()
        if body.get("default") is not None
    }


def _resources(folder: Path, rules: Mapping[str, NameRule], context: Context) -> list[Name]:
    out = []
    for tf in sorted(folder.glob("*.tf")):
        for d in declarations(tf, parse(tf)):
            if d.kind != "resource" or d.type not in rules:
                continue
            rule = rules[d.type]
            where = f"{context.where}: {d.type}.{d.name}.{rule.attribute}"
            value = context.resolve(d.body.get(rule.attribute), where)
            out.append(Name(d.type, rule.attribute, value, where))
    return out


def names(
    azure: Path, env: str, inputs: Mapping[str, object], rules: Mapping[str, NameRule]
) -> list[Name]:
    """Every name of a rule's type that one environment's stacks give, evaluated."""
    found: list[Name] = []
    for stack in sorted(p for p in (azure / "stacks").iterdir() if p.is_dir()):
        tfvars_file = azure / "envs" / env / f"{stack.name}.tfvars"
        tfvars = parse(tfvars_file) if tfvars_file.is_file() else {}
        variables = {**_defaults(stack), **tfvars, **inputs}
        stack_context = Context(variables, _locals(stack), f"stacks/{stack.name} ({env})")
        found += _resources(stack, rules, stack_context)
        for call_name, call in _blocks(stack, "module").items():
            source = str(unquote(str(call.get("source", ""))))
            module = (stack / source).resolve()
            if not module.is_dir():
                msg = f"{stack_context.where}: module {call_name} source {source} is not a folder"
                raise NamingError(msg)
            arguments = {k: v for k, v in call.items() if not k.startswith("__") and k != "source"}
            lazy = {
                k: Deferred(stack_context, v, f"{stack_context.where}: module {call_name}.{k}")
                for k, v in arguments.items()
            }
            module_context = Context(
                {**_defaults(module), **lazy},
                _locals(module),
                f"modules/{module.name} from stacks/{stack.name} ({env})",
            )
            found += _resources(module, rules, module_context)
    return found
