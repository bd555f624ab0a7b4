"""The PostgreSQL pair under Patroni: which node leads, whether the other streams, rejoining.

Patroni (one per node, etcd as its store) decides the roles; this module only asks: Patroni's
REST API for the leader, PostgreSQL itself for what an endpoint leads to and for replication.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime

import httpx

from rehearsal.base import postgres, supervisor
from rehearsal.base.configs import Binaries
from rehearsal.base.errors import RehearsalError
from rehearsal.base.topology import PG_NODES, Topology
from test_app_tooling.process import wait_until


LEADER_ROLES = ("leader", "master", "primary")
# Patroni's log lines that say how a former primary came back.
REWIND_LINE = re.compile(r"pg_rewind", re.IGNORECASE)
# Patroni's own log lines (its timestamp format) when a leader releases its key after a crash,
# and when another node takes it in the race that follows.
PATRONI_STAMP = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) INFO: ")
KEY_RELEASED = "Leader key released"
KEY_TAKEN = "promoted self to leader by acquiring session lock"


def other(node: str) -> str:
    """Return the other node of the pair."""
    return PG_NODES[1 - PG_NODES.index(node)]


def node_of_port(topo: Topology, port: int) -> str:
    """Return the node listening on ``port``."""
    for node in PG_NODES:
        if topo.port(node) == port:
            return node
    raise ValueError(f"port {port} is not a PostgreSQL node's port")


def _members(topo: Topology, node: str) -> list[dict[str, object]] | None:
    """Return the members ``node``'s Patroni lists at ``/cluster`` (``None``: no answer)."""
    try:
        answer = httpx.get(topo.url(f"patroni-{node}", "/cluster"), timeout=2).json()
    except (httpx.HTTPError, ValueError):
        return None
    return list(answer.get("members", []))


def _first_member(topo: Topology, role: Callable[[str], bool], state: str) -> str | None:
    """Return the first member in ``state`` whose role passes ``role``, per any node's REST API."""
    for node in PG_NODES:
        for member in _members(topo, node) or []:
            if role(str(member.get("role"))) and member.get("state") == state:
                return str(member["name"])
    return None


View = tuple[tuple[str, str], ...]


def views(topo: Topology) -> dict[str, View | None]:
    """Each node's Patroni's own view of the cluster: its (member, role) pairs, sorted.

    ``/cluster`` answers from that Patroni's copy of the DCS (a watch on etcd), so two nodes
    that disagree on a role show a copy that is behind. ``None``: no answer.
    """
    found: dict[str, View | None] = {}
    for node in PG_NODES:
        members = _members(topo, node)
        found[node] = (
            None
            if members is None
            else tuple(sorted((str(m.get("name")), str(m.get("role"))) for m in members))
        )
    return found


def views_agree(seen: dict[str, View | None]) -> bool:
    """Say whether every node answered with the same view naming every node of the pair."""
    answered = [view for view in seen.values() if view is not None]
    if not seen or len(answered) != len(seen):
        return False
    first = answered[0]
    return all(view == first for view in answered) and {n for n, _ in first} == set(PG_NODES)


def leader(topo: Topology) -> str | None:
    """Return the node Patroni reports as the running leader, asking each node's REST API."""
    return _first_member(topo, lambda role: role in LEADER_ROLES, "running")


def sync_standby(topo: Topology) -> str | None:
    """Return the member Patroni lists as the synchronous standby (``None`` when there is none)."""
    return _first_member(topo, lambda role: role == "sync_standby", "streaming")


def role_of(topo: Topology, bins: Binaries, port: int) -> str:
    """``<node> primary`` or ``<node> standby``: which node a port leads to, and its role."""
    answer = postgres.psql(
        topo,
        bins,
        port,
        "SELECT inet_server_port() || ' ' || CASE WHEN pg_is_in_recovery() "
        "THEN 'standby' ELSE 'primary' END",
    )
    server_port, role = answer.split()
    return f"{node_of_port(topo, int(server_port))} {role}"


def streaming(topo: Topology, bins: Binaries, primary: str, standby: str) -> bool:
    """Return whether ``standby`` streams from ``primary``."""
    state = postgres.psql(
        topo,
        bins,
        topo.port(primary),
        # standby is one of PG_NODES (Patroni's application_name), never user input.
        f"SELECT state FROM pg_stat_replication WHERE application_name = '{standby}'",  # noqa: S608
    )
    return state == "streaming"


def whole(topo: Topology, bins: Binaries) -> tuple[str, str] | None:
    """Return (primary, standby) when there is a leader and the other node streams from it."""
    primary = leader(topo)
    if primary is None:
        return None
    standby = other(primary)
    return (primary, standby) if streaming(topo, bins, primary, standby) else None


def wait_whole(topo: Topology, bins: Binaries, timeout: float) -> tuple[str, str]:
    """Wait until the pair is whole; return (primary, standby)."""
    wait_until(lambda: whole(topo, bins) is not None, timeout, "a leader with a streaming standby")
    roles = whole(topo, bins)
    if roles is None:
        raise RehearsalError("the pair was whole and is not any more")
    return roles


def rejoin(topo: Topology, bins: Binaries, node: str, primary: str) -> str:
    """Start ``node`` again; Patroni rejoins it as a replica. Return how (from its log)."""
    before = len(topo.log_lines(node))
    supervisor.start(topo, node)
    wait_until(lambda: streaming(topo, bins, primary, node), 120, f"{node} to stream")
    wait_until(
        lambda: role_of(topo, bins, topo.port("pg-reader")) == f"{node} standby",
        30,
        "the reader endpoint to reach the new standby",
    )
    return rejoined_how(topo, node, before)


def rejoined_how(topo: Topology, node: str, after_line: int) -> str:
    """``pg_rewind`` when Patroni's log for ``node`` shows a rewind after ``after_line``."""
    rewound = any(REWIND_LINE.search(line) for line in topo.log_lines(node, after_line))
    return "pg_rewind" if rewound else "restart as a replica (no rewind needed)"


def first_event(lines: list[str], text: str, after: datetime | None = None) -> datetime | None:
    """Return when Patroni first logged an INFO line with ``text`` (not before ``after``).

    Both nodes log on this machine's clock; only differences of these times are used.
    """
    for line in lines:
        stamp = PATRONI_STAMP.match(line)
        if stamp and text in line:
            when = datetime.strptime(stamp.group(1), "%Y-%m-%d %H:%M:%S,%f").replace(tzinfo=UTC)
            if after is None or when >= after:
                return when
    return None


def key_handover_seconds(released: list[str], taken: list[str]) -> float | None:
    """Seconds from the old leader's key release to the other node taking the key, from logs.

    The standby's watch on etcd normally wakes it within a fraction of a second; a standby
    that acts only on its next loop shows ``loop_wait`` here. ``None``: no release, or no take.
    """
    release = first_event(released, KEY_RELEASED)
    take = first_event(taken, KEY_TAKEN, after=release) if release else None
    return None if release is None or take is None else (take - release).total_seconds()
