"""Find the programs the rehearsal runs; name the Debian packages of the missing ones."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from rehearsal.base.configs import Binaries
from rehearsal.base.errors import RehearsalError
from rehearsal.base.topology import REPO


# Debian package of each program, for the install hint.
PACKAGES = {
    "haproxy": "haproxy",
    "supervisord": "supervisor",
    "supervisorctl": "supervisor",
    "prometheus": "prometheus",
    "prometheus-alertmanager": "prometheus-alertmanager",
    "prometheus-node-exporter": "prometheus-node-exporter",
    "prometheus-postgres-exporter": "prometheus-postgres-exporter",
    "prometheus-blackbox-exporter": "prometheus-blackbox-exporter",
    "hey": "hey",
    "pg_config": "postgresql-15",
    "etcd": "etcd-server",
}


def _which(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise RehearsalError(f"{name} is not installed (Debian package `{PACKAGES[name]}`)")
    return path


def find_binaries() -> Binaries:
    """Locate every program; fail with the exact Debian packages to install."""
    missing = [name for name in PACKAGES if shutil.which(name) is None]
    if missing:
        packages = sorted({PACKAGES[m] for m in missing})
        raise RehearsalError(
            f"missing programs: {', '.join(missing)}. Run `scripts/bootstrap` as root, or install: "
            f"apt-get install -y --no-install-recommends {' '.join(packages)}"
        )
    bindir = Path(
        subprocess.run(
            [_which("pg_config"), "--bindir"], capture_output=True, text=True, check=True
        ).stdout.strip()
    )
    if not (bindir / "postgres").exists():
        raise RehearsalError(f"no postgres server in {bindir}: install postgresql-15")
    app_command = os.environ.get("REHEARSAL_APP_COMMAND") or str(
        REPO / ".venv" / "bin" / "test-app"
    )
    if not Path(app_command.split()[0]).exists():
        raise RehearsalError(f"the app is not installed ({app_command}): run `scripts/bootstrap`")
    venv_python = REPO / ".venv" / "bin" / "python"
    patroni = REPO / ".venvs" / "patroni" / "bin" / "patroni"
    if not patroni.exists():
        raise RehearsalError(
            f"Patroni is not installed ({patroni}, requirements/venv-patroni.txt): "
            "run `scripts/bootstrap`"
        )
    return Binaries(
        pg_bindir=bindir,
        haproxy=_which("haproxy"),
        prometheus=_which("prometheus"),
        alertmanager=_which("prometheus-alertmanager"),
        node_exporter=_which("prometheus-node-exporter"),
        postgres_exporter=_which("prometheus-postgres-exporter"),
        blackbox_exporter=_which("prometheus-blackbox-exporter"),
        app_command=app_command,
        patroni=str(patroni),
        etcd=_which("etcd"),
        python=str(venv_python) if venv_python.exists() else sys.executable,
    )
