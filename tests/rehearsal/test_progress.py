"""Progress of the long commands: rehearsal events with their time, soak interval lines."""

from __future__ import annotations

import re

from rehearsal.measure.report import Report
from soak import interval_line


def test_each_rehearsal_event_is_printed_with_its_elapsed_time(capsys):
    report = Report("rollout", "Rolling update", "make rehearse-rollout")
    report.start_clock(0.0)  # the monotonic clock's origin: the time printed is large but exact
    at = report.mark("app1-green: SIGTERM")
    line = capsys.readouterr().out
    assert re.fullmatch(r" {4} *\d+\.\ds  app1-green: SIGTERM\n", line), line
    assert f"{at:.1f}s" in line
    quiet = Report("rollout", "Rolling update", "make rehearse-rollout", echo=False)
    quiet.mark("nothing printed")
    assert capsys.readouterr().out == ""


def test_soak_prints_one_readable_line_per_interval():
    before: dict[str, object] = {"t": 60.0, "requests": 1000, "errors": 0}
    now: dict[str, object] = {
        "t": 125.4, "requests": 3500, "errors": 2, "p99_ms": 12.5, "rss_mib": 98.1, "fds": 120,
        "processes": 4, "series_max": 310, "slow_opened": 40, "idle_opened": 600, "blips": 1,
    }  # fmt: skip
    assert interval_line(now, before) == (
        "  2m05s  requests +2500 (3500 in all), errors +2, p99 12.5 ms | rss 98.1 MiB, fds 120, "
        "processes 4, series 310 | slow 40, idle 600, blips 1"
    )
    assert "p99 - |" in interval_line({**now, "p99_ms": None}, None)
    assert "requests +3500 (3500 in all), errors +2," in interval_line(now, None)
