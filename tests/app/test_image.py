"""The container image: lint-clean, and its runtime constraints proven without a container engine.

There is no Docker engine here, so the sandbox test installs the app the way the Dockerfile
does (locked dependencies, bytecode compiled at install time) and runs it under bubblewrap as
UID 10001 with no capabilities, a read-only root filesystem and a writable /tmp only.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import tomllib
from pathlib import Path

import httpx
import pytest

from test_app_tooling.image import LOCK, install_like_image, system_python
from test_app_tooling.ports import free_port
from test_app_tooling.process import descendants
from test_app_tooling.tools import REPO


DOCKERFILE = REPO / "app" / "Dockerfile"
CHECKOV_ENV = {"BC_SKIP_MAPPING": "TRUE", "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true"}


def test_hadolint_is_clean(tool):
    result = subprocess.run(
        [tool("hadolint"), str(DOCKERFILE)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_checkov_is_clean_and_every_skip_has_a_reason(tool):
    result = subprocess.run(
        [
            tool("checkov"),
            "-f",
            str(DOCKERFILE),
            "--framework",
            "dockerfile",
            "--skip-download",
            "--quiet",
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, **CHECKOV_ENV},
        timeout=300,
        check=False,
    )
    summary = json.loads(result.stdout)["summary"]
    assert summary["resource_count"] >= 1, "checkov parsed nothing"
    assert summary["passed"] > 0
    assert summary["failed"] == 0, result.stdout
    skips = re.findall(r"checkov:skip=(CKV_\w+):(.*)", DOCKERFILE.read_text())
    assert len(skips) == summary["skipped"]
    assert all(len(reason.strip()) > 20 for _, reason in skips)


def test_dockerfile_runtime_contract():
    text = DOCKERFILE.read_text()
    stages = re.findall(r"^FROM ", text, re.MULTILINE)
    assert len(stages) >= 2, "multi-stage build"
    assert re.search(r"^USER 10001:10001$", text, re.MULTILINE)
    assert not re.search(r"^HEALTHCHECK", text, re.MULTILINE)
    assert "PYTHONDONTWRITEBYTECODE=1" in text
    assert "--require-hashes" in text
    for label in ("version", "revision", "source"):
        assert f"org.opencontainers.image.{label}=" in text
    assert "@sha256:" not in text.split("FROM", 1)[0].replace("@sha256:<digest>", ""), (
        "no digest the repository did not resolve itself"
    )


def test_lock_file_pins_exactly_the_declared_dependencies_with_hashes():
    declared = tomllib.loads((REPO / "app" / "pyproject.toml").read_text())["project"]
    pins = dict(dep.split("==") for dep in declared["dependencies"])
    locked = dict(re.findall(r"^([a-z0-9-]+)==([\w.]+)", LOCK.read_text(), re.MULTILINE))
    assert pins, "no dependency parsed"
    for name, version in pins.items():
        assert locked.get(name) == version, f"{name}: pyproject {version}, lock {locked.get(name)}"
    assert LOCK.read_text().count("--hash=sha256:") >= len(locked)


@pytest.fixture(scope="module")
def image_root():
    """The app installed like the image does, in a folder UID 10001 can read."""
    root = Path(tempfile.mkdtemp(prefix="test-app-image-", dir="/tmp"))
    root.chmod(0o755)
    yield install_like_image(root / "site")
    shutil.rmtree(root, ignore_errors=True)


def _sandbox(tool, site: Path, env: dict[str, str], *cmd: str) -> list[str]:
    env_args = [f"{k}={v}" for k, v in env.items()]
    return [
        tool("setpriv"), "--reuid=10001", "--regid=10001", "--clear-groups",
        "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--",
        tool("bwrap"), "--ro-bind", "/", "/", "--tmpfs", "/tmp", "--proc", "/proc",
        "--dev", "/dev", "--tmpfs", "/opt", "--ro-bind", str(site), "/opt/test-app",
        "--remount-ro", "/opt", "--unshare-pid",
        "--die-with-parent", "--new-session", "--cap-drop", "ALL", "--",
        "/usr/bin/env", "-i", "PATH=/usr/bin:/bin", "PYTHONPATH=/opt/test-app",
        "PYTHONDONTWRITEBYTECODE=1", "TMPDIR=/tmp", *env_args, system_python(), *cmd,
    ]  # fmt: skip


def _status(pid: int) -> dict[str, str]:
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return dict(line.split(":\t", 1) for line in lines if ":\t" in line)


@pytest.mark.integration
def test_serves_as_unprivileged_user_on_a_read_only_root(tool, image_root, postgres, tmp_path):
    # The sandbox really is read-only outside /tmp, and /tmp really is writable.
    for path in ("/opt/test-app/x", "/opt/x", "/usr/x", "/x", "/tmp/x"):
        probe = subprocess.run(
            _sandbox(tool, image_root, {}, "-c", f"open({path!r}, 'w').write('x')"),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if path.startswith("/tmp/"):
            assert probe.returncode == 0, probe.stderr
        else:
            assert probe.returncode != 0, path
            assert "Read-only file system" in probe.stderr, probe.stderr

    port = free_port()
    env = {**postgres.env(), "HOST": "127.0.0.1", "PORT": str(port), "WORKERS": "2",
           "DRAIN_SECONDS": "0"}  # fmt: skip
    log = (tmp_path / "sandbox.log").open("wb")
    proc = subprocess.Popen(
        _sandbox(tool, image_root, env, "-m", "test_app"), stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 20
        response = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert response is not None, (tmp_path / "sandbox.log").read_text()
        assert (response.status_code, response.text) == (200, "UP\n")
        assert "test_app_build_info" in httpx.get(f"http://127.0.0.1:{port}/metrics").text
        app_pids = [
            pid
            for pid in descendants(proc.pid)
            if Path(f"/proc/{pid}/cmdline").read_bytes().startswith(system_python().encode())
        ]
        assert len(app_pids) == 3, "the main process and two workers were found"
        for pid in app_pids:
            status = _status(pid)
            assert status["Uid"].split()[0] == "10001"
            assert int(status["CapEff"], 16) == 0
            assert int(status["CapBnd"], 16) == 0
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()
    output = (tmp_path / "sandbox.log").read_text()
    assert "Traceback" not in output, output


@pytest.mark.integration
def test_db_role_command_runs_unprivileged_on_a_read_only_root(tool, image_root, postgres):
    # The chart's hook Job runs `test-app-db-role`: pip writes it into the image's venv bin
    # (on PATH) from this entry point.
    (entry_points,) = image_root.glob("test_app-*.dist-info/entry_points.txt")
    assert "test-app-db-role = test_app.db_role:main" in entry_points.read_text()
    suffix = os.urandom(4).hex()
    database, role = f"image_{suffix}", f"image_app_{suffix}"
    postgres.primary.sql(f"CREATE DATABASE {database}")
    postgres.primary.sql(f"CREATE ROLE {role} LOGIN CREATEDB PASSWORD 'x'")
    try:
        env = {**postgres.env(reader=False), "POSTGRESQL_DBNAME": database}
        done = subprocess.run(
            _sandbox(tool, image_root, env, "-m", "test_app.provision", "--role", role),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        changes = json.loads(done.stdout)["changes"]
        assert changes[0] == f'ALTER ROLE "{role}" NOCREATEDB'
    finally:
        postgres.primary.sql(f"DROP DATABASE {database} WITH (FORCE)")
        postgres.primary.sql(f"DROP ROLE {role}")
