"""The client's address behind trusted proxies (the ALB, HAProxy), from `X-Forwarded-For`.

Each proxy appends the address it received the connection from, so the header reads
`client, proxy1, proxy2` and the peer is the last proxy. Only entries written by a trusted
proxy can be believed: walking from the right, every hop that is a trusted proxy is skipped
and the first one that is not is the client. A client that sends its own `X-Forwarded-For`
only adds entries on the left, which the walk never reaches. With no trusted proxy listed
(`TRUSTED_PROXIES` empty, the default) the header is ignored and the peer is the client.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Final, TypeAlias


if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

Network: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_HOPS: Final = 16  # entries looked at, from the right; more is an attack, not a proxy chain
HEADER: Final = "x-forwarded-for"


def parse_networks(raw: str) -> tuple[Network, ...]:
    """Comma-separated CIDRs or addresses; raise ValueError naming the bad entry.

    Refused: a network with host bits set (`10.0.0.1/8`: a typo for an address or for a
    network, and which one cannot be guessed) and a network of prefix length 0 (`0.0.0.0/0`
    trusts every peer, so any client would choose the address that is logged).
    """
    networks = []
    for entry in (item.strip() for item in raw.split(",")):
        if not entry:
            continue
        try:
            network = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ValueError(f"{entry!r} is not a CIDR or an IP address") from None
        if network.prefixlen == 0:
            raise ValueError(f"{entry!r} trusts every address")
        if "/" in entry and network.network_address != ipaddress.ip_address(
            entry.partition("/")[0]
        ):
            raise ValueError(f"{entry!r} has host bits set (did you mean {network}?)")
        networks.append(network)
    return tuple(networks)


def forwarded_for(headers: Iterable[tuple[str, str]]) -> str | None:
    """Return the `X-Forwarded-For` list of a request, from its `(lower-case name, value)` pairs.

    A list header may be sent several times (RFC 9110 5.3); the lines join in order, as one.
    None when the request has none.
    """
    return ",".join(value for name, value in headers if name == HEADER) or None


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """Return the address in one entry, or None.

    A scoped IPv6 address (`fe80::1%eth0`) is refused: its zone is arbitrary text, which would
    reach the log.
    """
    if "%" in text:
        return None
    try:
        return ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None


def client_address(peer: str, forwarded_for: str | None, trusted: Sequence[Network]) -> str:
    """Return the client's address: `peer`, or the right-most untrusted forwarded entry.

    The header counts only when `peer` is a trusted proxy. An entry that is not an IP address
    ends the walk at the last trusted hop (a garbled header never puts arbitrary text in the log).
    """
    if not trusted or not forwarded_for:
        return peer
    current = _address(peer)
    if current is None or not any(current in net for net in trusted):
        return peer
    client = peer
    for entry in reversed(forwarded_for.split(",")[-MAX_HOPS:]):
        hop = _address(entry)
        if hop is None:
            return client
        client = str(hop)
        if not any(hop in net for net in trusted):
            return client
    return client
