"""CI-sized rehearsals on a whole local rehearsal: the same assertions as `make rehearse`.

The tests share one rehearsal (module fixture) and run in file order: up, rollout, failover,
crash-primary, kill-instance, rotate, wal-full, freeze-primary, partition-primary, dcs-loss, the
cut path to PostgreSQL, canary, outage, down. The fixture takes it down even when a test fails.
"""

from __future__ import annotations

import json
import socket
import subprocess

import httpx
import pytest

from rehearsal.base import faults, haproxy, lifecycle, pair
from rehearsal.base.topology import app_programs
from test_app_tooling.process import http_ok, wait_until


pytestmark = [pytest.mark.rehearsal, pytest.mark.timeout(420)]


def _rehearse(live, out_dir, name):
    """Run one CI-sized rehearsal and return its report, checked to have its Markdown and plot."""
    live.cli("rehearse", name, "--size", "ci", "--out", str(out_dir))
    return _report(out_dir, name)


def _assert_no_acknowledged_write_lost(numbers, *, one_writer_at_a_time=False):
    """The counting writer's targets: rows acknowledged, none lost, one server acknowledging."""
    assert numbers["writes_acknowledged"] > 100
    assert numbers["writes_lost"] == 0
    if one_writer_at_a_time:
        assert numbers["acknowledging_server_overlap_seconds"] == 0


def _report(out_dir, name):
    data = json.loads((out_dir / f"{name}.json").read_text())
    assert (out_dir / f"{name}.md").read_text().startswith("# ")
    png = (out_dir / f"{name}.png").read_bytes()
    assert png.startswith(b"\x89PNG"), "the plot is not a PNG"
    return data


def test_up_brings_every_component_up_and_status_shows_it(live):
    out = live.cli("status").stdout
    rows = {line.split()[0]: line for line in out.splitlines()[2:] if line.strip()}
    for component in (
        "pg-a", "pg-b", "etcd-1", "etcd-2", "etcd-3", "prometheus", "alertmanager", "node-exporter"
    ):  # fmt: skip
        assert "RUNNING" in rows[component], out
        if component.startswith("etcd"):
            assert "ok 200" in rows[component], out
    assert "primary running" in rows["patroni-pg-a"], out  # Patroni 4 says primary, not master
    assert "replica running" in rows["patroni-pg-b"], out
    assert "pg-a primary" in rows["writer"], out
    assert "pg-b standby" in rows["reader"], out
    running_apps = [name for name in app_programs() if "haproxy UP" in rows.get(name, "")]
    assert len(running_apps) == 3, out
    assert "ok 200 UP" in rows["load"], out
    assert "ok 200" in rows["alertmanager"], out
    assert "ok 200" in rows["blackbox-exporter"], out
    assert "targets " in rows["prometheus"], out


def test_rollout_under_load_fails_no_request(live, out_dir):
    data = _rehearse(live, out_dir, "rollout")
    numbers = data["numbers"]
    assert numbers["requests"] > 1000
    assert numbers["failed"] == 0
    assert numbers["unanswered"] == 0
    assert numbers["during"]["count"] > 0
    assert set(numbers["exit_codes"].values()) == {0}
    assert len(numbers["exit_codes"]) == 3
    assert all(s >= 2 - 0.5 for s in numbers["stop_seconds"])
    assert data["passed"]


def test_writer_failover_recovers_without_restarting_the_app(live, out_dir):
    data = _rehearse(live, out_dir, "failover")
    numbers = data["numbers"]
    assert numbers["promotion_to_up_seconds"] < 10
    _assert_no_acknowledged_write_lost(numbers)
    assert numbers["pids_before"] == numbers["pids_after"]
    assert len(numbers["pids_before"]) == 3
    assert numbers["livez_not_200"] == 0
    assert numbers["livez_polls"] > 30
    assert all(v > 0 for v in numbers["down_seconds"].values())
    assert data["passed"]
    out = live.cli("status").stdout
    assert "pg-b primary" in out
    assert "pg-a standby" in out


def test_crash_of_the_primary_is_failed_over_automatically(live, out_dir):
    data = _rehearse(live, out_dir, "crash-primary")
    numbers = data["numbers"]
    assert numbers["crashed_primary"] == "pg-b"  # the primary after the failover rehearsal
    assert numbers["new_primary"] == "pg-a"
    assert 0 < numbers["kill_to_promoted_seconds"] < 30
    _assert_no_acknowledged_write_lost(numbers)
    assert numbers["kill_to_balancer_up_seconds"] is not None
    assert numbers["kill_to_balancer_up_seconds"] < 30
    # Every instance stays ready (ADR 0014): clients get the app's 500, never HAProxy's 503.
    assert "HTTP 503" not in numbers["failed_by_type"]
    assert numbers["readyz_not_200"] == 0
    assert numbers["readyz_polls"] > 0
    assert numbers["pids_before"] == numbers["pids_after"]
    assert numbers["livez_not_200"] == 0
    assert data["passed"]
    out = live.cli("status").stdout
    assert "pg-a primary" in out
    assert "pg-b standby" in out


def test_a_killed_instance_is_replaced_without_a_failed_request(live, out_dir):
    data = _rehearse(live, out_dir, "kill-instance")
    numbers = data["numbers"]
    assert numbers["requests"] > 1000
    assert numbers["failed"] == 0
    assert numbers["unanswered"] == 0
    assert numbers["new_pid"] not in (0, numbers["old_pid"])
    assert numbers["kill_to_in_rotation_seconds"] < 30
    assert data["passed"]


def test_aws_rotation_fails_no_request_and_a_failing_one_pages(live, out_dir):
    data = _rehearse(live, out_dir, "rotate")
    numbers = data["numbers"]
    assert numbers["requests"] > 1000
    assert numbers["failed"] == 0
    assert numbers["unanswered"] == 0
    assert numbers["tls"].startswith("t|TLSv1."), "the function's session is not TLS"
    # A rehearsal never rotated before: the first rotation creates the clone as AWS's
    # multi-user function does, the later ones give the other user a new password.
    rotations = numbers["rotations"]
    assert all(r["steps"] == ["createSecret", "setSecret", "testSecret", "finishSecret"]
               for r in rotations)  # fmt: skip
    assert rotations[0]["statements"] == [
        "CREATE ROLE test_app_clone WITH LOGIN PASSWORD '<new password>'",
        "GRANT test_app TO test_app_clone",
    ]
    assert rotations[1]["statements"] == ["ALTER USER test_app WITH PASSWORD '<new password>'"]
    assert [r["user"] for r in rotations[:2]] == ["test_app_clone", "test_app"]
    assert rotations[0]["sessions_held"] == 0, "nobody uses the clone yet: nothing to recycle"
    assert rotations[1]["sessions_held"] > 0
    assert all(r["sessions_left"] == 0 for r in rotations)
    # The login before stays valid until the rotation after next.
    assert all(r["previous_login_works"] for r in rotations)
    assert all(r["login_before_previous_refused"] for r in rotations[1:])
    assert len(numbers["switched"]) == 3
    assert all(numbers["switched"].values())
    assert numbers["clone_member_of"] == "test_app"
    assert numbers["provision_changes"] == [], "both users must already be least-privileged"
    assert numbers["pids_before"] == numbers["pids_after"]
    # While scheduled rotations work the alert stays inactive; both failures are reported as
    # failures, move nothing, and the alert (production's rule on the rehearsal's schedule)
    # fires within its threshold + for; the reattempt and one more rotation resolve it.
    assert numbers["alert_while_good"] == ["inactive"]
    [stall] = numbers["stalls"]
    assert stall["faults"] == ["wrong-master", "wrong-ca"]
    errors = [a["error"] for a in stall["attempts"]]
    assert errors[0].startswith("setSecret failed: cannot log in with the master secret")
    assert errors[1].startswith("setSecret failed: the current login does not work")
    assert all(a["awscurrent_unchanged"] and a["current_login_works"] for a in stall["attempts"])
    schedule = numbers["schedule"]
    assert stall["firing_after_seconds"] - stall["pending_after_seconds"] >= (
        schedule["for_seconds"] - 1
    )
    assert stall["firing_after_seconds"] <= schedule["threshold_seconds"] + schedule["for_seconds"]
    assert stall["reattempted_failed_token"]
    assert stall["resolved_after_fix_seconds"] is not None
    assert data["passed"]


def test_a_full_wal_volume_fails_over_alerts_and_the_node_returns_once_freed(live, out_dir):
    data = _rehearse(live, out_dir, "wal-full")
    numbers = data["numbers"]
    _assert_no_acknowledged_write_lost(numbers, one_writer_at_a_time=True)
    assert numbers["wal_switches_to_stop"] >= 1, "the server stopped for want of a WAL segment"
    assert numbers["primary_after"] != numbers["primary_before"], "failed over"
    assert numbers["fault_to_promoted_seconds"] < 30
    # The standby won the race for the released key (read from both nodes' Patroni logs).
    assert 0 <= numbers["key_released_to_taken_seconds"] < 30
    # A person is alerted within 2 minutes (pending at CI size), or the node came back alone.
    assert set(numbers["alerts"]) == {"PatroniNoStreamingStandby"}
    alert = numbers["alerts"]["PatroniNoStreamingStandby"]
    back = numbers["old_node_back_by_itself_after_seconds"]
    assert (alert["after_seconds"] is not None and alert["after_seconds"] < 120) or back
    assert data["passed"]


def test_a_frozen_primary_loses_no_acknowledged_write(live, out_dir):
    data = _rehearse(live, out_dir, "freeze-primary")
    numbers = data["numbers"]
    _assert_no_acknowledged_write_lost(numbers, one_writer_at_a_time=True)
    assert numbers["frozen_seconds"] > 20, "longer than Patroni's ttl"
    assert numbers["frozen_processes"] > 3, "Patroni and PostgreSQL's processes"
    # The standby was promoted and kept the lead: the thawed node did not take it back.
    assert numbers["primary_after"] != numbers["primary_before"]
    assert data["passed"]


def test_a_partitioned_primary_loses_no_acknowledged_write(live, out_dir):
    data = _rehearse(live, out_dir, "partition-primary")
    numbers = data["numbers"]
    _assert_no_acknowledged_write_lost(numbers, one_writer_at_a_time=True)
    assert numbers["partitioned_seconds"] > 20, "longer than Patroni's ttl"
    assert numbers["writes_acknowledged_after_fault"] > 0, "the writer went on after the fault"
    # Phase two: the new primary's zone cut from etcd and the standby, HAProxy still reaching
    # it (asynchronous replication lost 995 acknowledged rows here). Each phase failed over.
    assert numbers["zone_isolated_seconds"] > 20, "longer than Patroni's ttl"
    assert numbers["zone_isolated"] != numbers["primary_before"]
    assert numbers["primary_after"] != numbers["zone_isolated"]
    assert data["passed"]


def test_a_lost_etcd_member_fails_nothing_and_a_hung_majority_keeps_the_primary(live, out_dir):
    data = _rehearse(live, out_dir, "dcs-loss")
    numbers = data["numbers"]
    _assert_no_acknowledged_write_lost(numbers)
    assert numbers["failed_member_down"] == 0
    assert numbers["failed_majority_hung"] == 0
    assert numbers["primary_after"] == numbers["primary_before"], "no demotion, no failover"
    # The scenario ends with the members one cluster again (the thawed ones caught up).
    assert 0 <= numbers["etcd_settled_after_seconds"] < 60
    # Both need a person: each alert is on its way (pending at CI size) within 2 minutes.
    assert set(numbers["alerts"]) == {"EtcdMemberDown", "EtcdQuorumLost"}
    for alert in numbers["alerts"].values():
        assert alert["after_seconds"] is not None
        assert alert["after_seconds"] < 120
    assert data["passed"]


def _server_row(topo, backend, server):
    rows = haproxy.stats(topo.haproxy_sock)
    return next(r for r in rows if r["pxname"] == backend and r["svname"] == server)


def test_haproxy_takes_out_a_server_whose_postgresql_port_it_cannot_reach(live):
    """The path from HAProxy to the primary's PostgreSQL cut while Patroni's REST API says 200."""
    topo, sock = live.topo, live.topo.haproxy_sock
    primary = pair.leader(topo)
    assert primary is not None
    assert haproxy.in_rotation_and_checked(sock, "pg_primary", primary)
    before = haproxy.server_checks(sock, "pg_primary", primary)
    faults.cut_data_path(topo, primary)
    try:
        haproxy.wait_status(sock, "pg_primary", primary, {"DOWN"}, timeout=15)
        rest = httpx.options(topo.url(f"patroni-{primary}", "/primary"), timeout=2)
        row = _server_row(topo, "pg_primary", primary)
        metrics = httpx.get(topo.url("haproxy-stats", "/metrics"), timeout=5).text
    finally:
        faults.heal_data_path(topo, primary)
    assert rest.status_code == 200, "Patroni's REST API still says this node is the primary"
    # Out because of the second connection of the check: PostgreSQL's own port.
    assert row["check_status"].startswith("L4"), row
    assert "PostgreSQL port" in row["last_chk"], row
    after = haproxy.server_checks(sock, "pg_primary", primary)
    assert after["chkdown"] == before["chkdown"] + 1
    # Visible in HAProxy's own metrics, which Prometheus scrapes (job haproxy).
    assert f'haproxy_server_status{{proxy="pg_primary",server="{primary}",state="DOWN"}} 1' in (
        metrics
    )
    # Back once the path is: the server returns, and so does the service.
    haproxy.wait_status(sock, "pg_primary", primary, {"UP"}, timeout=15)
    wait_until(lambda: http_ok(topo.url("app-lb", "/health"), "UP"), 30, "/health UP again")


def test_patroni_logs_no_reset_connection_from_the_health_checks(live):
    for node in ("pg-a", "pg-b"):
        log = (live.topo.logs / f"{node}.log").read_text(errors="replace")
        assert "no action" in log, "not Patroni's log"
        # Patroni's REST API logs this (and a traceback) for a check that hangs up mid-answer.
        assert "Exception happened during processing of request" not in log


def test_canary_promotes_a_good_build_and_aborts_a_defective_one(live, out_dir):
    """The chart's analysis decides: it fails when the analysis or its threshold is wrong."""
    data = _rehearse(live, out_dir, "canary")
    numbers = data["numbers"]
    assert numbers["weights"] == [5, 25, 50, 100]
    good, bad, rolling = numbers["good"], numbers["bad"], numbers["rolling_update"]
    assert good["outcome"] == "promoted"
    assert good["failed"] == 0
    assert good["canary_requests"] > 0
    assert bad["outcome"] == "aborted"
    assert bad["failed_share"] < 0.01
    assert bad["canary_requests"] > 0
    # Aborted by a failed measurement of the availability metric, taken with real data.
    failed = [m for m in bad["measurements"] if m[3] == "Failed"]
    assert failed, bad["measurements"]
    assert failed[0][1] == "canary-availability-error-ratio"
    assert failed[0][2] > 0.05
    # Every query returned data in the rehearsal, not only parsed.
    assert all(m[2] is not None for m in bad["measurements"]), bad["measurements"]
    assert {m[1] for m in bad["measurements"]} == {
        "canary-availability-error-ratio",
        "canary-latency-error-ratio",
        "canary-requests",
    }
    assert any(m[1] == "canary-requests" and m[2] > 0 for m in bad["measurements"])
    assert bad["first_bad_step_to_abort_seconds"] <= 2 * 15 + 5
    stable = numbers["stable_pids_during_bad_release"]
    assert stable["before"] == stable["after"]
    # Today's rolling update of the same build fails far more requests.
    assert rolling["failed_share"] > 2 * bad["failed_share"]
    assert data["passed"]


def test_database_outage_raises_the_alert_and_recovers(live, out_dir):
    data = _rehearse(live, out_dir, "outage")
    numbers = data["numbers"]
    assert numbers["alert"] == "TestAppDatabaseUnreachable"
    assert numbers["pending_after_seconds"] > 0
    # At CI size the outage ends once the alert is pending (sizes.CI: outage_until_firing=False,
    # which saves the rule's 120 s `for`); firing after `for` is the full size's check
    # (test_results_doc on the committed report) and promtool's.
    assert numbers["firing_after_seconds"] is None
    assert numbers["recovery_seconds"] < 10
    assert numbers["livez_not_200"] == 0
    assert numbers["readyz_not_200"] == 0, "the database is gone, the instances stay ready"
    assert numbers["readyz_polls"] > 0
    assert numbers["pids_before"] == numbers["pids_after"]
    assert all(v > 0 for v in numbers["down_seconds"].values())
    assert data["passed"]


def test_down_leaves_nothing_running(live):
    live.cli("down")
    assert lifecycle.leftover_pids(live.topo) == []
    namespaces = subprocess.run(
        ["ip", "netns", "list"], capture_output=True, text=True, check=True
    ).stdout
    assert f"rh{live.topo.port_base}-" not in namespaces, "the nodes' namespaces are left"
    for name, port in live.topo.all_ports().items():
        with socket.socket() as sock:
            assert sock.connect_ex(("127.0.0.1", port)) != 0, f"{name} still listens on {port}"
