"""CODEOWNERS: everything that can reach production needs a platform engineer's review."""

from __future__ import annotations

import fnmatch

from test_app_tooling.tools import REPO


CODEOWNERS = REPO / ".github" / "CODEOWNERS"
# Paths whose changes reach the cloud account or the cluster.
PRODUCTION_PATHS = [
    ".github/workflows/deploy.yml",
    ".github/workflows/terraform.yml",
    "infra/modules/kms/main.tf",
    "infra/stacks/ci/main.tf",
    "scripts/deploy.sh",
    "scripts/rollback.sh",
    "scripts/sign_image.sh",
    "scripts/terraform/stacks",
    "scripts/terraform/tf",
    "scripts/terraform/changed_stacks.py",
    "platform/install.py",
    "platform/addons.yaml",
    "charts/test-app/values-prod.yaml",
]


def rules() -> list[tuple[str, list[str]]]:
    """(pattern, owners) per line, in file order."""
    found = []
    for line in CODEOWNERS.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            pattern, *owners = line.split()
            found.append((pattern, owners))
    return found


def matches(pattern: str, path: str) -> bool:
    """GitHub's CODEOWNERS matching for the forms this file uses: `*`, `/dir/`, `/file`."""
    if pattern == "*":
        return True
    anchored = pattern.lstrip("/")
    if anchored.endswith("/"):
        return path.startswith(anchored)
    return fnmatch.fnmatchcase(path, anchored)


def owners(path: str) -> list[str]:
    """The owners of `path`: the last matching pattern wins."""
    found: list[str] = []
    for pattern, names in rules():
        if matches(pattern, path):
            found = names
    return found


def test_every_pattern_names_something_that_exists():
    patterns = [p for p, _ in rules() if p != "*"]
    assert len(patterns) >= 5, patterns
    missing = [p for p in patterns if not (REPO / p.lstrip("/")).exists()]
    assert not missing, missing


def test_production_paths_need_a_platform_review():
    unreviewed = [path for path in PRODUCTION_PATHS if "@acme/platform" not in owners(path)]
    assert not unreviewed, unreviewed


def test_the_production_paths_exist():
    missing = [path for path in PRODUCTION_PATHS if not (REPO / path).exists()]
    assert not missing, missing
