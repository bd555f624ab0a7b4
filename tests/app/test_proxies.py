"""The client address behind trusted proxies: only what a trusted hop wrote is believed."""

import re

import pytest

from test_app.proxies import MAX_HOPS, client_address, forwarded_for, parse_networks


ALB = parse_networks("10.0.0.0/16")


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "trusted", "client"),
    [
        # no trusted proxy configured: the header is ignored
        ("10.0.1.5", "203.0.113.9", (), "10.0.1.5"),
        # from the load balancer: the entry it appended is the client
        ("10.0.1.5", "203.0.113.9", ALB, "203.0.113.9"),
        # a client-written entry on the left is never reached
        ("10.0.1.5", "198.51.100.1, 203.0.113.9", ALB, "203.0.113.9"),
        # two trusted hops (HAProxy behind the ALB): skip both
        ("10.0.1.5", "203.0.113.9, 10.0.2.8", ALB, "203.0.113.9"),
        # a direct client (not a trusted peer) cannot choose its address
        ("203.0.113.50", "10.0.0.1", ALB, "203.0.113.50"),
        # garbage stops the walk at the last trusted hop, never logged
        ("10.0.1.5", "<script>, 10.0.2.8", ALB, "10.0.2.8"),
        ("10.0.1.5", "", ALB, "10.0.1.5"),
        ("10.0.1.5", None, ALB, "10.0.1.5"),
        # IPv6, with and without brackets
        ("10.0.1.5", "[2001:db8::1]", ALB, "2001:db8::1"),
        ("::1", "2001:db8::2", parse_networks("::1"), "2001:db8::2"),
        # a scoped address's zone is free text: refused like garbage, never logged
        ("10.0.1.5", "fe80::1%" + "x" * 20_000, ALB, "10.0.1.5"),
        ("10.0.1.5", "fe80::1%eth0, 10.0.2.8", ALB, "10.0.2.8"),
    ],
)
def test_client_address(peer, forwarded_for, trusted, client):
    assert client_address(peer, forwarded_for, trusted) == client


def test_only_the_last_hops_are_walked():
    chain = ", ".join(["10.0.9.9"] * (MAX_HOPS + 5))
    assert client_address("10.0.1.5", "203.0.113.9, " + chain, ALB) == "10.0.9.9"


def test_bad_network_names_the_entry():
    with pytest.raises(ValueError, match="'proxy' is not a CIDR or an IP address"):
        parse_networks("10.0.0.0/8, proxy")


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("0.0.0.0/0", "'0.0.0.0/0' trusts every address"),
        ("::/0", "'::/0' trusts every address"),
        ("10.0.0.1/8", "'10.0.0.1/8' has host bits set (did you mean 10.0.0.0/8?)"),
    ],
)
def test_networks_that_trust_too_much_or_are_typos_are_refused(raw, problem):
    with pytest.raises(ValueError, match=re.escape(problem)):
        parse_networks(raw)


def test_forwarded_for_joins_repeated_headers_in_order_and_ignores_others():
    headers = [
        ("host", "x"),
        ("x-forwarded-for", "203.0.113.9"),
        ("x-real-ip", "192.0.2.1"),
        ("x-forwarded-for", "10.0.2.8"),
    ]
    assert forwarded_for(headers) == "203.0.113.9,10.0.2.8"
    assert forwarded_for([("host", "x")]) is None
