"""The multi-user rotation's four steps against moto's Secrets Manager and PostgreSQL over TLS.

test_app_tooling.rotation performs createSecret, setSecret, testSecret and finishSecret as AWS's
SecretsManagerRDSPostgreSQLRotationMultiUser does, every login with sslmode=verify-full against
the server's CA. A rotation makes the alternate user current and keeps the previous login
working; a rotation with a wrong master password or an untrusted certificate fails in its step,
leaves AWSCURRENT where it was, and the current login keeps working.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from test_app_tooling import rotation, tls
from test_app_tooling.postgres import (
    PostgresCluster,
    give_to_server_user,
    pg_bindir,
    start_cluster,
)


pytestmark = pytest.mark.integration
MASTER_PASSWORD = "master-" + uuid.uuid4().hex


@pytest.fixture(scope="module")
def tls_postgres() -> Iterator[tuple[PostgresCluster, Path]]:
    cluster = start_cluster(with_replica=False)
    try:
        certs = tls.make_certificates(cluster.base / "tls", ["127.0.0.1"])
        for path in [certs.folder, *certs.folder.iterdir()]:
            give_to_server_user(path)
        conf = cluster.primary.datadir / "postgresql.conf"
        hba = cluster.primary.datadir / "pg_hba.conf"
        cluster.primary.sql(f"ALTER SYSTEM SET ssl_cert_file = '{certs.server_cert}'")
        cluster.primary.sql(f"ALTER SYSTEM SET ssl_key_file = '{certs.server_key}'")
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
        yield cluster, certs.folder
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def moto() -> Iterator[str]:
    with rotation.moto_server() as sm:
        yield sm.endpoint


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

    done = rotation.rotate(sm, db, arn, str(uuid.uuid4()))
    assert done.steps == list(rotation.STEPS)
    assert done.statements == [
        f"CREATE ROLE {user}_clone WITH LOGIN PASSWORD '<new password>'",
        f"GRANT {user} TO {user}_clone",
    ]
    second = current_login(sm, arn)
    assert second["username"] == f"{user}_clone"
    assert db.run(second, "SELECT current_user") == f"{user}_clone"
    assert db.run(first, "SELECT 1") == "1"  # the previous login still works

    again = rotation.rotate(sm, db, arn, str(uuid.uuid4()))
    assert again.statements == [f"ALTER USER {user} WITH PASSWORD '<new password>'"]
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
    token = rotation.next_token(sm, arn)
    with pytest.raises(
        rotation.RotationError, match="setSecret failed: cannot log in with the master"
    ):
        rotation.rotate(sm, db, arn, token)
    assert current_login(sm, arn) == before
    assert db.run(before, "SELECT current_user") == before["username"]
    # Secrets Manager reattempts the unfinished rotation with its token; once the master
    # secret is right again, that same rotation finishes.
    assert rotation.next_token(sm, arn) == token
    master_arn = str(before["masterarn"])
    sm.call("PutSecretValue", SecretId=master_arn, SecretString=json.dumps(
        {"username": "rotator", "password": MASTER_PASSWORD}))  # fmt: skip
    assert rotation.rotate(sm, db, arn, token).steps == list(rotation.STEPS)
    assert current_login(sm, arn)["username"] == f"{before['username']}_clone"
    assert rotation.next_token(sm, arn) != token


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


@pytest.mark.parametrize(
    ("user", "other"), [("test_app", "test_app_clone"), ("test_app_clone", "test_app")]
)
def test_the_alternate_user_is_the_other_of_the_pair(user, other):
    assert rotation.alternate(user) == other


def test_an_alternate_user_name_past_63_characters_is_refused():
    assert rotation.alternate("a" * 57) == "a" * 57 + "_clone"
    with pytest.raises(rotation.RotationError, match="exceeds 63 characters"):
        rotation.alternate("a" * 58)
