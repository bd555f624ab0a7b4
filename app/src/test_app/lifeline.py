"""The lifeline between the main process and its workers: no worker outlives or hangs unseen.

- A worker dies with the main process: `attach()` asks the kernel (`PR_SET_PDEATHSIG`) to
  SIGKILL the worker when its parent ends, however it ends (SIGKILL included), and exits at
  once if the parent is already gone. Without it, workers of a killed main process keep
  serving on the shared port, unmanaged.
- A worker proves it runs: its event loop touches `<folder>/<pid>` every `BEAT_SECONDS`.
  The main process's `Watchdog` SIGKILLs a worker that stayed silent for `SILENCE_SECONDS`
  (stopped with SIGSTOP, or its loop blocked); granian then sees a worker die and the whole
  process exits with status 1, so the orchestrator replaces it instead of half the new
  connections waiting on a frozen worker.
- Silence is measured on the monotonic clock: the watchdog notes when it saw each file's
  modification time *change*, never how far that time is from the wall clock, so a step of
  the wall clock (NTP, a resumed VM), forward or back, kills no healthy worker.
- The kill comes before the log line: if stdout is blocked, the log waits, the kill does not.

Only workers started by `test_app.server` have a lifeline (`ENV_FOLDER` and `ENV_PARENT`
are set); under another server (uvicorn) `attach()` does nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Final

from test_app.logs import get_logger


if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

log = get_logger(__name__)

ENV_FOLDER: Final = "TEST_APP_LIFELINE_DIR"
ENV_PARENT: Final = "TEST_APP_MAIN_PID"
BEAT_SECONDS: Final = 1.0
# Far above a healthy loop's longest pause (a /metrics render, a pool opening bounded by
# PING_TIMEOUT_SECONDS) and far below the time a frozen worker may cost (Kubernetes' default
# liveness probe needs 3 x 10 s to notice a hang, and only when it hits that worker).
SILENCE_SECONDS: Final = 10.0
_PR_SET_PDEATHSIG: Final = 1


def die_with_parent(parent: int) -> None:
    """SIGKILL this process when `parent` ends; exit now if it already has."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl(PR_SET_PDEATHSIG) failed: {os.strerror(err)}")
    if os.getppid() != parent:  # the parent died before the request above took effect
        os._exit(1)


async def _beat(path: Path) -> None:
    while True:
        path.touch()  # noqa: ASYNC240 - one utime on tmpfs/overlay, cheaper than a thread hop
        await asyncio.sleep(BEAT_SECONDS)


def attach(environ: Mapping[str, str]) -> asyncio.Task[None] | None:
    """In a worker: die with the main process and start beating; None outside our server."""
    folder, parent = environ.get(ENV_FOLDER), environ.get(ENV_PARENT)
    if not folder or not parent:
        return None
    die_with_parent(int(parent))
    return asyncio.create_task(_beat(Path(folder) / str(os.getpid())))


class Watchdog:
    """In the main process: SIGKILL any worker whose heartbeat is older than `silence`."""

    def __init__(
        self,
        folder: Path,
        workers: Callable[[], Iterable[int | None]],
        stopping: Callable[[], bool],
        silence: float = SILENCE_SECONDS,
    ) -> None:
        self.folder = folder
        self._workers = workers
        self._stopping = stopping
        self._silence = silence
        # pid -> (the heartbeat's last seen modification time, monotonic time it was seen)
        self._seen: dict[int, tuple[float | None, float]] = {}
        self._thread = threading.Thread(target=self._run, name="lifeline-watchdog", daemon=True)

    def start(self) -> None:
        """Watch in a daemon thread until the server stops."""
        self._thread.start()

    def silent_for(self, pid: int, now: float) -> float:
        """Monotonic seconds since `pid`'s heartbeat last changed (or since it was first seen).

        `now` is `time.monotonic()`. The file's modification time is compared only with its own
        previous value, never with a clock.
        """
        try:
            mtime: float | None = (self.folder / str(pid)).stat().st_mtime_ns / 1e9
        except FileNotFoundError:
            mtime = None
        last, seen_at = self._seen.get(pid, (None, now))
        if pid not in self._seen or (mtime is not None and mtime != last):
            self._seen[pid] = (mtime, now)
            return 0.0
        return now - seen_at

    def check(self) -> list[int]:
        """Kill the silent workers once; return their pids."""
        now = time.monotonic()
        killed = []
        for pid in self._workers():
            if pid is None:
                continue
            silent = self.silent_for(pid, now)
            if silent > self._silence:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                log.error(
                    "worker unresponsive: killed it, the process exits for a replacement",
                    worker_pid=pid,
                    silent_seconds=round(silent, 1),
                )
        return killed

    def _run(self) -> None:
        while not self._stopping():
            if self.check():
                return  # granian sees the worker die and stops the server
            time.sleep(BEAT_SECONDS)
