"""The numbers in docs/rehearsal.md come from the committed reports of a real `make rehearse`."""

from __future__ import annotations

import json

from rehearsal.__main__ import SCENARIOS
from rehearsal.measure import summary


# Every rehearsal `make rehearse` runs has a committed report.
NAMES = SCENARIOS


def test_every_committed_report_has_its_markdown_plot_and_numbers():
    for name in NAMES:
        data = json.loads((summary.REPORTS / f"{name}.json").read_text())
        assert data["name"] == name
        assert data["checks"], f"{name}: a report without checks proves nothing"
        assert data["passed"], f"{name}: the committed report did not meet its targets"
        assert (summary.REPORTS / f"{name}.md").read_text().startswith("# ")
        assert (summary.REPORTS / f"{name}.png").read_bytes().startswith(b"\x89PNG")


def test_the_committed_reports_back_the_guides_claims():
    # A docs check: the numbers docs/rehearsal.md quotes come from these files. The behaviour
    # (each scenario meets its targets) is tested by running it: tests/rehearsal/test_rehearsal.py.
    rollout = json.loads((summary.REPORTS / "rollout.json").read_text())["numbers"]
    assert rollout["failed"] == 0
    assert rollout["requests"] >= 10000
    failover = json.loads((summary.REPORTS / "failover.json").read_text())["numbers"]
    assert failover["promotion_to_up_seconds"] < 10
    assert failover["pids_before"] == failover["pids_after"]
    crash = json.loads((summary.REPORTS / "crash-primary.json").read_text())["numbers"]
    assert crash["kill_to_balancer_up_seconds"] < 30
    assert "HTTP 503" not in crash["failed_by_type"]
    assert crash["pids_before"] == crash["pids_after"]
    kill = json.loads((summary.REPORTS / "kill-instance.json").read_text())["numbers"]
    assert kill["failed"] == 0
    assert kill["new_pid"] != kill["old_pid"]
    rotate = json.loads((summary.REPORTS / "rotate.json").read_text())["numbers"]
    assert rotate["failed"] == 0
    assert rotate["pids_before"] == rotate["pids_after"]
    assert rotate["tls"].startswith("t|TLSv1.")
    assert len(rotate["rotations"]) >= 4
    assert all(step["previous_login_works"] for step in rotate["rotations"])
    assert len(rotate["switched"]) == 3
    assert all(rotate["switched"].values()), "every instance switched user"
    assert rotate["provision_changes"] == []
    assert rotate["alert_while_good"] == ["inactive"]
    # One stall per failure kind, each reported as a failure and firing the alert.
    assert [stall["faults"] for stall in rotate["stalls"]] == [["wrong-master"], ["wrong-ca"]]
    for stall in rotate["stalls"]:
        assert stall["attempts"]
        assert all(a["error"] for a in stall["attempts"])
        assert stall["firing_after_seconds"] is not None
        assert stall["resolved_after_fix_seconds"] is not None
    for name in ("freeze-primary", "partition-primary", "dcs-loss", "wal-full"):
        fault = json.loads((summary.REPORTS / f"{name}.json").read_text())["numbers"]
        assert fault["writes_acknowledged"] > 1000
        assert fault["writes_lost"] == 0, f"{name}: acknowledged rows lost"
        assert fault["acknowledging_server_overlap_seconds"] == 0
    dcs = json.loads((summary.REPORTS / "dcs-loss.json").read_text())["numbers"]
    assert dcs["failed_member_down"] == dcs["failed_majority_hung"] == 0
    wal = json.loads((summary.REPORTS / "wal-full.json").read_text())["numbers"]
    assert wal["primary_after"] != wal["primary_before"], "the full WAL volume failed over"
    alert = wal["alerts"]["PatroniNoStreamingStandby"]
    assert alert["state"] == "firing", "the full size waits for firing, not pending"
    assert (alert["after_seconds"] or 999) < 120 or wal["old_node_back_by_itself_after_seconds"]
    canary = json.loads((summary.REPORTS / "canary.json").read_text())["numbers"]
    assert canary["good"]["outcome"] == "promoted"
    assert canary["good"]["failed"] == 0
    assert canary["bad"]["outcome"] == "aborted"
    assert canary["bad"]["failed_share"] < 0.01
    assert canary["rolling_update"]["failed"] > canary["bad"]["failed"]
    outage = json.loads((summary.REPORTS / "outage.json").read_text())["numbers"]
    assert outage["firing_after_seconds"] >= outage["alert_for_seconds"]
    assert outage["pids_before"] == outage["pids_after"]


def test_the_guide_shows_the_numbers_of_the_committed_reports():
    text = summary.GUIDE.read_text()
    assert summary.block() in text, (
        "docs/rehearsal.md's results differ from docs/rehearsal/*.json: run `make rehearse`"
    )
    assert summary.render().count("\n") >= 1 + len(NAMES), "the results table lacks a rehearsal"
