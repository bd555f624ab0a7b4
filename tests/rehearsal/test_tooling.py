"""The tooling package's pieces the rehearsal runs on: waiting, ports, tool lookup, the server
user."""

from __future__ import annotations

import itertools
import os
import pwd
import socket
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from rehearsal.base import binaries
from rehearsal.base.binaries import find_binaries
from rehearsal.base.errors import RehearsalError
from test_app_tooling.ports import free_port, port_free
from test_app_tooling.postgres import SERVER_USER, as_server_user, give_to_server_user
from test_app_tooling.process import WaitTimeoutError, answers_ok, http_ok, wait_until
from test_app_tooling.tools import REPO, MissingToolError, ToolFailedError, find_tool, run_tool


def test_wait_until_returns_once_the_check_holds_and_counts_errors_as_not_yet() -> None:
    calls = itertools.count()

    def third_time() -> bool:
        n = next(calls)
        if n == 0:
            raise ConnectionError("refused")
        return n >= 2

    took = wait_until(third_time, 5, "the third call", interval=0.01)
    assert next(calls) == 3
    assert 0 <= took < 5


def test_wait_until_names_what_it_waited_for_and_the_last_error() -> None:
    def refused() -> bool:
        raise ConnectionError("refused")

    with pytest.raises(WaitTimeoutError) as error:
        wait_until(refused, 0.1, "the writer endpoint", interval=0.01)
    assert str(error.value) == (
        "timed out after 0.1s waiting for the writer endpoint (last error: refused)"
    )
    assert isinstance(error.value, TimeoutError)


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status = 200 if self.path == "/ok" else 503
        body = b"UP\n" if status == 200 else b"DOWN\n"
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base's name
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_http_ok_wants_200_and_the_expected_text(server: str) -> None:
    assert http_ok(f"{server}/ok")
    assert http_ok(f"{server}/ok", "UP")
    assert not http_ok(f"{server}/ok", "DOWN")
    assert not http_ok(f"{server}/down")
    assert answers_ok(f"{server}/ok")
    assert not answers_ok(f"{server}/down")


def test_no_answer_is_an_error_for_http_ok_and_false_for_answers_ok() -> None:
    url = f"http://127.0.0.1:{free_port()}/"
    assert not answers_ok(url)
    with pytest.raises(Exception, match="onnect"):
        http_ok(url)


def test_a_listening_port_is_not_free() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        assert not port_free(port)
    assert port_free(port)


def test_a_failing_tool_is_named_with_its_exit_status_and_what_it_said(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "grumpy"
    fake.write_text(
        '#!/bin/sh\necho "ran in $(pwd)"\n[ "$1" = ok ] || { echo "no $1" >&2; exit 3; }\n'
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    assert run_tool("grumpy", "ok", cwd=tmp_path).stdout == f"ran in {tmp_path}\n"
    with pytest.raises(ToolFailedError, match=r"^grumpy bad input failed \(exit 3\): no bad$"):
        run_tool("grumpy", "bad", "input")
    assert run_tool("grumpy", "bad", check=False).returncode == 3


def test_a_tool_only_on_path_is_refused_when_it_must_be_the_projects(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "only-on-path"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    assert find_tool("only-on-path") == str(fake)
    with pytest.raises(MissingToolError, match=r"'only-on-path' .*project's environments"):
        find_tool("only-on-path", path=False)


def test_the_rehearsal_runs_the_projects_patroni_and_app_even_with_others_on_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("patroni", "test-app", "only-on-path"):
        (tmp_path / name).write_text("#!/bin/sh\n")
        (tmp_path / name).chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    monkeypatch.delenv("REHEARSAL_APP_COMMAND", raising=False)
    bins = find_binaries()
    assert bins.patroni == str(REPO / ".venvs" / "patroni" / "bin" / "patroni")
    assert bins.app_command == str(REPO / ".venv" / "bin" / "test-app")
    # Had the project's Patroni been missing, the one on PATH would have been refused so:
    with pytest.raises(RehearsalError, match=r"Patroni is not installed .*'only-on-path'"):
        binaries.program_of_ours("only-on-path", "Patroni")


def test_the_server_user_runs_the_command_itself_not_a_parent_of_it(tmp_path: Path) -> None:
    command = ["sleep", "30"]
    if os.geteuid() != 0:
        assert as_server_user(command) == command
        return
    process = subprocess.Popen(as_server_user(command))
    try:
        # Same pid: a supervisor's SIGKILL or SIGSTOP reaches the program, not a wrapper.
        wait_until(
            lambda: Path(f"/proc/{process.pid}/comm").read_text().strip() == "sleep",
            10,
            "the command to replace the switch",
        )
        status = Path(f"/proc/{process.pid}/status").read_text()
        uid = next(line.split()[1] for line in status.splitlines() if line.startswith("Uid:"))
        assert int(uid) == pwd.getpwnam(SERVER_USER).pw_uid
        environ = Path(f"/proc/{process.pid}/environ").read_bytes().split(b"\0")
        assert f"HOME={pwd.getpwnam(SERVER_USER).pw_dir}".encode() in environ
    finally:
        process.kill()
        process.wait()
    path = tmp_path / "data"
    path.mkdir()
    give_to_server_user(path)
    assert path.stat().st_uid == pwd.getpwnam(SERVER_USER).pw_uid
