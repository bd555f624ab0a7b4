"""The server's helpers, without starting a server (the hostile tier starts real ones)."""

from __future__ import annotations

from test_app.server import oom_kills


def test_the_oom_kill_count_is_read_from_the_cgroup(tmp_path):
    events = tmp_path / "memory.events"
    events.write_text("low 0\nhigh 0\nmax 12\noom 3\noom_kill 2\noom_group_kill 0\n")
    assert oom_kills(events) == 2
    assert oom_kills(tmp_path / "missing") is None
