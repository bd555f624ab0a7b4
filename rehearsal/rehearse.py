"""``make rehearse``: run the rehearsals against the running topology and write their reports."""

from __future__ import annotations

import shlex
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from rehearsal.base import supervisor
from rehearsal.base.errors import RehearsalError
from rehearsal.base.topology import Topology
from rehearsal.measure import summary
from rehearsal.measure.report import Report
from rehearsal.measure.sizes import SIZES, Size
from rehearsal.scenarios import (
    canary,
    crash_primary,
    failover,
    ha_faults,
    kill_instance,
    outage,
    rollout,
    rotate,
)
from test_app_tooling.tools import REPO


DEFAULT_OUT = REPO / "docs" / "rehearsal"
# In the order `make rehearse` runs them: each leaves the topology whole for the next. `dcs-loss`
# comes after every fault that needs a prompt failover (see docs/rehearsal.md: a crash failover
# soon after it came a loop late in 4 of 12 runs, and once lost its race).
Runner = Callable[[Topology, Size, Path, str], Report]
RUNNERS: dict[str, Runner] = {
    "rollout": rollout.run,
    "failover": failover.run,
    "crash-primary": crash_primary.run,
    "kill-instance": kill_instance.run,
    "rotate": rotate.run,
    "wal-full": partial(ha_faults.run, "wal-full"),
    "freeze-primary": partial(ha_faults.run, "freeze-primary"),
    "partition-primary": partial(ha_faults.run, "partition-primary"),
    "dcs-loss": partial(ha_faults.run, "dcs-loss"),
    "canary": canary.run,
    "outage": outage.run,
}


def main(topo: Topology, which: list[str], size_name: str, out: Path | None) -> int:
    """Run the chosen rehearsals in order; return 0 when every target was met."""
    if not supervisor.running(topo):
        raise RehearsalError("the rehearsal is not running: run `make up` first")
    out_dir = (out or DEFAULT_OUT).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    size = SIZES[size_name]
    failed = []
    for name in which:
        command = (
            "make rehearse-" + name
            if size.name == "full" and out is None
            else ("python -m rehearsal rehearse " + shlex.join([name, "--size", size.name]))
        )
        print(
            f"==> rehearsal: {name} ({size.name}): events, seconds since the load began", flush=True
        )
        began = time.monotonic()
        rep = RUNNERS[name](topo, size, out_dir, command)
        print(f"    {name}: {time.monotonic() - began:.1f}s in all", flush=True)
        for check in rep.checks:
            mark = "ok  " if check.ok else "FAIL"
            print(f"    {mark} {check.name}: {check.value} (target {check.target})", flush=True)
        print(f"    report: {out_dir / (name + '.md')}", flush=True)
        if not rep.passed:
            failed.append(name)
    if out is None and size.name == "full":
        summary.update_guide(reports=out_dir)
        print(f"    results table updated in {summary.GUIDE}", flush=True)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0
