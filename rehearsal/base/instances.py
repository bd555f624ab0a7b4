"""The app instances: which slot of each runs, their pids, Prometheus' view of them."""

from __future__ import annotations

from rehearsal.base import configs, supervisor
from rehearsal.base.errors import RehearsalError
from rehearsal.base.topology import APP_INSTANCES, SLOTS, Topology, app_program


def running_slots(topo: Topology) -> dict[int, list[str]]:
    """Return the slots each instance runs in now (normally exactly one)."""
    procs = supervisor.status(topo)
    return {
        ordinal: [s for s in SLOTS if procs[app_program(ordinal, s)].state == "RUNNING"]
        for ordinal in range(1, APP_INSTANCES + 1)
    }


def active_slots(topo: Topology) -> dict[int, str]:
    """Return which slot of each instance runs now; fail unless each runs in exactly one."""
    active = {}
    for ordinal, running in running_slots(topo).items():
        if len(running) != 1:
            raise RehearsalError(f"instance {ordinal} must run in exactly one slot: {running}")
        active[ordinal] = running[0]
    return active


def slots_to_start(topo: Topology) -> list[str]:
    """Return the slot each instance runs in now (after a rollout: green), else the first."""
    return [
        app_program(ordinal, running[0] if running else SLOTS[0])
        for ordinal, running in running_slots(topo).items()
    ]


def running_apps(topo: Topology) -> list[str]:
    """Return the running app slots, one per instance."""
    return [app_program(n, slot) for n, slot in active_slots(topo).items()]


def app_pids(topo: Topology) -> dict[str, int | None]:
    """Return the pid of every running app instance."""
    return {
        name: proc.pid
        for name, proc in supervisor.status(topo).items()
        if name.startswith("app") and proc.pid
    }


def write_app_targets(topo: Topology, running: list[str]) -> None:
    """Atomically rewrite the file_sd targets (Prometheus reloads it on change)."""
    tmp = topo.app_targets_file.with_suffix(".tmp")
    tmp.write_text(configs.render_app_targets(topo, running))
    tmp.replace(topo.app_targets_file)
