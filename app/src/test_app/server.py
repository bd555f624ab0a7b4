"""Serving: uvicorn with a drain on SIGTERM, and a minimal parent for several workers.

On SIGTERM/SIGINT a worker fails readiness at once, keeps serving every request (in flight and
new) for `DRAIN_SECONDS`, then stops accepting, finishes what is in flight, closes its pools
and exits 0. A second signal stops it at once.

With `WORKERS > 1` the parent binds the socket, starts the workers, forwards signals to them
and exits with their status. It does not respawn a dead worker: it stops the others and exits
non-zero, so the orchestrator restarts the pod as a whole (the pod is the unit of scale).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import shutil
import signal
import socket
import tempfile
from multiprocessing.connection import wait
from typing import TYPE_CHECKING

import uvicorn

from test_app.logs import configure_logging, get_logger


if TYPE_CHECKING:
    from types import FrameType

    from test_app.app import App
    from test_app.settings import Settings

log = get_logger(__name__)


class DrainingServer(uvicorn.Server):
    """A uvicorn server whose first exit signal starts a drain instead of stopping at once."""

    def __init__(self, config: uvicorn.Config, app: App) -> None:
        super().__init__(config)
        self.app = app
        self._loop: asyncio.AbstractEventLoop | None = None

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        """Remember the loop so the signal handler can schedule the end of the drain."""
        self._loop = asyncio.get_running_loop()
        await super().serve(sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:  # noqa: ARG002
        """First signal: drain for `DRAIN_SECONDS`, then stop. Second signal: stop now."""
        drain = self.app.settings.drain_seconds
        if self.app.draining or drain <= 0 or self._loop is None:
            self.should_exit = True
            if self.app.draining and sig == signal.SIGINT:
                self.force_exit = True
            return
        log.info("signal received", signal=signal.Signals(sig).name)
        self.app.begin_drain()
        self._loop.call_soon_threadsafe(self._loop.call_later, drain, self._stop)

    def _stop(self) -> None:
        log.info("drain period over: stopping")
        self.should_exit = True


def _uvicorn_config(settings: Settings, app: App) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,  # the app writes its own JSON access log
        log_config=None,  # keep the JSON logging set up by configure_logging
        server_header=False,
        # Longer than the load balancer's idle timeout (ALB: 60 s), so the balancer, never the
        # app, closes idle connections and no request races a close.
        timeout_keep_alive=int(settings.keep_alive_seconds),
        timeout_graceful_shutdown=5,
    )


def serve(settings: Settings, sockets: list[socket.socket] | None = None) -> None:
    """Run one worker in this process until it has drained and stopped."""
    from test_app.app import App  # noqa: PLC0415 - imported after PROMETHEUS_MULTIPROC_DIR is set

    configure_logging(settings.log_level)
    app = App(settings)
    server = DrainingServer(_uvicorn_config(settings, app), app)
    server.run(sockets=sockets)
    if not server.started:
        raise SystemExit(3)


def run_workers(settings: Settings) -> int:
    """Bind the port, run `settings.workers` workers, forward signals, return the exit status."""
    metrics_dir = tempfile.mkdtemp(prefix="test-app-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    sock = socket.socket(socket.AF_INET6 if ":" in settings.host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((settings.host, settings.port))
    sock.listen(2048)
    sock.set_inheritable(True)
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=serve, args=(settings, [sock]), name=f"worker-{n}")
        for n in range(settings.workers)
    ]
    stopping = False

    def forward(sig: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for worker in workers:
            if worker.pid is not None and worker.exitcode is None:
                os.kill(worker.pid, sig)

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, forward)
    for worker in workers:
        worker.start()
    log.info("workers started", workers=settings.workers, pids=[w.pid for w in workers])
    status = 0
    try:
        running = list(workers)
        while running:
            ended = wait([w.sentinel for w in running])
            for worker in [w for w in running if w.sentinel in ended]:
                worker.join()
                running.remove(worker)
                _forget_worker(worker.pid)
                if worker.exitcode != 0:
                    status = 1
                if not stopping:
                    log.error("worker exited unexpectedly", pid=worker.pid, code=worker.exitcode)
                    forward(signal.SIGTERM, None)
                    status = 1
    finally:
        sock.close()
        shutil.rmtree(metrics_dir, ignore_errors=True)
    return status


def _forget_worker(pid: int | None) -> None:
    from prometheus_client import multiprocess  # noqa: PLC0415 - only with several workers

    if pid is not None:
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
