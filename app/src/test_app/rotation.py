"""Rotate the app's PostgreSQL login by alternating users, the way AWS's multi-user rotation does.

The secret holds the login in use, `{"username": ..., "password": ...}`, with the user either the
role (`test_app`) or its clone (`test_app_clone`). One rotation (as the administrator):

1. pending = the other user with a new password;
2. if the pending login works already (an earlier run stopped after the database step), keep it;
3. else the current login must work; when it does not, the secret's password is set on the
   current user (the vault is the source of truth: a password Terraform wrote again after a
   `replace` is adopted instead of locking the app out);
4. the pending user gets the new password (`ALTER ROLE`), or on the first rotation is created
   with it and made a member of the role (`CREATE ROLE ... LOGIN`, `GRANT <role> TO <clone>`);
5. the pending login must open a session; then it is the new secret.

The previous login keeps working until the next rotation, so pods that still hold it (External
Secrets refreshes, the kubelet updates the files, the app re-reads them on a refused login) are
never locked out. Passwords reach the server only as SCRAM-SHA-256 verifiers.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import asyncpg

from test_app.provision import CLONE_SUFFIX, ProvisionError, check_role_name, scram_verifier


@dataclass(frozen=True)
class Login:
    """A user name and its password (the secret's `username` and `password`)."""

    username: str
    password: str

    def to_json(self) -> str:
        """Return the secret's value."""
        return json.dumps({"username": self.username, "password": self.password})


@dataclass(frozen=True)
class Rotation:
    """What one rotation did: the new login and the statements run (passwords hidden)."""

    login: Login
    statements: list[str]


def parse_login(text: str, where: str) -> Login:
    """Read a secret's value; a missing or wrong field is named."""
    try:
        document = json.loads(text)
    except ValueError as err:
        msg = f"{where}: expected JSON with username and password ({err})"
        raise ValueError(msg) from err
    if not isinstance(document, dict):
        msg = f"{where}: expected a JSON object with username and password"
        raise ValueError(msg)  # noqa: TRY004 - bad input is a ValueError here
    for field in ("username", "password"):
        if not isinstance(document.get(field), str) or not document[field]:
            msg = f"{where}: `{field}` must be a non-empty string"
            raise ValueError(msg)
    return Login(document["username"], document["password"])


def new_password() -> str:
    """Return a new password: 48 hex digits (nothing PostgreSQL or a URL would need quoted)."""
    return secrets.token_hex(24)


def alternate_user(username: str, role: str) -> str:
    """Return the other user of the pair: the clone for the role, the role for the clone."""
    clone = f"{role}{CLONE_SUFFIX}"
    if username not in {role, clone}:
        msg = f"secret username {username!r}: expected {role!r} or {clone!r}"
        raise ValueError(msg)
    return clone if username == role else role


async def rotate(
    admin: asyncpg.Connection,
    current: Login,
    role: str,
    can_log_in: Callable[[Login], Awaitable[bool]],
    password: str | None = None,
) -> Rotation:
    """One rotation as the administrator; `can_log_in` tries a login on the writer."""
    check_role_name(role)
    pending = Login(alternate_user(current.username, role), password or new_password())
    statements: list[str] = []

    async def run(statement: str, shown: str) -> None:
        await admin.execute(statement)
        statements.append(shown)

    if not await can_log_in(pending):
        if not await can_log_in(current):
            await run(
                f"ALTER ROLE {current.username} WITH PASSWORD '{scram_verifier(current.password)}'",
                f"ALTER ROLE {current.username} WITH PASSWORD <the secret's password>",
            )
        exists = await admin.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", pending.username)
        verifier = scram_verifier(pending.password)
        if exists:
            await run(
                f"ALTER ROLE {pending.username} WITH LOGIN PASSWORD '{verifier}'",
                f"ALTER ROLE {pending.username} WITH LOGIN PASSWORD <new password>",
            )
        else:
            async with admin.transaction():
                await run(
                    f"CREATE ROLE {pending.username} WITH LOGIN PASSWORD '{verifier}'",
                    f"CREATE ROLE {pending.username} WITH LOGIN PASSWORD <new password>",
                )
                await run(
                    f"GRANT {role} TO {pending.username}", f"GRANT {role} TO {pending.username}"
                )
    if not await can_log_in(pending):
        msg = f"the new login of {pending.username} does not open a session"
        raise ProvisionError(msg)
    return Rotation(pending, statements)
