"""Global names: every Azure name that must be unique across Azure carries the project file's
unique part and meets Azure's rules (infra/azure/global-names.yaml), and staging and prod can
share one subscription without a collision."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
import yaml
from infra_azure.conftest import AZURE, ENVIRONMENTS

from test_app_tooling.fields import FieldError
from test_app_tooling.infra.azure_names import Name, NamingError, load_rules, names
from test_app_tooling.tools import REPO


RULES = load_rules(AZURE / "global-names.yaml")
PROJECT = tomllib.loads((REPO / "infra" / "envs" / "project.toml").read_text(encoding="utf-8"))
# The longest unique part the project file accepts, to prove every rule holds at the limit.
LONGEST = "zq9x7k1"


def evaluated(env: str, unique: str) -> list[Name]:
    return names(AZURE, env, {"unique_name": unique, "environment": env}, RULES)


@pytest.mark.parametrize("env", ENVIRONMENTS)
@pytest.mark.parametrize("unique", [PROJECT["azure"]["unique_name"], LONGEST])
def test_every_name_meets_azures_rules(env, unique):
    found = evaluated(env, unique)
    assert {n.type for n in found} == set(RULES), "a rule's resource type is no longer named"
    broken = [
        f"{n.where}: {n.value!r} breaks {RULES[n.type].regex.pattern} ({RULES[n.type].source})"
        for n in found
        if not RULES[n.type].regex.match(n.value)
    ]
    assert not broken, "\n".join(broken)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_global_name_carries_the_unique_part_of_the_project_file(env):
    found = [n for n in evaluated(env, LONGEST) if RULES[n.type].scope == "global"]
    assert len(found) >= 6
    missing = [f"{n.where}: {n.value!r}" for n in found if LONGEST not in n.value]
    assert not missing, "global names without azure.unique_name:\n" + "\n".join(missing)
    # PostgreSQL servers and virtual endpoints share postgres.database.azure.com: no name twice.
    values = [n.value for n in found if n.type.startswith("azurerm_postgresql_flexible_server")]
    assert len(values) >= 3
    assert len(values) == len(set(values)), f"PostgreSQL names used twice: {sorted(values)}"


def test_staging_and_prod_can_share_a_subscription():
    def keyed(env: str) -> set[tuple[str, str]]:
        return {
            (n.type, n.value)
            for n in evaluated(env, "acme")
            if RULES[n.type].scope in ("global", "subscription")
        }

    staging, prod = keyed("staging"), keyed("prod")
    assert len(staging) >= 10
    assert not staging & prod, f"names staging and prod would both create: {sorted(staging & prod)}"


def test_a_name_that_cannot_be_evaluated_is_refused(tmp_path):
    stack = tmp_path / "stacks" / "x"
    stack.mkdir(parents=True)
    (stack / "main.tf").write_text(
        'resource "azurerm_storage_account" "s" {\n'
        '  name = "tf${substr(sha256(data.azurerm_client_config.c.subscription_id), 0, 12)}"\n}\n',
        encoding="utf-8",
    )
    with pytest.raises(NamingError, match="cannot evaluate"):
        names(tmp_path, "staging", {}, RULES)


def test_a_bad_rule_names_the_field(tmp_path: Path):
    table = tmp_path / "global-names.yaml"
    rule = {"type": "t", "attribute": "name", "regex": ".*", "scope": "tenant", "source": "s"}
    table.write_text(yaml.safe_dump({"rules": [rule]}), encoding="utf-8")
    with pytest.raises(FieldError) as caught:
        load_rules(table)
    assert str(caught.value) == (
        "global-names.yaml.rules[0].scope: expected one of global, subscription, resource-group, "
        "got 'tenant'"
    )
