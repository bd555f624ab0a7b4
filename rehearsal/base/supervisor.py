"""A thin client of supervisord (through ``supervisorctl``), the rehearsal's process manager."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass

from rehearsal.base.topology import Topology


class SupervisorError(RuntimeError):
    """supervisorctl failed."""


@dataclass(frozen=True)
class Process:
    """One supervised program: its state and pid."""

    name: str
    state: str
    pid: int | None


def _ctl_path() -> str:
    path = shutil.which("supervisorctl")
    if path is None:
        raise SupervisorError("supervisorctl is not installed (Debian package `supervisor`)")
    return path


def ctl(topo: Topology, *args: str, timeout: float = 60, check: bool = True) -> str:
    """Run supervisorctl with this stack's config; return its output."""
    result = subprocess.run(  # noqa: PLW1510 - checked below
        [_ctl_path(), "-c", str(topo.supervisor_conf), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    # supervisorctl exits 3 for `status` when some process is not running: not an error here.
    if check and result.returncode not in (0, 3):
        raise SupervisorError(
            f"supervisorctl {' '.join(args)} failed: {(result.stdout + result.stderr).strip()}"
        )
    return result.stdout


def running(topo: Topology) -> bool:
    """Return whether supervisord answers on its socket."""
    if not topo.supervisor_sock.exists():
        return False
    result = subprocess.run(
        [_ctl_path(), "-c", str(topo.supervisor_conf), "pid"],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    return result.returncode == 0 and result.stdout.strip().isdigit()


def status(topo: Topology) -> dict[str, Process]:
    """Return every program's state and pid."""
    processes: dict[str, Process] = {}
    for line in ctl(topo, "status").splitlines():
        parts = line.split()
        if len(parts) < 2:  # noqa: PLR2004
            continue
        pid = None
        if len(parts) >= 4 and parts[2] == "pid":  # noqa: PLR2004
            pid = int(parts[3].rstrip(","))
        processes[parts[0]] = Process(parts[0], parts[1], pid)
    return processes


def start(topo: Topology, name: str) -> None:
    """Start a program (supervisord waits ``startsecs`` for it to stay up)."""
    out = ctl(topo, "start", name)
    if "ERROR" in out and "already started" not in out:
        raise SupervisorError(f"could not start {name}: {out.strip()} (see its log)")


def stop(topo: Topology, name: str, timeout: float = 60) -> None:
    """Stop a program (signal, then wait up to its ``stopwaitsecs``)."""
    out = ctl(topo, "stop", name, timeout=timeout)
    if "ERROR" in out and "not running" not in out:
        raise SupervisorError(f"could not stop {name}: {out.strip()}")


def signal(topo: Topology, name: str, sig: str) -> None:
    """Send a signal (e.g. ``TERM``) to a program."""
    ctl(topo, "signal", sig, name)


def pid(topo: Topology, name: str) -> int | None:
    """Return a program's pid, or None when it is not running."""
    return status(topo)[name].pid
