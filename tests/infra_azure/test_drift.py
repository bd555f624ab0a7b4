"""Drift that forces replacement: every attribute Azure changes out of band
(infra/azure/drift.yaml) is in the `ignore_changes` of each resource that sets it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from infra_azure.conftest import AZURE

from test_app_tooling.fields import FieldError
from test_app_tooling.infra.drift import load, unprotected
from test_app_tooling.infra.hcl_check import declarations, parse


TABLE = load(AZURE / "drift.yaml")


def test_no_resource_fights_azure_over_an_attribute_it_changes(decls):
    problems, applied = unprotected(decls, TABLE)
    assert applied >= 4, "the drift table matched too few resources to prove anything"
    assert not problems, "\n".join(problems)


def test_a_grown_storage_without_ignore_changes_is_caught(tmp_path: Path):
    tf = tmp_path / "main.tf"
    tf.write_text(
        'resource "azurerm_postgresql_flexible_server" "s" {\n'
        "  storage_mb        = 32768\n  auto_grow_enabled = true\n}\n"
        'resource "azurerm_postgresql_flexible_server" "fixed" {\n'
        "  storage_mb        = 32768\n  auto_grow_enabled = false\n}\n",
        encoding="utf-8",
    )
    problems, applied = unprotected(declarations(tf, parse(tf)), TABLE)
    assert applied == 1
    assert len(problems) == 1
    assert "storage_mb without ignore_changes" in problems[0]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            {"type": "t", "attribute": "a", "effect": "e", "source": "s"},
            "drift.yaml.drift[0].when: expected a mapping (may be empty), missing",
        ),
        (
            {"type": "t", "attribute": "", "when": {}, "effect": "e", "source": "s"},
            "drift.yaml.drift[0].attribute: expected a non-empty string, got ''",
        ),
    ],
)
def test_a_bad_row_names_the_field(tmp_path: Path, row, message):
    table = tmp_path / "drift.yaml"
    table.write_text(yaml.safe_dump({"drift": [row]}), encoding="utf-8")
    with pytest.raises(FieldError) as caught:
        load(table)
    assert str(caught.value) == message
