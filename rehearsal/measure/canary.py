"""The canary's parts in the rehearsal: the chart's analysis, its builds, the balancer's weights.

* ``chart_analysis`` renders the chart (prod values, the rehearsal's time scale and Prometheus)
  and returns its AnalysisTemplate's metrics and the Rollout's steps: the queries that run here
  are the chart's, never a copy.
* ``defective_build`` makes a copy of the app's package with one deliberate defect, installed
  in a folder of its own that only the canary slot's process imports (``PYTHONPATH``): the
  production code has no switch for it.
* ``set_weights`` moves traffic with HAProxy's weights, as Argo moves the ALB's.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import matplotlib as mpl


mpl.use("Agg")
import matplotlib.pyplot as plt

from rehearsal.base import haproxy
from rehearsal.base.topology import Topology
from rehearsal.measure import report  # sets matplotlib's Agg backend
from rehearsal.measure.load import LoadResult
from test_app_tooling import analysis
from test_app_tooling.helm_render import VALUE_SETS, deep_merge, load_values, one, render
from test_app_tooling.tools import REPO


APP_PACKAGE = REPO / "app" / "src" / "test_app"
# The defect: from the release's point of view a ready, healthy-looking build whose /health
# answers every tenth request with a 500 (10 % errors: 20x the availability budget).
HEALTH_OK = "    async def _health(self) -> Response:\n        if await self._ping_writer():\n"
HEALTH_DEFECT = (
    "    async def _health(self) -> Response:\n"
    "        self._defect_calls = getattr(self, '_defect_calls', 0) + 1\n"
    "        if self._defect_calls % 10 == 0:\n"
    '            return 500, b"DOWN\\n", TEXT\n'
    "        if await self._ping_writer():\n"
)
DEFECT_SHARE = 0.1


@dataclass(frozen=True)
class ChartAnalysis:
    """What the chart renders for the canary, at the rehearsal's time scale."""

    metrics: list[analysis.Metric]
    weights: list[int]
    pause_seconds: float
    interval: str
    template: dict[str, Any]


def chart_analysis(prometheus: str, interval: str, initial_delay: str, pause: str) -> ChartAnalysis:
    """Render the chart's Rollout and AnalysisTemplate (prod values, times for the rehearsal)."""
    files, extra = VALUE_SETS["prod"]
    override = {
        "rollout": {
            "pause": pause,
            "analysis": {
                "interval": interval,
                "initialDelay": initial_delay,
                "prometheusAddress": prometheus,
            },
        }
    }
    objects = render(deep_merge(load_values(files, extra), override))
    template = one(objects, "AnalysisTemplate")
    steps = one(objects, "Rollout")["spec"]["strategy"]["canary"]["steps"]
    weights = [int(s["setWeight"]) for s in steps if "setWeight" in s]
    pauses = {s["pause"]["duration"] for s in steps if "pause" in s}
    if len(pauses) != 1:
        raise analysis.AnalysisError(f"expected one pause duration in the steps, got {pauses}")
    return ChartAnalysis(
        metrics=analysis.metrics(template),
        weights=weights,
        pause_seconds=analysis.seconds(pauses.pop(), "steps.pause.duration"),
        interval=interval,
        template=template,
    )


def defective_build(folder: Path) -> Path:
    """Copy the app's package into ``folder`` with the defect; return the PYTHONPATH entry."""
    target = folder / "defective" / "test_app"
    shutil.rmtree(target.parent, ignore_errors=True)
    shutil.copytree(APP_PACKAGE, target, ignore=shutil.ignore_patterns("__pycache__"))
    source = (target / "app.py").read_text(encoding="utf-8")
    if source.count(HEALTH_OK) != 1:
        raise RuntimeError("the /health handler changed: update rehearsal/measure/canary.py")
    (target / "app.py").write_text(source.replace(HEALTH_OK, HEALTH_DEFECT), encoding="utf-8")
    return target.parent


def set_weights(topo: Topology, weights: dict[str, int]) -> None:
    """Set each server's HAProxy weight (0 to 256): the share of new requests it gets."""
    for server, weight in weights.items():
        out = haproxy.command(topo.haproxy_sock, f"set weight app/{server} {weight}").strip()
        if out:
            raise haproxy.HAProxyError(f"set weight app/{server} {weight}: {out}")


def write_targets(topo: Topology, stable: list[str], canary: list[str], pod_hash: str) -> None:
    """Prometheus' app targets; the canary's carry the pod-template-hash label Argo adds."""
    groups = [
        {
            "targets": [f"127.0.0.1:{topo.port(name)}"],
            "labels": {"namespace": "test-app", "pod": name, "service": "test-app"}
            | ({"rollouts_pod_template_hash": pod_hash} if name in canary else {}),
        }
        for name in sorted([*stable, *canary])
    ]
    tmp = topo.app_targets_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(groups, indent=2) + "\n")
    tmp.replace(topo.app_targets_file)


def health_requests(url: str) -> int:
    """GET /health requests one app process answered, from its own /metrics."""
    total = 0.0
    for line in httpx.get(url, timeout=5).text.splitlines():
        if line.startswith("test_app_http_requests_total{") and 'route="/health"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return int(total)


def plot(  # noqa: PLR0913, PLR0917 - the parts of the picture
    path: Path,
    title: str,
    result: LoadResult,
    weights: list[tuple[float, int]],
    ratios: list[tuple[float, float]],
    threshold: float,
    aborts: list[float],
) -> None:
    """Canary weight, the analysis' error ratio against its threshold, failures and latency."""
    series = report._series(result)  # noqa: SLF001 - the same buckets as every rehearsal plot
    fig, axes = plt.subplots(3, 1, figsize=(11, 8.6), sharex=True)
    ax_w, ax_r, ax_l = axes
    ax_w.step([t for t, _ in weights], [w for _, w in weights], where="post", color="tab:purple")
    ax_w.set_ylabel("canary weight (%)")
    ax_w.set_ylim(-5, 105)
    ax_r.scatter([t for t, _ in ratios], [r for _, r in ratios], color="tab:red", s=14,
                 label="analysis: canary error ratio")  # fmt: skip
    ax_r.axhline(threshold, color="tab:red", linestyle="--", linewidth=0.8, label="threshold")
    ax_r.step(series["t"], series["bad"], where="post", color="tab:orange", label="failed/s")
    ax_r.set_ylabel("ratio / failed per s")
    ax_r.set_yscale("symlog", linthresh=0.01)
    ax_r.legend(loc="upper left", fontsize=8)
    ax_l.plot(series["t"], series["p50"], label="p50", color="tab:green")
    ax_l.plot(series["t"], series["p99"], label="p99", color="tab:orange")
    ax_l.set_ylabel("latency (ms)")
    ax_l.set_ylim(bottom=0)
    ax_l.legend(loc="upper left", fontsize=8)
    for ax in axes:
        for at in aborts:
            ax.axvline(at, color="tab:red", linewidth=1.2)
    ax_w.text(aborts[0] if aborts else 0, 1.01, "abort" if aborts else "", color="tab:red",
              transform=ax_w.get_xaxis_transform(), fontsize=8)  # fmt: skip
    axes[-1].set_xlabel("seconds since the load started")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
