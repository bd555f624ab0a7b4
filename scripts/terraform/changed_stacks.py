#!/usr/bin/env python3
"""Print the Terraform stacks a change touches, in apply order, as a JSON list.

    scripts/terraform/changed_stacks.py --base origin/main --head HEAD     # from git
    scripts/terraform/changed_stacks.py --files infra/modules/vpc/main.tf  # explicit paths

A stack is touched when a file under `infra/stacks/<stack>/` changed, when a module it
uses (`source = "../../modules/<m>"`, followed transitively) changed, or when something
every stack shares changed (`infra/envs/`, `scripts/terraform/` with the stack runner,
the Terraform workflow); the database stack also when its rotation function's source, pins or
packaging changed (`rotation/`, the zip builder: a new zip is a new `source_code_hash`).
`bootstrap` is left out: it holds the state bucket and is applied by hand (see infra/).
Standard library only.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path


ROOT = Path(__file__).resolve().parents[2]
# Dependency order: each stack reads outputs of the ones before it (as in scripts/terraform/stacks).
ORDER = ["bootstrap", "network", "registry", "cluster", "database", "ci"]
MANUAL = {"bootstrap"}
SHARED = (
    "infra/envs/",
    "scripts/terraform/",
    ".github/workflows/terraform.yml",
)
# Files outside infra/ a stack deploys: the rotation function's zip is built from these.
DEPLOYS = {
    "database": ("rotation/", "tooling/src/test_app_tooling/rotation_package.py"),
}
# infra/modules/<module>/<file> has four parts.
MODULE_FILE_DEPTH = 3
MODULE_SOURCE = re.compile(r'source\s*=\s*"(?:\.\./)+(?:modules/)?([A-Za-z0-9_-]+)/?"')


def _modules_used(root: Path, directory: Path) -> set[str]:
    """Local modules `directory` calls: `../../modules/<m>` (stacks), `../<m>` (modules)."""
    found: set[str] = set()
    for tf in directory.glob("*.tf"):
        found.update(MODULE_SOURCE.findall(tf.read_text(encoding="utf-8")))
    return {m for m in found if (root / "infra" / "modules" / m).is_dir()}


def stack_modules(root: Path, stack: str) -> set[str]:
    """Every module a stack uses, directly or through other modules."""
    todo = list(_modules_used(root, root / "infra" / "stacks" / stack))
    seen: set[str] = set()
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        todo.extend(_modules_used(root, root / "infra" / "modules" / module))
    return seen


def all_stacks(root: Path) -> list[str]:
    """Every stack folder, in dependency order (unknown ones last, sorted)."""
    present = {p.name for p in (root / "infra" / "stacks").iterdir() if p.is_dir()}
    ordered = [s for s in ORDER if s in present]
    return ordered + sorted(present - set(ORDER))


def touched(root: Path, files: list[str]) -> list[str]:
    """Return the stacks the changed `files` affect, in apply order, without manual ones."""
    stacks = all_stacks(root)
    if any(f.startswith(SHARED) for f in files):
        hit = set(stacks)
    else:
        hit = set()
        # infra/modules/<module>/<file>: the module's name is the third part.
        modules = {
            parts[2]
            for f in files
            if len(parts := f.split("/")) > MODULE_FILE_DEPTH and parts[1] == "modules"
        }
        for stack in stacks:
            own = any(
                f.startswith((f"infra/stacks/{stack}/", *DEPLOYS.get(stack, ()))) for f in files
            )
            if own or modules & stack_modules(root, stack):
                hit.add(stack)
    return [s for s in stacks if s in hit and s not in MANUAL]


def git_changes(base: str, head: str) -> list[str]:
    """Paths changed between the merge base of `base` and `head`."""
    result = subprocess.run(
        ["git", "diff", "--name-only", f"{base}...{head}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        sys.exit(f"git diff {base}...{head} failed: {result.stderr.strip()}")
    return [line for line in result.stdout.splitlines() if line]


def main(argv: list[str] | None = None) -> int:
    """Print the JSON list; with --github-output, as `stacks=<json>` for $GITHUB_OUTPUT."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", help="git revision to compare from (e.g. the PR base SHA)")
    parser.add_argument("--head", default="HEAD", help="git revision to compare to")
    parser.add_argument("--files", nargs="*", help="changed paths instead of a git diff")
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    parser.add_argument("--github-output", action="store_true", help="print stacks=<json>")
    args = parser.parse_args(argv)
    if args.files is None and not args.base:
        parser.error("give --base (and optionally --head) or --files")
    files = args.files if args.files is not None else git_changes(args.base, args.head)
    result = json.dumps(touched(args.root, files))
    print(f"stacks={result}" if args.github_output else result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
