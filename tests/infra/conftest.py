"""Fixtures of the Terraform tests: a scratch copy of infra/ and a bounded terraform runner.

Every command runs on a copy of `infra/` in a temporary folder, so `init` never leaves
`.terraform/` folders or lock files in the work tree. The copy shares the project's provider
plugin cache (`.cache/terraform/plugins`) through `scripts/terraform/tf`, which also writes the
CLI configuration for an offline provider mirror when the machine has one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest


REPO = Path(__file__).resolve().parents[2]
TF_WRAPPER = REPO / "scripts" / "terraform" / "tf"
MODULES = sorted(
    p.name for p in (REPO / "infra" / "modules").iterdir() if (p / "main.tf").is_file()
)
STACKS = ["bootstrap", "network", "registry", "cluster", "database", "ci"]
TESTED_STACKS = sorted(s for s in STACKS if (REPO / "infra" / "stacks" / s / "tests").is_dir())
COMMAND_TIMEOUT = 600


@dataclass(frozen=True)
class TfResult:
    """Outcome of one terraform command."""

    args: tuple[str, ...]
    returncode: int
    output: str


def _ignore(_dir: str, names: list[str]) -> list[str]:
    return [n for n in names if n in {".terraform", ".terraform.lock.hcl"} or ".tfstate" in n]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize `module` over the modules and `tf_dir` over every module and stack."""
    if "module" in metafunc.fixturenames:
        metafunc.parametrize("module", MODULES)
    if "tested_stack" in metafunc.fixturenames:
        metafunc.parametrize("tested_stack", TESTED_STACKS)
    if "tf_dir" in metafunc.fixturenames:
        metafunc.parametrize(
            "tf_dir", [f"modules/{m}" for m in MODULES] + [f"stacks/{s}" for s in STACKS]
        )


@pytest.fixture(scope="session")
def terraform_env(tool) -> dict[str, str]:
    """Environment of every terraform command: the located binary, no cloud credentials."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TF_VAR_"))}
    env.update({"TERRAFORM": tool("terraform"), "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1"})
    return env


@pytest.fixture(scope="session")
def infra_copy(tmp_path_factory) -> Path:
    """A scratch copy of infra/ (no state, lock files or provider folders)."""
    target: Path = tmp_path_factory.mktemp("terraform") / "infra"
    shutil.copytree(REPO / "infra", target, ignore=_ignore)
    return target


@pytest.fixture(scope="session")
def run_tf(terraform_env) -> Callable[..., TfResult]:
    """Run `terraform <args>` in a folder, bounded by a timeout; never raises on failure."""

    def _run(cwd: Path, *args: str, timeout: int = COMMAND_TIMEOUT) -> TfResult:
        try:
            proc = subprocess.run(
                [str(TF_WRAPPER), *args],
                cwd=cwd,
                env=terraform_env,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return TfResult(args, -1, f"terraform {' '.join(args)} timed out after {timeout}s")
        return TfResult(args, proc.returncode, proc.stdout + proc.stderr)

    return _run


@pytest.fixture(scope="session")
def checked_dirs(infra_copy, run_tf) -> dict[str, list[TfResult]]:
    """`init -backend=false` + `validate` for every stack and module, `test` for every module.

    Every init runs alone: Terraform's plugin cache is not safe for concurrent writers, and an
    init re-installing the provider can pull the binary from under a `terraform test` running
    elsewhere ("fork/exec ... no such file"). Once all are initialised, validate and test (which
    never write the cache) run three at a time, which roughly halves the wall time on two cores.
    """
    dirs = {f"modules/{m}": infra_copy / "modules" / m for m in MODULES}
    dirs |= {f"stacks/{s}": infra_copy / "stacks" / s for s in STACKS}
    inits = {
        name: run_tf(path, "init", "-backend=false", "-input=false", "-no-color")
        for name, path in sorted(dirs.items())
    }

    def _check(name: str) -> tuple[str, list[TfResult]]:
        path = dirs[name]
        results = [inits[name]]
        if results[0].returncode == 0:
            results.append(run_tf(path, "validate", "-no-color"))
            if (path / "tests").is_dir():
                results.append(run_tf(path, "test", "-no-color"))
        return name, results

    with ThreadPoolExecutor(max_workers=3) as pool:
        return dict(pool.map(_check, sorted(dirs)))
