"""The multi-user rotation's four steps, as AWS's function performs them, for the emulator.

Production rotates the app secret with AWS's `SecretsManagerRDSPostgreSQLRotationMultiUser`
(aws-samples/aws-secrets-manager-rotation-lambdas, `lambda_function.py`). This module performs
the same steps against a Secrets Manager endpoint (moto on loopback) and a PostgreSQL server, so
the behaviour can be rehearsed without AWS:

* createSecret: the alternate user of AWSCURRENT (`test_app` <-> `test_app_clone`) with a new
  password (GetRandomPassword) is put as AWSPENDING under the rotation token;
* setSecret: returns when the pending login already works; else checks that the pending user
  is the current one's alternate on the same host, logs in with the current login (the
  confused-deputy check), then with the master secret's login, and creates the alternate
  (`CREATE ROLE ... WITH LOGIN PASSWORD`, `GRANT <current> TO <alternate>`) or sets its password;
* testSecret: logs in with the pending login and runs `SELECT now()`;
* finishSecret: moves AWSCURRENT to the token's version.

Every login uses `sslmode=verify-full` against a given CA file, and there is no plaintext
fallback (the secret's `ssl: true` in production). A failing step raises `RotationError` and
leaves AWSCURRENT where it was, so the current login keeps working; Secrets Manager reattempts
that rotation with the same token (RotateSecret meanwhile answers "A previous rotation isn't
complete"), so `rotate` with the failed token continues from the pending version. The Secrets
Manager client speaks the JSON API without request signing: it is for moto only
(`moto_server` starts one on loopback from `.venvs/moto`).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from test_app_tooling.ports import free_port
from test_app_tooling.tools import find_tool


CLONE_SUFFIX = "_clone"
STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")


class RotationError(RuntimeError):
    """A rotation step failed; the secret's AWSCURRENT version is unchanged."""


@dataclass(frozen=True)
class SecretsManager:
    """Secrets Manager's JSON API at `endpoint` (moto: no signature is checked)."""

    endpoint: str

    def call(self, action: str, **body: Any) -> dict[str, Any]:  # noqa: ANN401
        """Call one API action; a client error raises `RotationError` naming it."""
        request = urllib.request.Request(  # noqa: S310 - a loopback http endpoint
            self.endpoint,
            data=json.dumps(body).encode(),
            headers={
                "Content-Type": "application/x-amz-json-1.1",
                "X-Amz-Target": f"secretsmanager.{action}",
                "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20260101/eu-central-1/"
                "secretsmanager/aws4_request, SignedHeaders=host, Signature=0",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
                loaded: dict[str, Any] = json.loads(answer.read() or b"{}")
                return loaded
        except urllib.error.HTTPError as err:
            detail = err.read().decode(errors="replace")
            raise RotationError(f"{action}: {err.code} {detail}") from err

    def value(self, secret_id: str, stage: str, token: str | None = None) -> dict[str, Any]:
        """The secret's JSON at a stage (and version)."""
        body: dict[str, Any] = {"SecretId": secret_id, "VersionStage": stage}
        if token:
            body["VersionId"] = token
        loaded: dict[str, Any] = json.loads(self.call("GetSecretValue", **body)["SecretString"])
        return loaded

    def stages(self, secret_id: str) -> dict[str, list[str]]:
        """Version id -> staging labels."""
        found: dict[str, list[str]] = self.call("DescribeSecret", SecretId=secret_id).get(
            "VersionIdsToStages", {}
        )
        return found


def alternate(username: str) -> str:
    """The other user of the pair, as the function's get_alt_username does."""
    if username.endswith(CLONE_SUFFIX):
        return username.removesuffix(CLONE_SUFFIX)
    if len(username) + len(CLONE_SUFFIX) > 63:
        raise RotationError(f"{username}{CLONE_SUFFIX} exceeds 63 characters")
    return username + CLONE_SUFFIX


@dataclass(frozen=True)
class Database:
    """How logins reach PostgreSQL: psql with TLS verify-full against `ca_file`."""

    psql: Path
    ca_file: Path

    def run(self, login: dict[str, Any], sql: str, *params: str) -> str | None:
        """Run `sql` as `login`; None when the login (or TLS) is refused."""
        variables = [arg for i, p in enumerate(params, 1) for arg in ("-v", f"p{i}={p}")]
        command = [
            str(self.psql),
            (
                f"host={login['host']} port={login.get('port', 5432)} "
                f"dbname={login.get('dbname') or 'postgres'} user={login['username']} "
                f"sslmode=verify-full sslrootcert={self.ca_file} connect_timeout=5"
            ),
            "-v",
            "ON_ERROR_STOP=1",
            *variables,
            "-Atc" if not params else "-At",
        ]
        env = {**os.environ, "PGPASSWORD": str(login["password"])}
        done = subprocess.run(
            [*command, sql] if not params else command,
            input=sql if params else None,
            capture_output=True,
            text=True,
            env=env,
            timeout=30,
            check=False,
        )
        if done.returncode != 0:
            if "authentication failed" in done.stderr or "certificate" in done.stderr.lower():
                return None
            if "SSL" in done.stderr or "connection" in done.stderr.lower():
                return None
            raise RotationError(f"psql as {login['username']}: {done.stderr.strip()}")
        return done.stdout.strip()


def create_secret(sm: SecretsManager, secret_id: str, token: str) -> None:
    """createSecret: the alternate user with a new password, as AWSPENDING."""
    current = sm.value(secret_id, "AWSCURRENT")
    if token in sm.stages(secret_id):
        return
    pending = dict(current)
    pending["username"] = alternate(current["username"])
    pending["password"] = sm.call(
        "GetRandomPassword", PasswordLength=32, ExcludeCharacters=":/@\"'\\"
    )["RandomPassword"]
    sm.call(
        "PutSecretValue",
        SecretId=secret_id,
        ClientRequestToken=token,
        SecretString=json.dumps(pending),
        VersionStages=["AWSPENDING"],
    )


def set_secret(sm: SecretsManager, db: Database, secret_id: str, token: str) -> list[str]:
    """setSecret: create the alternate user or set its password, logged in as the master.

    Return the statements run as the master, the password hidden (none when the pending login
    worked already).
    """
    current = sm.value(secret_id, "AWSCURRENT")
    pending = sm.value(secret_id, "AWSPENDING", token)
    if db.run(pending, "SELECT 1") is not None:
        return []
    if alternate(current["username"]) != pending["username"]:
        raise RotationError(f"{pending['username']} is not the current user's pair")
    if current["host"] != pending["host"]:
        raise RotationError("the pending login is for another host")
    if db.run(current, "SELECT 1") is None:
        raise RotationError("the current login does not work (confused deputy check)")
    master = sm.value(current["masterarn"], "AWSCURRENT")
    master = {**current, **master, "dbname": current.get("dbname")}
    if db.run(master, "SELECT 1") is None:
        raise RotationError("cannot log in with the master secret")
    exists = db.run(
        master, "SELECT count(*) FROM pg_roles WHERE rolname = :'p1'", pending["username"]
    )
    if exists == "0":
        sql = 'CREATE ROLE :"p1" WITH LOGIN PASSWORD :\'p2\';\nGRANT :"p3" TO :"p1";'
        db.run(master, sql, pending["username"], pending["password"], current["username"])
        return [
            f"CREATE ROLE {pending['username']} WITH LOGIN PASSWORD '<new password>'",
            f"GRANT {current['username']} TO {pending['username']}",
        ]
    db.run(
        master,
        "ALTER ROLE :\"p1\" WITH PASSWORD :'p2';",
        pending["username"],
        pending["password"],
    )
    return [f"ALTER USER {pending['username']} WITH PASSWORD '<new password>'"]


def test_secret(sm: SecretsManager, db: Database, secret_id: str, token: str) -> None:
    """testSecret: the pending login works."""
    if db.run(sm.value(secret_id, "AWSPENDING", token), "SELECT now()") is None:
        raise RotationError("cannot log in with the pending secret")


def finish_secret(sm: SecretsManager, secret_id: str, token: str) -> None:
    """finishSecret: AWSCURRENT moves to the token's version."""
    stages = sm.stages(secret_id)
    current = next((v for v, s in stages.items() if "AWSCURRENT" in s), None)
    if current == token:
        return
    sm.call(
        "UpdateSecretVersionStage",
        SecretId=secret_id,
        VersionStage="AWSCURRENT",
        MoveToVersionId=token,
        RemoveFromVersionId=current,
    )


def next_token(sm: SecretsManager, secret_id: str) -> str:
    """The token Secrets Manager rotates with: a failed rotation's again, else a new one.

    A version labelled AWSPENDING but not AWSCURRENT is a rotation that did not finish;
    Secrets Manager reattempts it with the same token rather than start another.
    """
    for version, stages in sm.stages(secret_id).items():
        if "AWSPENDING" in stages and "AWSCURRENT" not in stages:
            return version
    return str(uuid.uuid4())


@dataclass
class Outcome:
    """What one rotation did: the steps that passed and setSecret's statements."""

    steps: list[str] = field(default_factory=list)
    statements: list[str] = field(default_factory=list)


def rotate(sm: SecretsManager, db: Database, secret_id: str, token: str) -> Outcome:
    """Run the four steps in Secrets Manager's order; return what they did.

    On a failure the pending version stays (Secrets Manager reattempts the rotation with the
    same token) and AWSCURRENT is unchanged; `RotationError` names the step.
    """
    done = Outcome()
    for step in STEPS:
        try:
            if step == "createSecret":
                create_secret(sm, secret_id, token)
            elif step == "setSecret":
                done.statements = set_secret(sm, db, secret_id, token)
            elif step == "testSecret":
                test_secret(sm, db, secret_id, token)
            else:
                finish_secret(sm, secret_id, token)
        except RotationError as err:
            raise RotationError(f"{step} failed: {err}") from err
        done.steps.append(step)
    return done


@contextlib.contextmanager
def moto_server(timeout: float = 60) -> Iterator[SecretsManager]:
    """Start moto on a free loopback port (`.venvs/moto`); yield its Secrets Manager; stop it.

    A missing moto raises `MissingToolError` (run scripts/bootstrap).

    Plain `moto_server`: the Terraform round trip's patches (scripts/terraform/moto_server.py)
    concern other services and cost seconds of imports.
    """
    port = free_port()
    proc = subprocess.Popen(
        [find_tool("moto_server"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        sm = SecretsManager(f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + timeout
        while True:
            try:
                sm.call("ListSecrets")
                break
            except (OSError, RotationError):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto did not answer on 127.0.0.1:{port}") from None
                time.sleep(0.2)
        yield sm
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
