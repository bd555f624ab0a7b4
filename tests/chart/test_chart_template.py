"""`make chart-template`: the module command prints a render or names the bad values file."""

from __future__ import annotations

import subprocess
import sys

import yaml

from test_app_tooling.tools import REPO


def template(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "test_app_tooling.chart_template", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
        timeout=120,
    )


def test_prints_the_render_of_the_values_files():
    result = template(
        "charts/test-app/ci/default-values.yaml,charts/test-app/ci/ingress-values.yaml"
    )
    assert result.returncode == 0, result.stderr
    kinds = {obj["kind"] for obj in yaml.safe_load_all(result.stdout) if obj}
    assert {"Deployment", "Service", "Ingress"} <= kinds


def test_names_a_values_file_outside_the_chart():
    result = template("README.md")
    assert result.returncode == 2
    assert "values file 'README.md': expected a file inside" in result.stderr


def test_names_the_values_when_the_chart_refuses_them():
    result = template("charts/test-app/values-staging.yaml")
    assert result.returncode == 1
    assert "does not render with charts/test-app/values-staging.yaml" in result.stderr
    assert "externalSecret.remoteSecretName" in result.stderr
