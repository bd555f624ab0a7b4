"""checkov's Azure policies over infra/azure: zero failed checks, every skip with a reason."""

from __future__ import annotations

import re

from infra_azure.conftest import AZURE

from test_app_tooling.checkov import scan_terraform


def test_checkov_clean(tool, tmp_path):
    scan = scan_terraform(tool("checkov"), AZURE, tmp_path)
    summary, results = scan.summary, scan.results
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
    assert summary["failed"] == 0, "\n".join(scan.failed())


def test_every_checkov_skip_gives_a_reason():
    skips = []
    for path in AZURE.rglob("*.tf"):
        skips += re.findall(r"#checkov:skip=([^\n]*)", path.read_text(encoding="utf-8"))
    assert len(skips) >= 10, "expected the documented skips"
    no_reason = [s for s in skips if not re.fullmatch(r"CKV2?_AZURE_\d+:.{40,}", s)]
    assert not no_reason, no_reason
