"""`test-app-db-role`: create or repair the service's least-privilege login role, idempotently.

The service only runs `SELECT 1` and, on a standby, the replication-lag functions, so its role
gets LOGIN and CONNECT on the database and nothing else: no superuser, no CREATEDB, CREATEROLE,
REPLICATION or BYPASSRLS, no CREATE or TEMPORARY on the database, no CREATE on schema `public`.
PUBLIC's TEMPORARY on the database and CREATE on `public` (granted by default before
PostgreSQL 15) are revoked, since every role inherits what PUBLIC holds.

It runs as an administrator (the master user), connecting with the service's own variables
(`POSTGRESQL_HOST`, `POSTGRESQL_USER[_FILE]`, `POSTGRESQL_PASSWORD[_FILE]`, ...). A new role
gets the password from `--password-file`, sent as a SCRAM-SHA-256 verifier so the clear text
never reaches the server or its logs; an existing role's password is never touched, because
rotation owns it.

Rotation alternates the login between the role and `<role>_clone` (AWS's multi-user rotation
function): on its first run the function creates the clone with LOGIN and a password, then
`GRANT <role> TO <clone>`, so the clone holds the role's privileges through membership. When the
clone exists, every run checks it against the same target: no forbidden attribute, no CREATE or
TEMPORARY of its own, no membership but the role, nothing more held through another role. The
clone is never created here and its password never touched: the rotation owns both.

Every run compares the catalog with the target state and changes only what differs, so a
second run changes nothing. Prints one JSON line: `{"role": ..., "changes": [...]}`.

Exit status: 0 done, 1 database error or a privilege that could not be removed, 2 bad input.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import sys
from typing import TYPE_CHECKING

import asyncpg

from test_app.settings import ConfigError, load_settings, read_secret_file
from test_app.startup import connect_kwargs


if TYPE_CHECKING:
    from collections.abc import Sequence

DEFAULT_ROLE = "test_app"
# The suffix AWS's multi-user rotation function appends to the role for its alternate user.
CLONE_SUFFIX = "_clone"
SCRAM_ITERATIONS = 4096  # PostgreSQL's default (scram_iterations)
_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_PRINTABLE_ASCII = re.compile(r"^[\x21-\x7e]+$")
# Serializes concurrent runs (two releases' hooks): any constant, the same for every run.
_LOCK_KEY = 0x7465_7374_6170_70

# Attributes the role must not have, and the keyword that removes each.
_FORBIDDEN = {
    "rolsuper": "NOSUPERUSER",
    "rolcreatedb": "NOCREATEDB",
    "rolcreaterole": "NOCREATEROLE",
    "rolreplication": "NOREPLICATION",
    "rolbypassrls": "NOBYPASSRLS",
}
_ROLE_QUERY = (
    "SELECT rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls "
    "FROM pg_roles WHERE rolname = $1"
)
PUBLIC = 0  # the grantee oid of PUBLIC in an ACL
# Explicit grants (not via PUBLIC) on the current database and on schema public, per grantee
# (0 = PUBLIC), default privileges included when the ACL was never set.
_DATABASE_ACL = """
SELECT privilege_type FROM pg_database,
  aclexplode(coalesce(datacl, acldefault('d', datdba)))
WHERE datname = current_database() AND grantee = $1
"""
_SCHEMA_ACL = """
SELECT privilege_type FROM pg_namespace,
  aclexplode(coalesce(nspacl, acldefault('n', nspowner)))
WHERE nspname = 'public' AND grantee = $1
"""
# The roles `$1` is a direct member of (several grantors give one row each since PostgreSQL 16).
_MEMBER_OF = """
SELECT DISTINCT r.rolname FROM pg_auth_members m
  JOIN pg_roles r ON r.oid = m.roleid
  JOIN pg_roles u ON u.oid = m.member
WHERE u.rolname = $1 ORDER BY 1
"""
_EFFECTIVE = """
SELECT has_database_privilege($1, current_database(), 'CREATE'),
       has_database_privilege($1, current_database(), 'TEMPORARY'),
       coalesce(has_schema_privilege($1, 'public', 'CREATE'), false)
"""


class ProvisionError(RuntimeError):
    """The role cannot be brought to the target state."""


def scram_verifier(password: str, salt: bytes | None = None) -> str:
    """Return PostgreSQL's SCRAM-SHA-256 verifier of `password`, as psql's password command does.

    Limited to printable ASCII, for which SASLprep (RFC 4013) changes nothing.
    """
    if not _PRINTABLE_ASCII.match(password):
        raise ValueError("the password must be printable ASCII without spaces")
    salt = salt if salt is not None else secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, SCRAM_ITERATIONS)
    client_key = hmac.digest(salted, b"Client Key", "sha256")
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.digest(salted, b"Server Key", "sha256")

    def b64(raw: bytes) -> str:
        return base64.b64encode(raw).decode()

    return f"SCRAM-SHA-256${SCRAM_ITERATIONS}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


class _Run:
    """One provisioning run: a connection and the statements it executed."""

    def __init__(self, conn: asyncpg.Connection, role: str) -> None:
        self.conn = conn
        self.role = role
        self.name = f'"{role}"'  # a checked identifier, quoted so that keywords work too
        self.changes: list[str] = []

    async def execute(self, statement: str, shown: str | None = None) -> None:
        await self.conn.execute(statement)
        self.changes.append(shown or statement)

    async def privileges(self, query: str, grantee: int) -> set[str]:
        return {row[0] for row in await self.conn.fetch(query, grantee)}

    async def ensure_role(self, password: str | None) -> None:
        if not await self.ensure_attributes():
            if password is None:
                raise ProvisionError(
                    f"role {self.role} does not exist and no --password-file was given"
                )
            create = f"CREATE ROLE {self.name} LOGIN {' '.join(_FORBIDDEN.values())} PASSWORD"
            verifier = scram_verifier(password)
            await self.execute(f"{create} '{verifier}'", f"{create} '<scram-sha-256 verifier>'")

    async def ensure_attributes(self) -> bool:
        """Give an existing role LOGIN and none of the forbidden attributes; False if absent."""
        row = await self.conn.fetchrow(_ROLE_QUERY, self.role)
        if row is None:
            return False
        wrong = [keyword for column, keyword in _FORBIDDEN.items() if row[column]]
        if not row["rolcanlogin"]:
            wrong.append("LOGIN")
        if wrong:
            await self.execute(f"ALTER ROLE {self.name} {' '.join(wrong)}")
        return True

    async def ensure_member_of_only(self, parent: str) -> None:
        """Make the role a member of `parent` and of no other role."""
        held = [row[0] for row in await self.conn.fetch(_MEMBER_OF, self.role)]
        for other in held:
            if other != parent:
                quoted = await self.conn.fetchval("SELECT quote_ident($1)", other)
                await self.execute(f"REVOKE {quoted} FROM {self.name}")
        if parent not in held:
            await self.execute(f'GRANT "{parent}" TO {self.name}')

    async def ensure_grants(self, *, connect: bool = True) -> None:
        """Leave the role CONNECT (when `connect`) and no CREATE or TEMPORARY of its own."""
        database = await self.conn.fetchval("SELECT quote_ident(current_database())")
        oid = await self.conn.fetchval("SELECT oid FROM pg_roles WHERE rolname = $1", self.role)
        own = await self.privileges(_DATABASE_ACL, oid)
        if connect and "CONNECT" not in own:
            await self.execute(f"GRANT CONNECT ON DATABASE {database} TO {self.name}")
        if own & {"CREATE", "TEMPORARY"}:
            await self.execute(f"REVOKE CREATE, TEMPORARY ON DATABASE {database} FROM {self.name}")
        if "TEMPORARY" in await self.privileges(_DATABASE_ACL, PUBLIC):
            await self.execute(f"REVOKE TEMPORARY ON DATABASE {database} FROM PUBLIC")
        if "CREATE" in await self.privileges(_SCHEMA_ACL, PUBLIC):
            await self.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        if "CREATE" in await self.privileges(_SCHEMA_ACL, oid):
            await self.execute(f"REVOKE CREATE ON SCHEMA public FROM {self.name}")

    async def check_effective(self) -> None:
        held = await self.conn.fetchrow(_EFFECTIVE, self.role)
        checks = ("CREATE on the database", "TEMPORARY", "CREATE on schema public")
        left = [check for check, has in zip(checks, held, strict=True) if has]
        if left:
            raise ProvisionError(
                f"role {self.role} still holds {', '.join(left)} through another role; "
                "revoke it there"
            )


def check_role_name(role: str) -> None:
    """Refuse a role name that is not a plain lower-case SQL identifier (it is written into SQL)."""
    if not _ROLE_NAME.match(role) or not _ROLE_NAME.match(role + CLONE_SUFFIX):
        raise ProvisionError(f"role {role!r}: expected a lower-case SQL identifier")


async def provision_role(conn: asyncpg.Connection, role: str, password: str | None) -> list[str]:
    """Bring `role`, and its rotation clone when it exists, to the least-privilege target state.

    Return the statements that ran. `password` is used only when the role does not exist yet.
    """
    check_role_name(role)
    run = _Run(conn, role)
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
        await run.ensure_role(password)
        await run.ensure_grants()
        await run.check_effective()
        clone = _Run(conn, role + CLONE_SUFFIX)
        if _ROLE_NAME.match(clone.role) and await clone.ensure_attributes():
            await clone.ensure_member_of_only(role)
            await clone.ensure_grants(connect=False)  # CONNECT comes through the role
            await clone.check_effective()
            run.changes += clone.changes
    return run.changes


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="test-app-db-role",
        description="Create or repair the service's least-privilege PostgreSQL role. "
        "Connects as an administrator with the POSTGRESQL_* variables of the service.",
    )
    parser.add_argument("--role", default=DEFAULT_ROLE, help=f"role name (default {DEFAULT_ROLE})")
    parser.add_argument(
        "--password-file",
        help="file with the initial password, used only when the role does not exist yet",
    )
    return parser.parse_args(argv)


async def _provision(args: argparse.Namespace, password: str | None) -> list[str]:
    settings = load_settings(os.environ)
    conn = await asyncpg.connect(
        **connect_kwargs(settings, settings.writer), timeout=settings.startup_timeout
    )
    try:
        return await provision_role(conn, args.role, password)
    finally:
        await conn.close()


def _initial_password(path: str | None) -> str | None:
    if path is None:
        return None
    try:
        password = read_secret_file(path)
        scram_verifier(password)  # reject an unusable password before connecting
    except ValueError as err:
        raise ValueError(
            f"--password-file={path!r}: expected a readable file holding a printable ASCII "
            f"password ({err})"
        ) from err
    return password


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the `test-app-db-role` command."""
    args = _arguments(argv)
    try:
        password = _initial_password(args.password_file)
        changes = asyncio.run(_provision(args, password))
    except (ConfigError, ValueError) as err:
        print(f"test-app-db-role: {err}", file=sys.stderr)  # noqa: T201 - a command-line tool
        sys.exit(2)
    except (
        ProvisionError,
        OSError,
        asyncpg.PostgresError,
        asyncpg.InterfaceError,
        TimeoutError,
    ) as err:
        print(f"test-app-db-role: {type(err).__name__}: {err}", file=sys.stderr)  # noqa: T201
        sys.exit(1)
    print(json.dumps({"role": args.role, "changes": changes}))  # noqa: T201


if __name__ == "__main__":
    main()
