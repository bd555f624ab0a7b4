"""Structured JSON logs to stdout: one object per line with `level`, `event`, `timestamp`.

structlog renders our own events; the standard library's records (uvicorn, asyncpg, granian) go
through the same renderer, so every line on stdout is JSON.

Logging never blocks the caller. A line is rendered where it is logged and queued; one writer
thread per process writes the queue to stdout. When stdout stalls (a log collector that stopped
reading), the writer blocks, the queue fills up to `MAX_QUEUED_LINES` and further lines are
dropped and counted (`dropped_lines()`, published as `test_app_log_lines_dropped_total`), while
requests and the watchdog carry on. Writes are whole lines of at most `PIPE_BUF` bytes together,
so lines from several processes on one pipe never interleave.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import select
import threading
import time
from typing import Any, Final

import structlog


MAX_FIELD_CHARS: Final = 1024  # a longer logged value is cut (a 100 KB header stays 1 KB)


def describe(err: BaseException, *, during: str = "") -> str:
    """Name a failure for a log line: its type and message, and what timed out if it did.

    `TimeoutError()` has no message; `during` says what the bound covered ("connect, login and
    SELECT 1 within PING_TIMEOUT_SECONDS=1"), so the line never reads just "TimeoutError: ".
    """
    text = str(err)
    if isinstance(err, TimeoutError) and not text:
        text = f"no answer in time ({during})" if during else "no answer in time"
    return f"{type(err).__name__}: {text}"[:MAX_FIELD_CHARS]


def _cap_fields(
    _logger: object, _name: str, event: structlog.types.EventDict
) -> structlog.types.EventDict:
    """Cut every string of a log line, also in lists, to `MAX_FIELD_CHARS`."""
    for key, value in event.items():
        if isinstance(value, str):
            event[key] = _cap(value)
        elif isinstance(value, list | tuple):
            event[key] = [_cap(item) if isinstance(item, str) else item for item in value]
    return event


def _cap(text: str) -> str:
    return text if len(text) <= MAX_FIELD_CHARS else text[:MAX_FIELD_CHARS] + "...[cut]"


_SHARED: list[structlog.types.Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    _cap_fields,
]


MAX_QUEUED_LINES: Final = 1000  # about 300 KB of lines waiting for a stalled stdout
WRITE_CHUNK: Final = select.PIPE_BUF  # a pipe write up to this size is atomic
STDOUT: Final = 1
EXIT_FLUSH_SECONDS: Final = 1.0


class _Writer:
    """The queue and writer thread of one process (made again in a forked child)."""

    def __init__(self) -> None:
        self.lines: queue.Queue[bytes] = queue.Queue(MAX_QUEUED_LINES)
        self.dropped = 0
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def put(self, line: bytes) -> None:
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._run, name="log-writer", daemon=True
                    )
                    self._thread.start()
        try:
            self.lines.put_nowait(line)
        except queue.Full:
            self.dropped += 1

    def _run(self) -> None:
        while True:
            chunk = self.lines.get()
            done = 1
            while len(chunk) < WRITE_CHUNK:
                try:
                    line = self.lines.get_nowait()
                except queue.Empty:
                    break
                if len(chunk) + len(line) > WRITE_CHUNK:
                    self._write(chunk)
                    chunk = line
                else:
                    chunk += line
                done += 1
            self._write(chunk)
            for _ in range(done):
                self.lines.task_done()

    @staticmethod
    def _write(data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                written = os.write(STDOUT, view)
            except OSError:  # stdout closed: nobody reads the log any more
                return
            view = view[written:]

    def flush(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for the queued lines to be written; True if they were."""
        deadline = time.monotonic() + timeout
        while self.lines.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)
        return not self.lines.unfinished_tasks


_writer = _Writer()


def _after_fork() -> None:
    global _writer  # noqa: PLW0603 - the child's own queue and thread, once per fork
    _writer = _Writer()


os.register_at_fork(after_in_child=_after_fork)
# At exit, the last lines get a bounded chance: a stalled stdout never keeps the process alive.
atexit.register(lambda: _writer.flush(EXIT_FLUSH_SECONDS))


def dropped_lines() -> int:
    """Log lines this process dropped because stdout did not keep up."""
    return _writer.dropped


def flush(timeout: float = 1.0) -> bool:
    """Give the queued lines up to `timeout` seconds to reach stdout (at exit)."""
    return _writer.flush(timeout)


class QueueingHandler(logging.Handler):
    """Render a record here, queue the line for the writer thread; never block."""

    def emit(self, record: logging.LogRecord) -> None:
        """Queue one rendered line (dropped and counted when the queue is full)."""
        try:
            line = self.format(record)
        except Exception:  # noqa: BLE001 - logging must never raise into the caller
            self.handleError(record)
            return
        _writer.put(line.encode("utf-8", "replace") + b"\n")


def json_formatter() -> logging.Formatter:
    """Build a stdlib formatter that renders any record as one JSON line."""
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_SHARED,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
    )


def granian_log_config() -> dict[str, Any]:
    """Granian's `log_dictconfig`: its own records as JSON lines on stdout too."""
    return {
        "formatters": {"json": {"()": "test_app.logs.json_formatter"}},
        "handlers": {"json": {"class": "test_app.logs.QueueingHandler", "formatter": "json"}},
        "loggers": {
            "_granian": {"handlers": ["json"], "level": "INFO", "propagate": False},
            "granian.access": {"handlers": ["json"], "level": "INFO", "propagate": False},
        },
    }


def configure_logging(level: str = "info") -> None:
    """Send every log record to stdout as one JSON object per line."""
    handler = QueueingHandler()
    handler.setFormatter(json_formatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_SHARED,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    """Return a structured logger for module `name`."""
    logger: structlog.stdlib.BoundLogger = structlog.get_logger(name)
    return logger
