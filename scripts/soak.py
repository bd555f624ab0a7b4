"""Soak the rehearsal with mixed, bounded hostile load and watch that nothing grows.

    make soak                                   # 30 minutes against `make up`
    make soak SOAK_ARGS="--duration 600"        # 10 minutes

Uses only the rehearsal's documented ports (docs/rehearsal.md): the HAProxy `app` frontend
(base + 0), the app slots (base + 20 ... + 25, as a kubelet reaches them) and the writer
endpoint (base + 2, with the app's password from the generated `secrets/pgpass`). The load,
all at once, each part bounded in rate and count:
  * normal: GET /health, /health/read, /livez through HAProxy (about 40 requests/s),
  * slow: connections to the app slots that send half a request and stop (at most 20 open),
  * idle: connections to the app slots that never send a byte (`--idle` per slot, renewed),
  * random: requests with made-up methods and paths, through HAProxy and to the slots,
  * refused: every route with every method, without `Host` and with two (mostly 400/404/405),
  * unread: connections to the app slots that pipeline requests and never read the answers
    (`--unread` per slot, reopened every 15 s),
  * database blips: every `--blip-every` seconds the app's own connections are terminated on
    the writer (pg_terminate_backend), as a failover or a restarted proxy would.
Every `--interval` seconds it samples, per app instance (main process and workers, found by
the listening port): RSS and open file descriptors, the series count of its /metrics, and
the p99 of /health through HAProxy in that interval. It writes docs/benchmarks/soak.md,
soak.json and soak.png, and fails (exit 1) if a measure grows without bound: its mean over
the last quarter is more than `--growth` times its mean over the second quarter.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import socket
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx

from test_app_tooling.hostile import label_sweep, open_fds, open_unread, rss_kib, series
from test_app_tooling.process import descendants
from test_app_tooling.tools import REPO


OUT = REPO / "docs" / "benchmarks"
SLOTS = range(20, 26)  # app slot port offsets (docs/rehearsal.md)
WRITER = 2
SLOW_MAX = 20


@dataclass
class Shared:
    """What the load threads report to the sampler."""

    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    requests: int = 0
    random_requests: int = 0
    slow_opened: int = 0
    idle_opened: int = 0
    unread_opened: int = 0
    refused_requests: int = 0
    blips: int = 0
    blip_errors: list[str] = field(default_factory=list)


def listening_pids(port: int) -> list[int]:
    """Return the processes holding the listening socket of `port`, and their descendants."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":
                inodes.add(f"socket:[{fields[9]}]")
    roots = {_main_process(pid) for pid in _socket_owners(inodes)}
    found = set(roots)
    for pid in roots:
        found.update(descendants(pid))
    return sorted(found)


def _socket_owners(inodes: set[str]) -> set[int]:
    owners = set()
    for fd_dir in Path("/proc").glob("[0-9]*/fd"):
        try:
            for fd in fd_dir.iterdir():
                if str(fd.readlink()) in inodes:
                    owners.add(int(fd_dir.parent.name))
                    break
        except OSError:
            continue
    return owners


def _main_process(pid: int) -> int:
    """Climb from a worker (it holds the socket) to its main process: same command line."""
    current = pid
    while (parent := _parent(current)) and _cmdline(parent) == _cmdline(current):
        current = parent
    return current


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return 0


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def normal_load(front: str, shared: Shared) -> None:
    paths = ["/health", "/health/read", "/livez"]
    with httpx.Client(base_url=front, timeout=5) as client:
        while not shared.stop.is_set():
            path = random.choice(paths)  # noqa: S311 - load, not security
            started = time.monotonic()
            try:
                ok = client.get(path).status_code == 200
            except httpx.TransportError:
                ok = False
            elapsed = time.monotonic() - started
            with shared.lock:
                shared.requests += 1
                shared.errors += not ok
                if path == "/health":
                    shared.latencies.append(elapsed)
            shared.stop.wait(0.025)


def slow_load(ports: list[int], shared: Shared) -> None:
    open_: list[socket.socket] = []
    while not shared.stop.is_set():
        open_ = [sock for sock in open_ if not _closed(sock)]
        if len(open_) < SLOW_MAX:
            try:
                sock = socket.create_connection(("127.0.0.1", random.choice(ports)), timeout=2)  # noqa: S311
                sock.sendall(b"GET /health HTTP/1.1\r\nHost: soak\r\nX-Slow: ")
                open_.append(sock)
                with shared.lock:
                    shared.slow_opened += 1
            except OSError:
                pass
        shared.stop.wait(0.5)
    for sock in open_:
        sock.close()


def _closed(sock: socket.socket) -> bool:
    sock.setblocking(False)  # noqa: FBT003 - the socket API
    try:
        closed = sock.recv(4096) == b""
    except BlockingIOError:
        return False
    except OSError:
        closed = True
    if closed:
        sock.close()
    return closed


def idle_load(ports: list[int], per_slot: int, shared: Shared) -> None:
    held: dict[int, list[socket.socket]] = {port: [] for port in ports}
    while not shared.stop.is_set():
        for port, socks in held.items():
            socks[:] = [sock for sock in socks if not _closed(sock)]
            while len(socks) < per_slot and not shared.stop.is_set():
                try:
                    socks.append(socket.create_connection(("127.0.0.1", port), timeout=2))
                except OSError:
                    break
                with shared.lock:
                    shared.idle_opened += 1
        shared.stop.wait(1.0)
    for socks in held.values():
        for sock in socks:
            sock.close()


def random_load(front: int, ports: list[int], shared: Shared) -> None:
    counter = 0
    while not shared.stop.is_set():
        for port in [front, *ports]:
            counter += 1
            request = b"Z%dQ /r%d HTTP/1.1\r\nHost: soak\r\nConnection: close\r\n\r\n" % (
                counter,
                counter,
            )
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
                    sock.sendall(request)
                    while sock.recv(65536):
                        pass
            except OSError:
                pass
            with shared.lock:
                shared.random_requests += 1
        shared.stop.wait(0.1)


def refused_load(ports: list[int], shared: Shared) -> None:
    """Send every route and method, without Host and with two, round the slots.

    One connection each; mostly 400, 404 and 405, which must add no series.
    """
    requests = label_sweep()
    counter = 0
    while not shared.stop.is_set():
        counter += 1
        port = ports[counter % len(ports)]
        request = requests[counter % len(requests)]
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
                sock.sendall(request.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n", 1))
                while sock.recv(65536):
                    pass
        except OSError:
            pass
        with shared.lock:
            shared.refused_requests += 1
        shared.stop.wait(0.1)


UNREAD_RENEW_SECONDS = 15.0


def unread_load(ports: list[int], per_slot: int, shared: Shared) -> None:
    """Hold `per_slot` connections per slot that pipeline requests and never read; renew them."""
    while not shared.stop.is_set():
        held = []
        for port in ports:
            for _ in range(per_slot):
                try:
                    held.append(open_unread(port))
                except OSError:
                    break
                with shared.lock:
                    shared.unread_opened += 1
        shared.stop.wait(UNREAD_RENEW_SECONDS)
        for sock in held:
            sock.close()


def app_password(state: Path) -> tuple[str, str]:
    """Return the app's user and password from the rehearsal's generated pgpass file."""
    for line in (state / "secrets" / "pgpass").read_text().splitlines():
        parts = line.split(":")
        if len(parts) == 5 and parts[3] not in {"postgres", "replicator", "monitor"}:
            return parts[3], parts[4]
    raise FileNotFoundError(f"no app user in {state / 'secrets' / 'pgpass'}; run make up")


async def _blip(port: int, user: str, password: str) -> int:
    conn = await asyncpg.connect(
        host="127.0.0.1", port=port, user=user, password=password, database="postgres", timeout=5
    )
    try:
        terminated: int = await conn.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = 'test-app' AND pid <> pg_backend_pid()"
        )
    finally:
        await conn.close()
    return terminated


def blip_load(port: int, state: Path, every: float, shared: Shared) -> None:
    user, password = app_password(state)
    while not shared.stop.wait(every):
        try:
            asyncio.run(_blip(port, user, password))
            with shared.lock:
                shared.blips += 1
        except (OSError, asyncpg.PostgresError, TimeoutError) as err:
            with shared.lock:
                shared.blip_errors.append(f"{type(err).__name__}: {err}")


def sample(ports: list[int], shared: Shared, started: float) -> dict[str, object]:
    rss, fds, series_counts, pids = 0, 0, [], 0
    for port in ports:
        for pid in listening_pids(port):
            try:
                rss += rss_kib(pid)
                fds += open_fds(pid)
                pids += 1
            except (OSError, ValueError):
                continue
        try:
            text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
            series_counts.append(len(series(text)))
        except httpx.TransportError:
            continue
    with shared.lock:
        latencies, shared.latencies = shared.latencies, []
        counts = {
            "requests": shared.requests,
            "errors": shared.errors,
            "random_requests": shared.random_requests,
            "slow_opened": shared.slow_opened,
            "idle_opened": shared.idle_opened,
            "unread_opened": shared.unread_opened,
            "refused_requests": shared.refused_requests,
            "blips": shared.blips,
        }
    p99 = statistics.quantiles(latencies, n=100)[98] if len(latencies) >= 2 else None
    return {
        "t": round(time.monotonic() - started, 1),
        "rss_mib": round(rss / 1024, 1),
        "fds": fds,
        "processes": pids,
        "series_max": max(series_counts, default=0),
        "p99_ms": None if p99 is None else round(p99 * 1000, 2),
        **counts,
    }


def growth(samples: list[dict[str, object]], key: str) -> float | None:
    """Mean of the last quarter over the mean of the second quarter."""
    values = [float(s[key]) for s in samples if s[key] is not None]  # type: ignore[arg-type]
    quarter = len(values) // 4
    if quarter == 0:
        return None
    early = statistics.fmean(values[quarter : 2 * quarter])
    late = statistics.fmean(values[-quarter:])
    return late / early if early else None


def plot(samples: list[dict[str, object]], path: Path) -> None:
    import matplotlib as mpl  # noqa: PLC0415 - only needed for the report

    mpl.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    minutes = [float(s["t"]) / 60 for s in samples]  # type: ignore[arg-type]
    fig, axes = plt.subplots(4, 1, figsize=(9, 10), sharex=True)
    for axis, (key, label) in zip(
        axes,
        [
            ("rss_mib", "RSS of all app processes (MiB)"),
            ("fds", "open fds of all app processes"),
            ("series_max", "series in /metrics (largest instance)"),
            ("p99_ms", "p99 of /health via HAProxy (ms)"),
        ],
        strict=True,
    ):
        axis.plot(minutes, [s[key] for s in samples], marker=".")
        axis.set_ylabel(label, fontsize=8)
        axis.set_ylim(bottom=0)
        axis.grid(alpha=0.3)
    axes[-1].set_xlabel("minutes")
    fig.suptitle("make soak: mixed hostile load against the rehearsal")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def report(args: argparse.Namespace, samples: list[dict[str, object]], shared: Shared) -> bool:
    keys = ("rss_mib", "fds", "series_max", "p99_ms")
    growths = {key: growth(samples, key) for key in keys}
    bounded = all(g is None or g <= args.growth for g in growths.values())
    last = samples[-1]
    results = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{os.cpu_count()} CPUs, {platform.machine()}",
        "duration_s": args.duration,
        "interval_s": args.interval,
        "idle_per_slot": args.idle,
        "unread_per_slot": args.unread,
        "blip_every_s": args.blip_every,
        "growth_limit": args.growth,
        "growth": growths,
        "bounded": bounded,
        "blip_errors": shared.blip_errors,
        "samples": samples,
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "soak.json").write_text(json.dumps(results, indent=2) + "\n")
    plot(samples, OUT / "soak.png")
    verdict = "PASS: nothing grew" if bounded else "FAIL: something grew"
    lines = [
        "# Soak: mixed hostile load against the rehearsal",
        "",
        (
            f'Produced by `make soak SOAK_ARGS="--duration {args.duration:g}"` on '
            f"{results['machine']} ({results['date']}): {args.duration / 60:g} minutes against "
            f"`make up`, sampled every {args.interval:g} s. {verdict} (limit: last-quarter mean "
            f"<= {args.growth:g} x second-quarter mean)."
        ),
        "",
        "![soak](soak.png)",
        "",
        "| measure | first sample | last sample | growth (last quarter / second quarter) |",
        "| --- | --- | --- | --- |",
        *(
            f"| {key} | {samples[0][key]} | {last[key]} | "
            f"{'n/a' if growths[key] is None else f'{growths[key]:.2f}'} |"
            for key in keys
        ),
        "",
        (
            f"Load over the run: {last['requests']} normal requests ({last['errors']} not 200), "
            f"{last['random_requests']} random-method and {last['refused_requests']} refused "
            f"requests, {last['slow_opened']} slow, {last['idle_opened']} idle and "
            f"{last['unread_opened']} never-reading connections opened ({args.idle} idle and "
            f"{args.unread} never-reading held per slot), {last['blips']} database blips "
            f"({len(shared.blip_errors)} failed)."
        ),
        "",
        "A non-200 answer during a blip is expected: `/health` reports the database as it is.",
        "",
    ]
    (OUT / "soak.md").write_text("\n".join(lines))
    return bounded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=1800, help="seconds (default 1800)")
    parser.add_argument("--interval", type=float, default=15, help="seconds between samples")
    parser.add_argument("--idle", type=int, default=200, help="idle connections per app slot")
    parser.add_argument(
        "--unread", type=int, default=10, help="never-reading connections per app slot"
    )
    parser.add_argument("--blip-every", type=float, default=120, help="seconds between blips")
    parser.add_argument("--growth", type=float, default=1.25, help="allowed growth ratio")
    args = parser.parse_args()
    base = int(os.environ.get("REHEARSAL_PORT_BASE", "15400"))
    state = Path(os.environ.get("REHEARSAL_STATE_DIR", REPO / ".state" / "rehearsal"))
    ports = [base + offset for offset in SLOTS if listening_pids(base + offset)]
    if not ports:
        sys.exit(f"no app slot listens on {base + 20}..{base + 25}; run make up first")
    front = f"http://127.0.0.1:{base}"
    shared = Shared()
    threads = [
        threading.Thread(target=normal_load, args=(front, shared)),
        threading.Thread(target=slow_load, args=(ports, shared)),
        threading.Thread(target=idle_load, args=(ports, args.idle, shared)),
        threading.Thread(target=random_load, args=(base, ports, shared)),
        threading.Thread(target=refused_load, args=(ports, shared)),
        threading.Thread(target=unread_load, args=(ports, args.unread, shared)),
        threading.Thread(target=blip_load, args=(base + WRITER, state, args.blip_every, shared)),
    ]
    for thread in threads:
        thread.daemon = True
        thread.start()
    started = time.monotonic()
    samples = []
    try:
        while time.monotonic() - started < args.duration:
            shared.stop.wait(args.interval)
            samples.append(sample(ports, shared, started))
            print(json.dumps(samples[-1]), flush=True)
    finally:
        shared.stop.set()
        for thread in threads:
            thread.join(timeout=10)
    bounded = report(args, samples, shared)
    print(f"wrote {OUT / 'soak.md'}")
    sys.exit(0 if bounded else 1)


if __name__ == "__main__":
    main()
