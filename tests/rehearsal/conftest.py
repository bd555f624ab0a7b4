"""Fixtures of the rehearsal tests: a whole rehearsal on free ports in a temporary folder."""

from __future__ import annotations

import os
import random
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from rehearsal.base.topology import MAX_PORT_OFFSET, OFFSETS, Topology, app_programs
from test_app_tooling.ports import port_free
from test_app_tooling.tools import REPO


# Below Linux's ephemeral range (32768-60999), so no client socket takes one of our ports.
PORT_RANGE = (20000, 32000)
PROGRAMS = ["haproxy", "supervisord", "prometheus", "prometheus-alertmanager",
            "prometheus-node-exporter", "prometheus-postgres-exporter",
            "prometheus-blackbox-exporter", "hey", "pg_config",
            "promtool", "amtool", "patroni", "etcd", "openssl", "moto_server"]  # fmt: skip


def free_port_base() -> int:
    """A base whose every rehearsal port is free right now."""
    offsets = [*OFFSETS.values(), *range(20, 20 + len(app_programs()))]
    bases = list(range(PORT_RANGE[0], PORT_RANGE[1] - MAX_PORT_OFFSET, 100))
    random.shuffle(bases)
    for base in bases:
        if all(port_free(base + offset) for offset in offsets):
            return base
    pytest.fail("no free block of ports for the rehearsal")


@dataclass(frozen=True)
class Live:
    """A running rehearsal and how to drive it."""

    topo: Topology
    env: dict[str, str]

    def cli(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        """Run ``python -m rehearsal ARGS`` against this rehearsal; fail the test when it fails."""
        result = subprocess.run(
            [str(REPO / ".venv" / "bin" / "python"), "-m", "rehearsal", *args],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            pytest.fail(
                f"rehearsal {' '.join(args)} exited {result.returncode}\n"
                f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}",
                pytrace=False,
            )
        return result


@pytest.fixture(scope="session")
def rehearsal(tmp_path_factory: pytest.TempPathFactory, tool) -> Iterator[Live]:
    """One rehearsal for the whole session, always taken down (and purged) at its end.

    Bringing one up costs minutes, so the modules share it (see `live`).
    """
    for program in PROGRAMS:
        tool(program)
    state = tmp_path_factory.mktemp("rehearsal") / "state"
    base = free_port_base()
    env = {
        **os.environ,
        "REHEARSAL_PORT_BASE": str(base),
        "REHEARSAL_STATE_DIR": str(state),
        "REHEARSAL_DRAIN_SECONDS": "2",
    }
    topo = Topology(port_base=base, state_dir=state, drain_seconds=2)
    try:
        yield Live(topo, env)
    finally:
        subprocess.run(
            [str(REPO / ".venv" / "bin" / "python"), "-m", "rehearsal", "down", "--purge"],
            cwd=REPO,
            env=env,
            timeout=300,
            check=False,
        )


@pytest.fixture(scope="module")
def live(rehearsal: Live) -> Live:
    """The session's rehearsal, up for the module.

    `up` is safe to rerun: on a running rehearsal it starts only what is stopped, so a module
    that comes after one that took the rehearsal down (`down`) gets a running one again.
    """
    rehearsal.cli("up")
    return rehearsal


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    """Reports of the CI-sized rehearsals go to a temporary folder, never into the repo."""
    return tmp_path / "reports"
