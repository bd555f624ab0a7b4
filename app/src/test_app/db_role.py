"""The `test-app-db-role` command: the role step, and the rotation of the app's login.

    test-app-db-role [--role ROLE] [--password-file FILE]
        create or repair the role (test_app.provision; the chart's pre-install hook)
    test-app-db-role rotate --key-vault-url URL --secret-name NAME --admin-secret-name NAME
        rotate the app's login (test_app.rotation) and write it to Key Vault: the chart's
        rotation CronJob on AKS, signed in with workload identity (test_app.keyvault)

`rotate` reads the administrator's and the app's logins from Key Vault, connects to the writer
named by the service's variables (`POSTGRESQL_HOST`, `POSTGRESQL_PORT`, `POSTGRESQL_DBNAME`,
`POSTGRESQL_SSLMODE`) as the administrator, rotates, repairs the pair's privileges like the
role step, and only then writes the new login as a new version of the app's secret (External
Secrets copies it into the pods' Secret). Prints one JSON line; exit status as the role step.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import sys
from typing import TYPE_CHECKING

import asyncpg

from test_app import provision
from test_app.keyvault import KeyVault, KeyVaultError, WorkloadIdentity
from test_app.rotation import Login, parse_login, rotate
from test_app.settings import ConfigError, load_settings
from test_app.startup import connect_kwargs


if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

_REFUSED = (
    asyncpg.InvalidPasswordError,
    asyncpg.InvalidAuthorizationSpecificationError,
)


def _arguments(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="test-app-db-role rotate",
        description="Rotate the app's PostgreSQL login (alternating users) into Key Vault.",
    )
    parser.add_argument("--role", default=provision.DEFAULT_ROLE)
    parser.add_argument("--key-vault-url", required=True, help="https://<vault>.vault.azure.net")
    parser.add_argument("--secret-name", required=True, help="the app's login (JSON)")
    parser.add_argument("--admin-secret-name", required=True, help="the administrator's (JSON)")
    return parser.parse_args(argv)


async def rotate_into(
    vault: KeyVault, args: argparse.Namespace, environ: Mapping[str, str]
) -> dict[str, Any]:
    """One rotation with the logins of `vault`; return what it did (no password)."""
    admin = parse_login(vault.get_secret(args.admin_secret_name), args.admin_secret_name)
    current = parse_login(vault.get_secret(args.secret_name), args.secret_name)
    settings = dataclasses.replace(
        load_settings(environ), user=admin.username, password=admin.password
    )
    base = connect_kwargs(settings, settings.writer)

    async def can_log_in(login: Login) -> bool:
        try:
            conn = await asyncpg.connect(
                **base | {"user": login.username, "password": login.password},
                timeout=settings.startup_timeout,
            )
        except _REFUSED:
            return False
        await conn.close()
        return True

    conn = await asyncpg.connect(**base, timeout=settings.startup_timeout)
    try:
        done = await rotate(conn, current, args.role, can_log_in)
        repaired = await provision.provision_role(conn, args.role, None)
    finally:
        await conn.close()
    version = vault.set_secret(args.secret_name, done.login.to_json())
    return {
        "role": args.role,
        "username": done.login.username,
        "changes": done.statements + repaired,
        "secret_version": version,
    }


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the `test-app-db-role` command."""
    given = list(sys.argv[1:] if argv is None else argv)
    if given[:1] != ["rotate"]:
        provision.main(given)
        return
    args = _arguments(given[1:])
    try:
        vault = KeyVault(args.key_vault_url, WorkloadIdentity.from_environment(os.environ))
        result = asyncio.run(rotate_into(vault, args, os.environ))
    except (ConfigError, ValueError) as err:
        print(f"test-app-db-role rotate: {err}", file=sys.stderr)  # noqa: T201 - a command-line tool
        sys.exit(2)
    except (
        KeyVaultError,
        provision.ProvisionError,
        OSError,
        asyncpg.PostgresError,
        asyncpg.InterfaceError,
        TimeoutError,
    ) as err:
        print(f"test-app-db-role rotate: {type(err).__name__}: {err}", file=sys.stderr)  # noqa: T201
        sys.exit(1)
    print(json.dumps(result))  # noqa: T201
