"""The network paths of `infra/azure/network-paths.yaml`, proved or refused from the Terraform.

The subnet prefixes come from the network stack (`cidrsubnet(var.address_space, bits, n)` of its
module call, with the environment's `address_space` from `infra/azure/envs/<env>/network.tfvars`);
the security rules from the network module's `azurerm_network_security_rule` resources
(`test_app_tooling.infra.nsg`). Every subnet the module associates with a group is evaluated with
that group's rules plus Azure's defaults.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from test_app_tooling import fields
from test_app_tooling.infra.hcl_check import declarations, parse
from test_app_tooling.infra.nsg import Flow, Group, NsgError, Verdict, path, rules_from_terraform


CIDRSUBNET = re.compile(r"^\$\{cidrsubnet\(var\.address_space, ([0-9]+), ([0-9]+)\)\}$")
# The network module's prefix variables, by the subnet key its groups use.
SUBNET_VARIABLES = {
    "nodes": "node_subnet_prefix",
    "private-endpoints": "private_endpoint_subnet_prefix",
    "database": "database_subnet_prefix",
}


@dataclass(frozen=True)
class Network:
    """One environment's address space, subnets and their groups."""

    address_space: ipaddress.IPv4Network
    subnets: dict[str, ipaddress.IPv4Network]
    groups: dict[str, Group]


@dataclass(frozen=True)
class Outcome:
    """One path of the table, evaluated."""

    name: str
    expect: str
    allowed: bool
    verdicts: list[Verdict]

    @property
    def holds(self) -> bool:
        """Whether the Terraform gives what the table expects."""
        return self.allowed == (self.expect == "allow")


def _literal(value: object) -> object:
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def load_network(azure: Path, env: str) -> Network:
    """The subnets and security groups of one environment, from infra/azure."""
    tfvars = parse(azure / "envs" / env / "network.tfvars")
    space = ipaddress.IPv4Network(str(_literal(tfvars["address_space"])))
    stack = parse(azure / "stacks" / "network" / "main.tf")
    calls = [
        body
        for group in stack.get("module", [])
        for name, body in group.items()
        if _literal(name) == "network"
    ]
    if len(calls) != 1:
        msg = 'infra/azure/stacks/network/main.tf: expected one `module "network"`'
        raise NsgError(msg)
    variables = {"address_space": str(space)}
    subnets = {}
    for key, variable in SUBNET_VARIABLES.items():
        expression = str(calls[0].get(variable))
        match = CIDRSUBNET.match(expression)
        if not match:
            msg = (
                f'module "network".{variable}: expected '
                f"cidrsubnet(var.address_space, bits, n), got {expression!r}"
            )
            raise NsgError(msg)
        prefix = list(space.subnets(prefixlen_diff=int(match.group(1))))[int(match.group(2))]
        subnets[key] = prefix
        variables[variable] = str(prefix)
    module = azure / "modules" / "network" / "main.tf"
    decls = list(declarations(module, parse(module)))
    resources = [
        (d.name, d.body)
        for d in decls
        if d.kind == "resource" and d.type == "azurerm_network_security_rule"
    ]
    inline = [
        d.name
        for d in decls
        if d.type == "azurerm_network_security_group" and "security_rule" in d.body
    ]
    if inline:
        msg = (
            f"{module}: inline security_rule blocks in {inline} are not read; "
            "declare azurerm_network_security_rule resources"
        )
        raise NsgError(msg)
    rules = rules_from_terraform(resources, variables)
    unknown = sorted(set(rules) - set(subnets))
    if unknown:
        msg = f"{module}: rules name groups {unknown} that no subnet uses ({sorted(subnets)})"
        raise NsgError(msg)
    groups = {key: Group(key, rules.get(key, [])) for key in subnets}
    return Network(space, subnets, groups)


def _endpoint(name: str, spec: Any, network: Network) -> tuple[ipaddress.IPv4Address, str | None]:  # noqa: ANN401
    where = f"network-paths.yaml: endpoints.{name}"
    if not isinstance(spec, dict):
        msg = f"{where}: expected a mapping with `address` or `subnet` and `host`"
        raise NsgError(msg)
    subnet = spec.get("subnet")
    if subnet is not None and subnet not in network.subnets:
        msg = f"{where}.subnet: expected one of {sorted(network.subnets)}, got {subnet!r}"
        raise NsgError(msg)
    if "address" in spec:
        return ipaddress.IPv4Address(str(spec["address"])), subnet
    host = spec.get("host")
    if subnet is None or not isinstance(host, int) or host < 4:
        msg = (
            f"{where}: `host` (a number of at least 4: Azure keeps the first four) needs a `subnet`"
        )
        raise NsgError(msg)
    prefix = network.subnets[subnet]
    if host >= prefix.num_addresses - 1:
        msg = f"{where}.host: {host} lies outside {prefix}"
        raise NsgError(msg)
    return prefix[host], subnet


def evaluate(table_file: Path, network: Network) -> list[Outcome]:
    """Every path of the table, with the verdicts that decide it."""
    file_name = table_file.name
    table = fields.mapping(yaml.safe_load(table_file.read_text(encoding="utf-8")), file_name)
    specs = fields.field(table, "endpoints", file_name, dict, "a mapping of endpoints")
    endpoints = {key: _endpoint(key, spec, network) for key, spec in specs.items()}
    outcomes = []
    for where, entry in fields.entries(table, "paths", file_name):
        for key in ("from", "to"):
            fields.one_of(entry, key, where, tuple(sorted(endpoints)))
        fields.one_of(entry, "expect", where, ("allow", "deny"))
        fields.field(entry, "port", where, int, "a port number")
        source, source_subnet = endpoints[entry["from"]]
        destination, destination_subnet = endpoints[entry["to"]]
        flow = Flow(source, destination, entry["port"], str(entry.get("protocol", "Tcp")))
        verdicts = path(
            flow,
            network.groups[source_subnet] if source_subnet else None,
            network.groups[destination_subnet] if destination_subnet else None,
            [network.address_space],
        )
        allowed = bool(verdicts) and all(v.access == "Allow" for v in verdicts)
        name = f"{entry['from']} -> {entry['to']}:{entry['port']}"
        outcomes.append(Outcome(name, entry["expect"], allowed, verdicts))
    return outcomes
