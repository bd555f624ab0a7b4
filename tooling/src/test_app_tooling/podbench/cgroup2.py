"""A cgroup v2 (unified hierarchy) group with a pod's CPU quota and memory limit.

File protocol from the kernel's cgroup-v2 documentation: `cpu.max` ("<quota> <period>"),
`memory.max`, `cpu.stat` (`usage_usec`, `nr_periods`, `nr_throttled`, `throttled_usec`),
`memory.current`, `memory.peak`, `memory.stat` (`anon`) and `memory.events` (`max`, `oom_kill`).
The group is created below this process's own cgroup, whose `cgroup.subtree_control` must enable
`cpu` and `memory`. A process may not live in a cgroup that enables controllers for its children,
so inside a container (own cgroup `/`) the container's processes first move to a leaf `init`
group, the way Docker's dind script enables nesting.
"""

from __future__ import annotations

import errno
from pathlib import Path

from test_app_tooling.podbench.cgroup import (
    BENCH_SHARES,
    CFS_PERIOD_US,
    ROOT,
    CgroupError,
    CgroupV1,
    CpuCounters,
    MemoryCounters,
    PodCgroup,
    _counters,
    own_paths,
    remove_dirs,
)


NEEDED = ("cpu", "memory")
LEAF = "init"  # where a container's processes move so that its root cgroup can delegate


def is_unified(root: Path = ROOT) -> bool:
    """Tell whether `root` is a cgroup v2 mount."""
    return (root / "cgroup.controllers").is_file()


def _read_ints(path: Path) -> dict[str, int]:
    return _counters(path.read_text()) if path.is_file() else {}


class CgroupV2:
    """One group, named `name`, with the given CPU quota and memory limit."""

    version = 2

    def __init__(  # noqa: PLR0913, PLR0917 - the group's limits, each optional but the first
        self,
        name: str,
        cpu_cores: float,
        memory_bytes: int,
        root: Path = ROOT,
        proc_cgroup: str | None = None,
        cpus: str | None = None,
    ) -> None:
        self.cpus = cpus
        self.needed = (*NEEDED, "cpuset") if cpus is not None else NEEDED
        own = own_paths(proc_cgroup or Path("/proc/self/cgroup").read_text()).get("", "/")
        self.root = root
        # A process already moved to the `init` leaf (by an earlier run) makes its groups beside it.
        self.parent = root if own.strip("/") == LEAF else root / own.lstrip("/")
        self.dir = self.parent / name
        self.cpu_cores = cpu_cores
        self.memory_bytes = memory_bytes

    def _delegate(self) -> None:
        """Enable cpu and memory for the parent's children (moving its processes if needed)."""
        control = self.parent / "cgroup.subtree_control"
        enabled = control.read_text().split()
        missing = [c for c in self.needed if c not in enabled]
        if not missing:
            return
        available = (self.parent / "cgroup.controllers").read_text().split()
        if any(c not in available for c in missing):
            raise CgroupError(
                f"{self.parent}: cgroup v2 controllers {missing} are not available to this "
                f"cgroup (available: {available})"
            )
        request = " ".join(f"+{c}" for c in missing)
        try:
            control.write_text(request)
        except OSError as err:
            if err.errno != errno.EBUSY or self.parent != self.root:
                raise CgroupError(
                    f"cannot enable {request} in {control} ({err.strerror}); run make bench-pod "
                    "as root in a cgroup that delegates cpu and memory"
                ) from None
            self._move_processes_to_leaf()
            control.write_text(request)

    def _move_processes_to_leaf(self) -> None:
        leaf = self.root / LEAF
        leaf.mkdir(exist_ok=True)
        for pid in (self.root / "cgroup.procs").read_text().split():
            try:
                (leaf / "cgroup.procs").write_text(pid)
            except OSError:
                continue  # the process ended, or is a kernel thread that cannot move

    def create(self) -> None:
        """Make the group and write the limits (root only)."""
        try:
            self._delegate()
            self.dir.mkdir(exist_ok=True)
            quota = round(self.cpu_cores * CFS_PERIOD_US)
            (self.dir / "cpu.max").write_text(f"{quota} {CFS_PERIOD_US}")
            (self.dir / "memory.max").write_text(str(self.memory_bytes))
            if (self.dir / "memory.swap.max").exists():
                (self.dir / "memory.swap.max").write_text("0")  # the kubelet's default, no swap
            if self.cpus is not None:
                (self.dir / "cpuset.cpus").write_text(self.cpus)
        except PermissionError as err:
            raise CgroupError(
                f"cannot write {err.filename}: make bench-pod must run as root"
            ) from None

    def enter_command(self, cmd: list[str]) -> list[str]:
        """`cmd` wrapped so that it moves itself into the group before it starts."""
        return ["/bin/sh", "-c", f'echo $$ > {self.dir / "cgroup.procs"}; exec "$@"', "sh", *cmd]

    def applied(self) -> dict[str, int | str]:
        """Read back the quota, period, memory limit (and CPUs, when pinned) from the kernel."""
        quota, period = (self.dir / "cpu.max").read_text().split()
        applied: dict[str, int | str] = {
            "cfs_quota_us": -1 if quota == "max" else int(quota),
            "cfs_period_us": int(period),
            "memory_limit_bytes": int((self.dir / "memory.max").read_text()),
        }
        if self.cpus is not None:
            applied["cpuset_cpus"] = (self.dir / "cpuset.cpus.effective").read_text().strip()
        return applied

    def pids(self) -> list[int]:
        """Every process in the group."""
        return [int(pid) for pid in (self.dir / "cgroup.procs").read_text().split()]

    def cpu(self) -> CpuCounters:
        """Read the CPU counters (microseconds in v2, nanoseconds here)."""
        stat = _read_ints(self.dir / "cpu.stat")
        return CpuCounters(
            periods=stat.get("nr_periods", 0),
            throttled_periods=stat.get("nr_throttled", 0),
            throttled_ns=stat.get("throttled_usec", 0) * 1000,
            usage_ns=stat["usage_usec"] * 1000,
        )

    def memory(self) -> MemoryCounters:
        """Read the memory counters; the peak is since the group was made (`memory.peak`)."""
        current = int((self.dir / "memory.current").read_text())
        peak_file = self.dir / "memory.peak"
        events = _read_ints(self.dir / "memory.events")
        return MemoryCounters(
            usage_bytes=current,
            peak_bytes=int(peak_file.read_text()) if peak_file.is_file() else current,
            rss_bytes=_read_ints(self.dir / "memory.stat")["anon"],
            limit_hits=events.get("max", 0),
            oom_kills=events.get("oom_kill", 0),
        )

    def reset_peak(self) -> None:
        """Keep the peak since creation: v2's `memory.peak` resets only per open file."""

    def remove(self, timeout: float = 10.0) -> None:
        """Remove the group once its processes have exited."""
        remove_dirs([self.dir], timeout)


def pod_cgroup(
    name: str, cpu_cores: float, memory_bytes: int, root: Path = ROOT, cpus: str | None = None
) -> PodCgroup:
    """Open the pod's group in whichever hierarchy this machine mounts at `root`.

    `cpus` (a cpuset list such as "1") pins the group's processes to those CPUs.
    """
    if is_unified(root):
        return CgroupV2(name, cpu_cores, memory_bytes, root, cpus=cpus)
    return CgroupV1(name, cpu_cores, memory_bytes, root, cpus=cpus, shares=BENCH_SHARES)
