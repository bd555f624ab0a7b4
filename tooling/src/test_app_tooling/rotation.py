"""The rotation function's four steps against moto's Secrets Manager, for tests and the rehearsal.

Production rotates the app secret with the project's own function (`rotation/`, package
`test_app_rotation`: AWS's multi-user steps, pg8000 over TLS verify-full against the bundled
RDS CA). This module runs those same step functions in Secrets Manager's order against a
Secrets Manager endpoint (moto on loopback) and a PostgreSQL server, so what ships is what is
rehearsed: `SecretsManager` speaks the JSON API without request signing (moto only) and adapts
to the steps' `Secrets` protocol through `ApiSecrets`; the database is the function's own
`Postgres` (verify-full against a given CA file, no plaintext fallback).

A failing step raises `RotationError` and leaves AWSCURRENT where it was, so the current login
keeps working; Secrets Manager reattempts that rotation with the same token (RotateSecret
meanwhile answers "A previous rotation isn't complete"), so `rotate` with the failed token
continues from the pending version.
"""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from test_app_rotation.postgres import Postgres
from test_app_rotation.steps import (
    STEPS,
    ApiSecrets,
    NotFoundError,
    RotationError,
    alternate,
    run_step,
)
from test_app_tooling.ports import free_port
from test_app_tooling.tools import find_tool


__all__ = ["STEPS", "Database", "Outcome", "RotationError", "SecretsManager", "alternate"]

# The function's database: pg8000 with TLS verify-full against one CA file.
Database = Postgres


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

    def api(self, action: str, request: dict[str, Any]) -> dict[str, Any]:
        """`call` in the steps' form: a missing version raises `NotFoundError`."""
        try:
            return self.call(action, **request)
        except RotationError as err:
            if "ResourceNotFoundException" in str(err):
                raise NotFoundError(str(err)) from err
            raise

    @property
    def secrets(self) -> ApiSecrets:
        """The steps' `Secrets` over this endpoint."""
        return ApiSecrets(self.api)

    def value(self, secret_id: str, stage: str, token: str | None = None) -> dict[str, Any]:
        """The secret's JSON at a stage (and version); a missing one raises `RotationError`."""
        found = self.secrets.value(secret_id, stage, token)
        if found is None:
            raise RotationError(f"{secret_id} has no {stage} value")
        return found

    def stages(self, secret_id: str) -> dict[str, list[str]]:
        """Version id -> staging labels."""
        return self.secrets.stages(secret_id)


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
    """Run the function's four steps in Secrets Manager's order; return what they did.

    On a failure the pending version stays (Secrets Manager reattempts the rotation with the
    same token) and AWSCURRENT is unchanged; `RotationError` names the step.
    """
    done = Outcome()
    for step in STEPS:
        try:
            statements = run_step(step, sm.secrets, db, secret_id, token)
        except RotationError as err:
            raise RotationError(f"{step} failed: {err}") from err
        if step == "setSecret":
            done.statements = statements
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
