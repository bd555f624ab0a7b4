"""Locked tool environments, one lint run, and Git hooks that run what `make lint` runs.

- every requirements/<name>.txt has a <name>.lock written by `make lock`: each pin of the input
  is in the lock at the same version, every package carries hashes, and scripts/bootstrap
  installs the locks with pip --require-hashes;
- the app's dependencies in requirements/dev.lock are the versions of app/requirements.lock;
- `make test` lints once (CI's only lint: no workflow job runs `make lint` besides it);
- .pre-commit-config.yaml's hooks are the commands of `make lint`.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from test_app_tooling.tools import REPO


REQUIREMENTS = REPO / "requirements"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)", re.MULTILINE)


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(text: str) -> dict[str, str]:
    """Package -> version of every `name==version` line (extras and markers dropped)."""
    return {normalise(name): version for name, version in PIN.findall(text)}


def lock_problems(lock_text: str, wanted: dict[str, str]) -> list[str]:
    """What keeps a lock from matching its input's pins or from being hash-checked."""
    found = []
    locked = pins(lock_text)
    if not locked:
        return ["the lock pins nothing"]
    found += [
        f"{name}: the input pins {version}, the lock has {locked.get(name)}"
        for name, version in wanted.items()
        if locked.get(name) != version
    ]
    # Each requirement line is followed by its `--hash=sha256:` continuation lines.
    for block in re.split(r"\n(?=[A-Za-z0-9])", lock_text):
        if PIN.match(block) and "--hash=sha256:" not in block:
            found.append(f"{block.split()[0]}: no hash")
    return found


def inputs() -> list[Path]:
    found = sorted(REQUIREMENTS.glob("*.txt"))
    if not found:
        pytest.fail("no requirements/*.txt: nothing to check")
    return found


@pytest.mark.parametrize("source", inputs(), ids=lambda p: p.name)
def test_each_requirements_file_has_a_current_hash_lock(source: Path):
    lock = source.with_suffix(".lock")
    assert lock.is_file(), f"{lock.relative_to(REPO)} is missing: run `make lock`"
    text = lock.read_text(encoding="utf-8")
    assert "#    make lock" in text, "the lock names the command that writes it"
    wanted = pins(source.read_text(encoding="utf-8"))
    assert wanted, f"{source.name} pins nothing"
    assert lock_problems(text, wanted) == [], "run `make lock`"


def test_the_lock_check_catches_a_stale_pin_and_a_missing_hash():
    good = "pytest==9.2.0 \\\n    --hash=sha256:ab\nruff==0.17.6 \\\n    --hash=sha256:cd\n"
    assert lock_problems(good, {"pytest": "9.2.0", "ruff": "0.17.6"}) == []
    assert lock_problems(good, {"pytest": "9.3.0"}) == [
        "pytest: the input pins 9.3.0, the lock has 9.2.0"
    ]
    assert lock_problems("pytest==9.2.0\nruff==0.17.6 \\\n    --hash=sha256:cd\n", {}) == [
        "pytest==9.2.0: no hash"
    ]


def test_the_dev_lock_carries_the_apps_versions():
    app = pins((REPO / "app" / "requirements.lock").read_text(encoding="utf-8"))
    dev = pins((REQUIREMENTS / "dev.lock").read_text(encoding="utf-8"))
    assert app, "app/requirements.lock pins nothing"
    assert {name: dev.get(name) for name in app} == app


def test_bootstrap_installs_the_locks_with_hashes():
    text = (REPO / "scripts" / "bootstrap").read_text(encoding="utf-8")
    assert "--require-hashes" in text
    assert "requirements/dev.lock" in text
    assert "requirements/venv-*.lock" in text
    assert not re.search(r"pip install[^\n]*-r [^\n]*\.txt", text), "install the locks, not inputs"


def make_dry_run(target: str) -> str:
    return subprocess.run(
        ["make", "-n", "--no-print-directory", target],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout


def lint_commands() -> list[str]:
    """The commands `make lint` runs after bootstrap, `.venv/...` paths as written."""
    commands = [
        line.strip() for line in make_dry_run("lint").splitlines() if line.startswith(".venv/")
    ]
    if not commands:
        pytest.fail("`make -n lint` shows no command: nothing to compare")
    return commands


def test_make_test_lints_once_and_no_workflow_lints_again():
    lint = lint_commands()
    ran = make_dry_run("test")
    assert [ran.count(command) for command in lint] == [1] * len(lint), ".ci/run must lint, once"
    assert ran.index(lint[-1]) < ran.index(".venv/bin/pytest"), "lint before the tests"
    workflows = (REPO / ".github" / "workflows").glob("*.yml")
    again = [p.name for p in workflows if re.search(r"make\s+lint\b", p.read_text("utf-8"))]
    assert not again, f"{again} lint again besides make test"


def test_the_pre_commit_hooks_run_what_make_lint_runs():
    config = yaml.safe_load((REPO / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    repos = config["repos"]
    assert [repo["repo"] for repo in repos] == ["local"], "local hooks only: no fetch at install"
    hooks = [hook for repo in repos for hook in repo["hooks"]]
    assert all(hook["language"] == "system" and not hook["pass_filenames"] for hook in hooks)
    assert [hook["entry"] for hook in hooks] == lint_commands()
