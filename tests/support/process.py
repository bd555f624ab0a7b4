"""Start-and-wait and stop for the servers the tests run (Prometheus, Alertmanager, exporters)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx
import pytest


def wait_until_ready(
    process: subprocess.Popen[bytes], ready_url: str, log: Path, timeout: float = 20.0
) -> None:
    """Poll `ready_url` until it answers 200; fail the test with the log if the process exits
    or the timeout runs out (the process is stopped first)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(ready_url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            stop(process)
            name = process.args[0] if isinstance(process.args, list) else process.args
            pytest.fail(f"{name} did not start:\n{log.read_text(errors='replace')}")
        time.sleep(0.1)


def stop(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """SIGTERM, then SIGKILL if the process has not exited within `timeout`."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
