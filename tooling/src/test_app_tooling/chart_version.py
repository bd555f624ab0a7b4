"""The chart's version is bumped whenever the chart changes, as chart-testing (`ct lint`) checks.

The base is what the change is compared with: `CHART_BASE_REF` when set (CI: the pull request's
target branch), else the merge base with `main`; on `main` itself (merge base = HEAD), the parent
of the newest commit that changed the chart. The working tree's chart is compared with the
base's: if any file differs, `version` in Chart.yaml must be greater (semantic versioning).
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import yaml

from test_app_tooling.tools import REPO


CHART = "charts/test-app"
SEMVER = re.compile(r"^(\d+)\.(\d+)\.(\d+)(?:[-+].*)?$")


class ChartVersionError(RuntimeError):
    """Git cannot answer (no history, unknown base)."""


def _git(*args: str, repo: Path = REPO) -> str:
    result = subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, text=True, timeout=60, check=False
    )
    if result.returncode != 0:
        raise ChartVersionError(f"git {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout.strip()


def parse(version: str) -> tuple[int, int, int]:
    """`1.2.3` as (1, 2, 3); a version that is not semantic is an error naming the field."""
    match = SEMVER.match(version)
    if not match:
        raise ValueError(f"Chart.yaml version: expected MAJOR.MINOR.PATCH, got {version!r}")
    return int(match[1]), int(match[2]), int(match[3])


def base_ref(repo: Path = REPO) -> str:
    """The commit the chart is compared with (see the module's docstring)."""
    explicit = os.environ.get("CHART_BASE_REF")
    if explicit:
        return _git("merge-base", "HEAD", explicit, repo=repo)
    head = _git("rev-parse", "HEAD", repo=repo)
    try:
        base = _git("merge-base", "HEAD", "main", repo=repo)
    except ChartVersionError:
        base = head
    if base != head:
        return base
    newest = _git("log", "-1", "--format=%H", "--", CHART, repo=repo)
    if not newest:
        raise ChartVersionError(f"no commit changed {CHART}")
    return f"{newest}^"


def problem(base: str, repo: Path = REPO) -> str | None:
    """Why the chart at `base` and in the working tree break the bump rule, or None."""
    changed = _git("diff", "--name-only", base, "--", CHART, repo=repo)
    if not changed:
        return None
    if not _git("ls-tree", "--name-only", base, f"{CHART}/Chart.yaml", repo=repo):
        return None  # a new chart: nothing to compare with
    old = yaml.safe_load(_git("show", f"{base}:{CHART}/Chart.yaml", repo=repo))["version"]
    new = yaml.safe_load((repo / CHART / "Chart.yaml").read_text(encoding="utf-8"))["version"]
    if parse(str(new)) > parse(str(old)):
        return None
    files = ", ".join(changed.splitlines()[:5])
    return (
        f"{CHART} changed since {base[:12]} ({files}) but Chart.yaml's version is still "
        f"{new} (was {old}): bump it"
    )
