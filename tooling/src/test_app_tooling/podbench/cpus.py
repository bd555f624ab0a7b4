"""Who used which CPU during a step: per-CPU busy time (/proc/stat) and the generator's own CPU.

The pod runs pinned to its CPU(s), the load generator and PostgreSQL to the others. A step can
only count as the pod's limit when the pod used its whole quota; these figures tell the other
two stories apart: the generator's CPU ran out, or other work on the pod's CPU took its time.
"""

from __future__ import annotations

import resource
import time
from dataclasses import dataclass
from pathlib import Path


PROC_STAT = Path("/proc/stat")
IDLE_FIELDS = (3, 4)  # idle and iowait, after the `cpuN` label (user nice system idle iowait ...)
IRQ_FIELDS = (5, 6)  # irq and softirq: the kernel's packet work, charged to no process


@dataclass(frozen=True)
class CpuTimes:
    """Cumulative jiffies per CPU: busy and total, and the CPU time of reaped children (s)."""

    busy: dict[int, int]
    total: dict[int, int]
    children_s: float
    irq: dict[int, int] | None = None  # irq + softirq jiffies


def parse_stat(text: str) -> tuple[dict[int, int], dict[int, int], dict[int, int]]:
    """Busy, total and irq + softirq jiffies per CPU from the text of /proc/stat."""
    busy: dict[int, int] = {}
    total: dict[int, int] = {}
    irq: dict[int, int] = {}
    for line in text.splitlines():
        label, *fields = line.split()
        if not label.startswith("cpu") or label == "cpu":
            continue
        numbers = [int(value) for value in fields[:8]]  # guest time is already in user
        cpu = int(label.removeprefix("cpu"))
        total[cpu] = sum(numbers)
        busy[cpu] = total[cpu] - sum(numbers[i] for i in IDLE_FIELDS)
        irq[cpu] = sum(numbers[i] for i in IRQ_FIELDS)
    return busy, total, irq


def read() -> CpuTimes:
    """Read /proc/stat and the CPU time of this process's reaped children now."""
    busy, total, irq = parse_stat(PROC_STAT.read_text())
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return CpuTimes(busy, total, children.ru_utime + children.ru_stime, irq)


def parse_cpu_list(text: str) -> list[int]:
    """The CPUs of a cpuset list such as `0-2,5` (a clear error for anything else)."""
    cpus: list[int] = []
    for part in text.strip().split(","):
        first, _, last = part.partition("-")
        if not first.isdigit() or (last and not last.isdigit()):
            raise ValueError(f"cpu list: expected numbers and ranges like 0-2,5, got {text!r}")
        cpus.extend(range(int(first), int(last or first) + 1))
    return cpus


def busy_share(before: CpuTimes, after: CpuTimes, cpus: list[int], *, irq: bool = False) -> float:
    """The share of `cpus`' time that was busy (or in irq + softirq) between two readings."""
    then, now = (before.irq or {}, after.irq or {}) if irq else (before.busy, after.busy)
    busy = sum(now.get(c, 0) - then.get(c, 0) for c in cpus)
    total = sum(after.total[c] - before.total[c] for c in cpus)
    return round(busy / total, 3) if total else 0.0


def busy_now(seconds: float = 3.0) -> float:
    """The share of every CPU's time that was busy over the next `seconds`: work running now.

    The load average cannot say this: its one-minute figure still carries a run that ended
    seconds ago (a back-to-back benchmark inherits its predecessor's load).
    """
    before = read()
    time.sleep(seconds)
    after = read()
    return busy_share(before, after, sorted(after.total))


def machine_row(  # noqa: PLR0913, PLR0917 - the facts of one step
    before: CpuTimes,
    after: CpuTimes,
    wall_s: float,
    pod_cpus: list[int],
    generator_cpus: list[int],
    pod_cores: float,
    generator_s: float | None = None,
) -> dict[str, float]:
    """What the CPUs did during a step.

    `generator_s` is the generator's own CPU time when it reported it; otherwise the CPU time
    of the children reaped during the step (the generator processes) counts.
    """
    used = generator_s if generator_s is not None else after.children_s - before.children_s
    pod_busy = busy_share(before, after, pod_cpus)
    kernel = busy_share(before, after, pod_cpus, irq=True) * len(pod_cpus)
    return {
        "generator_cores": round(used / wall_s, 3) if wall_s else 0.0,
        "generator_cpus_busy": busy_share(before, after, generator_cpus),
        "pod_cpus_busy": pod_busy,
        # The kernel's packet work (irq, softirq) on the pod's CPUs, charged to no process.
        "pod_cpus_irq": round(kernel, 3),
        # Busy time on the pod's CPUs that was neither the pod's nor the kernel's packet work:
        # other processes took it.
        "pod_cpus_others": round(max(0.0, pod_busy * len(pod_cpus) - pod_cores - kernel), 3),
    }
