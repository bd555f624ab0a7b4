"""checkov's kubernetes framework on the rendered manifests: zero failed checks; every skip is one
of the documented ones below (each carries its reason in a checkov.io/skip annotation)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest


# check id -> kinds where the chart skips it, with the reason given in the annotation.
DOCUMENTED_SKIPS = {
    # Tag-pinned images (immutable ECR tags) outside prod; prod pins a digest and passes both.
    "CKV_K8S_43": {"Deployment", "Pod", "Job", "CronJob"},
    "CKV_K8S_15": {"Deployment", "Pod", "Job", "CronJob"},
    # The `helm test` pod, the database role Job and the rotation CronJob (AKS) run to
    # completion: no liveness or readiness.
    "CKV_K8S_8": {"Pod", "Job", "CronJob"},
    "CKV_K8S_9": {"Pod", "Job", "CronJob"},
}


@pytest.fixture(scope="module")
def checkov_report(rendered_dir, tool) -> dict[str, Any]:
    env = {
        **os.environ,
        "BC_SKIP_MAPPING": "TRUE",
        "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true",
        "LOG_LEVEL": "WARNING",
    }
    result = subprocess.run(
        [
            tool("checkov"),
            "--directory",
            str(rendered_dir),
            "--framework",
            "kubernetes",
            "--skip-download",
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert result.returncode in {0, 1}, result.stderr[-2000:]
    report = json.loads(result.stdout)
    reports = report if isinstance(report, list) else [report]
    (kubernetes,) = [r for r in reports if r.get("check_type") == "kubernetes"]
    found: dict[str, Any] = kubernetes
    return found


def test_checkov_parsed_every_rendered_object(checkov_report, rendered_sets):
    summary = checkov_report["summary"]
    assert summary["parsing_errors"] == 0
    expected = sum(len(objs) for objs in rendered_sets.values())
    # checkov also counts each Deployment's pod template as a resource.
    assert summary["resource_count"] >= expected > 0
    assert summary["passed"] > 0
    files = {Path(c["file_path"]).stem for c in checkov_report["results"]["passed_checks"]}
    assert files == set(rendered_sets)


def test_checkov_has_no_failed_check(checkov_report):
    failed = [
        f"{f['check_id']} {f['check_name']}: {f['resource']} ({f['file_path']})"
        for f in checkov_report["results"]["failed_checks"]
    ]
    assert failed == []


def test_checkov_skips_are_the_documented_ones(checkov_report):
    skips = checkov_report["results"]["skipped_checks"]
    assert skips, "expected the documented skips to show up in the report"
    for skipped in skips:
        kind = skipped["resource"].split(".")[0]
        assert kind in DOCUMENTED_SKIPS.get(skipped["check_id"], set()), (
            f"undocumented skip {skipped['check_id']} on {skipped['resource']}"
        )
        assert skipped["check_result"].get("suppress_comment"), skipped["check_id"]


def test_prod_needs_no_image_skip(checkov_report):
    prod_skips = {
        s["check_id"]
        for s in checkov_report["results"]["skipped_checks"]
        if s["file_path"].endswith("prod.yaml")
    }
    assert prod_skips.isdisjoint({"CKV_K8S_43", "CKV_K8S_15"}), prod_skips
