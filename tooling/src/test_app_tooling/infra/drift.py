"""Drift that forces replacement: attributes Azure changes out of band, against `ignore_changes`.

The table (`infra/azure/drift.yaml`) names a resource type (or `type.nested_block` for a block of
it), an attribute and a condition on sibling attributes. A resource that sets the attribute
while the condition holds must list it in `lifecycle { ignore_changes }` (as `attr` or, for a
nested block, `block[0].attr`); otherwise the next plan after Azure's change puts it back or
replaces the resource.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from test_app_tooling import fields
from test_app_tooling.infra.hcl_check import Declaration


@dataclass(frozen=True)
class Drift:
    """One attribute Azure changes by itself."""

    type: str
    attribute: str
    when: dict[str, object]
    effect: str


def load(path: Path) -> list[Drift]:
    """The drift table; a row of the wrong form names the field (`fields`)."""
    document = fields.mapping(yaml.safe_load(path.read_text(encoding="utf-8")), path.name)
    out = []
    for where, row in fields.entries(document, "drift", path.name, "a non-empty list of rows"):
        fields.text(row, "source", where)
        out.append(
            Drift(
                fields.text(row, "type", where),
                fields.text(row, "attribute", where),
                fields.field(row, "when", where, dict, "a mapping (may be empty)"),
                fields.text(row, "effect", where),
            )
        )
    return out


def _literal(value: object) -> object:
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def ignored(body: dict[str, Any]) -> set[str]:
    """The entries of a resource's `lifecycle { ignore_changes = [...] }`, as written."""
    found: set[str] = set()
    for lifecycle in body.get("lifecycle", []):
        for entry in lifecycle.get("ignore_changes", []) or []:
            text = str(_literal(entry)).removeprefix("${").removesuffix("}")
            found.add(text)
    return found


def _holds(body: dict[str, Any], when: dict[str, object]) -> bool:
    return all(_literal(body.get(k)) == v for k, v in when.items())


def unprotected(decls: Iterable[Declaration], table: list[Drift]) -> tuple[list[str], int]:
    """Resources that set a drifting attribute without ignoring it, and how many rows applied."""
    problems = []
    applied = 0
    for d in decls:
        if d.kind != "resource":
            continue
        for row in table:
            resource_type, _, nested = row.type.partition(".")
            if resource_type != d.type:
                continue
            bodies = d.body.get(nested, []) if nested else [d.body]
            entry = f"{nested}[0].{row.attribute}" if nested else row.attribute
            for body in bodies if isinstance(bodies, list) else []:
                if row.attribute in body and _holds(body, row.when):
                    applied += 1
                    if entry not in ignored(d.body):
                        problems.append(
                            f"{d.address}: sets {entry} without ignore_changes: {row.effect}"
                        )
    return problems, applied
