"""Fixtures of the Terraform tests: a scratch copy of infra/ and a bounded terraform runner.

Every command runs on a copy of `infra/` in a temporary folder, so `init` never leaves
`.terraform/` folders or lock files in the work tree. The copy shares the project's provider
plugin cache (`.cache/terraform/plugins`) through `scripts/terraform/tf`, which also writes the
CLI configuration for an offline provider mirror when the machine has one.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
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


# The emulator round trip in the background ------------------------------------------------------
#
# The round trip (scripts/terraform/emulator_roundtrip.py) is Terraform and moto working alone for
# many minutes, while most of the slow tier (the rehearsal) waits on timers: ttl, alert `for`,
# analysis intervals. So when its test is selected, the round trip starts as soon as collection
# ends, at a lower CPU priority (nice) so that the tests running meanwhile keep the CPU they need,
# and its test runs last and only collects the outcome. It has its own Terraform cache folder:
# the project's plugin cache is not safe for concurrent writers (see `checked_dirs`).

ROUND_TRIP_SCRIPT = REPO / "scripts" / "terraform" / "emulator_roundtrip.py"
ROUND_TRIP_FIXTURE = "emulator_round_trip"
ROUND_TRIP_NICE = 19  # the lowest priority: it takes only the CPU nothing else wants


@dataclass
class BackgroundRoundTrip:
    """One round trip started in the background; `finish` waits for it and returns its output."""

    proc: subprocess.Popen[bytes]
    folder: Path  # holds the round trip's work folder, its outputs file and its log
    started: float

    @property
    def outputs(self) -> Path:
        return self.folder / "out.json"

    @property
    def log(self) -> Path:
        return self.folder / "round-trip.log"

    def finish(self, budget_seconds: float) -> tuple[int, str]:
        """Wait until the round trip ends, at most `budget_seconds` from now.

        The bound is a guard against a hang (each Terraform command has its own timeout), not a
        speed target: niced, the round trip runs slower while other tests take the CPU.
        """
        try:
            returncode = self.proc.wait(timeout=budget_seconds)
        except subprocess.TimeoutExpired:
            self.stop()
            took = time.monotonic() - self.started
            return -1, f"the round trip did not end ({took:.0f}s since it started)\n" + (
                self.log.read_text(errors="replace")
            )
        return returncode, self.log.read_text(errors="replace")

    def stop(self) -> None:
        """Interrupt it (it destroys what it applied and stops moto), killing it if it hangs."""
        if self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=COMMAND_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)


def start_round_trip() -> BackgroundRoundTrip:
    """Start the round trip in a new folder, niced, in its own process group."""
    folder = Path(tempfile.mkdtemp(prefix="emulator-round-trip-"))
    env = dict(os.environ, TF_PROJECT_CACHE=str(folder / "terraform-cache"))
    with (folder / "round-trip.log").open("wb") as log:
        command = ["nice", "-n", str(ROUND_TRIP_NICE), sys.executable, str(ROUND_TRIP_SCRIPT)]
        command += ["--workdir", str(folder / "emulator"), "--outputs", str(folder / "out.json")]
        proc = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    return BackgroundRoundTrip(proc, folder, time.monotonic())


ROUND_TRIP_KEY = pytest.StashKey[BackgroundRoundTrip]()


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The round trip's test goes last (after deselection): it only collects the outcome."""
    waiting = [i for i in items if ROUND_TRIP_FIXTURE in getattr(i, "fixturenames", ())]
    items[:] = [i for i in items if i not in waiting] + waiting


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start the round trip as soon as the selected tests are known, if one needs it."""
    if session.config.option.collectonly:
        return
    if any(ROUND_TRIP_FIXTURE in getattr(i, "fixturenames", ()) for i in session.items):
        session.config.stash[ROUND_TRIP_KEY] = start_round_trip()


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Never leave the round trip running (an interrupted or `-x` session)."""
    job = session.config.stash.get(ROUND_TRIP_KEY, None)
    if job is not None:
        job.stop()
        if job.proc.returncode == 0:
            shutil.rmtree(job.folder, ignore_errors=True)


@pytest.fixture(scope="session")
def emulator_round_trip(request: pytest.FixtureRequest) -> BackgroundRoundTrip:
    """The round trip started when collection ended."""
    job = request.config.stash.get(ROUND_TRIP_KEY, None)
    if job is None:  # e.g. selected by a plugin after collection: start it now
        job = request.config.stash[ROUND_TRIP_KEY] = start_round_trip()
    return job
