"""Serving with granian: Rust HTTP I/O, one Python worker process per `WORKERS`.

Drain on shutdown: the first SIGTERM/SIGINT sent to the main process does not stop anything.
The main process tells every worker (SIGUSR1) to fail readiness, keeps serving every request,
in flight or new, for `DRAIN_SECONDS`, and only then stops the workers the usual granian way
(they finish what is in flight, run the lifespan shutdown that closes the pools, and exit).
A second signal stops at once. The exit status is 0 after a drain, 1 if a worker died.

Kubernetes and supervisord signal the main process only, which is what this relies on; a
terminal's Ctrl-C reaches every process of the group and stops the workers without a drain.
"""

from __future__ import annotations

import importlib
import os
import shutil
import signal
import tempfile
import threading
from typing import TYPE_CHECKING, Any

from granian.constants import Interfaces, Loops
from granian.log import LogLevels
from granian.server.mp import MPServer

from test_app.logs import get_logger, granian_log_config


if TYPE_CHECKING:
    from test_app.settings import Settings

log = get_logger(__name__)

DRAIN_SIGNAL = signal.SIGUSR1
APP_FACTORY = "test_app.app:create_app"


class DrainingServer(MPServer):
    """A granian server whose first exit signal starts a drain instead of stopping at once."""

    def __init__(self, *args: Any, drain_seconds: float, **kwargs: Any) -> None:  # noqa: ANN401 - granian's own signature
        super().__init__(*args, **kwargs)
        self.drain_seconds = drain_seconds
        self.draining = False
        self._timer: threading.Timer | None = None

    def signal_handler_interrupt(self, *args: object, **kwargs: object) -> None:
        """First signal: drain for `drain_seconds`, then stop. Second signal: stop now."""
        if self.draining or self.drain_seconds <= 0:
            if self._timer is not None:
                self._timer.cancel()
            super().signal_handler_interrupt(*args, **kwargs)  # type: ignore[no-untyped-call]
            return
        self.draining = True
        for worker in self.wrks:
            pid = worker.inner.pid
            if pid is not None:
                os.kill(pid, DRAIN_SIGNAL)
        self._timer = threading.Timer(self.drain_seconds, self._stop)
        self._timer.daemon = True
        self._timer.start()

    def _stop(self) -> None:
        log.info("drain period over: stopping workers")
        super().signal_handler_interrupt()  # type: ignore[no-untyped-call]


def run(settings: Settings) -> int:
    """Serve until stopped; return the process exit status."""
    metrics_dir = None
    if settings.workers > 1:
        # Every worker writes its samples here; /metrics in any worker shows the sum.
        metrics_dir = tempfile.mkdtemp(prefix="test-app-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    # Workers inherit this until the app installs its handler: a drain request that arrives
    # while a worker is still starting must not kill it (SIGUSR1's default action).
    signal.signal(DRAIN_SIGNAL, signal.SIG_IGN)
    # Import the app now, after PROMETHEUS_MULTIPROC_DIR is settled: the forked workers inherit
    # the loaded modules instead of importing them again (startup time).
    importlib.import_module(APP_FACTORY.partition(":")[0])
    server = DrainingServer(
        APP_FACTORY,
        factory=True,
        address=settings.host,
        port=settings.port,
        interface=Interfaces.RSGI,
        workers=settings.workers,
        loop=Loops.uvloop,
        backlog=2048,
        log_level=LogLevels(settings.log_level),
        log_dictconfig=granian_log_config(),
        log_access=False,  # the app writes its own JSON access log
        respawn_failed_workers=False,  # a dead worker ends the pod; the orchestrator restarts it
        # Bound on stopping a worker. A stop that arrives while a worker is still opening its
        # pool (granian's RSGI init) is sometimes only honoured at this bound (seen 1 in 10).
        workers_kill_timeout=10,
        drain_seconds=settings.drain_seconds,
    )
    try:
        server.serve()
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)
    if server.interrupt_children:
        log.error("a worker exited unexpectedly", workers=list(server.interrupt_children))
        return 1
    return 0
