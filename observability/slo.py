"""Turn `observability/slo.yaml` into Prometheus recording rules and burn-rate alerts.

The SLO file is the only place where objectives, windows and burn rates are written; every
threshold in the generated rules is derived here, so nothing is copied by hand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml


DURATION = re.compile(r"^[1-9][0-9]*[mhd]$")
SEVERITIES = ("critical", "warning")
# The windows every SLO records, whatever the alerts use, so dashboards can show any of them.
RECORDED_WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")


class SLOError(ValueError):
    """The SLO file is invalid; the message names the field and what was expected."""


@dataclass(frozen=True)
class WindowPair:
    """A long and a short window that must both burn faster than `burn_rate`."""

    long: str
    short: str
    burn_rate: Decimal


@dataclass(frozen=True)
class AlertClass:
    """One alert per SLO: a severity, a `for` and its window pairs."""

    name: str
    severity: str
    for_: str
    windows: tuple[WindowPair, ...]


@dataclass(frozen=True)
class SLO:
    """One objective and how its SLI is measured."""

    name: str
    alert_prefix: str
    objective: Decimal  # percent, e.g. 99.5
    description: str
    sli: dict[str, Any]

    @property
    def error_budget(self) -> Decimal:
        """Share of events allowed to be bad, e.g. 0.005 for 99.5%."""
        return (Decimal(100) - self.objective) / Decimal(100)


@dataclass(frozen=True)
class CanaryPolicy:
    """How a release's canary is judged: the burn rate it may not exceed, and the data it needs."""

    burn_rate: Decimal
    min_requests: int


@dataclass(frozen=True)
class SLOFile:
    """The whole SLO file, validated."""

    service: str
    team: str
    period: str
    aggregate_by: tuple[str, ...]
    runbook_base: str
    alerts: tuple[AlertClass, ...]
    slos: tuple[SLO, ...]
    canary: CanaryPolicy | None = None


def _get(data: dict[str, Any], key: str, where: str, kind: type) -> Any:  # noqa: ANN401
    if key not in data:
        raise SLOError(f"{where}.{key}: missing (expected {kind.__name__})")
    value = data[key]
    if kind is Decimal:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SLOError(f"{where}.{key}: expected a number, got {value!r}")
        return Decimal(str(value))
    if not isinstance(value, kind):
        raise SLOError(f"{where}.{key}: expected {kind.__name__}, got {value!r}")
    return value


def _duration(data: dict[str, Any], key: str, where: str) -> str:
    value = _get(data, key, where, str)
    if not DURATION.match(value):
        raise SLOError(f"{where}.{key}: expected a duration like 5m, 1h or 3d, got {value!r}")
    return str(value)


def _parse_alert(raw: object, where: str) -> AlertClass:
    if not isinstance(raw, dict):
        raise SLOError(f"{where}: expected a mapping")
    severity = _get(raw, "severity", where, str)
    if severity not in SEVERITIES:
        raise SLOError(f"{where}.severity: expected one of {SEVERITIES}, got {severity!r}")
    windows_raw = _get(raw, "windows", where, list)
    if not windows_raw:
        raise SLOError(f"{where}.windows: expected at least one window pair")
    windows = []
    for index, pair in enumerate(windows_raw):
        pair_where = f"{where}.windows[{index}]"
        if not isinstance(pair, dict):
            raise SLOError(f"{pair_where}: expected a mapping")
        long, short = _duration(pair, "long", pair_where), _duration(pair, "short", pair_where)
        for key, value in (("long", long), ("short", short)):
            if value not in RECORDED_WINDOWS:
                raise SLOError(f"{pair_where}.{key}: expected one of {RECORDED_WINDOWS}")
        burn_rate = _get(pair, "burn_rate", pair_where, Decimal)
        if burn_rate <= 0:
            raise SLOError(f"{pair_where}.burn_rate: expected a positive number")
        windows.append(WindowPair(long, short, burn_rate))
    return AlertClass(
        name=_get(raw, "name", where, str),
        severity=severity,
        for_=_duration(raw, "for", where),
        windows=tuple(windows),
    )


def _parse_slo(raw: object, where: str) -> SLO:
    if not isinstance(raw, dict):
        raise SLOError(f"{where}: expected a mapping")
    objective = _get(raw, "objective", where, Decimal)
    if not Decimal(90) <= objective < Decimal(100):
        raise SLOError(f"{where}.objective: expected a percentage in [90, 100), got {objective}")
    sli = _get(raw, "sli", where, dict)
    ratio_keys, histogram_keys = {"errors", "total"}, {"histogram", "selector", "threshold_seconds"}
    if set(sli) not in (ratio_keys, histogram_keys):
        raise SLOError(
            f"{where}.sli: expected either keys {sorted(ratio_keys)} "
            f"or {sorted(histogram_keys)}, got {sorted(sli)}"
        )
    return SLO(
        name=_get(raw, "name", where, str),
        alert_prefix=_get(raw, "alert_prefix", where, str),
        objective=objective,
        description=_get(raw, "description", where, str),
        sli=sli,
    )


def _parse_canary(raw: object) -> CanaryPolicy:
    if not isinstance(raw, dict):
        raise SLOError("canary: expected a mapping with burn_rate and min_requests")
    unknown = sorted(set(raw) - {"burn_rate", "min_requests"})
    if unknown:
        raise SLOError(f"canary: unknown keys {unknown} (expected burn_rate and min_requests)")
    burn_rate = _get(raw, "burn_rate", "canary", Decimal)
    if burn_rate <= 0:
        raise SLOError(f"canary.burn_rate: expected a positive number, got {burn_rate}")
    min_requests = _get(raw, "min_requests", "canary", int)
    if isinstance(min_requests, bool) or min_requests < 1:
        raise SLOError(f"canary.min_requests: expected a whole number >= 1, got {min_requests!r}")
    return CanaryPolicy(burn_rate=burn_rate, min_requests=min_requests)


def load(path: Path) -> SLOFile:
    """Read and validate the SLO file."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise SLOError(f"{path}: expected a mapping at the top level")
    alerts = tuple(
        _parse_alert(raw, f"alerts[{i}]") for i, raw in enumerate(_get(data, "alerts", "", list))
    )
    slos = tuple(
        _parse_slo(raw, f"slos[{i}]") for i, raw in enumerate(_get(data, "slos", "", list))
    )
    if not slos:
        raise SLOError("slos: expected at least one SLO")
    return SLOFile(
        service=_get(data, "service", "", str),
        team=_get(data, "team", "", str),
        period=_duration(data, "period", ""),
        aggregate_by=tuple(_get(data, "aggregate_by", "", list)),
        runbook_base=_get(data, "runbook_base", "", str).rstrip("/"),
        alerts=alerts,
        slos=slos,
        canary=_parse_canary(data["canary"]) if "canary" in data else None,
    )


def _number(value: Decimal) -> str:
    """Render a Decimal without exponent or trailing zeros (0.005, 14.4, 6)."""
    text = format(value.normalize(), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _with_selector(metric: str, selector: str) -> str:
    return f"{metric}{{{selector}}}"


def error_ratio_expr(slo: SLO, window: str, by: str) -> str:
    """PromQL for the share of bad events over `window`, one series per `by` label set."""
    sli = slo.sli
    if "errors" in sli:
        total = f"sum by ({by}) (rate({sli['total']}[{window}]))"
        errors = f"sum by ({by}) (rate({sli['errors']}[{window}]))"
        # No error series exists until the first error; `or ... * 0` keeps the ratio at 0.
        return f"(\n  {errors}\n  or\n  {total} * 0\n)\n/\n{total}\n"
    histogram, selector = sli["histogram"], sli["selector"]
    threshold = _number(Decimal(str(sli["threshold_seconds"])))
    count = f"sum by ({by}) (rate({_with_selector(histogram + '_count', selector)}[{window}]))"
    bucket = _with_selector(f"{histogram}_bucket", selector + f',le="{threshold}"')
    good = f"sum by ({by}) (rate({bucket}[{window}]))"
    return f"(\n  {count}\n  -\n  {good}\n)\n/\n{count}\n"


def _humanize(window: str) -> str:
    units = {"m": "minute", "h": "hour", "d": "day"}
    count, unit = int(window[:-1]), units[window[-1]]
    return f"{count} {unit}{'' if count == 1 else 's'}"


def _burn_alert(slo_file: SLOFile, slo: SLO, alert: AlertClass) -> dict[str, Any]:
    budget = _number(slo.error_budget)
    selector = f'slo="{slo.name}",service="{slo_file.service}"'
    branches = []
    for pair in alert.windows:
        threshold = f"({_number(pair.burn_rate)} * {budget})"
        branches.append(
            f"(\n  slo:sli_error:ratio_rate{pair.long}{{{selector}}} > {threshold}\n"
            f"  and\n  slo:sli_error:ratio_rate{pair.short}{{{selector}}} > {threshold}\n)"
        )
    expr = "\nor\n".join(branches) + "\n"
    name = f"{slo.alert_prefix}{alert.name}"
    windows = " or ".join(
        f"{_number(p.burn_rate)}x over {_humanize(p.long)} and {_humanize(p.short)}"
        for p in alert.windows
    )
    speed = "fast" if alert.severity == "critical" else "slowly"
    return {
        "alert": name,
        "expr": expr,
        "for": alert.for_,
        "labels": {
            "severity": alert.severity,
            "team": slo_file.team,
            "service": slo_file.service,
            "slo": slo.name,
        },
        "annotations": {
            "summary": f"{slo_file.service} is burning its {slo.name} error budget {speed}.",
            "description": (
                f"{{{{ $labels.service }}}} in namespace {{{{ $labels.namespace }}}} has an "
                f"error ratio for its {slo.name} SLO of {{{{ $value | humanizePercentage }}}} "
                f"against an objective of {_number(slo.objective)}% (error budget {budget}); "
                f"alerting threshold: burn rate {windows}."
            ),
            "runbook_url": f"{slo_file.runbook_base}/{slo_file.service}/{name}.md",
        },
    }


def rule_groups(slo_file: SLOFile) -> dict[str, Any]:
    """Build the Prometheus rule file (recording rules, then alerts) for every SLO."""
    by = ", ".join(slo_file.aggregate_by)
    groups: list[dict[str, Any]] = []
    for slo in slo_file.slos:
        labels = {"slo": slo.name, "service": slo_file.service}
        selector = f'slo="{slo.name}",service="{slo_file.service}"'
        budget = _number(slo.error_budget)
        rules: list[dict[str, Any]] = [
            {
                "record": f"slo:sli_error:ratio_rate{window}",
                "expr": error_ratio_expr(slo, window, by),
                "labels": labels,
            }
            for window in RECORDED_WINDOWS
        ]
        period = slo_file.period
        rules += [
            {
                "record": f"slo:sli_error:ratio_rate{period}",
                "expr": f"avg_over_time(slo:sli_error:ratio_rate5m{{{selector}}}[{period}])\n",
                "labels": labels,
            },
            {
                "record": "slo:objective:ratio",
                "expr": f"vector({_number(1 - slo.error_budget)})",
                "labels": labels,
            },
            {"record": "slo:error_budget:ratio", "expr": f"vector({budget})", "labels": labels},
            {
                "record": "slo:error_budget_remaining:ratio",
                "expr": f"1 - slo:sli_error:ratio_rate{period}{{{selector}}} / {budget}\n",
                "labels": labels,
            },
        ]
        rules += [_burn_alert(slo_file, slo, alert) for alert in slo_file.alerts]
        groups.append({"name": f"{slo_file.service}-slo-{slo.name}", "rules": rules})
    return {"groups": groups}


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: object) -> bool:  # noqa: ARG002 - PyYAML's signature
        return True


def _str_presenter(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str_presenter)

HEADER = (
    "# GENERATED by observability/generate.py from observability/slo.yaml: do not edit.\n"
    "# Change the SLO file and run `make observability-generate`.\n"
)


def render_rules(slo_file: SLOFile) -> str:
    """Render the generated rule file's text, header included."""
    body = yaml.dump(
        rule_groups(slo_file), Dumper=_Dumper, sort_keys=False, width=120, allow_unicode=True
    )
    return HEADER + body


_MINUTES = {"m": 1, "h": 60, "d": 1440}


def minutes(window: str) -> int:
    """Length of a duration like 5m, 1h or 30d in minutes."""
    return int(window[:-1]) * _MINUTES[window[-1]]


def explain(slo_file: SLOFile) -> str:
    """Tabulate what each alert means for each SLO (docs/observability.md quotes it)."""
    period = minutes(slo_file.period)
    header = (
        f"| SLO | objective | budget over {slo_file.period} | alert | severity | windows | "
        "burn rate | budget spent in the long window | budget gone after | "
        "fires after, at 100% errors |"
    )
    lines = [header, "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for objective in slo_file.slos:
        budget = objective.error_budget
        budget_minutes = float(budget) * period
        for alert in slo_file.alerts:
            for pair in alert.windows:
                spent = float(pair.burn_rate) * minutes(pair.long) / period
                exhausted_hours = period / float(pair.burn_rate) / 60
                # Total outage: the long window's ratio crosses the threshold after
                # long x burn rate x budget minutes (the short window is faster), then `for`.
                detect = minutes(pair.long) * float(pair.burn_rate * budget) + minutes(alert.for_)
                lines.append(
                    f"| {objective.name} | {_number(objective.objective)}% | "
                    f"{budget_minutes:.0f} min | {objective.alert_prefix}{alert.name} | "
                    f"{alert.severity} | {pair.long} and {pair.short} | "
                    f"{_number(pair.burn_rate)} | {spent:.0%} | {exhausted_hours:.0f} h | "
                    f"{detect:.1f} min |"
                )
    return "\n".join(lines) + "\n"


# The canary analysis (Argo Rollouts). Argo labels every pod of a Rollout with
# `rollouts-pod-template-hash`; the chart's ServiceMonitor copies it onto the scraped series
# (`podTargetLabels`), where Prometheus spells it with underscores. The AnalysisTemplate's
# arguments are filled in by Argo: the canary ReplicaSet's hash, the namespace and the window.
CANARY_HASH_LABEL = "rollouts_pod_template_hash"
CANARY_ARGS = ("namespace", "canary-hash", "window")
CANARY_HEADER = (
    "# GENERATED by observability/generate.py from observability/slo.yaml (`canary` and the\n"
    "# SLIs): do not edit. The metrics of the chart's AnalysisTemplate (templates/analysis.yaml).\n"
)


def _canary_series(series: str) -> str:
    """Add the canary's matchers (namespace, pod template hash) to a series selector."""
    matchers = 'namespace="{{args.namespace}}",' + CANARY_HASH_LABEL + '="{{args.canary-hash}}"'
    if series.endswith("}"):
        return series[:-1] + "," + matchers + "}"
    return series + "{" + matchers + "}"


def _canary_rate(series: str) -> str:
    return f"sum(rate({_canary_series(series)}[{{{{args.window}}}}]))"


def _guarded_ratio(bad: str, total: str) -> str:
    """Bad / total, 0 when there were no requests (the request-count metric judges that)."""
    return f"(\n  {bad}\n)\n/\n({total} > 0)\nor\nvector(0)\n"


def canary_metrics(slo_file: SLOFile) -> dict[str, Any]:
    """Build the AnalysisTemplate metrics: one error ratio per SLO, the canary's request count."""
    policy = slo_file.canary
    if policy is None:
        raise SLOError("canary: missing (expected burn_rate and min_requests)")
    metrics: list[dict[str, Any]] = []
    count_series = ""
    for slo in slo_file.slos:
        threshold = _number(policy.burn_rate * slo.error_budget)
        sli = slo.sli
        if "errors" in sli:
            total = _canary_rate(sli["total"])
            bad = f"{_canary_rate(sli['errors'])} or vector(0)"
            count_series = count_series or sli["total"]
        else:
            histogram, selector = sli["histogram"], sli["selector"]
            le = _number(Decimal(str(sli["threshold_seconds"])))
            total = _canary_rate(_with_selector(histogram + "_count", selector))
            good = _canary_rate(_with_selector(histogram + "_bucket", selector + f',le="{le}"'))
            bad = f"{total}\n  -\n  {good}"
            count_series = count_series or _with_selector(histogram + "_count", selector)
        metrics.append(
            {
                "name": f"canary-{slo.name}-error-ratio",
                "successCondition": f"result[0] <= {threshold}",
                "query": _guarded_ratio(bad, total),
            }
        )
    # Neither met: inconclusive. Argo then pauses the rollout for a person (promote or abort).
    metrics.append(
        {
            "name": "canary-requests",
            "successCondition": f"result[0] >= {policy.min_requests}",
            "failureCondition": "false",
            "query": (
                f"sum(increase({_canary_series(count_series)}[{{{{args.window}}}}]))\n"
                "or\nvector(0)\n"
            ),
        }
    )
    return {"args": list(CANARY_ARGS), "metrics": metrics}


def render_canary_metrics(slo_file: SLOFile) -> str:
    """Render the generated canary metrics file's text, header included."""
    body = yaml.dump(
        canary_metrics(slo_file), Dumper=_Dumper, sort_keys=False, width=120, allow_unicode=True
    )
    return CANARY_HEADER + body
