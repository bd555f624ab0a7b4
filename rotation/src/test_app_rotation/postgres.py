"""PostgreSQL for the rotation steps: pg8000 over TLS verify-full against one CA file.

Every login verifies the server's certificate against `ca_file` (`CERT_REQUIRED`) and its name
against the login's host (`check_hostname`), as libpq's `sslmode=verify-full`; a server that
refuses TLS is refused in turn (there is no plaintext fallback). The chain is verified the way
the app verifies Aurora (its image's Python 3.11, asyncpg, `sslmode=verify-full`): OpenSSL's
default checks, on every Python. Python 3.13, the Lambda's, adds `VERIFY_X509_STRICT` and
`VERIFY_X509_PARTIAL_CHAIN` to its default context; both are cleared, so the first rotation cannot
fail on an RFC 5280 profile detail of Aurora's chain that the app accepts (strict mode refuses,
for one, a CA whose basicConstraints is not critical) and that cannot be checked without the live
chain. The trust anchors stay the bundled CAs only, the host name checked.

A login that fails is logged apart by its cause, so a rotation that fails is diagnosed where it
failed: "TLS" (a certificate that does not verify, a server that refuses TLS), "network" (no
connection) or "authentication" (PostgreSQL refused the user or password, SQLSTATE class 28).
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pg8000.native

from test_app_rotation.steps import Login, RotationError, Rows


CONNECT_TIMEOUT = 5  # seconds, per login (the Lambda has 30 in all)
# SQLSTATE class 28: invalid authorization (wrong password, no pg_hba.conf entry).
REFUSED_LOGIN = "28"
log = logging.getLogger(__name__)


def tls_context(ca_file: Path) -> ssl.SSLContext:
    """The verify-full context: only `ca_file`'s CAs, the host name checked."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(ca_file))
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    # Python 3.13's create_default_context adds these two (3.11, the app's, does not): verify as
    # the app does on every Python.
    context.verify_flags &= ~(ssl.VERIFY_X509_STRICT | ssl.VERIFY_X509_PARTIAL_CHAIN)
    return context


@dataclass(frozen=True)
class Postgres:
    """`Database` over pg8000 with TLS verify-full against `ca_file`."""

    ca_file: Path

    def connect(self, login: Login) -> pg8000.native.Connection | None:
        """A session as `login`; None (the cause logged) when the login or TLS is refused."""
        where = f"login as {login['username']} to {login['host']}:{login.get('port') or 5432}"
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
        except ssl.SSLCertVerificationError as err:
            cause = (
                f"TLS failed: the server's certificate does not verify against "
                f"{self.ca_file.name}: {err.verify_message}"
            )
        except ssl.SSLError as err:
            cause = f"TLS failed: {err}"
        except pg8000.native.InterfaceError as err:  # "Server refuses SSL", or no connection
            cause = f"{'network' if isinstance(err.__cause__, OSError) else 'TLS'} failed: {err}"
        except OSError as err:
            cause = f"network failed: {err}"
        except pg8000.native.DatabaseError as err:
            if not _sqlstate(err).startswith(REFUSED_LOGIN):
                raise RotationError(f"login as {login['username']}: {_message(err)}") from err
            cause = f"authentication refused: {_message(err)}"
        log.error("%s: %s", where, cause)
        return None

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
