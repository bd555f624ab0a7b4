"""Region choice: every location the Azure code uses offers zone-redundant PostgreSQL HA to new
servers, three zones, and a geo-backup pair that is not access-restricted
(infra/azure/regions.yaml)."""

from __future__ import annotations

import yaml
from infra_azure.conftest import AZURE, ENVIRONMENTS, STACKS, literal

from test_app_tooling.infra.hcl_check import parse


REGIONS = yaml.safe_load((AZURE / "regions.yaml").read_text(encoding="utf-8"))["regions"]


def locations() -> dict[str, str]:
    found = {}
    for stack in STACKS:
        common = parse(AZURE / "stacks" / stack / "common_variables.tf")
        default = next(g['"location"'] for g in common["variable"] if '"location"' in g)
        found[f"stacks/{stack} default"] = str(literal(default["default"]))
        for env in ENVIRONMENTS:
            values = parse(AZURE / "envs" / env / f"{stack}.tfvars")
            if "location" in values:
                found[f"envs/{env}/{stack}.tfvars"] = str(literal(values["location"]))
    return found


def test_every_location_offers_what_the_stacks_need():
    used = locations()
    assert len(used) >= len(STACKS) * 2
    wrong = []
    for where, region in sorted(used.items()):
        facts = REGIONS.get(region)
        if facts is None:
            wrong.append(f"{where}: {region} is not in infra/azure/regions.yaml")
            continue
        if facts["zone_redundant_ha"] != "open":
            wrong.append(f"{where}: {region} zone-redundant HA is {facts['zone_redundant_ha']}")
        if facts["paired_region_restricted"]:
            wrong.append(f"{where}: {region} pairs with restricted {facts['paired_region']}")
        if facts["availability_zones"] < 3:
            wrong.append(f"{where}: {region} has fewer than three zones")
    assert not wrong, "\n".join(wrong)


def test_the_table_knows_the_blocked_cases():
    # The check can refuse: the region the code used before is listed with both problems.
    assert REGIONS["germanywestcentral"]["zone_redundant_ha"] == "blocked"
    assert REGIONS["germanywestcentral"]["paired_region_restricted"] is True
