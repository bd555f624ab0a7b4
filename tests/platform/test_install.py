"""platform/install.py: the dry mode prints the plan, in order, without helm or a cluster; bad
options fail with a message naming them."""

from __future__ import annotations

import os
import subprocess
import sys

import yaml

from test_app_tooling.tools import REPO


INSTALL = REPO / "platform" / "install.py"


def run(*args: str, path: str | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if path is not None:
        env["PATH"] = path
    return subprocess.run(
        [sys.executable, str(INSTALL), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
        cwd=REPO,
    )


DRY = ("--cluster-name", "test-app-staging", "--vpc-id", "vpc-0a1b2c3d4e5f", "--dry-run")


def test_dry_run_prints_every_step_in_order():
    result = run(*DRY)
    assert result.returncode == 0, result.stderr
    steps = yaml.safe_load((REPO / "platform" / "addons.yaml").read_text())["steps"]
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"Plan: {len(steps)} steps")
    positions = []
    for number, step in enumerate(steps, start=1):
        header = next(
            i for i, line in enumerate(lines) if line.startswith(f"{number}. {step['name']} ")
        )
        positions.append(header)
    assert positions == sorted(positions)


def test_dry_run_pins_every_chart_version_in_the_helm_commands():
    result = run(*DRY)
    steps = yaml.safe_load((REPO / "platform" / "addons.yaml").read_text())["steps"]
    helm = [line for line in result.stdout.splitlines() if "$ helm upgrade --install" in line]
    charts = [s for s in steps if s["type"] == "chart"]
    assert len(helm) == len(charts) == 7
    for line, step in zip(helm, charts, strict=True):
        assert f" {step['name']} {step['chart']} " in line
        assert f"--version {step['version']} " in line
        assert f"--namespace {step['namespace']} " in line
        files = [step["values"]] if isinstance(step["values"], str) else step["values"]
        for path in files:
            assert f"--values {os.path.normpath('platform/' + path)} " in line
        assert "--wait" in line


def test_dry_run_fills_the_cluster_placeholders():
    result = run(*DRY)
    assert "${" not in result.stdout
    assert "--set clusterName=test-app-staging" in result.stdout
    assert "--set vpcId=vpc-0a1b2c3d4e5f" in result.stdout
    assert "--set autoDiscovery.clusterName=test-app-staging" in result.stdout


def test_dry_run_needs_no_helm_and_prints_no_secret():
    result = run(*DRY, path="")
    assert result.returncode == 0, result.stderr
    assert "admin-password=<random>" in result.stdout


def test_missing_option_fails_before_printing_a_plan():
    result = run("--cluster-name", "test-app-staging", "--dry-run")
    assert result.returncode == 2
    assert "placeholder ${VPC_ID} has no value: pass --vpc-id" in result.stderr
    assert result.stdout == ""


def test_bad_options_are_named():
    result = run("--cluster-name", "test-app-staging", "--vpc-id", "0a1b", "--dry-run")
    assert result.returncode != 0
    assert "--vpc-id" in result.stderr
    result = run(*DRY, "--only", "nginx")
    assert result.returncode == 2
    assert "--only: unknown steps ['nginx']" in result.stderr


def test_only_selects_one_step():
    result = run(*DRY, "--only", "metrics-server")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].startswith("Plan: 1 steps")
    assert "metrics-server 3." in result.stdout


def test_real_install_without_helm_fails_clearly():
    result = run("--cluster-name", "test-app-staging", "--vpc-id", "vpc-0a1b2c3d4e5f", path="")
    assert result.returncode != 0
    assert "is not on PATH" in result.stderr


def test_plan_lists_the_blackbox_exporter():
    result = run(*DRY)
    assert result.returncode == 0, result.stderr
    (line,) = [
        line
        for line in result.stdout.splitlines()
        if "$ helm upgrade --install prometheus-blackbox-exporter " in line
    ]
    assert "--namespace monitoring " in line
    assert "--version 11.4.0 " in line
    assert "prometheus-community.github.io/helm-charts" in line
