"""The multi-user rotation's four steps against moto's Secrets Manager and PostgreSQL over TLS.

test_app_tooling.rotation runs the rotation function's own steps (test_app_rotation: createSecret,
setSecret, testSecret and finishSecret as AWS's SecretsManagerRDSPostgreSQLRotationMultiUser
does) in Secrets Manager's order, every login with pg8000 over TLS verify-full against the
server's CA. A rotation makes the alternate user current and keeps the previous login
working; a rotation with a wrong master password or an untrusted certificate fails in its step,
leaves AWSCURRENT where it was, and the current login keeps working.
"""

from __future__ import annotations

import json
import os
import shutil
import ssl
import subprocess
import sys
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from test_app_rotation import postgres as rotation_postgres
from test_app_rotation.steps import ApiSecrets, run_step
from test_app_tooling import rotation, rotation_package, tls
from test_app_tooling.postgres import (
    PostgresCluster,
    give_to_server_user,
    start_cluster,
)
from test_app_tooling.tools import find_tool, run_tool


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
    return rotation.Database(certs / ca)


def test_two_rotations_alternate_the_users_and_keep_the_previous_login(tls_postgres, moto):
    cluster, certs = tls_postgres
    sm = rotation.SecretsManager(moto)
    db = database(certs)
    arn = secrets(sm, cluster, MASTER_PASSWORD)
    first = current_login(sm, arn)
    user = str(first["username"])
    assert db.run(first, "SELECT current_user") == [[user]]

    done = rotation.rotate(sm, db, arn, str(uuid.uuid4()))
    assert done.steps == list(rotation.STEPS)
    assert done.statements == [
        f"CREATE ROLE {user}_clone WITH LOGIN PASSWORD '<new password>'",
        f"GRANT {user} TO {user}_clone",
    ]
    second = current_login(sm, arn)
    assert second["username"] == f"{user}_clone"
    assert db.run(second, "SELECT current_user") == [[f"{user}_clone"]]
    assert db.run(first, "SELECT 1") == [[1]]  # the previous login still works

    again = rotation.rotate(sm, db, arn, str(uuid.uuid4()))
    assert again.statements == [f"ALTER USER {user} WITH PASSWORD '<new password>'"]
    third = current_login(sm, arn)
    assert third["username"] == user
    assert third["password"] != first["password"]
    assert db.run(second, "SELECT 1") == [[1]]
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
    assert db.run(before, "SELECT current_user") == [[before["username"]]]
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
    assert database(certs).run(before, "SELECT 1") == [[1]]


def test_a_login_without_a_server_is_logged_as_network_not_tls_or_authentication(
    tls_postgres, caplog
):
    _, certs = tls_postgres
    closed = {"username": "nobody", "password": "x", "host": "127.0.0.1", "port": 1}
    with caplog.at_level("ERROR", logger="test_app_rotation.postgres"):
        assert database(certs).run(closed, "SELECT 1") is None
    assert [r.getMessage().split(": ", 2)[:2] for r in caplog.records] == [
        ["login as nobody to 127.0.0.1:1", "network failed"]
    ]


def handshake(client: ssl.SSLContext, cert: Path, key: Path) -> None:
    """A TLS handshake in memory between `client` and a server presenting `cert`."""
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert, key)
    pipes = [(ssl.MemoryBIO(), ssl.MemoryBIO()) for _ in range(2)]
    ends = [
        client.wrap_bio(pipes[0][0], pipes[1][1], server_hostname="127.0.0.1"),
        server.wrap_bio(pipes[1][0], pipes[0][1], server_side=True),
    ]
    done = [False, False]
    for _ in range(20):
        for i, end in enumerate(ends):
            if not done[i]:
                try:
                    end.do_handshake()
                    done[i] = True
                except ssl.SSLWantReadError:
                    pass
        pipes[0][0].write(pipes[0][1].read())  # client <- server
        pipes[1][0].write(pipes[1][1].read())  # server <- client
        if all(done):
            return
    raise AssertionError("the handshake did not finish")


def test_the_function_verifies_as_the_app_does_on_every_python(tmp_path):
    # A CA without keyUsage passes OpenSSL's default checks (the app's Python 3.11) and fails the
    # strict ones Python 3.13 (the Lambda's) turns on by default: the function's context clears
    # them on every Python, so it accepts what the app accepts. Trust stays with the bundled CA:
    # another CA's server is refused.
    certs = tls.make_certificates(tmp_path / "strict", ["127.0.0.1"])
    handshake(rotation_postgres.tls_context(certs.ca), certs.server_cert, certs.server_key)
    strict = rotation_postgres.tls_context(certs.ca)
    assert not strict.verify_flags & (ssl.VERIFY_X509_STRICT | ssl.VERIFY_X509_PARTIAL_CHAIN)
    lax = tmp_path / "lax"
    lax.mkdir()
    for args in (
        ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=lax-ca",
         "-keyout", "ca.key", "-out", "ca.crt"],
        ["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout",
         "server.key", "-out", "server.csr"],
        ["x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
         "-CAcreateserial", "-days", "1", "-extfile", str(certs.folder / "san.ext"),
         "-out", "server.crt"],
    ):  # fmt: skip
        run_tool("openssl", *args, cwd=lax)
    assert "X509v3 Key Usage" not in run_tool("openssl", "x509", "-in", str(lax / "ca.crt"),
                                              "-noout", "-text").stdout  # fmt: skip
    handshake(rotation_postgres.tls_context(lax / "ca.crt"), lax / "server.crt",
              lax / "server.key")  # fmt: skip
    app_like = ssl.create_default_context(cafile=str(lax / "ca.crt"))
    app_like.verify_flags |= ssl.VERIFY_X509_STRICT  # what Python 3.13 would do by default
    with pytest.raises(ssl.SSLCertVerificationError) as refused:
        handshake(app_like, lax / "server.crt", lax / "server.key")
    assert refused.value.verify_message == "CA cert does not include key usage extension"
    with pytest.raises(ssl.SSLCertVerificationError):  # the bundled CA only
        handshake(rotation_postgres.tls_context(certs.ca), lax / "server.crt", lax / "server.key")


@pytest.mark.parametrize(
    ("user", "other"), [("test_app", "test_app_clone"), ("test_app_clone", "test_app")]
)
def test_the_alternate_user_is_the_other_of_the_pair(user, other):
    assert rotation.alternate(user) == other


def test_an_alternate_user_name_past_63_characters_is_refused():
    assert rotation.alternate("a" * 57) == "a" * 57 + "_clone"
    with pytest.raises(rotation.RotationError, match="exceeds 63 characters"):
        rotation.alternate("a" * 58)


# The Lambda handler as it ships: the zip built by test_app_tooling.rotation_package (with the
# test CA as its bundled CA file), unpacked, and run by an isolated Python (`-I -S`: no
# PYTHONPATH, no site-packages) whose sys.path is the unpacked zip (the Lambda's /var/task) and
# then only boto3 and its own packages copied from .venvs/moto (the runtime's boto3): a package
# the zip lacks is missing here too. ROTATION_LAMBDA_PYTHON names another interpreter (the
# Lambda's python3.13 where one is installed); the TLS context verifies as the app's does on
# every Python (test_app_rotation.postgres.tls_context). Secrets Manager events as the service
# sends them.
FUNCTION_ARN = "arn:aws:lambda:eu-central-1:123456789012:function:test-app-staging-rotation"
# What the Lambda runtime provides besides the standard library; python-dateutil and six, which
# botocore also imports, must come from the zip (they come first on the Lambda's sys.path).
RUNTIME_PACKAGES = ("boto3", "botocore", "jmespath", "s3transfer", "urllib3")
LAMBDA_PYTHON = os.environ.get("ROTATION_LAMBDA_PYTHON") or sys.executable


@pytest.fixture(scope="module")
def runtime(tmp_path_factory) -> Path:
    """A folder holding only boto3 and the packages it brings, copied from .venvs/moto."""
    python = Path(find_tool("moto_server")).with_name("python")
    folder: Path = tmp_path_factory.mktemp("runtime")
    for name in RUNTIME_PACKAGES:
        where = subprocess.run(
            [str(python), "-c", f"import {name}; print({name}.__file__)"],
            capture_output=True, text=True, check=True, timeout=60,
        ).stdout.strip()  # fmt: skip
        shutil.copytree(Path(where).parent, folder / name,
                        ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    return folder


def unpacked_zip(certs: Path, ca: str, folder: Path) -> Path:
    """The function built with `ca` as its bundled CA file, unpacked into `folder`/task."""
    out = folder / "rotation-lambda.zip"
    assert rotation_package.main(["--ca-bundle", str(certs / ca), "--out", str(out)]) == 0
    with zipfile.ZipFile(out) as archive:
        archive.extractall(folder / "task")
    return folder / "task"


@dataclass(frozen=True)
class Function:
    """The unpacked zip (/var/task) and the runtime's boto3 beside it."""

    task: Path
    runtime: Path


@pytest.fixture(scope="module")
def packaged(tls_postgres, runtime, tmp_path_factory) -> dict[str, Function]:
    """The function unpacked from its zip, once with the server's CA and once with another."""
    _, certs = tls_postgres
    return {
        ca: Function(unpacked_zip(certs, ca, tmp_path_factory.mktemp(f"lambda-{ca}")), runtime)
        for ca in ("ca.crt", "other-ca.crt")
    }


def invoke(function: Function, endpoint: str, arn: str, token: str, step: str):
    """One invocation of the packaged lambda_handler, as the Lambda runtime makes it."""
    event = {"SecretId": arn, "ClientRequestToken": token, "Step": step}
    task, runtime = function.task, function.runtime
    return subprocess.run(
        [LAMBDA_PYTHON, "-I", "-S", "-c", HANDLER_CALL, json.dumps(event), str(task), str(runtime)],
        cwd=task,
        env={
            "PATH": os.environ["PATH"],
            "SECRETS_MANAGER_ENDPOINT": endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "eu-central-1",
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


HANDLER_CALL = (
    "import json, sys\n"
    "assert not [p for p in sys.path if 'site-packages' in p], sys.path\n"  # isolated
    "sys.path[:0] = sys.argv[2:4]\n"  # the unpacked zip (/var/task), then the runtime's boto3
    "import test_app_rotation.handler as h\n"
    "assert h.__file__.startswith(sys.argv[2]), h.__file__\n"  # imported from the unpacked zip
    "h.lambda_handler(json.loads(sys.argv[1]), None)\n"
)


def with_rotation(sm: rotation.SecretsManager, cluster: PostgresCluster, password: str) -> str:
    """The app secret with rotation enabled, as the stack's aws_secretsmanager_secret_rotation."""
    arn = secrets(sm, cluster, password)
    value = sm.value(arn, "AWSCURRENT")
    # moto enables rotation only on a secret without versions (else it moves AWSCURRENT itself).
    fresh = sm.call("CreateSecret", Name=f"test-app-staging/rotated-{uuid.uuid4().hex[:8]}")
    sm.call("RotateSecret", SecretId=fresh["ARN"], RotationRules={"AutomaticallyAfterDays": 30})
    sm.call("PutSecretValue", SecretId=fresh["ARN"], SecretString=json.dumps(value))
    return str(fresh["ARN"])


def start_rotation(sm: rotation.SecretsManager, arn: str) -> str:
    """What Secrets Manager does before the first step: a version labelled AWSPENDING, no value.

    moto records exactly that, then answers ResourceNotFoundException: no Lambda runs in it.
    """
    token = str(uuid.uuid4())
    before = sm.stages(arn)
    # A finished rotation leaves AWSPENDING on the AWSCURRENT version, which Secrets Manager
    # accepts and moto refuses ("Previous rotation request is still in progress"): take it off.
    for version, labels in before.items():
        if {"AWSPENDING", "AWSCURRENT"} <= set(labels):
            sm.call("UpdateSecretVersionStage", SecretId=arn, VersionStage="AWSPENDING",
                    RemoveFromVersionId=version)  # fmt: skip
    with pytest.raises(rotation.RotationError, match="ResourceNotFoundException"):
        sm.call("RotateSecret", SecretId=arn, ClientRequestToken=token,
                RotationLambdaARN=FUNCTION_ARN)  # fmt: skip
    stages = sm.stages(arn)
    assert stages[token] == ["AWSPENDING"]
    assert {v for v, s in stages.items() if "AWSCURRENT" in s} == {
        v for v, s in before.items() if "AWSCURRENT" in s
    }
    assert sm.secrets.value(arn, "AWSPENDING", token) is None
    return token


def test_the_packaged_handler_rotates_with_secrets_manager_events(tls_postgres, moto, packaged):
    cluster, certs = tls_postgres
    sm = rotation.SecretsManager(moto)
    db = database(certs)
    arn = with_rotation(sm, cluster, MASTER_PASSWORD)
    first = current_login(sm, arn)
    for number in (1, 2):
        token = start_rotation(sm, arn)
        for step in rotation.STEPS:
            done = invoke(packaged["ca.crt"], moto, arn, token, step)
            assert done.returncode == 0, f"rotation {number}, {step}: {done.stderr}"
        # An event for a version that is AWSCURRENT already is a no-op, as AWS's function.
        again = invoke(packaged["ca.crt"], moto, arn, token, "setSecret")
        assert again.returncode == 0, again.stderr
        now = current_login(sm, arn)
        assert sm.stages(arn)[token].count("AWSCURRENT") == 1
        assert db.run(now, "SELECT current_user") == [[now["username"]]]
        if number == 1:
            assert now["username"] == f"{first['username']}_clone"
            assert db.run(first, "SELECT 1") == [[1]]  # the previous login still works
    assert now["username"] == first["username"]
    assert now["password"] != first["password"]


def test_the_packaged_handler_refuses_an_untrusted_server_and_keeps_the_login(
    tls_postgres, moto, packaged
):
    cluster, certs = tls_postgres
    sm = rotation.SecretsManager(moto)
    arn = with_rotation(sm, cluster, MASTER_PASSWORD)
    before = current_login(sm, arn)
    token = start_rotation(sm, arn)
    created = invoke(packaged["other-ca.crt"], moto, arn, token, "createSecret")
    assert created.returncode == 0, created.stderr
    refused = invoke(packaged["other-ca.crt"], moto, arn, token, "setSecret")
    assert refused.returncode != 0
    assert "the current login does not work" in refused.stderr
    # The log names the cause: TLS, not a refused password.
    where = f"login as {before['username']} to 127.0.0.1:{cluster.port}"
    assert (
        f"{where}: TLS failed: the server's certificate does not verify against "
        "ca-bundle.pem: unable to get local issuer certificate" in refused.stderr
    ), refused.stderr
    assert "authentication refused" not in refused.stderr
    assert current_login(sm, arn) == before
    assert database(certs).run(before, "SELECT current_user") == [[before["username"]]]


def test_the_packaged_handler_logs_a_refused_password_as_authentication_not_tls(
    tls_postgres, moto, packaged
):
    cluster, _ = tls_postgres
    sm = rotation.SecretsManager(moto)
    arn = with_rotation(sm, cluster, "not-the-master-password")
    token = start_rotation(sm, arn)
    assert invoke(packaged["ca.crt"], moto, arn, token, "createSecret").returncode == 0
    refused = invoke(packaged["ca.crt"], moto, arn, token, "setSecret")
    assert refused.returncode != 0
    assert "cannot log in with the master secret" in refused.stderr
    assert (
        f"login as rotator to 127.0.0.1:{cluster.port}: authentication refused: 28P01 "
        'password authentication failed for user "rotator"' in refused.stderr
    ), refused.stderr
    assert "TLS failed" not in refused.stderr


def test_the_packaged_handler_refuses_events_it_must_not_act_on(tls_postgres, moto, packaged):
    cluster, _ = tls_postgres
    sm = rotation.SecretsManager(moto)
    task = packaged["ca.crt"]
    arn = with_rotation(sm, cluster, MASTER_PASSWORD)
    token = start_rotation(sm, arn)
    # Rotation turned off (DescribeSecret's RotationEnabled present and false).
    cancelled = with_rotation(sm, cluster, MASTER_PASSWORD)
    cancelled_token = start_rotation(sm, cancelled)
    sm.call("CancelRotateSecret", SecretId=cancelled)
    assert sm.call("DescribeSecret", SecretId=cancelled)["RotationEnabled"] is False
    # Never configured for rotation: no RotationEnabled key, as during RotateSecret's
    # configuration test. AWS's function goes on to the version checks, and so does ours.
    plain = secrets(sm, cluster, MASTER_PASSWORD)
    assert "RotationEnabled" not in sm.call("DescribeSecret", SecretId=plain)
    refused = {
        "is not enabled for rotation": invoke(
            task, moto, cancelled, cancelled_token, "createSecret"
        ),
        f"Secret version {token} has no stage for rotation of {plain}": invoke(
            task, moto, plain, token, "createSecret"
        ),
        "has no stage for rotation": invoke(task, moto, arn, str(uuid.uuid4()), "createSecret"),
        "Step: expected one of createSecret, setSecret, testSecret, finishSecret": invoke(
            task, moto, arn, token, "dropSecret"
        ),
    }
    for message, done in refused.items():
        assert done.returncode != 0, message
        assert message in done.stderr, done.stderr
    assert sm.secrets.value(arn, "AWSPENDING", token) is None  # nothing was created


@pytest.mark.parametrize("package", ["scramp", "dateutil"])
def test_the_packaged_handler_fails_when_a_dependency_is_missing_from_the_zip(
    tls_postgres, moto, packaged, package, tmp_path
):
    # The interpreter sees the unpacked zip and the runtime's boto3 only: a package the zip
    # lacks (scramp for pg8000, dateutil for pg8000 and botocore) is not found elsewhere.
    cluster, _ = tls_postgres
    sm = rotation.SecretsManager(moto)
    arn = with_rotation(sm, cluster, MASTER_PASSWORD)
    token = start_rotation(sm, arn)
    task = tmp_path / "task"
    shutil.copytree(packaged["ca.crt"].task, task)
    shutil.rmtree(task / package)
    done = invoke(Function(task, packaged["ca.crt"].runtime), moto, arn, token, "createSecret")
    assert done.returncode != 0
    assert f"ModuleNotFoundError: No module named '{package}'" in done.stderr, done.stderr


class HostilePasswords(ApiSecrets):
    """Secrets Manager whose new passwords hold a quote, a backslash and a statement."""

    def random_password(self, length: int, exclude: str) -> str:  # noqa: ARG002 - the protocol's
        return "p'; DROP ROLE rotator; --\\" + uuid.uuid4().hex[:8]


def test_names_and_passwords_that_need_quoting_reach_postgresql_unchanged(tls_postgres, moto):
    # The statements are built by the server (format() with %I and %L) from bound parameters:
    # a role name with quotes, a space and a semicolon is one identifier, and a password with a
    # quote, a backslash and a statement is one literal.
    cluster, certs = tls_postgres
    sm = rotation.SecretsManager(moto)
    hostile = HostilePasswords(sm.api)
    db = database(certs)
    user = f'Odd "x"; o\'k {uuid.uuid4().hex[:6]}'
    quoted = '"' + user.replace('"', '""') + '"'
    cluster.primary.sql(f"CREATE ROLE {quoted} LOGIN PASSWORD 'first'")
    cluster.primary.sql(f"GRANT {quoted} TO rotator WITH ADMIN OPTION")
    login = json.dumps({"username": "rotator", "password": MASTER_PASSWORD})
    master = sm.call("CreateSecret", Name=f"rds!{uuid.uuid4().hex[:8]}", SecretString=login)
    app = {"host": "127.0.0.1", "port": cluster.port, "dbname": "postgres", "username": user,
           "password": "first", "masterarn": master["ARN"]}  # fmt: skip
    arn = sm.call("CreateSecret", Name=f"odd-{uuid.uuid4().hex[:8]}", SecretString=json.dumps(app))
    shown = []
    for _ in range(2):
        token = str(uuid.uuid4())
        for step in rotation.STEPS:
            shown += run_step(step, hostile, db, arn["ARN"], token)
        now = current_login(sm, arn["ARN"])
        assert "DROP ROLE" in str(now["password"])
        assert db.run(now, "SELECT current_user") == [[now["username"]]]
    assert now["username"] == user
    assert shown == [
        f"CREATE ROLE {user}_clone WITH LOGIN PASSWORD '<new password>'",
        f"GRANT {user} TO {user}_clone",
        f"ALTER USER {user} WITH PASSWORD '<new password>'",
    ]
    assert cluster.primary.sql("SELECT count(*) FROM pg_roles WHERE rolname = 'rotator'") == "1"
