"""Faults the HA rehearsals inject: frozen processes (SIGSTOP/SIGCONT) of a program's tree."""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

from rehearsal.base import postgres, supervisor
from rehearsal.base.errors import RehearsalError
from rehearsal.base.topology import Topology
from test_app_tooling.tools import run_tool


PROC = Path("/proc")


def _parent(pid: int) -> int | None:
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: parse after the last ')'.
    return int(stat.rsplit(")", 1)[1].split()[1])


def process_tree(pid: int) -> list[int]:
    """Return ``pid`` and every descendant of it (children, grandchildren, ...)."""
    children: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            parent = _parent(int(entry.name))
            if parent is not None:
                children.setdefault(parent, []).append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def program_tree(topo: Topology, name: str) -> list[int]:
    """Return every process of a supervised program (its main process and descendants)."""
    pid = supervisor.pid(topo, name)
    if pid is None:
        raise RehearsalError(f"{name} is not running: nothing to freeze")
    return process_tree(pid)


def freeze(pids: list[int]) -> None:
    """SIGSTOP every process, as a hung VM or a long I/O stall would stop them."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGSTOP)


def thaw(pids: list[int]) -> None:
    """SIGCONT every process: they go on as if no time had passed, from their point of view."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)


def node_tree(topo: Topology, node: str) -> list[int]:
    """Every process of a database node: Patroni's tree and PostgreSQL's.

    Patroni starts the postmaster detached (it is not Patroni's child), so both trees are
    collected: freezing only Patroni is another fault (a hung agent beside a working server).
    """
    postmaster = postgres.postmaster_pid(topo, node)
    if postmaster is None:
        raise RehearsalError(f"{node} has no running postmaster: nothing to freeze")
    return sorted(set(program_tree(topo, node)) | set(process_tree(postmaster)))


def _path_rule(topo: Topology, node: str) -> list[str]:
    """Return the routing rule refusing TCP from this namespace to ``node``'s PostgreSQL port."""
    return [
        "to",
        f"{topo.host(node)}/32",
        "ipproto",
        "tcp",
        "dport",
        str(topo.port(node)),
        "prohibit",
    ]


def cut_data_path(topo: Topology, node: str) -> None:
    """Cut the path from HAProxy (and every client here) to ``node``'s PostgreSQL port only.

    Patroni's REST API on the same node stays reachable, and so does replication (it runs
    between the nodes' namespaces, not through this one). Needs the nodes in namespaces (root).
    """
    if not topo.netns:
        raise RehearsalError("cutting one port's path needs the nodes in network namespaces (root)")
    _ip_rule("add", *_path_rule(topo, node))


def heal_data_path(topo: Topology, node: str) -> None:
    """Undo :func:`cut_data_path` (every copy of the rule, so a rerun starts clean)."""
    while _ip_rule("del", *_path_rule(topo, node), check=False) == 0:
        pass


def _ip_rule(*args: str, check: bool = True) -> int:
    return run_tool("ip", "rule", *args, check=check, timeout=10).returncode
