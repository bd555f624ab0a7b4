"""References and module calls resolve inside every Azure module and stack (what `terraform
validate` checks first, without the provider binary it needs)."""

from __future__ import annotations

from pathlib import Path

from infra_azure.conftest import AZURE

from test_app_tooling.infra.references import check_folder


FIXTURE = Path(__file__).parent / "fixtures" / "references" / "stack"


def test_every_reference_and_module_call_resolves():
    folders = sorted(p for kind in ("modules", "stacks") for p in (AZURE / kind).iterdir())
    assert len(folders) >= 13
    errors = [e for folder in folders for e in check_folder(folder)]
    assert not errors, "\n".join(errors)


def test_the_check_reports_each_kind_of_broken_reference():
    errors = {e.split(": ", 1)[1] for e in check_folder(FIXTURE)}
    assert errors == {
        "var.environmnet is not declared",
        "local.undefined is not defined",
        "module.called has no output 'ids'",
        "module.missing is not called here",
        "data.azurerm_client_config.current is not declared",
        "azurerm_resource_group.other is not declared",
        "azapi_resource.missing is not declared",
        "ephemeral.random_password.missing is not declared",
        "module called: unknown input 'tag'",
        "module called: required inputs ['name'] not set",
    }
