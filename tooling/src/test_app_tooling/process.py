"""Start-and-wait and stop for the servers the project runs, waiting, and the process tree."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx


HTTP_OK = 200


class WaitTimeoutError(TimeoutError):
    """A condition did not hold in time; the message says what was awaited."""


def wait_until(
    check: Callable[[], bool], timeout: float, what: str, *, interval: float = 0.05
) -> float:
    """Poll `check` until it returns true; return the seconds it took.

    An exception from `check` counts as "not yet". When `timeout` runs out, `WaitTimeoutError` names
    `what` and quotes the last exception.
    """
    start = time.monotonic()
    last = ""
    while True:
        try:
            if check():
                return time.monotonic() - start
        except Exception as exc:  # noqa: BLE001 - "not yet"
            last = f" (last error: {exc})"
        if time.monotonic() - start > timeout:
            raise WaitTimeoutError(f"timed out after {timeout:g}s waiting for {what}{last}")
        time.sleep(interval)


def http_ok(url: str, expect: str | None = None, timeout: float = 2) -> bool:
    """Whether `url` answers 200 (with `expect` in the body); no answer raises httpx's error."""
    response = httpx.get(url, timeout=timeout)
    return response.status_code == HTTP_OK and (expect is None or expect in response.text)


def answers_ok(url: str, timeout: float = 1) -> bool:
    """Like `http_ok`, but no answer at all is `False`, not an error."""
    try:
        return http_ok(url, timeout=timeout)
    except httpx.HTTPError:
        return False


def wait_until_ready(
    process: subprocess.Popen[bytes], ready_url: str, log: Path, timeout: float = 20.0
) -> None:
    """Poll `ready_url` until it answers 200.

    Raises `RuntimeError` with the server's log if the process exits or the timeout runs out
    (the process is stopped first).
    """
    deadline = time.monotonic() + timeout
    while True:
        if answers_ok(ready_url):
            return
        if process.poll() is not None or time.monotonic() > deadline:
            stop(process)
            name = process.args[0] if isinstance(process.args, list) else process.args
            name = os.fsdecode(name) if isinstance(name, bytes) else str(name)
            raise RuntimeError(f"{name} did not start:\n{log.read_text(errors='replace')}")
        time.sleep(0.1)


# Longer than the app's own bound on stopping a worker (granian's workers_kill_timeout, 10 s in
# test_app.server): a worker signalled while still starting can take that long.
STOP_TIMEOUT = 20.0


def stop(process: subprocess.Popen[bytes], timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM, then SIGKILL if it has not exited within `timeout`.

    The SIGKILL goes to the process group when the process leads one (started with
    `start_new_session=True`), so forked workers are never left behind as orphans.
    """
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            process.kill()
        process.wait()


def _parent_pids() -> dict[int, int]:
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue  # the process ended while we looked
    return parents


def children(pid: int) -> list[int]:
    """The direct children of `pid`."""
    return [child for child, parent in _parent_pids().items() if parent == pid]


def wait_children(pid: int, count: int, timeout: float = 30.0) -> list[int]:
    """The direct children of `pid` once there are `count` of them, or those there at `timeout`.

    A server answers before every worker has forked; on a loaded machine the last one can
    come seconds later.
    """
    deadline = time.monotonic() + timeout
    found = children(pid)
    while len(found) < count and time.monotonic() < deadline:
        time.sleep(0.05)
        found = children(pid)
    return found


def descendants(pid: int) -> list[int]:
    """Every process below `pid` in the process tree."""
    parents = _parent_pids()
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        below = [child for child, ppid in parents.items() if ppid == parent]
        found += below
        frontier += below
    return found
