"""checkov's terraform framework over a folder, offline, read back as one parsed run.

Used by the AWS and the Azure checks alike. checkov runs without its platform download,
mapping fetch or update check; a run that wrote no report, or no terraform results, raises
`CheckovError` with the end of checkov's output.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class CheckovError(RuntimeError):
    """checkov produced no terraform results to judge."""


@dataclass(frozen=True)
class TerraformScan:
    """The `summary` and `results` of checkov's terraform run."""

    summary: dict[str, Any]
    results: dict[str, Any]

    def failed(self) -> list[str]:
        """One line per failed check: id, resource and file."""
        return [
            f"{c['check_id']} {c['resource']} ({c['file_path']})"
            for c in self.results["failed_checks"]
        ]


def scan_terraform(
    checkov: str, directory: Path, out_dir: Path, *, skip_paths: tuple[str, ...] = ()
) -> TerraformScan:
    """Run checkov's terraform framework over `directory`, writing its JSON report to `out_dir`."""
    env = dict(os.environ, BC_SKIP_MAPPING="TRUE", CKV_SKIP_PACKAGE_UPDATE_CHECK="true")
    skips = [arg for path in skip_paths for arg in ("--skip-path", path)]
    proc = subprocess.run(
        [checkov, "--directory", str(directory), "--framework", "terraform", "--skip-download",
         *skips, "--output", "json", "--output-file-path", str(out_dir)],
        env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    report = out_dir / "results_json.json"
    if not report.is_file():
        raise CheckovError(proc.stdout[-2000:] + proc.stderr[-2000:])
    data = json.loads(report.read_text())
    runs = data if isinstance(data, list) else [data]
    terraform = [run for run in runs if run.get("check_type") == "terraform"]
    if not terraform:
        raise CheckovError(f"checkov reported no terraform results: {proc.stderr[-2000:]}")
    return TerraformScan(summary=terraform[0]["summary"], results=terraform[0]["results"])
