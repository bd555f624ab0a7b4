"""Generate the SLO rules and dashboards, and copy rules and dashboards into the chart.

    python observability/generate.py           # write every generated file
    python observability/generate.py --check   # exit 1 and list the files that are out of date
    python observability/generate.py --explain # budget, burn rates and detection times

Outputs:
  observability/rules/test-app-slo.yaml        from observability/slo.yaml and slo-windows.yaml
  observability/rules/test-app-login.yaml      from observability/login-rotation.yaml
  observability/dashboards/<name>.json         from observability/dashboards.py
  charts/test-app/files/rules/*.yaml           copies of observability/rules/*.yaml
  charts/test-app/files/dashboards/*.json      copies of observability/dashboards/*.json
  observability/kube-prometheus-stack/values.yaml  overlay with alertmanager.config
  charts/test-app/files/analysis/canary-metrics.yaml  the canary analysis, from slo.yaml
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import dashboards
import kps_values
import slo
from test_app_tooling import login_rotation


HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SLO_FILE = HERE / "slo.yaml"
RULES = HERE / "rules"
DASHBOARDS = HERE / "dashboards"
CHART_FILES = REPO / "charts" / "test-app" / "files"
GENERATED_RULES = RULES / "test-app-slo.yaml"
LOGIN_ROTATION = HERE / "login-rotation.yaml"
LOGIN_RULES = RULES / "test-app-login.yaml"
ALERTMANAGER_CONFIG = HERE / "alertmanager" / "alertmanager.yml"
KPS_VALUES = HERE / "kube-prometheus-stack" / "values.yaml"
CANARY_METRICS = CHART_FILES / "analysis" / "canary-metrics.yaml"


def expected_files() -> dict[Path, str]:
    """Every generated or copied file and the text it must have."""
    slo_file = slo.load(SLO_FILE)
    files: dict[Path, str] = {
        GENERATED_RULES: slo.render_rules(slo_file),
        KPS_VALUES: kps_values.render(ALERTMANAGER_CONFIG),
        CANARY_METRICS: slo.render_canary_metrics(slo_file),
        LOGIN_RULES: login_rotation.render(
            login_rotation.load(LOGIN_ROTATION), LOGIN_ROTATION.relative_to(REPO).as_posix()
        ),
    }
    for name, dashboard in dashboards.all_dashboards(slo_file).items():
        files[DASHBOARDS / f"{name}.json"] = json.dumps(dashboard, indent=2, sort_keys=True) + "\n"
    rule_sources = {path: path.read_text(encoding="utf-8") for path in sorted(RULES.glob("*.yaml"))}
    for generated in (GENERATED_RULES, LOGIN_RULES):
        rule_sources[generated] = files[generated]
    for path, text in rule_sources.items():
        files[CHART_FILES / "rules" / path.name] = text
    for path in [p for p in files if p.parent == DASHBOARDS]:
        files[CHART_FILES / "dashboards" / path.name] = files[path]
    return files


def stale_files(files: dict[Path, str]) -> list[Path]:
    """Files that differ from what they must be, plus chart copies whose source is gone."""
    stale = [
        path
        for path, text in files.items()
        if not path.is_file() or path.read_text(encoding="utf-8") != text
    ]
    for folder, pattern in (("rules", "*.yaml"), ("dashboards", "*.json")):
        stale += [p for p in sorted((CHART_FILES / folder).glob(pattern)) if p not in files]
    stale += [p for p in sorted(DASHBOARDS.glob("*.json")) if p not in files]
    return stale


def main(argv: list[str] | None = None) -> int:
    """Write the generated files, or with --check only report the stale ones."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report out-of-date files")
    parser.add_argument(
        "--explain", action="store_true", help="print what each SLO alert means, as a table"
    )
    args = parser.parse_args(argv)
    try:
        if args.explain:
            print(slo.explain(slo.load(SLO_FILE)), end="")
            return 0
        files = expected_files()
    except slo.SLOError as error:
        print(f"error: {SLO_FILE.relative_to(REPO)}: {error}", file=sys.stderr)
        return 2
    except login_rotation.ScheduleError as error:
        print(f"error: observability/{error}", file=sys.stderr)
        return 2
    stale = stale_files(files)
    if args.check:
        for path in stale:
            print(f"out of date: {path.relative_to(REPO)}", file=sys.stderr)
        if stale:
            print("run `make observability-generate`", file=sys.stderr)
        return 1 if stale else 0
    for path in stale:
        if path in files:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(files[path], encoding="utf-8")
            print(f"wrote {path.relative_to(REPO)}")
        else:
            path.unlink()
            print(f"removed {path.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
