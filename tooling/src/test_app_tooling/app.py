"""Start the installed `test-app` command as a real process on a loopback port."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from test_app_tooling.ports import free_port
from test_app_tooling.process import STOP_TIMEOUT, stop
from test_app_tooling.tools import REPO


def app_command() -> list[str]:
    """The installed console script (fails loudly when the environment is not bootstrapped)."""
    script = REPO / ".venv" / "bin" / "test-app"
    if not script.exists():
        raise FileNotFoundError(f"{script} is missing; run scripts/bootstrap")
    return [str(script)]


@dataclass
class AppProcess:
    """A running app: its URL, process and log file."""

    url: str
    port: int
    proc: subprocess.Popen[bytes]
    log_path: Path

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def get(self, path: str, timeout: float = 5.0) -> httpx.Response:
        return httpx.get(self.url + path, timeout=timeout)

    def signal(self, sig: int = signal.SIGTERM) -> None:
        self.proc.send_signal(sig)

    def wait(self, timeout: float = 30.0) -> int:
        return self.proc.wait(timeout=timeout)

    def stop(self, timeout: float = STOP_TIMEOUT) -> int | None:
        if self.proc.poll() is None:
            stop(self.proc, timeout)
        return self.proc.returncode


def start_app(  # noqa: PLR0913 - keyword-only options of one start
    env: dict[str, str],
    log_path: Path,
    *,
    wait_ready: bool = True,
    timeout: float = 15.0,
    command: list[str] | None = None,
    output: int | None = None,
) -> AppProcess:
    """Start the app with `env` added to a minimal environment; wait until `/livez` answers.

    Its stdout and stderr go to `log_path`, or to the file descriptor `output` (a pipe the
    caller may leave unread) when given.
    """
    port = int(env.get("PORT") or free_port())
    full_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "DRAIN_SECONDS": "0",
        **env,
    }
    log_file = log_path.open("wb")
    proc = subprocess.Popen(
        command or app_command(),
        env=full_env,
        stdout=log_file if output is None else output,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: stop() can never orphan a worker
    )
    log_file.close()
    app = AppProcess(f"http://127.0.0.1:{port}", port, proc, log_path)
    if wait_ready:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"test-app exited with {proc.returncode}:\n{app.log}")
            try:
                if app.get("/livez", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                app.stop()
                raise TimeoutError(f"test-app did not answer /livez in {timeout}s:\n{app.log}")
            time.sleep(0.02)
    return app
