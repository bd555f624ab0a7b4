"""checkov's Azure policies over infra/azure: zero failed checks, every skip with a reason."""

from __future__ import annotations

import json
import os
import re
import subprocess

from infra_azure.conftest import AZURE


def test_checkov_clean(tool, tmp_path):
    checkov = tool("checkov")
    env = dict(os.environ, BC_SKIP_MAPPING="TRUE", CKV_SKIP_PACKAGE_UPDATE_CHECK="true")
    proc = subprocess.run(
        [
            checkov,
            "--directory",
            str(AZURE),
            "--framework",
            "terraform",
            "--skip-download",
            "--output",
            "json",
            "--output-file-path",
            str(tmp_path),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    report = tmp_path / "results_json.json"
    assert report.is_file(), proc.stdout[-2000:] + proc.stderr[-2000:]
    data = json.loads(report.read_text())
    runs = data if isinstance(data, list) else [data]
    terraform = [r for r in runs if r.get("check_type") == "terraform"]
    assert terraform, f"checkov reported no terraform results: {proc.stderr[-2000:]}"
    summary = terraform[0]["summary"]
    results = terraform[0]["results"]
    # Parsed the real tree with the Azure policies: every module's resources were checked.
    assert summary["parsing_errors"] == 0, summary
    assert summary["resource_count"] >= 45, summary
    azure_passed = {c["check_id"] for c in results["passed_checks"] if "_AZURE_" in c["check_id"]}
    assert len(azure_passed) >= 30, sorted(azure_passed)
    checked = {c["resource"].split(".")[-2] for c in results["passed_checks"]}
    for kind in (
        "azurerm_kubernetes_cluster",
        "azurerm_container_registry",
        "azurerm_storage_account",
        "azurerm_key_vault",
        "azurerm_postgresql_flexible_server",
    ):
        assert kind in checked, f"checkov checked no {kind}"
    failed = [
        f"{c['check_id']} {c['resource']} ({c['file_path']})" for c in results["failed_checks"]
    ]
    assert summary["failed"] == 0, "\n".join(failed)


def test_every_checkov_skip_gives_a_reason():
    skips = []
    for path in AZURE.rglob("*.tf"):
        skips += re.findall(r"#checkov:skip=([^\n]*)", path.read_text(encoding="utf-8"))
    assert len(skips) >= 10, "expected the documented skips"
    no_reason = [s for s in skips if not re.fullmatch(r"CKV2?_AZURE_\d+:.{40,}", s)]
    assert not no_reason, no_reason
