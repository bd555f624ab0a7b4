"""The database roles' passwords: generated once, kept in the state folder, rotated on demand.

The app instances read their password from a file (``POSTGRESQL_PASSWORD_FILE``), as the chart
mounts the secret in production; rotating rewrites that file atomically, the way the kubelet
swaps a secret volume.
"""

from __future__ import annotations

import json
import os
import secrets as pysecrets
import subprocess
from dataclasses import asdict, replace

from rehearsal.base import postgres
from rehearsal.base.configs import Binaries, Secrets
from rehearsal.base.errors import RehearsalError
from rehearsal.base.topology import Topology


def new_password() -> str:
    """Return a fresh password (hex: safe in SQL literals and config files)."""
    return pysecrets.token_hex(16)


def save_secrets(topo: Topology, secrets: Secrets) -> None:
    """Keep the passwords (mode 0600) and write the app's password file from them."""
    topo.secrets.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = topo.secrets / "passwords.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(secrets)))
    tmp.chmod(0o600)
    tmp.replace(path)
    write_app_password_file(topo, secrets.app)


def load_secrets(topo: Topology) -> Secrets:
    """Passwords for the database roles: generated on first use, kept in the state folder."""
    path = topo.secrets / "passwords.json"
    if path.exists():
        secrets = Secrets(**json.loads(path.read_text()))
    else:
        secrets = Secrets(*(new_password() for _ in range(4)))
        save_secrets(topo, secrets)
    if not topo.app_password_file.exists():
        write_app_password_file(topo, secrets.app)
    return secrets


def write_app_password_file(topo: Topology, password: str) -> None:
    """Replace the app's password file atomically (a reader sees the old or the new content)."""
    tmp = topo.app_password_file.with_suffix(".tmp")
    tmp.write_text(password + "\n")
    tmp.chmod(0o600)
    tmp.replace(topo.app_password_file)


def provision_app_role(topo: Topology, bins: Binaries, secrets: Secrets) -> list[str]:
    """Create or repair the app role with the app's own step; return the changes it made.

    ``test-app-db-role`` (the step production runs as a hook) connects as the superuser through
    the writer endpoint and gives ``test_app`` LOGIN and CONNECT only; a new role gets the
    password in the app's password file, an existing one keeps its (rotated) password.
    """
    admin = topo.secrets / "postgres-password"
    admin.write_text(secrets.postgres + "\n")
    admin.chmod(0o600)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "POSTGRESQL_HOST": "127.0.0.1",
        "POSTGRESQL_PORT": str(topo.port("pg-writer")),
        "POSTGRESQL_USER": "postgres",
        "POSTGRESQL_PASSWORD_FILE": str(admin),
        "POSTGRESQL_DBNAME": "test_app",
        "POSTGRESQL_SSLMODE": "disable",
    }
    command = [bins.python, "-m", "test_app.provision", "--role", "test_app"]
    result = subprocess.run(  # noqa: PLW1510 - checked below
        [*command, "--password-file", str(topo.app_password_file)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if result.returncode != 0:
        raise RehearsalError(
            f"test-app-db-role failed ({result.returncode}): {result.stderr.strip()}"
        )
    changes: list[str] = json.loads(result.stdout)["changes"]
    return changes


def rotate_app_password(topo: Topology, bins: Binaries, secrets: Secrets) -> Secrets:
    """Give the app role a new password in PostgreSQL, then in its file; return the new set.

    Between the two steps open connections keep working (PostgreSQL checks a password at login
    only); a login in that instant is refused, and the app re-reads its file and retries.
    """
    rotated = replace(secrets, app=new_password())
    postgres.psql(
        topo,
        bins,
        topo.port("pg-writer"),
        # A generated hex string, never input.
        f"ALTER ROLE test_app WITH PASSWORD '{rotated.app}'",
    )
    save_secrets(topo, rotated)
    postgres.write_pgpass(topo, rotated)
    return rotated
