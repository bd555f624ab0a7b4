"""Network paths: the NSG evaluator on known cases, then every path of
infra/azure/network-paths.yaml proved or refused from the Terraform of each environment."""

from __future__ import annotations

import ipaddress

import pytest
from infra_azure.conftest import AZURE, ENVIRONMENTS

from test_app_tooling.fields import FieldError
from test_app_tooling.infra.azure_network import evaluate, load_network
from test_app_tooling.infra.nsg import (
    Flow,
    Group,
    NsgError,
    Rule,
    decide,
    path,
    rules_from_terraform,
)


VNET = [ipaddress.IPv4Network("10.30.0.0/16")]
NODE = ipaddress.IPv4Address("10.30.0.4")
DB = ipaddress.IPv4Address("10.30.5.4")
INTERNET = ipaddress.IPv4Address("203.0.113.10")
FRONTEND = ipaddress.IPv4Address("20.79.0.10")
PATHS = AZURE / "network-paths.yaml"


def rule(  # noqa: PLR0913, PLR0917 - a rule has this many fields
    name: str, priority: int, access: str, source: str, ports: str, direction: str = "Inbound"
) -> Rule:
    return Rule(name, priority, direction, access, "Tcp", (source,), ("*",), ("*",), (ports,))


################################################################################
# The evaluator against known decisions
################################################################################


def test_defaults_allow_the_vnet_and_refuse_the_internet():
    empty = Group("empty")
    assert decide(empty, "Inbound", Flow(NODE, DB, 5432), VNET).rule == "AllowVnetInBound"
    refused = decide(empty, "Inbound", Flow(INTERNET, FRONTEND, 443), VNET)
    assert (refused.access, refused.rule, refused.priority) == ("Deny", "DenyAllInBound", 65500)
    probe = Flow(ipaddress.IPv4Address("168.63.129.16"), NODE, 10256)
    assert decide(empty, "Inbound", probe, VNET).rule == "AllowAzureLoadBalancerInBound"
    out = decide(empty, "Outbound", Flow(NODE, INTERNET, 443), VNET)
    assert (out.access, out.rule) == ("Allow", "AllowInternetOutBound")


def test_the_lower_priority_number_wins_whatever_the_order_written():
    allow = rule("allow-https", 200, "Allow", "Internet", "443")
    deny = rule("deny-https", 150, "Deny", "Internet", "443")
    for rules in ([allow, deny], [deny, allow]):
        verdict = decide(Group("g", rules), "Inbound", Flow(INTERNET, FRONTEND, 443), VNET)
        assert (verdict.access, verdict.rule) == ("Deny", "deny-https")


def test_a_custom_deny_overrides_the_vnet_default():
    group = Group("db", [rule("deny-vnet", 4000, "Deny", "VirtualNetwork", "*")])
    assert decide(group, "Inbound", Flow(NODE, DB, 5432), VNET).access == "Deny"


def test_ports_protocols_and_ranges_must_all_match():
    group = Group("g", [rule("web", 100, "Allow", "Internet", "80-443")])
    assert decide(group, "Inbound", Flow(INTERNET, FRONTEND, 443), VNET).rule == "web"
    assert decide(group, "Inbound", Flow(INTERNET, FRONTEND, 444), VNET).rule == "DenyAllInBound"
    udp = Flow(INTERNET, FRONTEND, 443, protocol="Udp")
    assert decide(group, "Inbound", udp, VNET).rule == "DenyAllInBound"


def test_a_private_address_outside_the_vnet_is_not_internet():
    group = Group("g", [rule("web", 100, "Allow", "Internet", "443")])
    other_private = ipaddress.IPv4Address("10.99.0.1")
    assert (
        decide(group, "Inbound", Flow(other_private, FRONTEND, 443), VNET).rule == "DenyAllInBound"
    )


def test_a_path_needs_both_the_outbound_and_the_inbound_side():
    blocked_out = Group("nodes", [rule("no-db", 100, "Deny", "*", "5432", direction="Outbound")])
    verdicts = path(Flow(NODE, DB, 5432), blocked_out, Group("database"), VNET)
    assert [v.access for v in verdicts] == ["Deny", "Allow"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"priority": 5000}, "rule 'x'.priority: expected between 100 and 4096, got 5000"),
        ({"direction": "In"}, "rule 'x'.direction: expected one of Inbound, Outbound, got 'In'"),
        (
            {"source_prefixes": ("10.0.0.0/33",)},
            "rule 'x'.source address prefix: expected a CIDR or one of VirtualNetwork, Internet",
        ),
        ({"source_ports": ("http",)}, "rule 'x'.source port range: expected `*`, a port or"),
        (
            {"destination_ports": ("443-80",)},
            "rule 'x'.destination port range: expected ports within 0-65535 with low <= high",
        ),
    ],
)
def test_bad_rules_are_named(change, message):
    fields = {
        "name": "x", "priority": 100, "direction": "Inbound", "access": "Allow", "protocol": "Tcp",
        "source_prefixes": ("*",), "source_ports": ("*",), "destination_prefixes": ("*",),
        "destination_ports": ("443",),
    }  # fmt: skip
    with pytest.raises(FieldError) as caught:
        Rule(**{**fields, **change})
    assert str(caught.value).startswith(message)


def test_two_rules_with_one_priority_are_refused():
    group = Group("g", [rule("a", 100, "Allow", "*", "80"), rule("b", 100, "Deny", "*", "81")])
    with pytest.raises(NsgError, match="share priority"):
        decide(group, "Inbound", Flow(INTERNET, FRONTEND, 80), VNET)


def test_terraform_rules_resolve_variables_and_refuse_expressions():
    body = {
        "network_security_group_name": '${azurerm_network_security_group.this["nodes"].name}',
        "name": "x", "priority": 100, "direction": "Inbound", "access": "Allow", "protocol": "Tcp",
        "source_address_prefix": "${var.node_subnet_prefix}", "source_port_range": "*",
        "destination_address_prefix": "*", "destination_port_ranges": ["80", "443"],
    }  # fmt: skip
    groups = rules_from_terraform([("x", body)], {"node_subnet_prefix": "10.30.0.0/22"})
    assert groups["nodes"][0].source_prefixes == ("10.30.0.0/22",)
    body["source_address_prefix"] = "${cidrsubnet(var.x, 2, 0)}"
    with pytest.raises(NsgError, match="cannot evaluate"):
        rules_from_terraform([("x", body)], {})


################################################################################
# The paths of the system, from the Terraform
################################################################################


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_path_of_the_table_holds(env):
    network = load_network(AZURE, env)
    outcomes = evaluate(PATHS, network)
    assert len(outcomes) >= 10, "the path table lists too few paths to prove anything"
    assert {o.expect for o in outcomes} == {"allow", "deny"}
    wrong = [
        f"{o.name}: expected {o.expect}, got "
        + ", ".join(
            f"{v.group} {v.direction} {v.access} by {v.rule} ({v.priority})" for v in o.verdicts
        )
        for o in outcomes
        if not o.holds
    ]
    assert not wrong, "network paths that do not hold:\n" + "\n".join(wrong)


def test_the_ingress_rule_opens_only_80_and_443_from_the_internet():
    network = load_network(AZURE, "staging")
    internet_rules = [
        r
        for g in network.groups.values()
        for r in g.rules
        if r.access == "Allow" and ("Internet" in r.source_prefixes or "*" in r.source_prefixes)
    ]
    assert internet_rules, "no rule lets the internet reach the ingress"
    for r in internet_rules:
        assert r.protocol == "Tcp", r
        assert set(r.destination_ports) <= {"80", "443"}, r
