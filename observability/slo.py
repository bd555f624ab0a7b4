"""Turn `observability/slo.yaml` into Prometheus recording rules and burn-rate alerts.

The SLO file is in Sloth's `prometheus/v1` shape and its alert windows in Sloth's AlertWindows
shape (`observability/slo-windows.yaml`), each validated by a JSON Schema under
`observability/schemas/`. Every threshold in the generated rules is derived here, so nothing
is copied by hand; the recording rules carry Sloth's names (`slo:sli_error:ratio_rate<window>`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import yaml


HERE = Path(__file__).resolve().parent
WINDOWS_FILE = HERE / "slo-windows.yaml"
SLO_SCHEMA = HERE / "schemas" / "sloth-prometheus-v1.schema.json"
WINDOWS_SCHEMA = HERE / "schemas" / "sloth-alert-windows-v1.schema.json"
# How a release's canary is judged (Argo Rollouts analysis): a file of its own, so slo.yaml stays
# exactly Sloth's shape.
CANARY_FILE = HERE / "canary.yaml"
CANARY_SCHEMA = HERE / "schemas" / "canary.schema.json"
DURATION = re.compile(r"^[1-9][0-9]*[mhd]$")
SEVERITIES = ("critical", "warning")
# The windows every SLO records, whatever the alerts use, so dashboards can show any of them.
RECORDED_WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")
_MINUTES = {"m": 1, "h": 60, "d": 1440}
WINDOW = re.compile(r"\{\{\s*\.window\s*\}\}")
# Sloth's two alerts per SLO, as this project names them and how long each must hold: Sloth's
# spec has no `for`; ours waits 2 minutes before a page and 15 before a ticket.
ALERT_KINDS = (
    ("page", "BudgetBurnFast", "critical", "2m"),
    ("ticket", "BudgetBurnSlow", "warning", "15m"),
)


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
    """One alert per SLO: a name suffix, a severity, a `for` and its window pairs."""

    name: str
    severity: str
    for_: str
    windows: tuple[WindowPair, ...]


@dataclass(frozen=True)
class SLO:
    """One objective and how its SLI is measured (Sloth's events SLI)."""

    name: str
    alert_prefix: str
    objective: Decimal  # percent, e.g. 99.5
    description: str
    sli: dict[str, str]  # error_query and total_query, with Sloth's `{{.window}}`
    runbooks: dict[str, str]  # alert name suffix (BudgetBurnFast, ...) -> runbook URL

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
    """The whole SLO file with its alert windows, validated."""

    service: str
    team: str
    period: str
    alerts: tuple[AlertClass, ...]
    slos: tuple[SLO, ...]
    canary: CanaryPolicy | None = None


def _field(path: Any) -> str:  # noqa: ANN401 - jsonschema's deque of keys and indexes
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text.lstrip(".") or "(top level)"


def validate(data: object, schema_path: Path, name: str) -> None:
    """Raise SLOError naming the first invalid field of `data` and what the schema expected."""
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        error = errors[0]
        raise SLOError(f"{name}: {_field(error.absolute_path)}: {error.message}")


def _yaml(path: Path) -> object:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise SLOError(f"{path.name}: not YAML: {error}") from error


def _minutes_decimal(window: str) -> Decimal:
    return Decimal(int(window[:-1]) * _MINUTES[window[-1]])


def _alert_classes(windows: dict[str, Any]) -> tuple[AlertClass, ...]:
    period = _minutes_decimal(windows["sloPeriod"])
    classes = []
    for kind, suffix, severity, hold in ALERT_KINDS:
        pairs = []
        for speed in ("quick", "slow"):
            raw = windows[kind][speed]
            long = raw["longWindow"]
            # Burn rate: the share of the budget spent in the long window, over the window's
            # share of the period (2% in 1h of 30d: 0.02 x 720 = 14.4).
            share = Decimal(str(raw["errorBudgetPercent"])) / Decimal(100)
            pairs.append(
                WindowPair(long, raw["shortWindow"], share * period / _minutes_decimal(long))
            )
        classes.append(AlertClass(suffix, severity, hold, tuple(pairs)))
    return tuple(classes)


def _load_canary(path: Path) -> CanaryPolicy:
    data = _yaml(path)
    validate(data, CANARY_SCHEMA, path.name)
    assert isinstance(data, dict)  # noqa: S101 - validated above
    return CanaryPolicy(
        burn_rate=Decimal(str(data["burn_rate"])), min_requests=int(data["min_requests"])
    )


def load(
    path: Path, windows_path: Path = WINDOWS_FILE, canary_path: Path | None = CANARY_FILE
) -> SLOFile:
    """Read and validate the SLO file, its alert windows and (when given) the canary policy."""
    data = _yaml(path)
    validate(data, SLO_SCHEMA, path.name)
    windows = _yaml(windows_path)
    validate(windows, WINDOWS_SCHEMA, windows_path.name)
    assert isinstance(data, dict)  # noqa: S101 - validated above
    assert isinstance(windows, dict)  # noqa: S101 - validated above
    slos = tuple(
        SLO(
            name=raw["name"],
            alert_prefix=raw["alerting"]["name"],
            objective=Decimal(str(raw["objective"])),
            description=raw["description"],
            sli=dict(raw["sli"]["events"]),
            runbooks={
                suffix: raw["alerting"][f"{kind}_alert"]["annotations"]["runbook_url"]
                for kind, suffix, _, _ in ALERT_KINDS
            },
        )
        for raw in data["slos"]
    )
    return SLOFile(
        service=data["service"],
        team=data.get("labels", {}).get("team", data["service"]),
        period=windows["spec"]["sloPeriod"],
        alerts=_alert_classes(windows["spec"]),
        slos=slos,
        canary=_load_canary(canary_path) if canary_path is not None else None,
    )


def _number(value: Decimal) -> str:
    """Render a Decimal without exponent or trailing zeros (0.005, 14.4, 6)."""
    text = format(value.normalize(), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _indent(query: str) -> str:
    return "\n  ".join(query.strip().splitlines())


def error_ratio_expr(slo: SLO, window: str) -> str:
    """PromQL for the share of bad events over `window` (Sloth's `{{.window}}` filled in)."""
    errors = _indent(WINDOW.sub(window, slo.sli["error_query"]))
    total = WINDOW.sub(window, slo.sli["total_query"]).strip()
    # No error series exists until the first error; `or ... * 0` keeps the ratio at 0.
    return f"(\n  {errors}\n  or\n  {_indent(total)} * 0\n)\n/\n{total}\n"


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
            "runbook_url": slo.runbooks[alert.name],
        },
    }


def rule_groups(slo_file: SLOFile) -> dict[str, Any]:
    """Build the Prometheus rule file (recording rules, then alerts) for every SLO."""
    groups: list[dict[str, Any]] = []
    for slo in slo_file.slos:
        labels = {"slo": slo.name, "service": slo_file.service}
        selector = f'slo="{slo.name}",service="{slo_file.service}"'
        budget = _number(slo.error_budget)
        rules: list[dict[str, Any]] = [
            {
                "record": f"slo:sli_error:ratio_rate{window}",
                "expr": error_ratio_expr(slo, window),
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
    "# GENERATED by observability/generate.py from observability/canary.yaml and the SLIs of\n"
    "# observability/slo.yaml: do not edit. The metrics of the chart's AnalysisTemplate\n"
    "# (templates/analysistemplate.yaml).\n"
)


_SELECTOR = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}")
_GROUPED_SUM = re.compile(r"\bsum by \([a-z_, ]*\) \(")


def canary_query(query: str) -> str:
    """Narrow an SLI query to the canary's pods, over the analysis window.

    Every series selector gains the canary's matchers (namespace, pod template hash), the sums
    lose their grouping (one namespace is selected: the analysis reads one number, `result[0]`),
    and Sloth's `{{.window}}` becomes the AnalysisTemplate's `{{args.window}}`.
    """
    matchers = 'namespace="{{args.namespace}}",' + CANARY_HASH_LABEL + '="{{args.canary-hash}}"'
    narrowed = _SELECTOR.sub(lambda m: f"{m[1]}{{{m[2]},{matchers}}}", query.strip())
    narrowed = _GROUPED_SUM.sub("sum(", narrowed)
    return narrowed.replace("{{.window}}", "{{args.window}}")


def _guarded_ratio(bad: str, total: str) -> str:
    """Bad / total, 0 when there were no requests (the request-count metric judges that)."""
    return f"(\n  {bad}\n)\n/\n({total} > 0)\nor\nvector(0)\n"


def canary_metrics(slo_file: SLOFile) -> dict[str, Any]:
    """Build the AnalysisTemplate metrics: one error ratio per SLO, the canary's request count."""
    policy = slo_file.canary
    if policy is None:
        raise SLOError(f"{CANARY_FILE.name}: missing (expected burn_rate and min_requests)")
    metrics: list[dict[str, Any]] = []
    for slo in slo_file.slos:
        threshold = _number(policy.burn_rate * slo.error_budget)
        bad = canary_query(slo.sli["error_query"]) + " or vector(0)"
        total = canary_query(slo.sli["total_query"])
        metrics.append(
            {
                "name": f"canary-{slo.name}-error-ratio",
                "successCondition": f"result[0] <= {threshold}",
                "query": _guarded_ratio(bad, total),
            }
        )
    # The first SLO's total counts the canary's requests. Neither met: inconclusive; Argo then
    # pauses the rollout for a person (promote or abort).
    requests = canary_query(slo_file.slos[0].sli["total_query"]).replace("rate(", "increase(")
    metrics.append(
        {
            "name": "canary-requests",
            "successCondition": f"result[0] >= {policy.min_requests}",
            "failureCondition": "false",
            "query": f"{requests}\nor\nvector(0)\n",
        }
    )
    return {"args": list(CANARY_ARGS), "metrics": metrics}


def render_canary_metrics(slo_file: SLOFile) -> str:
    """Render the generated canary metrics file's text, header included."""
    body = yaml.dump(
        canary_metrics(slo_file), Dumper=_Dumper, sort_keys=False, width=120, allow_unicode=True
    )
    return CANARY_HEADER + body
