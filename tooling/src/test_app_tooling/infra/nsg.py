"""Azure network security group evaluation: which rule decides a flow, as Azure decides it.

Azure processes a group's rules of one direction in priority order (lower number first) and the
first rule that matches the flow decides; a group always ends with the default rules below,
which cannot be removed (learn.microsoft.com/azure/virtual-network/network-security-groups-overview,
"Default security rules"). A flow from a subnet to another passes the source subnet's outbound
rules, then the destination subnet's inbound rules.

Service tags are resolved the way the overview describes them: `VirtualNetwork` is the VNet's
address space, `Internet` every address outside it that is routed on the internet, and
`AzureLoadBalancer` the platform's health probe address 168.63.129.16. `*` matches anything.

`rules_from_terraform` reads `azurerm_network_security_rule` resources from parsed Terraform
(python-hcl2), resolving `var.<name>` prefixes from the values given; anything else it cannot
resolve is an error naming the rule and field, never a silent guess.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from test_app_tooling import fields


Network = ipaddress.IPv4Network
Address = ipaddress.IPv4Address
AZURE_LOAD_BALANCER = ipaddress.IPv4Address("168.63.129.16")
# Never routed on the internet: private (RFC 1918), shared (RFC 6598), loopback, link-local.
# Documentation ranges (RFC 5737) stand for internet clients in the path table, so they count.
NOT_ROUTED = tuple(
    ipaddress.IPv4Network(n)
    for n in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
    )
)
DIRECTIONS = ("Inbound", "Outbound")
ACCESSES = ("Allow", "Deny")
PROTOCOLS = ("Tcp", "Udp", "Icmp", "Esp", "Ah", "*")
TAGS = ("VirtualNetwork", "Internet", "AzureLoadBalancer", "*")


class NsgError(fields.FieldError):
    """A rule or a flow of the wrong form."""


def _port_range(text: str, where: str) -> tuple[int, int]:
    if text == "*":
        return (0, 65535)
    match = re.fullmatch(r"([0-9]{1,5})(?:-([0-9]{1,5}))?", text)
    if not match:
        raise NsgError(fields.message(where, "`*`, a port or `low-high`", text))
    low = int(match.group(1))
    high = int(match.group(2) or low)
    if not 0 <= low <= high <= 65535:
        msg = fields.message(where, "ports within 0-65535 with low <= high", text)
        raise NsgError(msg)
    return (low, high)


@dataclass(frozen=True)
class Rule:
    """One security rule, in Azure's terms."""

    name: str
    priority: int
    direction: str
    access: str
    protocol: str
    source_prefixes: tuple[str, ...]
    source_ports: tuple[str, ...]
    destination_prefixes: tuple[str, ...]
    destination_ports: tuple[str, ...]
    builtin: bool = False  # one of Azure's default rules (priorities 65000-65500)

    def __post_init__(self) -> None:
        where = f"rule {self.name!r}"
        if not self.builtin and not 100 <= self.priority <= 4096:
            msg = fields.message(f"{where}.priority", "between 100 and 4096", self.priority)
            raise NsgError(msg)
        for name, value, allowed in (
            ("direction", self.direction, DIRECTIONS),
            ("access", self.access, ACCESSES),
            ("protocol", self.protocol, PROTOCOLS),
        ):
            if value not in allowed:
                msg = fields.message(f"{where}.{name}", f"one of {', '.join(allowed)}", value)
                raise NsgError(msg)
        _check_prefixes(self.source_prefixes, f"{where}.source address prefix")
        _check_prefixes(self.destination_prefixes, f"{where}.destination address prefix")
        for kind, ports in (("source", self.source_ports), ("destination", self.destination_ports)):
            if not ports:
                raise NsgError(fields.message(f"{where}.{kind} port range", "a port range"))
            for port in ports:
                _port_range(port, f"{where}.{kind} port range")


def _check_prefixes(prefixes: tuple[str, ...], where: str) -> None:
    if not prefixes:
        raise NsgError(fields.message(where, "a CIDR or a service tag"))
    for prefix in prefixes:
        if prefix in TAGS:
            continue
        try:
            ipaddress.IPv4Network(prefix, strict=False)
        except ValueError:
            msg = fields.message(where, f"a CIDR or one of {', '.join(TAGS)}", prefix)
            raise NsgError(msg) from None


def _default(name: str, priority: int, access: str, source: str, dest: str) -> Rule:
    direction = "Inbound" if name.endswith("InBound") else "Outbound"
    return Rule(
        name, priority, direction, access, "*", (source,), ("*",), (dest,), ("*",), builtin=True
    )


DEFAULT_RULES = (
    _default("AllowVnetInBound", 65000, "Allow", "VirtualNetwork", "VirtualNetwork"),
    _default("AllowAzureLoadBalancerInBound", 65001, "Allow", "AzureLoadBalancer", "*"),
    _default("DenyAllInBound", 65500, "Deny", "*", "*"),
    _default("AllowVnetOutBound", 65000, "Allow", "VirtualNetwork", "VirtualNetwork"),
    _default("AllowInternetOutBound", 65001, "Allow", "*", "Internet"),
    _default("DenyAllOutBound", 65500, "Deny", "*", "*"),
)


@dataclass(frozen=True)
class Flow:
    """One connection attempt: addresses, protocol and destination port."""

    source: Address
    destination: Address
    port: int
    protocol: str = "Tcp"
    source_port: int = 50000


@dataclass(frozen=True)
class Verdict:
    """What one group decided, and by which rule."""

    group: str
    direction: str
    access: str
    rule: str
    priority: int


@dataclass
class Group:
    """One network security group: its own rules plus Azure's defaults."""

    name: str
    rules: list[Rule] = field(default_factory=list)

    def ordered(self, direction: str) -> list[Rule]:
        """The rules of one direction in the order Azure applies them."""
        own = [r for r in self.rules if r.direction == direction]
        priorities = [r.priority for r in own]
        duplicates = sorted({p for p in priorities if priorities.count(p) > 1})
        if duplicates:
            msg = f"group {self.name!r}: {direction} rules share priority {duplicates}"
            raise NsgError(msg)
        defaults = [r for r in DEFAULT_RULES if r.direction == direction]
        return sorted(own, key=lambda r: r.priority) + defaults


def _prefix_matches(prefix: str, address: Address, vnet: Iterable[Network]) -> bool:
    if prefix == "*":
        return True
    in_vnet = any(address in n for n in vnet)
    if prefix == "VirtualNetwork":
        return in_vnet
    if prefix == "AzureLoadBalancer":
        return address == AZURE_LOAD_BALANCER
    if prefix == "Internet":
        return (
            not in_vnet
            and address != AZURE_LOAD_BALANCER
            and not any(address in n for n in NOT_ROUTED)
        )
    return address in ipaddress.IPv4Network(prefix, strict=False)


def _ports_match(ranges: tuple[str, ...], port: int) -> bool:
    return any(low <= port <= high for low, high in (_port_range(r, "port") for r in ranges))


def matches(rule: Rule, flow: Flow, vnet: Iterable[Network]) -> bool:
    """Whether a rule applies to a flow (protocol, both addresses, both ports)."""
    spaces = list(vnet)
    return (
        rule.protocol in ("*", flow.protocol)
        and any(_prefix_matches(p, flow.source, spaces) for p in rule.source_prefixes)
        and any(_prefix_matches(p, flow.destination, spaces) for p in rule.destination_prefixes)
        and _ports_match(rule.source_ports, flow.source_port)
        and _ports_match(rule.destination_ports, flow.port)
    )


def decide(group: Group, direction: str, flow: Flow, vnet: Iterable[Network]) -> Verdict:
    """The first rule of `group` in `direction` that matches the flow decides it."""
    spaces = list(vnet)
    for rule in group.ordered(direction):
        if matches(rule, flow, spaces):
            return Verdict(group.name, direction, rule.access, rule.name, rule.priority)
    msg = "unreachable: the default rules match every flow"
    raise AssertionError(msg)


def path(
    flow: Flow,
    source_group: Group | None,
    destination_group: Group | None,
    vnet: Iterable[Network],
) -> list[Verdict]:
    """Both decisions of a flow: the source subnet's outbound, the destination's inbound.

    A side outside the VNet (the internet) has no group; the flow is allowed when every
    verdict returned is `Allow`.
    """
    spaces = list(vnet)
    verdicts = []
    if source_group is not None:
        verdicts.append(decide(source_group, "Outbound", flow, spaces))
    if destination_group is not None:
        verdicts.append(decide(destination_group, "Inbound", flow, spaces))
    return verdicts


################################################################################
# Reading rules from Terraform
################################################################################

INTERPOLATION = re.compile(r"^\$\{var\.([a-z0-9_]+)\}$")
GROUP_KEY = re.compile(
    r'^\$\{azurerm_network_security_group\.[a-z0-9_]+\["([a-z0-9-]+)"\]\.name\}$'
)


def _literal(value: object) -> object:
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def _resolve(value: object, variables: Mapping[str, str], where: str) -> str:
    value = _literal(value)
    if isinstance(value, int):
        return str(value)
    if not isinstance(value, str):
        msg = f"{where}: expected a string, got {value!r}"
        raise NsgError(msg)
    match = INTERPOLATION.match(value)
    if match:
        name = match.group(1)
        if name not in variables:
            msg = f"{where}: var.{name} has no value (known: {sorted(variables)})"
            raise NsgError(msg)
        return variables[name]
    if "${" in value:
        msg = f"{where}: cannot evaluate {value!r} (only literals and var.<name>)"
        raise NsgError(msg)
    return value


def _pair(
    body: Mapping[str, Any], one: str, many: str, variables: Mapping[str, str], where: str
) -> tuple[str, ...]:
    if one in body and many in body:
        msg = f"{where}: set {one} or {many}, not both (the provider refuses it)"
        raise NsgError(msg)
    if one in body:
        return (_resolve(body[one], variables, f"{where}.{one}"),)
    if many in body:
        items = body[many]
        if not isinstance(items, list) or not items:
            msg = f"{where}.{many}: expected a non-empty list"
            raise NsgError(msg)
        return tuple(_resolve(i, variables, f"{where}.{many}") for i in items)
    msg = f"{where}: neither {one} nor {many} is set"
    raise NsgError(msg)


def rules_from_terraform(
    resources: Iterable[tuple[str, Mapping[str, Any]]], variables: Mapping[str, str]
) -> dict[str, list[Rule]]:
    """`azurerm_network_security_rule` bodies (name, body) grouped by the group key they name.

    Each rule must name its group as `azurerm_network_security_group.<x>["<key>"].name`.
    """
    groups: dict[str, list[Rule]] = {}
    for address, body in resources:
        where = f"azurerm_network_security_rule.{address}"
        group_ref = body.get("network_security_group_name")
        match = GROUP_KEY.match(str(group_ref))
        if not match:
            msg = (
                f"{where}.network_security_group_name: expected "
                f'azurerm_network_security_group.<name>["<key>"].name, got {group_ref!r}'
            )
            raise NsgError(msg)
        priority = _literal(body.get("priority"))
        if not isinstance(priority, int):
            msg = f"{where}.priority: expected a number, got {priority!r}"
            raise NsgError(msg)

        def one(key: str, body: Mapping[str, Any] = body, where: str = where) -> str:
            return _resolve(body.get(key), variables, f"{where}.{key}")

        def pair(key: str, body: Mapping[str, Any] = body, where: str = where) -> tuple[str, ...]:
            return _pair(
                body, key, f"{key}es" if key.endswith("prefix") else f"{key}s", variables, where
            )

        rule = Rule(
            name=one("name"),
            priority=priority,
            direction=one("direction"),
            access=one("access"),
            protocol=one("protocol"),
            source_prefixes=pair("source_address_prefix"),
            source_ports=pair("source_port_range"),
            destination_prefixes=pair("destination_address_prefix"),
            destination_ports=pair("destination_port_range"),
        )
        groups.setdefault(match.group(1), []).append(rule)
    return groups
