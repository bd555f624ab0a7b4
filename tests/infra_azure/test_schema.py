"""Every azurerm block against the provider schema: names exist, required arguments are set."""

from __future__ import annotations

import re
from pathlib import Path

import hcl2
import pytest
from infra_azure.conftest import AZURE, literal

from test_app_tooling.infra.azurerm_schema import AZAPI_VERSION, PROVIDER_VERSION, load_schema
from test_app_tooling.infra.hcl_check import check_body, check_declaration, declarations, parse
from test_app_tooling.tools import REPO


FIXTURES = Path(__file__).parent / "fixtures"


def test_assembly_is_the_pinned_provider_version(azurerm_schema):
    assert azurerm_schema.version == PROVIDER_VERSION
    assert len(azurerm_schema.resources) > 1000
    assert len(azurerm_schema.data_sources) > 300
    requirement = (REPO / "requirements" / "venv-azurerm.txt").read_text(encoding="utf-8")
    # 18.9.0 is the cdktn bindings release generated from azurerm 5.10.0.
    assert re.search(r"^cdktn-provider-azurerm==18\.9\.0$", requirement, re.MULTILINE)


def test_versions_pin_the_checked_provider():
    stacks = sorted((AZURE / "stacks").glob("*/versions.tf"))
    modules = sorted((AZURE / "modules").glob("*/versions.tf"))
    assert len(stacks) == 6
    assert len(modules) >= 7
    for path in stacks + modules:
        providers = parse(path)["terraform"][0]["required_providers"][0]
        constraint = literal(providers["azurerm"]["version"])
        expected = PROVIDER_VERSION if path in stacks else f">= {PROVIDER_VERSION}"
        assert constraint == expected, f"{path}: azurerm {constraint!r}, expected {expected!r}"


def test_every_file_parses():
    files = [
        p for p in AZURE.rglob("*") if p.suffix in {".tf", ".tfvars", ".tfbackend"} and p.is_file()
    ]
    assert len(files) >= 70
    for path in files:
        with path.open(encoding="utf-8") as handle:
            hcl2.load(handle)


def test_every_azurerm_block_matches_the_schema(decls, azurerm_schema):
    azurerm = [d for d in decls if d.type.startswith("azurerm_")]
    assert len(azurerm) >= 55, "expected every resource and data source of the Azure stacks"
    errors = [e for d in azurerm for e in check_declaration(d, azurerm_schema)]
    assert not errors, "\n".join(errors)


def test_only_known_other_providers(decls):
    others = {d.type for d in decls if not d.type.startswith("azurerm_")}
    assert others == {"random_password", "azapi_resource"}


def test_every_azapi_block_matches_its_schema(decls, azapi_schema):
    """azapi 2.13.0 (cdktn-provider-azapi 1.0.0): `sensitive_body` and `sensitive_body_version`
    exist (the write-only body the administrator's secret uses)."""
    assert azapi_schema.version == AZAPI_VERSION
    requirement = (REPO / "requirements" / "venv-azurerm.txt").read_text(encoding="utf-8")
    assert re.search(r"^cdktn-provider-azapi==1\.0\.0$", requirement, re.MULTILINE)
    assert {"sensitive_body", "sensitive_body_version"} <= set(
        azapi_schema.resources["azapi_resource"].arguments
    )
    azapi = [d for d in decls if d.type.startswith("azapi_")]
    assert azapi, "expected the administrator's secret as an azapi_resource"
    errors = [e for d in azapi for e in check_declaration(d, azapi_schema)]
    assert not errors, "\n".join(errors)
    wrong = next(iter(azapi))
    broken = type(wrong)(wrong.path, wrong.kind, wrong.type, wrong.name,
                         {**wrong.body, "sensitive_body_versions": {}})  # fmt: skip
    assert any("sensitive_body_versions" in e for e in check_declaration(broken, azapi_schema))


def test_stacks_using_azapi_pin_the_checked_version():
    users = [p for p in sorted((AZURE / "stacks").glob("*/*.tf")) if "azapi_" in p.read_text()]
    assert users, "no stack uses azapi"
    for folder in {p.parent for p in users}:
        providers = parse(folder / "versions.tf")["terraform"][0]["required_providers"][0]
        assert literal(providers["azapi"]["source"]) == "Azure/azapi", folder
        assert literal(providers["azapi"]["version"]) == AZAPI_VERSION, folder


def _fixture_errors(name: str, schema) -> list[str]:
    path = FIXTURES / name
    return [e for d in declarations(path, parse(path)) for e in check_declaration(d, schema)]


def test_a_correct_fixture_passes(azurerm_schema):
    assert _fixture_errors("valid.tf", azurerm_schema) == []


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        ("misspelled_argument.tf", "unknown argument 'admin_enable'"),
        ("misspelled_nested_argument.tf", ".high_availability: unknown argument 'standby_zone'"),
        ("misspelled_dynamic_block.tf", "unknown nested block 'api_server_access_profiles'"),
        ("missing_required.tf", "required ['resource_group_name'] not set"),
        ("missing_required_block.tf", "['default_node_pool', 'node_provisioning_profile'] not set"),
        ("unknown_type.tf", "no such resource in azurerm 5.10.0"),
        ("block_as_argument.tf", "'identity' is a nested block, written as an argument"),
        ("removed_in_v4.tf", ".default_node_pool: unknown argument 'enable_auto_scaling'"),
    ],
)
def test_schema_check_catches_mistakes(azurerm_schema, fixture, expected):
    errors = _fixture_errors(fixture, azurerm_schema)
    assert any(expected in e for e in errors), errors


def test_every_provider_block_matches_the_schema(azurerm_schema):
    """`provider "azurerm"` too: a feature flag such as storage.data_plane_available must exist."""
    assert (
        "data_plane_available"
        in azurerm_schema.provider.blocks["features"][1].blocks["storage"][1].arguments
    )
    errors = []
    checked = 0
    for path in sorted((AZURE / "stacks").glob("*/providers.tf")):
        for group in parse(path).get("provider", []):
            for name, body in group.items():
                if literal(name) == "azurerm":
                    checked += 1
                    errors += check_body(body, azurerm_schema.provider, f"{path}: provider")
                elif literal(name) == "azapi":
                    azapi = load_schema(provider="azapi").provider
                    errors += check_body(body, azapi, f"{path}: provider azapi")
                else:
                    errors.append(f"{path}: provider {name} is not checked")
    assert checked == 6
    assert not errors, "\n".join(errors)
    wrong = {"features": [{"storage": [{"data_plane_availble": False, "__is_block__": True}],
                           "__is_block__": True}]}  # fmt: skip
    assert check_body(wrong, azurerm_schema.provider, "p") == [
        "p.features.storage: unknown argument 'data_plane_availble'"
    ]
