"""Reports of the rehearsals: a short markdown page, a PNG and the raw numbers as JSON."""

from __future__ import annotations

import json
import math
import os
import platform
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import matplotlib as mpl


mpl.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from rehearsal.measure.load import LoadResult
from rehearsal.measure.probe import Observation


class ReportError(ValueError):
    """A report's JSON document lacks what its page shows."""


@dataclass(frozen=True)
class Check:
    """One measured value against its target."""

    name: str
    value: str
    target: str
    ok: bool


@dataclass
class Report:
    """Everything one rehearsal found."""

    name: str
    title: str
    command: str
    checks: list[Check] = field(default_factory=list)
    timeline: list[tuple[float, str]] = field(default_factory=list)
    numbers: dict[str, object] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    t0: float = 0.0  # time.monotonic() of the scenario's start (the load's start)
    echo: bool = True  # print each timeline event as it happens (`make rehearse` progress)

    def start_clock(self, t0: float) -> None:
        """Count the timeline from ``t0`` (a ``time.monotonic()`` value)."""
        self.t0 = t0

    def mark(self, text: str) -> float:
        """Add ``text`` to the timeline now and print it; return the seconds since the start."""
        at = time.monotonic() - self.t0
        self.timeline.append((round(at, 2), text))
        if self.echo:
            print(f"    {at:7.1f}s  {text}", flush=True)
        return at

    @property
    def passed(self) -> bool:
        """Return whether every check met its target (and there was at least one)."""
        return bool(self.checks) and all(c.ok for c in self.checks)

    def check(self, name: str, value: object, target: str, *, ok: bool) -> None:
        """Record one measurement against its target."""
        self.checks.append(Check(name, str(value), target, ok))


def _series(result: LoadResult, bucket: float = 1.0) -> dict[str, np.ndarray]:
    if not result.samples:
        empty = np.array([])
        return {"t": empty, "ok": empty, "bad": empty, "p50": empty, "p99": empty}
    offsets = np.array([s.offset for s in result.samples])
    latency = np.array([s.latency for s in result.samples]) * 1000
    good = np.array([200 <= s.status < 300 for s in result.samples])  # noqa: PLR2004
    edges = np.arange(0, math.ceil(offsets.max() / bucket) + 1) * bucket
    index = np.clip(np.digitize(offsets, edges) - 1, 0, len(edges) - 1)
    t = edges
    ok = np.bincount(index, weights=good, minlength=len(edges)) / bucket
    bad = np.bincount(index, weights=~good, minlength=len(edges)) / bucket
    p50 = np.full(len(edges), np.nan)
    p99 = np.full(len(edges), np.nan)
    for i in range(len(edges)):
        values = latency[index == i]
        if values.size:
            p50[i] = np.percentile(values, 50)
            p99[i] = np.percentile(values, 99)
    return {"t": t, "ok": ok, "bad": bad, "p50": p50, "p99": p99}


def plot(  # noqa: PLR0913, PLR0917
    path: Path,
    title: str,
    result: LoadResult,
    events: list[tuple[float, str]],
    spans: list[tuple[float, float, str]] | None = None,
    probes: dict[str, list[Observation]] | None = None,
) -> None:
    """Requests/s, errors/s and latency over time, with the rehearsal's events marked."""
    series = _series(result)
    rows = 3 if probes else 2
    fig, axes = plt.subplots(rows, 1, figsize=(11, 2.6 * rows + 0.8), sharex=True)
    ax_rate, ax_lat = axes[0], axes[1]
    ax_rate.step(series["t"], series["ok"], where="post", label="2xx/s", color="tab:blue")
    ax_rate.step(series["t"], series["bad"], where="post", label="failed/s", color="tab:red")
    ax_rate.set_ylabel("requests/s")
    ax_rate.legend(loc="lower left", fontsize=8)
    ax_lat.plot(series["t"], series["p50"], label="p50", color="tab:green")
    ax_lat.plot(series["t"], series["p99"], label="p99", color="tab:orange")
    ax_lat.set_ylabel("latency (ms)")
    ax_lat.set_ylim(bottom=0)
    ax_lat.legend(loc="upper left", fontsize=8)
    if probes:
        ax_probe = axes[2]
        labels = list(probes)
        for row, label in enumerate(labels):
            obs = probes[label]
            t = np.array([o.at - result.started_at for o in obs])
            good = np.array([o.status == 200 for o in obs])  # noqa: PLR2004
            ax_probe.scatter(t[good], np.full(good.sum(), row), s=4, color="tab:green", marker="|")
            ax_probe.scatter(
                t[~good], np.full((~good).sum(), row), s=8, color="tab:red", marker="|"
            )
        ax_probe.set_yticks(range(len(labels)), labels, fontsize=7)
        ax_probe.set_ylim(-0.7, len(labels) - 0.3)
        ax_probe.set_ylabel("probes\n(green 200)")
    for ax in axes:
        for start, end, label in spans or []:
            ax.axvspan(start, end, color="grey", alpha=0.12, label=None)
            if ax is ax_rate:
                ax.text(start, 1.01, label, transform=ax.get_xaxis_transform(), fontsize=7)
        for at, _label in events:
            ax.axvline(at, color="grey", linewidth=0.6, linestyle=":")
        ax.grid(visible=True, alpha=0.3)
    axes[-1].set_xlabel("seconds since the load started")
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def as_json(report: Report, png: Path | None) -> dict[str, object]:
    """Everything the markdown page shows, as the JSON document written beside it."""
    return {
        "name": report.name,
        "title": report.title,
        "command": report.command,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "host": f"{os.cpu_count()} CPUs, {platform.system()} {platform.release()}",
        "passed": report.passed,
        "checks": [c.__dict__ for c in report.checks],
        "numbers": report.numbers,
        "timeline": report.timeline,
        "notes": report.notes,
        "plot": png.name if png is not None else None,
    }


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise ReportError(f"{key}: expected a string, found {value!r}")
    return value


def render(data: dict[str, Any]) -> str:
    """Render the markdown page of a report from its JSON document alone."""
    title = _text(data, "title")
    verdict = "PASSED" if data.get("passed") else "FAILED"
    lines = [
        f"# {title}",
        "",
        (
            f"**{verdict}** on {_text(data, 'date')}, {_text(data, 'host')}. "
            f"Produced by `{_text(data, 'command')}`."
        ),
        "",
        "| measurement | value | target | met |",
        "| --- | --- | --- | --- |",
        *[
            f"| {c['name']} | {c['value']} | {c['target']} | {'yes' if c['ok'] else '**no**'} |"
            for c in data["checks"]
        ],
        "",
    ]
    if data.get("plot"):
        lines += [f"![{title}]({data['plot']})", ""]
    if data["timeline"]:
        lines += ["## Timeline", "", "| t (s) | event |", "| ---: | --- |"]
        lines += [f"| {at:.2f} | {text} |" for at, text in data["timeline"]]
        lines.append("")
    if data.get("notes"):
        lines += ["## Notes", "", *[f"- {note}" for note in data["notes"]], ""]
    return "\n".join(lines)


def write(report: Report, out_dir: Path, png: Path | None) -> Path:
    """Write ``<name>.json`` and the ``<name>.md`` rendered from it; return the markdown path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    data = json.loads(json.dumps(as_json(report, png), default=str))
    (out_dir / f"{report.name}.json").write_text(json.dumps(data, indent=2) + "\n")
    md = out_dir / f"{report.name}.md"
    md.write_text(render(data))
    return md


def stale_pages(reports: Path) -> list[Path]:
    """List the markdown pages under ``reports`` that differ from their JSON's rendering."""
    stale = []
    for path in sorted(reports.glob("*.json")):
        page = path.with_suffix(".md")
        want = render(json.loads(path.read_text()))
        if not page.exists() or page.read_text() != want:
            stale.append(page)
    return stale
