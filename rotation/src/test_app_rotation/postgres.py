"""PostgreSQL for the rotation steps: pg8000 over TLS verify-full against one CA file.

Every login verifies the server's certificate against `ca_file` (`CERT_REQUIRED`) and its name
against the login's host (`check_hostname`), as libpq's `sslmode=verify-full`; a server that
refuses TLS is refused in turn (there is no plaintext fallback).
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pg8000.native

from test_app_rotation.steps import Login, RotationError, Rows


CONNECT_TIMEOUT = 5  # seconds, per login (the Lambda has 30 in all)
# SQLSTATE class 28: invalid authorization (wrong password, no pg_hba.conf entry).
REFUSED_LOGIN = "28"


def tls_context(ca_file: Path) -> ssl.SSLContext:
    """The verify-full context: only `ca_file`'s CAs, the host name checked."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(ca_file))
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


@dataclass(frozen=True)
class Postgres:
    """`Database` over pg8000 with TLS verify-full against `ca_file`."""

    ca_file: Path

    def connect(self, login: Login) -> pg8000.native.Connection | None:
        """A session as `login`; None when the login or TLS is refused."""
        try:
            return pg8000.native.Connection(
                str(login["username"]),
                host=str(login["host"]),
                port=int(login.get("port") or 5432),
                database=str(login.get("dbname") or "postgres"),
                password=str(login["password"]),
                ssl_context=tls_context(self.ca_file),
                timeout=CONNECT_TIMEOUT,
                application_name="test-app-rotation",
            )
        except (OSError, pg8000.native.InterfaceError):  # ssl.SSLError is an OSError
            return None
        except pg8000.native.DatabaseError as err:
            if _sqlstate(err).startswith(REFUSED_LOGIN):
                return None
            raise RotationError(f"login as {login['username']}: {_message(err)}") from err

    def run(self, login: Login, sql: str, params: Mapping[str, str] | None = None) -> Rows | None:
        """Run `sql` as `login`; its rows, or None when the login or TLS is refused."""
        session = self.connect(login)
        if session is None:
            return None
        try:
            rows = session.run(sql, **(params or {}))
        except pg8000.native.DatabaseError as err:
            raise RotationError(f"as {login['username']}: {_message(err)}") from err
        finally:
            session.close()
        return [list(row) for row in rows or []]


def _fields(err: pg8000.native.DatabaseError) -> Mapping[str, str]:
    detail = err.args[0] if err.args else {}
    return detail if isinstance(detail, Mapping) else {}


def _sqlstate(err: pg8000.native.DatabaseError) -> str:
    return str(_fields(err).get("C", ""))


def _message(err: pg8000.native.DatabaseError) -> str:
    fields = _fields(err)
    return f"{fields.get('C', '?')} {fields.get('M', err)}" if fields else str(err)
