"""The benchmark's figure: served and refused rates and p99 against the offered rate.

The steps of the median repetition and the overload runs, with the SLO and the capacity marked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib as mpl


mpl.use("Agg")

import matplotlib.pyplot as plt


def plot(result: dict[str, Any], path: Path) -> None:
    """Write the PNG of `result` (the JSON report) to `path`."""
    points = [*result["steps"], *result.get("overload", [])]  # the steps, then 2x and 4x
    steps = sorted(points, key=lambda s: s["offered_rps"])
    offered = [s["offered_rps"] for s in steps]
    figure, served_axis = plt.subplots(figsize=(8, 4.5), dpi=100)
    served_axis.plot(
        offered, [s["served_rps"] for s in steps], "o-", color="tab:blue", label="served 2xx req/s"
    )
    served_axis.plot(
        offered,
        [s.get("refused_rps", 0) for s in steps],
        "^-",
        color="tab:orange",
        label="refused 503 req/s",
    )
    served_axis.plot(offered, offered, ":", color="grey", label="offered = served")
    served_axis.set_xlabel("offered load (req/s, open model)")
    served_axis.set_ylabel("served / refused req/s", color="tab:blue")
    latency_axis = served_axis.twinx()
    latency_axis.plot(
        offered, [s["p99_ms"] or 0 for s in steps], "s-", color="tab:red", label="p99 latency"
    )
    threshold = result["slo"]["threshold_ms"]
    latency_axis.axhline(
        threshold,
        color="tab:red",
        linestyle="--",
        label=f"SLO: p{result['slo']['percentile']:g} <= {threshold:g} ms",
    )
    latency_axis.set_ylabel("p99 ms", color="tab:red")
    latency_axis.set_yscale("log")
    if result["capacity"] is not None:
        served_axis.axvline(
            result["capacity"]["rps"],
            color="tab:green",
            label=f"capacity {result['capacity']['rps']:g} req/s (median)",
        )
    handles = served_axis.get_legend_handles_labels()
    more = latency_axis.get_legend_handles_labels()
    served_axis.legend(handles[0] + more[0], handles[1] + more[1], loc="upper left", fontsize=8)
    pod = result["pod"]
    served_axis.set_title(
        f"One test-app pod: {pod['workers']} workers, CPU limit {pod['cpu_limit']:g} core, "
        f"memory limit {pod['memory_limit_mib']:g} MiB"
    )
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
