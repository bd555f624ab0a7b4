"""Fixtures of the Azure Terraform tests: the provider schema and every parsed file.

No azurerm provider binary exists here, so `terraform validate`, plan and apply never run for
Azure. These tests check what can be checked offline: formatting, HCL syntax, every argument and
nested block against the azurerm 5.10.0 schema (`test_app_tooling.infra.azurerm_schema`), checkov's
Azure policies and the invariants the AWS side also holds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from test_app_tooling.infra.azurerm_schema import Schema, assembly_path, load_schema
from test_app_tooling.infra.hcl_check import Declaration, declarations, parse
from test_app_tooling.tools import REPO


AZURE = REPO / "infra" / "azure"
STACKS = ["bootstrap", "network", "registry", "cluster", "database", "ci"]
ENVIRONMENTS = ["staging", "prod"]


@pytest.fixture(scope="session")
def azurerm_schema() -> Schema:
    """The provider schema from the installed bindings; a missing environment fails."""
    try:
        path = assembly_path()
    except FileNotFoundError as exc:
        pytest.fail(str(exc), pytrace=False)
    return load_schema(path)


@pytest.fixture(scope="session")
def azapi_schema() -> Schema:
    """The azapi provider schema from the same environment; a missing one fails."""
    try:
        path = assembly_path(provider="azapi")
    except FileNotFoundError as exc:
        pytest.fail(str(exc), pytrace=False)
    return load_schema(path, provider="azapi")


@pytest.fixture(scope="session")
def tf_files() -> list[Path]:
    """Every .tf file under infra/azure."""
    files = sorted(AZURE.rglob("*.tf"))
    assert len(files) >= 60, "expected the Azure modules and stacks under infra/azure"
    return files


@pytest.fixture(scope="session")
def parsed(tf_files: list[Path]) -> dict[Path, dict[str, Any]]:
    """Each .tf file parsed by python-hcl2."""
    return {path: parse(path) for path in tf_files}


@pytest.fixture(scope="session")
def decls(parsed: dict[Path, dict[str, Any]]) -> list[Declaration]:
    """Every resource and data block of infra/azure."""
    return [d for path, content in parsed.items() for d in declarations(path, content)]


def literal(value: object) -> object:
    """A literal of python-hcl2's output: `"\\"x\\""` gives `x`; expressions stay as they are."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def one(
    decls: list[Declaration], type_: str, name: str = "this", folder: str | None = None
) -> Declaration:
    """The only resource of a type and name under infra/azure (or one folder of it)."""
    found = [
        d
        for d in decls
        if d.kind == "resource"
        and d.type == type_
        and d.name == name
        and (folder is None or folder in d.path.parts)
    ]
    assert len(found) == 1, f"expected one {type_}.{name}, found {[d.address for d in found]}"
    return found[0]


def block(body: dict[str, Any], name: str) -> dict[str, Any]:
    """The first nested block `name` of a body."""
    value = body.get(name)
    assert isinstance(value, list), f"no nested block {name!r} in {sorted(body)}"
    first: dict[str, Any] = value[0]
    return first
