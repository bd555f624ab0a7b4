"""The multi-user rotation's four steps against moto's Secrets Manager and PostgreSQL over TLS.

test_app_tooling.rotation performs createSecret, setSecret, testSecret and finishSecret as AWS's
SecretsManagerRDSPostgreSQLRotationMultiUser does, every login with sslmode=verify-full against
the server's CA. A rotation makes the alternate user current and keeps the previous login
working; a rotation with a wrong master password or an untrusted certificate fails in its step,
leaves AWSCURRENT where it was, and the current login keeps working.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from test_app_tooling import rotation
from test_app_tooling.postgres import PostgresCluster, pg_bindir, start_cluster
from test_app_tooling.tools import REPO


pytestmark = pytest.mark.integration
MOTO_PYTHON = REPO / ".venvs" / "moto" / "bin" / "python"
MASTER_PASSWORD = "master-" + uuid.uuid4().hex


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_certificates(folder: Path) -> None:
    """A CA, a server certificate for 127.0.0.1 signed by it, and an unrelated CA."""
    for ca in ("ca", "other-ca"):
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                f"/CN={ca}", "-keyout", f"{ca}.key", "-out", f"{ca}.crt", cwd=folder)  # fmt: skip
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
            "-keyout", "server.key", "-out", "server.csr", cwd=folder)  # fmt: skip
    (folder / "san.ext").write_text("subjectAltName = IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", "server.crt",
            cwd=folder)  # fmt: skip


@pytest.fixture(scope="module")
def tls_postgres() -> Iterator[tuple[PostgresCluster, Path]]:
    cluster = start_cluster(with_replica=False)
    try:
        certs = cluster.base / "tls"
        certs.mkdir()
        make_certificates(certs)
        if os.geteuid() == 0:
            for path in [certs, *certs.iterdir()]:
                shutil.chown(path, "postgres", "postgres")
        (certs / "server.key").chmod(0o600)
        conf = cluster.primary.datadir / "postgresql.conf"
        hba = cluster.primary.datadir / "pg_hba.conf"
        cluster.primary.sql(f"ALTER SYSTEM SET ssl_cert_file = '{certs / 'server.crt'}'")
        cluster.primary.sql(f"ALTER SYSTEM SET ssl_key_file = '{certs / 'server.key'}'")
        cluster.primary.sql("ALTER SYSTEM SET ssl = on")
        # TLS only over TCP, as rds.force_ssl: a plaintext login is refused.
        cluster.primary.sql(
            "COPY (SELECT 'hostnossl all all 0.0.0.0/0 reject') TO PROGRAM "
            f"'cat - {hba} > {hba}.new && mv {hba}.new {hba}'"
        )
        assert conf.exists()
        cluster.primary.stop()
        cluster.primary.start()
        cluster.primary.sql(f"CREATE ROLE rotator LOGIN CREATEROLE PASSWORD '{MASTER_PASSWORD}'")
        yield cluster, certs
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def moto(tmp_path_factory) -> Iterator[str]:
    assert MOTO_PYTHON.exists(), "run scripts/bootstrap: .venvs/moto is missing"
    port_file = tmp_path_factory.mktemp("moto") / "port"
    proc = subprocess.Popen(
        [str(MOTO_PYTHON), str(REPO / "scripts" / "terraform" / "moto_server.py"),
         "--port-file", str(port_file)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not (port_file.exists() and port_file.read_text().strip()):
            assert time.monotonic() < deadline, "moto did not start"
            time.sleep(0.2)
        endpoint = f"http://127.0.0.1:{port_file.read_text().strip()}"
        while True:
            try:
                rotation.SecretsManager(endpoint).call("ListSecrets")
                break
            except (OSError, rotation.RotationError):
                assert time.monotonic() < deadline, "moto did not answer"
                time.sleep(0.2)
        yield endpoint
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def secrets(sm: rotation.SecretsManager, cluster: PostgresCluster, master_password: str) -> str:
    """A fresh app role, the master secret and the app secret, shaped as the stack makes them."""
    name = uuid.uuid4().hex[:8]
    user = f"app_{name}"
    cluster.primary.sql(f"CREATE ROLE {user} LOGIN PASSWORD 'first-password'")
    cluster.primary.sql(f"GRANT {user} TO rotator WITH ADMIN OPTION")
    master = sm.call("CreateSecret", Name=f"rds!cluster-{name}", SecretString=json.dumps(
        {"username": "rotator", "password": master_password}))  # fmt: skip
    app = {
        "engine": "postgres", "host": "127.0.0.1", "port": cluster.port, "dbname": "postgres",
        "username": user, "password": "first-password", "masterarn": master["ARN"],
        "ssl": True,
    }  # fmt: skip
    return str(sm.call("CreateSecret", Name=f"test-app-staging/database-app-{name}",
                       SecretString=json.dumps(app))["ARN"])  # fmt: skip


def current_login(sm: rotation.SecretsManager, arn: str) -> dict[str, object]:
    return sm.value(arn, "AWSCURRENT")


def database(certs: Path, ca: str = "ca.crt") -> rotation.Database:
    return rotation.Database(pg_bindir() / "psql", certs / ca)


def test_two_rotations_alternate_the_users_and_keep_the_previous_login(tls_postgres, moto):
    cluster, certs = tls_postgres
    sm = rotation.SecretsManager(moto)
    db = database(certs)
    arn = secrets(sm, cluster, MASTER_PASSWORD)
    first = current_login(sm, arn)
    user = str(first["username"])
    assert db.run(first, "SELECT current_user") == user

    assert rotation.rotate(sm, db, arn, str(uuid.uuid4())) == list(rotation.STEPS)
    second = current_login(sm, arn)
    assert second["username"] == f"{user}_clone"
    assert db.run(second, "SELECT current_user") == f"{user}_clone"
    assert db.run(first, "SELECT 1") == "1"  # the previous login still works

    rotation.rotate(sm, db, arn, str(uuid.uuid4()))
    third = current_login(sm, arn)
    assert third["username"] == user
    assert third["password"] != first["password"]
    assert db.run(second, "SELECT 1") == "1"
    assert db.run(first, "SELECT 1") is None  # the first user's old password is gone
    stages = sm.stages(arn)
    assert sum("AWSCURRENT" in s for s in stages.values()) == 1
    assert not any("AWSPENDING" in s and "AWSCURRENT" not in s for s in stages.values())


def test_a_wrong_master_password_fails_in_set_secret_and_keeps_the_current_login(
    tls_postgres, moto
):
    cluster, certs = tls_postgres
    sm = rotation.SecretsManager(moto)
    db = database(certs)
    arn = secrets(sm, cluster, "not-the-master-password")
    before = current_login(sm, arn)
    with pytest.raises(
        rotation.RotationError, match="setSecret failed: cannot log in with the master"
    ):
        rotation.rotate(sm, db, arn, str(uuid.uuid4()))
    assert current_login(sm, arn) == before
    assert db.run(before, "SELECT current_user") == before["username"]


def test_an_untrusted_certificate_fails_without_a_plaintext_fallback(tls_postgres, moto):
    cluster, certs = tls_postgres
    sm = rotation.SecretsManager(moto)
    arn = secrets(sm, cluster, MASTER_PASSWORD)
    before = current_login(sm, arn)
    untrusted = database(certs, "other-ca.crt")
    with pytest.raises(rotation.RotationError, match="setSecret failed: the current login"):
        rotation.rotate(sm, untrusted, arn, str(uuid.uuid4()))
    assert current_login(sm, arn) == before
    assert database(certs).run(before, "SELECT 1") == "1"
