"""The watchdog's decision against real processes, with heartbeat files dated by hand.

A wall-clock step is a heartbeat whose modification time is far from `time.time()`: the same
thing the watchdog sees after NTP steps the clock or a VM resumes. No clock is changed.
"""

from __future__ import annotations

import os
import subprocess
import time
from typing import TYPE_CHECKING

import pytest

from test_app.lifeline import Watchdog


if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

SILENCE = 0.3  # seconds; the production value is 10


@pytest.fixture
def worker() -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(["sleep", "60"])
    yield proc
    proc.kill()
    proc.wait()


def beat(folder: Path, pid: int, wall_offset: float) -> None:
    """Touch the heartbeat as a worker does, on a wall clock `wall_offset` seconds off."""
    path = folder / str(pid)
    path.touch()
    stamp = time.time() + wall_offset
    os.utime(path, (stamp, stamp))


def watch(folder: Path, worker: subprocess.Popen[bytes]) -> Watchdog:
    return Watchdog(folder, lambda: [worker.pid], lambda: False, silence=SILENCE)


# A forward step puts the watchdog's clock ahead of the last beat: the beat looks old.
@pytest.mark.parametrize("step", [-60.0, 3600.0], ids=["forward", "back"])
def test_a_beating_worker_survives_a_wall_clock_step(tmp_path, worker, step):
    dog = watch(tmp_path, worker)
    deadline = time.monotonic() + 4 * SILENCE
    while time.monotonic() < deadline:
        beat(tmp_path, worker.pid, step - (deadline - time.monotonic()))
        assert dog.check() == []
        time.sleep(SILENCE / 3)
    assert worker.poll() is None, "a healthy worker was killed"


# A backward step dates the last beat in the future: an unchanged file must still count.
@pytest.mark.parametrize("step", [0.0, 3600.0], ids=["steady", "after-a-back-step"])
def test_a_silent_worker_is_killed_after_the_silence(tmp_path, worker, step):
    beat(tmp_path, worker.pid, step)
    dog = watch(tmp_path, worker)
    assert dog.check() == []
    deadline = time.monotonic() + 20 * SILENCE
    killed: list[int] = []
    while not killed and time.monotonic() < deadline:
        time.sleep(SILENCE / 3)
        killed = dog.check()
    assert killed == [worker.pid]
    assert worker.wait(timeout=5) == -9
