"""The PostgreSQL pair: which node is the primary, whether the standby streams, rebuilding it."""

from __future__ import annotations

from rehearsal.base import postgres, supervisor
from rehearsal.base.configs import Binaries
from rehearsal.base.errors import RehearsalError
from rehearsal.base.topology import PG_NODES, Topology
from rehearsal.base.waiting import wait_until


def primary_node(topo: Topology) -> str:
    """Return the node whose data directory is not a standby."""
    for node in PG_NODES:
        if not postgres.is_standby_dir(topo, node):
            return node
    raise RehearsalError("no primary among the data directories")


def other(node: str) -> str:
    """Return the other node of the pair."""
    return PG_NODES[1 - PG_NODES.index(node)]


def role_of(topo: Topology, bins: Binaries, port: int) -> str:
    """``<node> primary`` or ``<node> standby``: which node a port leads to, and its role."""
    return postgres.psql(
        topo,
        bins,
        port,
        "SELECT current_setting('cluster_name') || CASE WHEN pg_is_in_recovery() "
        "THEN ' standby' ELSE ' primary' END",
    )


def streaming(topo: Topology, bins: Binaries, primary: str, standby: str) -> bool:
    """Return whether ``standby`` streams from ``primary``."""
    state = postgres.psql(
        topo,
        bins,
        topo.port(primary),
        # standby is one of PG_NODES, never user input.
        f"SELECT state FROM pg_stat_replication WHERE application_name = '{standby}'",  # noqa: S608
    )
    return state == "streaming"


def running_primary(topo: Topology, bins: Binaries) -> str | None:
    """Return the running node that answers as primary, if any."""
    procs = supervisor.status(topo)
    for node in PG_NODES:
        if procs[node].state == "RUNNING":
            try:
                if role_of(topo, bins, topo.port(node)) == f"{node} primary":
                    return node
            except postgres.PostgresError:
                continue
    return None


def rebuild_standby(topo: Topology, bins: Binaries, node: str, primary: str) -> str:
    """Make the stopped ``node`` a streaming standby of ``primary``; return how it was done."""
    postgres.ensure_slot(topo, bins, topo.port(primary), node)
    how = "pg_rewind"
    try:
        postgres.rewind(topo, bins, node, topo.port(primary))
    except postgres.PostgresError as exc:
        how = f"pg_basebackup (pg_rewind failed: {str(exc)[:160]})"
        postgres.base_backup(topo, bins, node, topo.port(primary))
    supervisor.start(topo, node)
    wait_until(lambda: streaming(topo, bins, primary, node), 60, f"{node} to stream")
    wait_until(
        lambda: role_of(topo, bins, topo.port("pg-reader")) == f"{node} standby",
        30,
        "the reader endpoint to reach the new standby",
    )
    return how


def heal(topo: Topology, bins: Binaries) -> tuple[str, str, str | None] | None:
    """After an interrupted failover, rebuild the node that is not a standby of the primary.

    Return (primary, standby, how the standby was rebuilt or None), or None without a primary.
    """
    primary = running_primary(topo, bins)
    if primary is None:
        return None
    standby = other(primary)
    procs = supervisor.status(topo)
    if procs[standby].state == "RUNNING" or postgres.is_standby_dir(topo, standby):
        return primary, standby, None
    return primary, standby, rebuild_standby(topo, bins, standby, primary)
