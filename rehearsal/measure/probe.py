"""A prober that polls endpoints of each app instance, as a kubelet and a monitor would."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Self

import httpx

from rehearsal.base.topology import Topology
from test_app_tooling.process import HTTP_OK, wait_until


@dataclass(frozen=True)
class Observation:
    """One poll: monotonic time it was sent, target label, HTTP status (0 when no answer)."""

    at: float
    target: str
    status: int


def instance_targets(topo: Topology, apps: list[str]) -> dict[str, str]:
    """Return /health, /livez and /readyz of each instance, polled directly like a kubelet would."""
    targets = {}
    for name in apps:
        for path in ("/health", "/livez", "/readyz"):
            targets[f"{name} {path}"] = topo.url(name, path)
    return targets


def promotion_label(node: str) -> str:
    """Label of the probe of ``node``'s Patroni ``GET /primary`` (200 once it leads)."""
    return f"{node} Patroni /primary"


def promotion_target(topo: Topology, node: str) -> dict[str, str]:
    """Return the probe of ``node``'s Patroni ``GET /primary``: the moment it is promoted."""
    return {promotion_label(node): topo.url(f"patroni-{node}", "/primary")}


class Prober:
    """Polls ``targets`` (label -> URL) every ``interval`` seconds in a background thread."""

    def __init__(self, targets: dict[str, str], interval: float = 0.1) -> None:
        self.targets = targets
        self.interval = interval
        self.observations: list[Observation] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(
                target=self._run, args=(label, url), name=f"probe-{label}", daemon=True
            )
            for label, url in targets.items()
        ]

    def __enter__(self) -> Self:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)

    def _run(self, label: str, url: str) -> None:
        """Poll one target (one thread each, so a slow target never delays the others)."""
        with httpx.Client(timeout=1.0) as client:
            while not self._stop.is_set():
                tick = time.monotonic()
                try:
                    status = client.get(url).status_code
                except httpx.HTTPError:
                    status = 0
                with self._lock:
                    # Stamped when the request was sent: a slow DOWN counts from its start.
                    self.observations.append(Observation(tick, label, status))
                self._stop.wait(max(0.0, self.interval - (time.monotonic() - tick)))

    def of(self, target: str) -> list[Observation]:
        """Observations of one target, in time order."""
        with self._lock:
            return sorted((o for o in self.observations if o.target == target), key=lambda o: o.at)

    def failures(self, apps: list[str], path: str) -> tuple[int, int]:
        """(answers not 200, polls) of every instance's ``path`` (``/livez``, ``/readyz``)."""
        polls = [o for name in apps for o in self.of(f"{name} {path}")]
        return sum(1 for o in polls if o.status != HTTP_OK), len(polls)

    def wait_for(self, target: str, status: int, after: float, timeout: float) -> float:
        """Wait until ``target`` answered ``status`` after time ``after``; return that time."""
        seen: list[float] = []

        def answered() -> bool:
            seen[:] = [o.at for o in self.of(target) if o.at >= after and o.status == status]
            return bool(seen)

        wait_until(answered, timeout, f"{target} to answer {status}", interval=self.interval)
        return seen[0]


def recovered_at(observations: list[Observation], after: float, ok: int = 200) -> float | None:
    """Time of the first ``ok`` answer after the last bad one since ``after`` (None: never bad).

    For "UP again": the answer that ended the last DOWN run, not an UP from before the failure.
    """
    last_bad: float | None = None
    for obs in observations:
        if obs.at >= after and obs.status != ok:
            last_bad = obs.at
    if last_bad is None:
        return None
    return next((o.at for o in observations if o.at > last_bad and o.status == ok), None)


def down_seconds(observations: list[Observation], ok: int = 200) -> float:
    """Total time a target was not answering ``ok``.

    Each run of bad answers counts from its first bad observation to the next good one (or the
    last observation when none follows), so one bad poll still counts the interval it covers.
    """
    total = 0.0
    started: float | None = None
    for obs in observations:
        if obs.status != ok and started is None:
            started = obs.at
        elif obs.status == ok and started is not None:
            total += obs.at - started
            started = None
    if started is not None and observations:
        total += observations[-1].at - started
    return total
