"""What the chart package holds: .helmignore keeps the environment and CI values out."""

from __future__ import annotations

import helm_python as helm

from test_app_tooling.helm_render import CHART


def packaged_files() -> list[str]:
    with helm.Chart.load(CHART) as chart:
        return sorted(entry["name"] for entry in chart.files)


def test_environment_and_ci_values_are_not_packaged():
    files = packaged_files()
    assert "files/rules/test-app.yaml" in files, files  # the chart's own files are there
    assert (CHART / "values-prod.yaml").is_file()
    assert (CHART / "ci" / "default-values.yaml").is_file()
    leaked = [f for f in files if f.startswith(("values-", "ci/"))]
    assert not leaked, f"packaged although passed with -f at install time: {leaked}"
