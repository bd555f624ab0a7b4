"""scripts/smoke_test.py against the real app (PostgreSQL primary + replica) and a stub server."""

from __future__ import annotations

import http.server
import json
import os
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import suppress
from functools import cache
from pathlib import Path

import pytest

import smoke_test
from test_app_tooling.helm_render import one, render_value_set
from test_app_tooling.tools import REPO


SCRIPT = REPO / "scripts" / "smoke_test.py"
SHA = "0123456789abcdef0123456789abcdef01234567"
FAST = ["--interval", "0.2", "--passes", "2", "--timeout", "2"]
# Straight to the app (not through the Ingress): /readyz and /version too.
SERVICE = ["--scope", "service"]


def smoke(*args: str, deadline: float = 15) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args, *FAST, "--deadline", str(deadline)],
        capture_output=True,
        text=True,
        timeout=deadline + 30,
        check=False,
    )


def verdict(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stdout.strip().splitlines()
    assert lines, f"no output; stderr: {result.stderr}"
    return lines[-1]


class TcpProxy:
    """Forwards a loopback port to PostgreSQL; `cut()` is the database going away."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        with suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def cut(self) -> None:
        # shutdown() wakes the thread blocked in accept(); close() alone would not.
        with suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        with self.lock:
            for sock in self.sockets:
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
        self.thread.join(timeout=5)


@pytest.fixture
def proxy(postgres) -> Iterator[TcpProxy]:
    proxied = TcpProxy(postgres.port)
    yield proxied
    proxied.cut()


@pytest.mark.integration
def test_passes_against_the_running_app(postgres, run_app):
    app = run_app(env=postgres.env() | {"GIT_SHA": SHA})
    result = smoke(app.url, *SERVICE, "--expect-sha", SHA, "--expect-version", "1.0.0")
    assert result.returncode == 0, result.stdout + result.stderr
    assert verdict(result).startswith(f"SMOKE PASS {app.url} version=1.0.0 git_sha={SHA}")


@pytest.mark.integration
def test_a_short_sha_matches_the_full_one(postgres, run_app):
    app = run_app(env=postgres.env() | {"GIT_SHA": SHA})
    result = smoke(app.url, *SERVICE, "--expect-sha", SHA[:7])
    assert result.returncode == 0, result.stdout


@pytest.mark.integration
def test_fails_when_another_build_is_live(postgres, run_app):
    app = run_app(env=postgres.env() | {"GIT_SHA": SHA})
    result = smoke(app.url, *SERVICE, "--expect-sha", "fedcba9", deadline=2)
    assert result.returncode == 1
    line = verdict(result)
    assert line.startswith(f"SMOKE FAIL {app.url}")
    assert f"git_sha {SHA!r}, want 'fedcba9'" in line


@pytest.mark.integration
def test_fails_when_the_version_is_not_the_expected_one(postgres, run_app):
    app = run_app(env=postgres.env() | {"GIT_SHA": SHA})
    result = smoke(app.url, *SERVICE, "--expect-version", "9.9.9", deadline=2)
    assert result.returncode == 1
    assert "version '1.0.0', want '9.9.9'" in verdict(result)


@pytest.mark.integration
def test_fails_when_the_database_goes_away(postgres, run_app, proxy):
    env = postgres.env() | {"GIT_SHA": SHA, "POSTGRESQL_PORT": str(proxy.port)}
    app = run_app(env=env)
    assert smoke(app.url, *SERVICE, deadline=10).returncode == 0
    proxy.cut()
    result = smoke(app.url, *SERVICE, deadline=4)
    assert result.returncode == 1, result.stdout
    line = verdict(result)
    assert "/health: HTTP 500 'DOWN'" in line
    # Readiness is the pod's, not the database's (ADR 0014): /readyz stays 200 meanwhile.
    assert "/readyz" not in line


@pytest.mark.integration
def test_fails_when_nothing_listens():
    with socket.create_server(("127.0.0.1", 0)) as sock:
        port = sock.getsockname()[1]
    result = smoke(f"http://127.0.0.1:{port}", deadline=1)
    assert result.returncode == 1
    assert "/health: unreachable" in verdict(result)


# --- edge cases against a stub server ----------------------------------------------


class Stub(http.server.BaseHTTPRequestHandler):
    """Answers from a class-level table: path -> list of (status, body), one per request."""

    answers: dict[str, list[tuple[int, str]]] = {}  # noqa: RUF012 (reset per test)

    def do_GET(self) -> None:
        queue = self.answers.get(self.path, [(404, "not found")])
        status, body = queue.pop(0) if len(queue) > 1 else queue[0]
        self.send_response(status)
        if status in {301, 302}:
            self.send_header("Location", "https://login.example.com/")
        self.send_header("Content-Length", str(len(body.encode())))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *_args: object) -> None:
        return


@pytest.fixture
def stub() -> Iterator[tuple[str, type[Stub]]]:
    Stub.answers = {
        "/health": [(200, "UP\n")],
        "/health/read": [(200, "UP\n")],
        "/readyz": [(200, "READY\n")],
        "/version": [(200, json.dumps({"version": "1.0.0", "git_sha": SHA}))],
    }
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Stub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", Stub
    server.shutdown()
    server.server_close()


def run_inline(capsys, *args: str) -> tuple[int, str]:
    code = smoke_test.main([*args, *FAST, "--deadline", "1.5"])
    return code, capsys.readouterr().out.strip().splitlines()[-1]


def test_stub_passes(stub, capsys):
    url, _ = stub
    code, line = run_inline(capsys, url, *SERVICE, "--expect-sha", SHA)
    assert (code, line.split()[:2]) == (0, ["SMOKE", "PASS"])


@cache
def public_paths() -> list[str]:
    """The paths the chart's Ingress forwards, as Helm renders it (ingress.publicPaths)."""
    ingress = one(render_value_set("ingress"), "Ingress")
    paths = [path["path"] for rule in ingress["spec"]["rules"] for path in rule["http"]["paths"]]
    assert paths, "the chart forwards no path"
    return paths


def test_the_public_paths_are_the_ones_the_ingress_forwards():
    assert list(smoke_test.PUBLIC_PATHS) == public_paths()


def test_through_the_load_balancer_only_the_public_paths_are_asked(stub, capsys):
    # Like the ALB: the Ingress's paths reach the app, any other gets the default 404.
    url, handler = stub
    handler.answers = {path: [(200, "UP\n")] for path in public_paths()}
    code, line = run_inline(capsys, url)
    assert (code, line.split()[:2]) == (0, ["SMOKE", "PASS"]), line
    assert "git_sha" not in line, "the build is not asked through the load balancer"


def test_the_read_path_is_checked_through_the_load_balancer(stub, capsys):
    url, handler = stub
    handler.answers["/health/read"] = [(500, "DOWN\n")]
    code, line = run_inline(capsys, url)
    assert code == 1
    assert "/health/read: HTTP 500 'DOWN'" in line


def test_a_redirect_is_a_failure_not_followed(stub, capsys):
    url, handler = stub
    handler.answers["/health"] = [(302, "")]
    code, line = run_inline(capsys, url)
    assert code == 1
    assert "/health: HTTP 302" in line


def test_version_must_be_json_with_both_fields(stub, capsys):
    url, handler = stub
    handler.answers["/version"] = [(200, json.dumps({"version": "1.0.0"}))]
    code, line = run_inline(capsys, url, *SERVICE)
    assert code == 1
    assert "field 'git_sha' missing" in line
    handler.answers["/version"] = [(200, "<html>")]
    code, line = run_inline(capsys, url, *SERVICE)
    assert code == 1
    assert "/version: not JSON" in line


def test_a_flapping_release_needs_consecutive_passes(stub, capsys):
    url, handler = stub
    # Alternates UP / DOWN: never two clean rounds in a row.
    handler.answers["/health"] = [(200, "UP\n"), (500, "DOWN\n")] * 50
    code, line = run_inline(capsys, url)
    assert code == 1
    assert line.startswith("SMOKE FAIL")


def test_a_release_that_recovers_passes(stub, capsys):
    url, handler = stub
    handler.answers["/health"] = [(500, "DOWN\n"), (500, "DOWN\n"), (200, "UP\n")]
    code, line = run_inline(capsys, url)
    assert code == 0, line


# --- through the load balancer before DNS points at it (--connect-to) ----------------

HOST = "test-app.example.test"  # .test never resolves (RFC 2606)


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, check=True, timeout=60)


@pytest.fixture
def tls_stub(stub, tool, tmp_path) -> Iterator[tuple[int, dict[str, str]]]:
    """The stub (its answers) over HTTPS with a certificate for HOST from a throwaway CA."""
    _, handler = stub
    assert handler is Stub
    tool("openssl")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=ca",
            "-keyout", "ca.key", "-out", "ca.pem", cwd=tmp_path)  # fmt: skip
    (tmp_path / "san.ext").write_text(f"subjectAltName=DNS:{HOST}\n")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={HOST}",
            "-keyout", "server.key", "-out", "server.csr", cwd=tmp_path)  # fmt: skip
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "1", "-extfile", "san.ext", "-out", "server.pem",
            cwd=tmp_path)  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "server.pem", tmp_path / "server.key")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Stub)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], {**os.environ, "SSL_CERT_FILE": str(tmp_path / "ca.pem")}
    server.shutdown()
    server.server_close()


def smoke_env(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args, *FAST, "--deadline", "1.5"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )


def test_connect_to_keeps_the_host_for_tls_and_host_header(tls_stub):
    port, env = tls_stub
    result = smoke_env(env, f"https://{HOST}:{port}", "--connect-to", "127.0.0.1")
    assert verdict(result).startswith("SMOKE PASS"), result.stdout + result.stderr


def test_without_connect_to_the_host_is_not_reachable_yet(tls_stub):
    port, env = tls_stub
    result = smoke_env(env, f"https://{HOST}:{port}")
    assert result.returncode == 1
    assert "/health: unreachable" in verdict(result)


def test_connect_to_still_checks_the_certificate_name(tls_stub):
    port, env = tls_stub
    result = smoke_env(env, f"https://other.example.test:{port}", "--connect-to", "127.0.0.1")
    assert result.returncode == 1
    assert "CERTIFICATE_VERIFY_FAILED" in verdict(result)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["ftp://example.com"],
            "base_url: expected an http(s) URL like https://host[:port], got 'ftp://example.com'",
        ),
        (
            ["http://x", *SERVICE, "--expect-sha", "xyz"],
            "--expect-sha: expected 7 to 40 hex digits, got 'xyz'",
        ),
        (["http://x", "--timeout", "0"], "--timeout: expected a positive float, got '0'"),
        (["http://x", "--expect-sha", SHA], "--expect-sha needs --scope service"),
        (["http://x", "--expect-version", "1.0.0"], "--expect-version needs --scope service"),
        (["http://x", "--scope", "lb"], "argument --scope: invalid choice"),
        (["http://x", "--passes", "two"], "--passes: expected a positive int, got 'two'"),
    ],
)
def test_bad_arguments_name_the_field(args, message):
    result = subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert message in result.stderr


def test_runs_with_the_standard_library_only():
    # -I: isolated mode, no site-packages: the script must not import anything else.
    result = subprocess.run(
        [sys.executable, "-I", "-S", str(SCRIPT), "--help"],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path("/"),
    )
    assert result.returncode == 0, result.stderr
    assert "--expect-sha" in result.stdout
