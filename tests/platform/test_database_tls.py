"""The app authenticates the database server: `verify-full` with the CA bundle the image carries.

The chart sets `POSTGRESQL_SSLMODE=verify-full` and `PGSSLROOTCERT` (read by asyncpg) to the
path where app/Dockerfile puts the RDS CA bundle, fetched with a pinned SHA-256, for the app and
for the db-role hook Job alike. The integration test turns TLS on in a real PostgreSQL with a
certificate from a throwaway CA and runs the real app: trusting that CA it answers `/health` UP
over TLS; trusting another CA (a server that is not who it claims to be) it never gets a
connection.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from test_app_tooling.helm_render import VALUE_SETS, app_container, load_values, one, render
from test_app_tooling.postgres import SERVER_USER
from test_app_tooling.tools import REPO


DOCKERFILE = REPO / "app" / "Dockerfile"
ADD_BUNDLE = re.compile(
    r"^ADD --checksum=sha256:(?P<sha>[0-9a-f]{64}) \\\n\s+"
    r"https://truststore\.pki\.rds\.amazonaws\.com/(?P<region>[a-z0-9-]+)/(?P=region)-bundle\.pem "
    r"(?P<dest>/\S+)$",
    re.MULTILINE,
)


@pytest.mark.parametrize("value_set", ["staging", "prod"])
def test_the_chart_verifies_the_server_with_the_bundle_in_the_image(value_set):
    match = ADD_BUNDLE.search(DOCKERFILE.read_text(encoding="utf-8"))
    assert match, "app/Dockerfile does not ADD the RDS CA bundle with a pinned --checksum"
    region = re.search(r'^region\s*=\s*"([a-z0-9-]+)"', (
        REPO / "infra" / "envs" / value_set / "database.tfvars"
    ).read_text(encoding="utf-8"), re.MULTILINE)  # fmt: skip
    assert region, f"infra/envs/{value_set}/database.tfvars names no region"
    assert match["region"] == region[1], "the bundle must be the database's region's"
    files, extra = VALUE_SETS[value_set]
    objects = render(load_values(files, extra))
    job = one(objects, "Job")["spec"]["template"]["spec"]["containers"][0]
    # The app and the role hook (which runs before it, as the master user) connect alike.
    for name, container in (("app", app_container(objects)), ("db-role Job", job)):
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert env.get("POSTGRESQL_SSLMODE") == "verify-full", name
        assert env.get("PGSSLROOTCERT") == match["dest"], f"{name} does not trust the bundle"


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, check=True, timeout=60)


def make_ca(folder: Path, name: str) -> Path:
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", f"/CN={name}",
            "-keyout", f"{name}.key", "-out", f"{name}.pem", cwd=folder)  # fmt: skip
    return folder / f"{name}.pem"


@pytest.fixture
def tls_postgres(postgres, tool, tmp_path) -> Iterator[tuple[object, Path]]:
    """The session's primary with TLS on (certificate for localhost), switched off afterwards."""
    tool("openssl")
    ca = make_ca(tmp_path, "ca")
    (tmp_path / "san.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
            "-keyout", "server.key", "-out", "server.csr", cwd=tmp_path)  # fmt: skip
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "1", "-extfile", "san.ext", "-out", "server.pem",
            cwd=tmp_path)  # fmt: skip
    datadir = postgres.primary.datadir
    for name in ("server.pem", "server.key"):
        target = datadir / f"tls-{name}"
        shutil.copy(tmp_path / name, target)
        target.chmod(0o600)
        if os.geteuid() == 0:
            shutil.chown(target, SERVER_USER, SERVER_USER)
    postgres.primary.sql("ALTER SYSTEM SET ssl_cert_file = 'tls-server.pem'")
    postgres.primary.sql("ALTER SYSTEM SET ssl_key_file = 'tls-server.key'")
    postgres.primary.sql("ALTER SYSTEM SET ssl = on")
    postgres.primary.sql("SELECT pg_reload_conf()")
    deadline = time.monotonic() + 10
    while postgres.primary.sql("SHOW ssl") != "on":
        assert time.monotonic() < deadline, "PostgreSQL did not turn TLS on"
        time.sleep(0.1)
    try:
        yield postgres, ca
    finally:
        for setting in ("ssl", "ssl_cert_file", "ssl_key_file"):
            postgres.primary.sql(f"ALTER SYSTEM RESET {setting}")
        postgres.primary.sql("SELECT pg_reload_conf()")


def verify_full_env(postgres, ca: Path):
    return postgres.env(reader=False) | {
        "POSTGRESQL_HOST": "localhost",
        "POSTGRESQL_SSLMODE": "verify-full",
        "PGSSLROOTCERT": str(ca),
        "STARTUP_TIMEOUT_SECONDS": "3",
    }


@pytest.mark.integration
def test_verify_full_reaches_the_server_its_ca_vouches_for(tls_postgres, run_app):
    postgres, ca = tls_postgres
    app = run_app(env=verify_full_env(postgres, ca))
    response = app.get("/health")
    assert (response.status_code, response.text) == (200, "UP\n"), app.log
    encrypted = postgres.primary.sql(
        "SELECT count(*) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid)"
        " WHERE ssl AND application_name <> 'psql'"
    )
    assert int(encrypted) >= 1, "the app's connections are not encrypted"


@pytest.mark.integration
def test_verify_full_refuses_a_server_another_ca_vouches_for(tls_postgres, run_app, tmp_path):
    postgres, _ = tls_postgres
    (tmp_path / "other").mkdir()
    stranger = make_ca(tmp_path / "other", "stranger")
    app = run_app(env=verify_full_env(postgres, stranger), wait_ready=False)
    deadline = time.monotonic() + 20
    while app.proc.poll() is None and time.monotonic() < deadline:
        try:
            response = app.get("/health", timeout=1)
        except httpx.TransportError:
            time.sleep(0.2)
            continue
        assert response.status_code == 500, "connected although the CA does not vouch for it"
        break
    assert "certificate verify failed" in app.log or "CERTIFICATE_VERIFY_FAILED" in app.log, app.log
