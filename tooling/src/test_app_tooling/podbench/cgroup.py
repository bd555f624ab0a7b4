"""A cgroup v1 group with a pod's CPU quota and memory limit, and the counters it keeps.

The group is created below the cgroups this process already belongs to (one per controller), so
every limit of the surrounding environment still applies. Needs root and cgroup v1 `cpu`,
`cpuacct` and `memory` controllers mounted under /sys/fs/cgroup. `PodCgroup` is what the
benchmark uses of a group; `cgroup2` beside this module implements it for the unified
hierarchy (v2).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


ROOT = Path("/sys/fs/cgroup")
CONTROLLERS = ("cpu", "cpuacct", "memory")
CFS_PERIOD_US = 100_000  # the kubelet's CFS period (Kubernetes default, 100 ms)
# cpu.shares of the benchmark's groups (the kernel's maximum; a process of the root group weighs
# 1024): on a shared machine the pod and the generator get their CPUs first, other work waits.
# The quota still caps the pod; the weight only decides who runs when both want the CPU.
BENCH_SHARES = 262_144


class CgroupError(RuntimeError):
    """The cgroup v1 controllers are missing or not writable."""


@dataclass(frozen=True)
class CpuCounters:
    """Cumulative CPU counters of the group (cpu.stat and cpuacct.usage)."""

    periods: int
    throttled_periods: int
    throttled_ns: int
    usage_ns: int


@dataclass(frozen=True)
class MemoryCounters:
    """The group's memory: usage now, the peak since the last reset, anonymous (RSS) memory."""

    usage_bytes: int
    peak_bytes: int
    rss_bytes: int
    limit_hits: int  # memory.failcnt: allocations that met the limit
    oom_kills: int


def own_paths(proc_cgroup: str) -> dict[str, str]:
    """Map each controller to this process's path in it, from the text of /proc/self/cgroup."""
    paths: dict[str, str] = {}
    for line in proc_cgroup.splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(","):
            paths[controller] = path
    return paths


def _counters(text: str) -> dict[str, int]:
    return {key: int(value) for key, value in (line.split() for line in text.splitlines() if line)}


class PodCgroup(Protocol):
    """A pod's cgroup, whichever hierarchy holds it."""

    memory_bytes: int
    version: int

    def create(self) -> None:
        """Make the group and write the limits."""

    def enter_command(self, cmd: list[str]) -> list[str]:
        """`cmd` wrapped so that it moves itself into the group before it starts."""

    def applied(self) -> dict[str, int | str]:
        """Read back the quota, period, memory limit (and the cpuset's CPUs, when pinned)."""

    def pids(self) -> list[int]:
        """Every process in the group."""

    def cpu(self) -> CpuCounters:
        """Read the CPU counters."""

    def memory(self) -> MemoryCounters:
        """Read the memory counters."""

    def reset_peak(self) -> None:
        """Start a new peak measurement where the hierarchy allows it."""

    def remove(self, timeout: float = 10.0) -> None:
        """Remove the group once its processes have exited."""


def remove_dirs(dirs: list[Path], timeout: float) -> None:
    """Remove cgroup directories once their processes have exited."""
    deadline = time.monotonic() + timeout
    for directory in dirs:
        while directory.exists():
            try:
                directory.rmdir()
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)


class CgroupV1:
    """One group per controller, named `name`, with the given CPU quota and memory limit."""

    version = 1

    def __init__(  # noqa: PLR0913, PLR0917 - the group's limits, each optional but the first
        self,
        name: str,
        cpu_cores: float,
        memory_bytes: int,
        root: Path = ROOT,
        proc_cgroup: str | None = None,
        cpus: str | None = None,
        shares: int | None = None,
    ) -> None:
        paths = own_paths(proc_cgroup or Path("/proc/self/cgroup").read_text())
        self.dirs: dict[str, Path] = {}
        self.cpus, self.shares = cpus, shares
        for controller in (*CONTROLLERS, *(("cpuset",) if cpus is not None else ())):
            mount = root / controller
            if controller not in paths or not (mount / "cgroup.procs").is_file():
                raise CgroupError(
                    f"cgroup v1 controller {controller!r} is not mounted at {mount}; "
                    "make bench-pod needs cgroup v1 cpu, cpuacct, memory and cpuset controllers"
                )
            self.dirs[controller] = mount / paths[controller].lstrip("/") / name
        self.cpu_cores = cpu_cores
        self.memory_bytes = memory_bytes

    def create(self) -> None:
        """Make the groups and write the limits (root only)."""
        try:
            for directory in self.dirs.values():
                directory.mkdir(exist_ok=True)
            cpu = self.dirs["cpu"]
            (cpu / "cpu.cfs_period_us").write_text(str(CFS_PERIOD_US))
            (cpu / "cpu.cfs_quota_us").write_text(str(round(self.cpu_cores * CFS_PERIOD_US)))
            if self.shares is not None:
                (cpu / "cpu.shares").write_text(str(self.shares))
            (self.dirs["memory"] / "memory.limit_in_bytes").write_text(str(self.memory_bytes))
            if self.cpus is not None:  # a task joining a cpuset runs on its CPUs only
                cpuset = self.dirs["cpuset"]
                mems = (cpuset.parent / "cpuset.mems").read_text().strip()
                (cpuset / "cpuset.mems").write_text(mems)
                (cpuset / "cpuset.cpus").write_text(self.cpus)
        except PermissionError as err:
            raise CgroupError(
                f"cannot write {err.filename}: make bench-pod must run as root"
            ) from None

    def enter_command(self, cmd: list[str]) -> list[str]:
        """`cmd` wrapped so that it moves itself into the groups before it starts."""
        moves = "; ".join(f"echo $$ > {d / 'cgroup.procs'}" for d in self.dirs.values())
        return ["/bin/sh", "-c", f'{moves}; exec "$@"', "sh", *cmd]

    def applied(self) -> dict[str, int | str]:
        """Read back the quota, period, memory limit and CPUs as the kernel holds them."""
        cpu, memory = self.dirs["cpu"], self.dirs["memory"]
        applied: dict[str, int | str] = {
            "cfs_quota_us": int((cpu / "cpu.cfs_quota_us").read_text()),
            "cfs_period_us": int((cpu / "cpu.cfs_period_us").read_text()),
            "memory_limit_bytes": int((memory / "memory.limit_in_bytes").read_text()),
        }
        if self.shares is not None:
            applied["cpu_shares"] = int((cpu / "cpu.shares").read_text())
        if "cpuset" in self.dirs:
            applied["cpuset_cpus"] = (self.dirs["cpuset"] / "cpuset.cpus").read_text().strip()
        return applied

    def pids(self) -> list[int]:
        """Every process in the group."""
        text = (self.dirs["memory"] / "cgroup.procs").read_text()
        return [int(pid) for pid in text.split()]

    def cpu(self) -> CpuCounters:
        """Read the CPU counters."""
        stat = _counters((self.dirs["cpu"] / "cpu.stat").read_text())
        return CpuCounters(
            periods=stat["nr_periods"],
            throttled_periods=stat["nr_throttled"],
            throttled_ns=stat["throttled_time"],
            usage_ns=int((self.dirs["cpuacct"] / "cpuacct.usage").read_text()),
        )

    def memory(self) -> MemoryCounters:
        """Read the memory counters."""
        memory = self.dirs["memory"]
        stat = _counters((memory / "memory.stat").read_text())
        oom = _counters((memory / "memory.oom_control").read_text())
        return MemoryCounters(
            usage_bytes=int((memory / "memory.usage_in_bytes").read_text()),
            peak_bytes=int((memory / "memory.max_usage_in_bytes").read_text()),
            rss_bytes=stat["rss"],
            limit_hits=int((memory / "memory.failcnt").read_text()),
            oom_kills=oom.get("oom_kill", 0),
        )

    def reset_peak(self) -> None:
        """Start a new peak measurement (memory.max_usage_in_bytes)."""
        (self.dirs["memory"] / "memory.max_usage_in_bytes").write_text("0")

    def remove(self, timeout: float = 10.0) -> None:
        """Remove the groups once their processes have exited."""
        remove_dirs(list(self.dirs.values()), timeout)


class PinnedSelf:
    """The benchmark's own process (and what it starts later) in a cpu + cpuset group.

    For the load generators and PostgreSQL: pinned to their CPUs, weighted like the pod. Leaving
    moves the process back to its parent groups and removes the group.
    """

    def __init__(self, name: str, cpus: str, shares: int, root: Path = ROOT) -> None:
        paths = own_paths(Path("/proc/self/cgroup").read_text())
        self.dirs = {c: root / c / paths[c].lstrip("/") / name for c in ("cpu", "cpuset")}
        self.cpus, self.shares = cpus, shares

    def enter(self) -> None:
        """Make the groups and move this process into them."""
        try:
            for directory in self.dirs.values():
                directory.mkdir(exist_ok=True)
            cpuset = self.dirs["cpuset"]
            (cpuset / "cpuset.mems").write_text((cpuset.parent / "cpuset.mems").read_text())
            (cpuset / "cpuset.cpus").write_text(self.cpus)
            (self.dirs["cpu"] / "cpu.shares").write_text(str(self.shares))
            for directory in self.dirs.values():
                (directory / "cgroup.procs").write_text(str(os.getpid()))
        except PermissionError as err:
            raise CgroupError(
                f"cannot write {err.filename}: make bench-pod must run as root"
            ) from None

    def leave(self, timeout: float = 10.0) -> None:
        """Move this process back and remove the groups once its children have left."""
        for directory in self.dirs.values():
            (directory.parent / "cgroup.procs").write_text(str(os.getpid()))
        remove_dirs(list(self.dirs.values()), timeout)
