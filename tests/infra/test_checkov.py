"""checkov over every stack and module: zero failed checks, skips only with a reason."""

from __future__ import annotations

import re

from test_app_tooling.checkov import scan_terraform


def test_checkov_clean(repo_root, tool, tmp_path):
    # The Azure stacks have their own checkov test (tests/infra_azure).
    scan = scan_terraform(
        tool("checkov"), repo_root / "infra", tmp_path, skip_paths=("infra/azure",)
    )
    summary = scan.summary
    # Parsed the real tree: every stack and module resource, hundreds of checks.
    assert summary["resource_count"] >= 60, summary
    assert summary["passed"] >= 200, summary
    assert summary["parsing_errors"] == 0, summary
    assert summary["failed"] == 0, "\n".join(scan.failed())


def test_every_checkov_skip_gives_a_reason(repo_root):
    skips = []
    for path in (repo_root / "infra").rglob("*.tf"):
        if "azure" in path.relative_to(repo_root / "infra").parts:
            continue
        skips += re.findall(r"#checkov:skip=([^\n]*)", path.read_text(encoding="utf-8"))
    assert skips, "expected the documented skips"
    no_reason = [s for s in skips if not re.fullmatch(r"CKV2?_AWS_\d+:.{20,}", s)]
    assert not no_reason, no_reason
