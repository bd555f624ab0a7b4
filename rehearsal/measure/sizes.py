"""How big each rehearsal is: ``full`` for `make rehearse`, ``ci`` for the test suite."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Size:
    """Load and timing of one rehearsal run."""

    name: str
    concurrency: int  # hey workers
    rate: int  # requests/s per worker
    baseline_seconds: float  # load before anything happens ("before" latency)
    tail_seconds: float  # load after the last step
    probe_interval: float  # seconds between two polls of each endpoint
    outage_until_firing: bool  # hold the outage until the alert fires (else until pending)
    fault_margin_seconds: float = 25  # an HA fault is held this much longer than Patroni's ttl


FULL = Size("full", concurrency=8, rate=25, baseline_seconds=20, tail_seconds=10,
            probe_interval=0.1, outage_until_firing=True)  # fmt: skip
CI = Size("ci", concurrency=4, rate=25, baseline_seconds=6, tail_seconds=4,
          probe_interval=0.1, outage_until_firing=False, fault_margin_seconds=10)  # fmt: skip
SIZES = {s.name: s for s in (FULL, CI)}

# After the database is back (a promotion, the end of an outage): every instance UP within this.
RECOVERY_TARGET_SECONDS = 10.0
