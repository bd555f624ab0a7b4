"""Open-model load over persistent HTTP/1.1 connections, the way a load balancer sends it.

    python -m test_app_tooling.podbench.openload --port 8080 --rate 5000 --seconds 10

Request `i` is due at `start + i / rate`, whether or not earlier ones were answered (an open
model). A due request goes out on an idle keep-alive connection; when none is idle the generator
opens another one, up to `--max-connections` (an ALB opens target connections as it needs them),
and the request waits for a connection meanwhile. Its latency runs from the time it was *due*,
not from the time it was written, so a queue anywhere (in the server, in the kernel, or in front
of a busy connection) shows as latency instead of being hidden by coordinated omission. A request
still waiting or unanswered `--timeout` seconds after it was due counts as a timeout.

No off-the-shelf generator here does this: wrk2 (the coordinated-omission-correcting fork of
wrk) is in no registry this project uses, wrk and autocannon are closed-model, httperf opens a
connection per request, and k6's arrival-rate executors time each request from its send. So this
is the smallest honest one: uvloop, one process, one `asyncio.Protocol` per connection, no
pipelining. It reports its own CPU time, so a run where the generator ran out is recognisable.
The result is one JSON object on standard output (`summarize`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import resource
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any


TICK_S = 0.001  # the dispatcher's period
TIMEOUT_SCAN_S = 0.05  # how often in-flight requests are checked against the timeout


@dataclass
class Counts:
    """What happened to the requests of one run; latencies in seconds from the due time."""

    planned: int = 0
    sent: int = 0
    ok: list[float] = field(default_factory=list)  # 2xx
    refused: list[float] = field(default_factory=list)  # 503 (shed by the server)
    other_status: int = 0
    timeouts: int = 0  # answered late or never: in flight past the timeout
    expired: int = 0  # due but never written: no connection within the timeout
    conn_errors: int = 0  # reset or closed mid-request
    connect_failures: int = 0  # connection attempts refused or failed
    opened: int = 0
    max_open: int = 0
    dispatch_lag: list[float] = field(default_factory=list)  # due -> written, idle connection


def percentile_ms(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile of `values` (seconds) in ms, two decimals; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return round(ordered[rank - 1] * 1000, 2)


def summarize(  # noqa: PLR0913, PLR0917 - the facts of one run
    counts: Counts, rate: float, seconds: float, wall_s: float, cpu_s: float, percentile: float
) -> dict[str, Any]:
    """The run as JSON: counts, rates, latencies of served and refused, the generator's CPU."""
    answered = len(counts.ok) + len(counts.refused) + counts.other_status
    return {
        "tool": "openload",
        "offered_rps": round(rate, 1),
        "seconds": seconds,
        "planned": counts.planned,
        "sent": counts.sent,
        "status_2xx": len(counts.ok),
        "status_503": len(counts.refused),
        "status_other": counts.other_status,
        "timeouts": counts.timeouts,
        "expired": counts.expired,
        "conn_errors": counts.conn_errors,
        "connect_failures": counts.connect_failures,
        "unaccounted": counts.planned - answered - counts.timeouts - counts.expired
        - counts.conn_errors,
        "connections_opened": counts.opened,
        "connections_max_open": counts.max_open,
        "p50_ms": percentile_ms(counts.ok, 0.5),
        "p99_ms": percentile_ms(counts.ok, percentile / 100),
        "max_ms": percentile_ms(counts.ok, 1.0),
        "refused_p99_ms": percentile_ms(counts.refused, 0.99),
        "dispatch_lag_p99_ms": percentile_ms(counts.dispatch_lag, 0.99),
        "wall_s": round(wall_s, 3),
        "generator_cpu_s": round(cpu_s, 3),
        "generator_cores": round(cpu_s / wall_s, 3) if wall_s else 0.0,
    }  # fmt: skip


class _Connection(asyncio.Protocol):
    """One keep-alive connection: at most one request in flight (no pipelining)."""

    def __init__(self, load: _Load) -> None:
        self.load = load
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.due: float | None = None  # due time of the request in flight
        self.written = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.load.connected(self)

    def send(self, due: float, now: float) -> None:
        self.due, self.written, self.buffer = due, now, b""
        assert self.transport is not None
        self.transport.write(self.load.request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0 or self.due is None:
            return
        head = self.buffer[:end].lower()
        at = head.find(b"content-length:")
        length = 0
        if at >= 0:
            line_end = head.find(b"\r\n", at)
            length = int(head[at + 15 : line_end if line_end >= 0 else len(head)])
        if len(self.buffer) < end + 4 + length:
            return
        status, due, self.due, self.buffer = int(self.buffer[9:12]), self.due, None, b""
        self.load.answered(self, status, due, close=b"connection: close" in head)

    def connection_lost(self, exc: Exception | None) -> None:  # noqa: ARG002 - asyncio's signature
        self.load.lost(self)


class _Load:
    """The dispatcher: the schedule, the idle connections and the requests waiting for one."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.request = (
            f"GET {args.path} HTTP/1.1\r\nHost: 127.0.0.1:{args.port}\r\n"
            "User-Agent: openload\r\n\r\n"
        ).encode()
        self.counts = Counts()
        self.idle: list[_Connection] = []
        self.busy: set[_Connection] = set()
        self.connecting = 0
        self.waiting: deque[float] = deque()  # due times of requests without a connection
        self.loop = asyncio.get_running_loop()

    def open(self) -> None:
        self.connecting += 1
        self.counts.opened += 1
        task = self.loop.create_task(
            self.loop.create_connection(lambda: _Connection(self), "127.0.0.1", self.args.port)
        )
        task.add_done_callback(self._connect_done)

    def _connect_done(self, task: asyncio.Task[Any]) -> None:
        if task.exception() is not None:  # its waiting request stays queued until it expires
            self.connecting -= 1
            self.counts.connect_failures += 1

    def connected(self, conn: _Connection) -> None:
        self.connecting -= 1
        open_now = len(self.idle) + len(self.busy) + 1
        self.counts.max_open = max(self.counts.max_open, open_now)
        self.ready(conn, time.monotonic())

    def ready(self, conn: _Connection, now: float) -> None:
        """Give an idle connection the oldest waiting request that has not expired."""
        while self.waiting and now - self.waiting[0] > self.args.timeout:
            self.waiting.popleft()
            self.counts.expired += 1
        if self.waiting:
            self.busy.add(conn)
            self.counts.sent += 1
            conn.send(self.waiting.popleft(), now)
        else:
            self.idle.append(conn)

    def answered(self, conn: _Connection, status: int, due: float, *, close: bool) -> None:
        now = time.monotonic()
        latency = now - due
        if latency > self.args.timeout:
            self.counts.timeouts += 1
        elif 200 <= status < 300:
            self.counts.ok.append(latency)
        elif status == 503:
            self.counts.refused.append(latency)
        else:
            self.counts.other_status += 1
        self.busy.discard(conn)
        if close:
            assert conn.transport is not None
            conn.transport.close()
        else:
            self.ready(conn, now)

    def lost(self, conn: _Connection) -> None:
        if conn.due is not None:
            self.counts.conn_errors += 1
            conn.due = None
        self.busy.discard(conn)
        if conn in self.idle:
            self.idle.remove(conn)

    def dispatch(self, due: float, now: float) -> None:
        self.counts.planned += 1
        if self.idle:
            conn = self.idle.pop()
            self.busy.add(conn)
            self.counts.sent += 1
            self.counts.dispatch_lag.append(now - due)
            conn.send(due, now)
            return
        self.waiting.append(due)
        if len(self.busy) + self.connecting < self.args.max_connections:
            self.open()

    def scan_timeouts(self, now: float) -> None:
        """Close connections whose request has been in flight past the timeout."""
        for conn in [c for c in self.busy if c.due is not None]:
            if conn.due is not None and now - conn.due > self.args.timeout:
                self.counts.timeouts += 1
                conn.due = None
                self.busy.discard(conn)
                if conn.transport is not None:
                    conn.transport.abort()

    async def run(self) -> float:
        """Offer the schedule, then wait up to the timeout for the answers; the start time."""
        args = self.args
        for _ in range(args.connections):
            self.open()
        while self.connecting and self.counts.connect_failures == 0:  # noqa: ASYNC110 - a poll
            await asyncio.sleep(TICK_S)
        start = time.monotonic()
        total = round(args.rate * args.seconds)
        issued, scanned = 0, start
        while issued < total:
            now = time.monotonic()
            due_count = min(total, math.floor((now - start) * args.rate) + 1)
            while issued < due_count:
                self.dispatch(start + issued / args.rate, now)
                issued += 1
            if now - scanned > TIMEOUT_SCAN_S:
                self.scan_timeouts(now)
                scanned = now
            await asyncio.sleep(TICK_S)
        end = time.monotonic() + args.timeout
        while (self.busy or self.waiting) and time.monotonic() < end:
            now = time.monotonic()
            self.ready_expired(now)
            self.scan_timeouts(now)
            await asyncio.sleep(TIMEOUT_SCAN_S)
        self.scan_timeouts(math.inf)
        self.counts.expired += len(self.waiting)
        self.waiting.clear()
        for conn in [*self.idle, *self.busy]:
            if conn.transport is not None:
                conn.transport.abort()
        return start

    def ready_expired(self, now: float) -> None:
        while self.waiting and now - self.waiting[0] > self.args.timeout:
            self.waiting.popleft()
            self.counts.expired += 1


async def _one(port: int, request: bytes, timeout: float) -> tuple[str, float]:  # noqa: ASYNC109
    """One new connection, one request: the outcome and the seconds it took."""
    started = time.monotonic()
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            writer.close()
        outcome = f"status_{int(head[9:12])}"
    except TimeoutError:
        outcome = "timeout"
    except ConnectionRefusedError:
        outcome = "refused"
    except (ConnectionResetError, asyncio.IncompleteReadError, BrokenPipeError):
        outcome = "reset"
    except OSError as err:
        outcome = f"error_{err.errno}"
    return outcome, time.monotonic() - started


def burst_summary(results: list[tuple[str, float]], timeout: float) -> dict[str, Any]:
    """Outcomes of a burst: a count per outcome, and latencies of the answered ones."""
    outcomes: dict[str, int] = {}
    for outcome, _ in results:
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    answered = [took for outcome, took in results if outcome.startswith("status_")]
    return {
        "tool": "openload",
        "connections": len(results),
        "timeout_s": timeout,
        "outcomes": dict(sorted(outcomes.items())),
        "answered": len(answered),
        "p50_ms": percentile_ms(answered, 0.5),
        "p99_ms": percentile_ms(answered, 0.99),
        "max_ms": percentile_ms(answered, 1.0),
        # A SYN the kernel dropped is retried after 1 s, then 3 s: such answers come late.
        "answered_after_1s": sum(1 for took in answered if took >= 1.0),
    }


async def burst(
    port: int,
    path: str,
    connections: int,
    timeout: float,  # noqa: ASYNC109 - each request's timeout, not the call's
) -> dict[str, Any]:
    """`connections` new connections at once, one request each: what the clients see."""
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()
    results = await asyncio.gather(*(_one(port, request, timeout) for _ in range(connections)))
    return burst_summary(list(results), timeout)


def _positive(kind: type[float | int]) -> Any:  # noqa: ANN401 - argparse type
    def parse(text: str) -> float | int:
        try:
            value = kind(text)
        except ValueError:
            value = 0
        if value <= 0:
            raise argparse.ArgumentTypeError(f"expected a positive {kind.__name__}, got {text!r}")
        return value

    return parse


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add = parser.add_argument
    add("--port", type=_positive(int), required=True)
    add("--path", default="/health")
    add("--rate", type=_positive(float), help="requests per second offered")
    add("--seconds", type=_positive(float))
    add("--burst", type=_positive(int), help="instead: this many new connections at once")
    add("--connections", type=_positive(int), default=16, help="connections opened up front")
    add("--max-connections", type=_positive(int), default=512)
    add("--timeout", type=_positive(float), default=2.0)
    add("--percentile", type=_positive(float), default=99.0, help="the SLO's percentile")
    args = parser.parse_args(argv)
    if args.burst is None and (args.rate is None or args.seconds is None):
        parser.error("--rate and --seconds: expected both (or --burst)")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run one constant-rate load and print its summary as JSON."""
    import uvloop  # noqa: PLC0415 - only the generator's own process needs it

    args = arguments(argv)
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # one descriptor per connection
    if args.burst is not None:
        result = uvloop.run(burst(args.port, args.path, args.burst, args.timeout))
        print(json.dumps(result))  # noqa: T201 - the result is the output
        return 0
    cpu_start = time.process_time()

    async def go() -> tuple[Counts, float]:
        load = _Load(args)
        start = await load.run()
        return load.counts, start

    counts, start = uvloop.run(go())
    wall = time.monotonic() - start
    cpu_s = time.process_time() - cpu_start
    summary = summarize(counts, args.rate, args.seconds, wall, cpu_s, args.percentile)
    print(json.dumps(summary))  # noqa: T201 - the result is the output
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
