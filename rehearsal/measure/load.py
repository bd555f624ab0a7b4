"""Bounded HTTP load with ``hey`` and per-request results.

``hey -o csv`` writes one row per answered request (latency, status, start offset). A request
that got no answer at all (refused, reset, timed out) has no row, so with a fixed request count
``-n`` the failures are ``requests sent - rows with 2xx``. Load is bounded in count and in time.
"""

from __future__ import annotations

import csv
import io
import math
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from test_app_tooling.tools import MissingToolError, find_tool


class LoadError(RuntimeError):
    """hey could not run or its output is unusable."""


@dataclass(frozen=True)
class Sample:
    """One answered request: start offset and latency in seconds, HTTP status."""

    offset: float
    latency: float
    status: int


@dataclass(frozen=True)
class LoadSpec:
    """What to send: ``concurrency`` workers at ``rate`` requests/s each, ``requests`` in all."""

    url: str
    concurrency: int
    rate: int
    requests: int
    timeout_seconds: int = 5

    @classmethod
    def for_seconds(cls, url: str, concurrency: int, rate: int, seconds: float) -> LoadSpec:
        """Enough requests for ``seconds`` at the nominal rate (a scenario stops it when done)."""
        return cls(url, concurrency, rate, requests=concurrency * rate * math.ceil(seconds))

    @property
    def nominal_seconds(self) -> float:
        """Duration at the nominal rate."""
        return self.requests / (self.concurrency * self.rate)


@dataclass
class LoadResult:
    """Samples of one run and the count of requests sent."""

    spec: LoadSpec
    samples: list[Sample]
    started_at: float  # time.monotonic() when hey started
    complete: bool = True  # False when stopped early: requests without an answer are unknown

    @property
    def sent(self) -> int:
        """Requests hey sent: each worker sends ``requests // concurrency``."""
        if not self.complete:
            return len(self.samples)
        return (self.spec.requests // self.spec.concurrency) * self.spec.concurrency

    @property
    def unanswered(self) -> int:
        """Requests with no HTTP answer (connection refused, reset, timed out)."""
        return self.sent - len(self.samples)

    def failed(self, start: float = 0, end: float = float("inf")) -> int:
        """Non-2xx answers between offsets ``start`` and ``end``, plus every unanswered request."""
        bad = sum(1 for s in self.samples if start <= s.offset < end and not 200 <= s.status < 300)  # noqa: PLR2004
        return bad + (self.unanswered if start == 0 and end == float("inf") else 0)

    def failures_by_type(self) -> dict[str, int]:
        """Failed requests by kind: ``HTTP <status>`` for each non-2xx status, ``no answer``."""
        kinds: dict[str, int] = {}
        for sample in self.samples:
            if not 200 <= sample.status < 300:  # noqa: PLR2004
                key = f"HTTP {sample.status}"
                kinds[key] = kinds.get(key, 0) + 1
        if self.unanswered:
            kinds["no answer"] = self.unanswered
        return dict(sorted(kinds.items()))

    def latency_ms(self, start: float = 0, end: float = float("inf")) -> dict[str, float]:
        """p50, p99 and max latency (ms) of requests started between ``start`` and ``end``."""
        values = np.array([s.latency for s in self.samples if start <= s.offset < end])
        if values.size == 0:
            return {"count": 0, "p50": float("nan"), "p99": float("nan"), "max": float("nan")}
        return {
            "count": int(values.size),
            "p50": round(float(np.percentile(values, 50)) * 1000, 2),
            "p99": round(float(np.percentile(values, 99)) * 1000, 2),
            "max": round(float(values.max()) * 1000, 2),
        }


def parse_csv(text: str) -> list[Sample]:
    """Parse hey's CSV; fail on a header hey does not write."""
    reader = csv.DictReader(io.StringIO(text))
    wanted = {"response-time", "status-code", "offset"}
    if reader.fieldnames is None or not wanted <= set(reader.fieldnames):
        raise LoadError(f"hey CSV header must contain {sorted(wanted)}, got {reader.fieldnames}")
    return [
        Sample(float(row["offset"]), float(row["response-time"]), int(row["status-code"]))
        for row in reader
    ]


class Load:
    """One hey run in the background."""

    def __init__(self, spec: LoadSpec, out_csv: Path) -> None:
        try:
            hey = find_tool("hey")
        except MissingToolError as exc:
            raise LoadError(f"{exc} (Debian package `hey`)") from exc
        if spec.requests < spec.concurrency:
            raise LoadError("requests must be at least the concurrency")
        self.spec = spec
        self.out_csv = out_csv
        self._file = out_csv.open("w")
        self.started_at = time.monotonic()
        self._proc = subprocess.Popen(
            [
                hey,
                "-n",
                str(spec.requests),
                "-c",
                str(spec.concurrency),
                "-q",
                str(spec.rate),
                "-t",
                str(spec.timeout_seconds),
                "-o",
                "csv",
                spec.url,
            ],
            stdout=self._file,
            stderr=subprocess.PIPE,
            text=True,
        )

    def running(self) -> bool:
        """Return whether hey is still sending."""
        return self._proc.poll() is None

    def stop(self) -> LoadResult:
        """Stop hey early (SIGINT: it reports what it has); the result is marked incomplete."""
        if self.running():
            self._proc.send_signal(signal.SIGINT)
        result = self.wait(timeout=30)
        result.complete = False
        return result

    def wait(self, timeout: float) -> LoadResult:
        """Wait for hey to finish; return the parsed results."""
        try:
            _, err = self._proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.communicate()
            raise LoadError(f"hey did not finish within {timeout:g}s") from None
        finally:
            self._file.close()
        if self._proc.returncode != 0:
            raise LoadError(f"hey failed ({self._proc.returncode}): {err.strip()}")
        return LoadResult(self.spec, parse_csv(self.out_csv.read_text()), self.started_at)
