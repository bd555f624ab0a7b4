"""Install the app the way its container image does, into a folder any user can read."""

from __future__ import annotations

import subprocess
from pathlib import Path

from test_app_tooling.tools import REPO


LOCK = REPO / "app" / "requirements.lock"


def system_python() -> str:
    """Debian's Python 3.11: reachable by any user (the dev interpreter may live under /root)."""
    for candidate in ("/usr/bin/python3.11", "/usr/bin/python3"):
        if Path(candidate).exists():
            return candidate
    raise FileNotFoundError("the system Python 3.11 (Debian python3.11) is missing")


def install_like_image(site: Path, extra: list[str] | None = None) -> Path:
    """pip-install the locked dependencies and the app (plus `extra` requirements) into `site`."""
    pip = [str(REPO / ".venv" / "bin" / "pip"), "install", "-qq", "--no-deps", "--target"]
    subprocess.run([*pip, str(site), "--require-hashes", "-r", str(LOCK)], check=True)
    subprocess.run([*pip, str(site), str(REPO / "app")], check=True)
    if extra:
        subprocess.run([*pip, str(site), *extra], check=True)
    for path in [site, *site.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return site
