"""The database nodes' network: one namespace per node, veth pairs on a bridge (as root).

Each node (Patroni and its PostgreSQL) lives in a network namespace with one address on a
private /24 derived from the port base, so stacks on other bases never share a name or a
subnet. Everything else stays in the root namespace on 127.0.0.1; etcd also listens on the
bridge's address for the nodes. Nothing here is routed off the machine. Setting the root side
of a node's veth down cuts that node off from etcd, the other node and HAProxy at once: a
network partition, undone by setting it up again.
"""

from __future__ import annotations

import subprocess

from rehearsal.base.errors import RehearsalError
from rehearsal.base.topology import PG_NODES, Topology
from test_app_tooling.tools import run_tool


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run_tool("ip", *args, check=check, timeout=10)


def _exists(link: str) -> bool:
    return _ip("link", "show", link, check=False).returncode == 0


def _namespaces() -> set[str]:
    out = _ip("netns", "list").stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


def up(topo: Topology) -> None:
    """Create the bridge, the namespaces and the links that are missing (safe to rerun)."""
    if not topo.netns:
        return
    if not _exists(topo.bridge):
        _ip("link", "add", topo.bridge, "type", "bridge")
        _ip("addr", "add", f"{topo.bridge_ip}/24", "dev", topo.bridge)
    _ip("link", "set", topo.bridge, "up")
    namespaces = _namespaces()
    for node in PG_NODES:
        ns, link, peer = topo.netns_name(node), topo.link(node), topo.link(node) + "n"
        if ns not in namespaces:
            _ip("netns", "add", ns)
        if not _exists(link):
            _ip("link", "add", link, "type", "veth", "peer", "name", peer)
            _ip("link", "set", peer, "netns", ns)
            _ip("link", "set", link, "master", topo.bridge)
            _ip("-n", ns, "addr", "add", f"{topo.host(node)}/24", "dev", peer)
        _ip("link", "set", link, "up")
        _ip("-n", ns, "link", "set", peer, "up")
        _ip("-n", ns, "link", "set", "lo", "up")


def down(topo: Topology) -> None:
    """Delete the namespaces (their links go with them) and the bridge."""
    if not topo.netns:
        return
    namespaces = _namespaces()
    for node in PG_NODES:
        if _exists(topo.link(node)):
            _ip("link", "del", topo.link(node))
        if topo.netns_name(node) in namespaces:
            _ip("netns", "del", topo.netns_name(node))
    if _exists(topo.bridge):
        _ip("link", "del", topo.bridge)


def cut(topo: Topology, node: str) -> None:
    """Partition ``node``: nothing reaches it and it reaches nothing."""
    if not topo.netns:
        raise RehearsalError("a partition needs the nodes in network namespaces (run as root)")
    _ip("link", "set", topo.link(node), "down")


def heal(topo: Topology, node: str) -> None:
    """End the partition of ``node``."""
    _ip("link", "set", topo.link(node), "up")


# A zone isolated together with its clients: ``node`` reaches neither etcd nor the other node,
# while HAProxy (and so the app) still reaches it. No iptables/nftables is assumed: the node's
# side of its veth gets an htb root whose second class ends in ``pfifo limit 0`` (every packet
# sent to it is dropped), and u32 filters send the node's packets to etcd's client ports and to
# the other node there. Dropping the node's replies is enough to break TCP both ways.
_DROP_CLASS = "1:2"


def _tc(topo: Topology, node: str, *args: str, check: bool = True) -> None:
    run_tool("tc", "-n", topo.netns_name(node), *args, check=check, timeout=10)


def isolate_keeping_clients(topo: Topology, node: str, other: str, etcd_ports: list[int]) -> None:
    """Cut ``node`` from the etcd members and from ``other``; HAProxy still reaches it."""
    if not topo.netns:
        raise RehearsalError("a partition needs the nodes in network namespaces (run as root)")
    dev = topo.link(node) + "n"
    _tc(topo, node, "qdisc", "add", "dev", dev, "root", "handle", "1:", "htb", "default", "1")
    for classid in ("1:1", _DROP_CLASS):
        _tc(topo, node, "class", "add", "dev", dev, "parent", "1:", "classid", classid,
            "htb", "rate", "10gbit")  # fmt: skip
    _tc(topo, node, "qdisc", "add", "dev", dev, "parent", _DROP_CLASS, "handle", "20:",
        "pfifo", "limit", "0")  # fmt: skip
    matches = [
        ["match", "ip", "dst", f"{topo.dcs_host}/32", "match", "ip", "dport", str(port), "0xffff"]
        for port in etcd_ports
    ]
    matches.append(["match", "ip", "dst", f"{topo.host(other)}/32"])
    for prio, match in enumerate(matches, start=1):
        _tc(topo, node, "filter", "add", "dev", dev, "parent", "1:", "protocol", "ip",
            "prio", str(prio), "u32", *match, "flowid", _DROP_CLASS)  # fmt: skip


def rejoin_keeping_clients(topo: Topology, node: str) -> None:
    """End ``isolate_keeping_clients``: remove the node's dropping qdisc (safe to rerun)."""
    _tc(topo, node, "qdisc", "del", "dev", topo.link(node) + "n", "root", check=False)
