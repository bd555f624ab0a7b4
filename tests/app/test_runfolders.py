"""Run folders of instances that are gone are removed at start; live ones are kept."""

import os
import subprocess

from test_app.server import RUN_DIR_PREFIX, sweep_run_dirs


def test_sweep_removes_only_the_folders_of_instances_that_are_gone(tmp_path):
    dead = subprocess.Popen(["true"])  # a pid that no longer runs
    dead.wait()
    live = subprocess.Popen(["sleep", "30"])
    try:
        own = tmp_path / f"{RUN_DIR_PREFIX}{os.getpid()}-mine"
        restarted = tmp_path / f"{RUN_DIR_PREFIX}{os.getpid()}-before-a-restart"
        gone = tmp_path / f"{RUN_DIR_PREFIX}{dead.pid}-x"
        running = tmp_path / f"{RUN_DIR_PREFIX}{live.pid}-x"
        other = tmp_path / "test-app-pg-x"  # not a run folder
        for folder in (own, restarted, gone, running, other):
            (folder / "metrics").mkdir(parents=True)
        removed = sweep_run_dirs(tmp_path, own)
        assert sorted(removed) == sorted([restarted, gone])
        assert own.exists()
        assert running.exists()
        assert other.exists()
    finally:
        live.kill()
        live.wait()
