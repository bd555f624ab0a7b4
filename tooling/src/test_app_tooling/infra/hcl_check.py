"""Check parsed Terraform (python-hcl2) against the azurerm schema: names and required arguments.

python-hcl2 gives each file as a dict: `resource`/`data` hold `{type: {name: body}}`, nested
blocks are lists of dicts marked `__is_block__`, and `dynamic "x" { content { ... } }` is a
`dynamic` list. Every resource and data source of type `azurerm_*` is checked: each argument
and nested block must exist in the provider schema at its place, each required one must be set.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hcl2

from test_app_tooling.infra.azurerm_schema import Block, Schema


# Terraform's own arguments of every resource and data block, not the provider's.
META_ARGUMENTS = {"count", "for_each", "depends_on", "provider", "lifecycle"}
META_BLOCKS = {"lifecycle", "provisioner", "connection", "precondition", "postcondition"}
MARKER = "__is_block__"
# python-hcl2 keeps comments inside a block (e.g. `#checkov:skip`) under these keys.
COMMENTS = "__comments__"
INLINE_COMMENTS = "__inline_comments__"
IGNORED_KEYS = {MARKER, COMMENTS, INLINE_COMMENTS}


@dataclass(frozen=True)
class Declaration:
    """One `resource` or `data` block of a file."""

    path: Path
    kind: str  # "resource" or "data"
    type: str
    name: str
    body: dict[str, Any]

    @property
    def address(self) -> str:
        """`data.azurerm_x.name` or `azurerm_x.name`, with the file."""
        prefix = "data." if self.kind == "data" else ""
        return f"{self.path}: {prefix}{self.type}.{self.name}"


def unquote(name: str) -> str:
    r"""python-hcl2 keeps the quotes of block labels (`"\\"azurerm_x\\""`)."""
    return name.strip('"')


def parse(path: Path) -> dict[str, Any]:
    """One file, parsed; raises on invalid HCL."""
    with path.open(encoding="utf-8") as handle:
        parsed: dict[str, Any] = hcl2.load(handle)
    return parsed


def declarations(path: Path, parsed: dict[str, Any]) -> Iterator[Declaration]:
    """Every resource and data block of a parsed file."""
    for kind in ("resource", "data"):
        for group in parsed.get(kind, []):
            for type_label, named in group.items():
                for name, body in named.items():
                    yield Declaration(path, kind, unquote(type_label), unquote(name), body)


def _is_block_list(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, dict) and v.get(MARKER) for v in value)


def _check_dynamic(entries: list[dict[str, Any]], schema: Block, where: str) -> list[str]:
    """`dynamic "x" { content { ... } }`: x must be a nested block, content is checked as one."""
    errors: list[str] = []
    for entry in entries:
        for label, dynamic in entry.items():
            name = unquote(label)
            if name not in schema.blocks:
                errors.append(f"{where}: unknown nested block {name!r} (dynamic)")
                continue
            for content in dynamic.get("content", []):
                errors += check_body(content, schema.blocks[name][1], f"{where}.{name}")
    return errors


def _check_key(key: str, value: object, schema: Block, where: str) -> list[str]:
    """One argument or nested block of a body."""
    if key in schema.arguments:
        if _is_block_list(value):
            return [f"{where}: {key!r} is an argument, written as a block"]
        return []
    if key in schema.blocks:
        if not isinstance(value, list) or not _is_block_list(value):
            return [f"{where}: {key!r} is a nested block, written as an argument"]
        nested = schema.blocks[key][1]
        return [e for item in value for e in check_body(item, nested, f"{where}.{key}")]
    if key in META_ARGUMENTS | META_BLOCKS:
        return []
    return [f"{where}: unknown argument {key!r}"]


def check_body(body: dict[str, Any], schema: Block, where: str) -> list[str]:
    """Errors of one block body against its schema, nested blocks included."""
    errors: list[str] = []
    given: set[str] = set()
    for key, value in body.items():
        if key in IGNORED_KEYS:
            continue
        if key == "dynamic":
            given |= {unquote(label) for entry in value for label in entry}
            errors += _check_dynamic(value, schema, where)
            continue
        given.add(key)
        errors += _check_key(key, value, schema, where)
    missing = sorted(schema.required() - given)
    if missing:
        errors.append(f"{where}: required {missing} not set")
    return errors


def check_declaration(decl: Declaration, schema: Schema) -> list[str]:
    """Errors of one resource or data block; other providers' types are not this check's."""
    if not decl.type.startswith(f"{schema.name}_"):
        return []
    table = schema.resources if decl.kind == "resource" else schema.data_sources
    if decl.type not in table:
        return [f"{decl.address}: no such {decl.kind} in {schema.name} {schema.version}"]
    return check_body(decl.body, table[decl.type], decl.address)
