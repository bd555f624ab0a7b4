"""The chart's canary AnalysisTemplate, read and judged the way the Argo Rollouts controller does.

The rehearsal and the tests run the very queries and conditions the chart renders (never a copy):
`metrics()` reads them from a rendered AnalysisTemplate, `fill()` puts in the arguments Argo
would pass, `judge()` applies a metric's success and failure conditions to a query's result, and
`AnalysisRun` counts the outcomes against each metric's failure and inconclusive limits.
ref: https://argoproj.github.io/argo-rollouts/features/analysis/

Conditions are Argo's expr language; the chart only writes the forms `result[0] <op> <number>`
and `true` / `false`, and anything else is refused here with an error naming it.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal


Outcome = Literal["Successful", "Failed", "Inconclusive", "Error"]
Phase = Literal["Running", "Successful", "Failed", "Inconclusive"]

_ARG = re.compile(r"\{\{\s*args\.([A-Za-z0-9_-]+)\s*\}\}")
_DURATION = re.compile(r"^(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?$")
_CONDITION = re.compile(r"^result\[0\]\s*(<=|>=|==|<|>)\s*(-?[0-9]+(?:\.[0-9]+)?)$")
_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "==": operator.eq,
    "<": operator.lt,
    ">": operator.gt,
}


class AnalysisError(ValueError):
    """The AnalysisTemplate holds something this reader does not understand; names the field."""


def seconds(duration: str, where: str) -> float:
    """Length of an Argo duration like 30s, 1m or 1h30m in seconds."""
    match = _DURATION.match(str(duration))
    if not duration or match is None or not any(match.groups()):
        raise AnalysisError(f"{where}: expected a duration like 30s, 1m or 1h, got {duration!r}")
    hours, minutes, secs = (int(g or 0) for g in match.groups())
    return float(hours * 3600 + minutes * 60 + secs)


def condition(text: str, where: str) -> Callable[[float], bool]:
    """Compile one condition of the forms the chart writes; refuse any other."""
    stripped = text.strip()
    if stripped in ("true", "false"):
        constant = stripped == "true"
        return lambda _value: constant
    match = _CONDITION.match(stripped)
    if match is None:
        raise AnalysisError(
            f"{where}: expected `result[0] <op> <number>`, `true` or `false`, got {text!r}"
        )
    compare, bound = _OPERATORS[match.group(1)], float(match.group(2))
    return lambda value: not math.isnan(value) and compare(value, bound)


@dataclass(frozen=True)
class Metric:
    """One metric of the template: its Prometheus query and how it is judged."""

    name: str
    query: str
    success: str
    failure: str | None
    interval: float
    initial_delay: float
    failure_limit: int
    inconclusive_limit: int

    def judge(self, value: float | None) -> Outcome:
        """Argo's verdict on one measurement; None (an empty result) is an error."""
        if value is None:
            return "Error"
        if self.failure is not None and condition(self.failure, self.name)(value):
            return "Failed"
        if condition(self.success, self.name)(value):
            return "Successful"
        return "Inconclusive" if self.failure is not None else "Failed"


def _int(raw: Mapping[str, Any], key: str, where: str) -> int:
    value = raw.get(key, 0)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise AnalysisError(f"{where}.{key}: expected a whole number >= 0, got {value!r}")
    return value


def metrics(template: Mapping[str, Any]) -> list[Metric]:
    """The Prometheus metrics of a rendered AnalysisTemplate object."""
    if template.get("kind") != "AnalysisTemplate":
        raise AnalysisError(f"kind: expected AnalysisTemplate, got {template.get('kind')!r}")
    found = []
    for index, raw in enumerate(template.get("spec", {}).get("metrics") or []):
        where = f"spec.metrics[{index}]"
        prometheus = raw.get("provider", {}).get("prometheus")
        if not isinstance(prometheus, dict) or not prometheus.get("query"):
            raise AnalysisError(f"{where}.provider.prometheus.query: expected a PromQL query")
        if "successCondition" not in raw:
            raise AnalysisError(f"{where}.successCondition: missing")
        metric = Metric(
            name=str(raw.get("name") or where),
            query=str(prometheus["query"]),
            success=str(raw["successCondition"]),
            failure=str(raw["failureCondition"]) if "failureCondition" in raw else None,
            interval=seconds(raw.get("interval", ""), f"{where}.interval"),
            initial_delay=seconds(raw.get("initialDelay", "0s"), f"{where}.initialDelay"),
            failure_limit=_int(raw, "failureLimit", where),
            inconclusive_limit=_int(raw, "inconclusiveLimit", where),
        )
        condition(metric.success, f"{where}.successCondition")
        if metric.failure is not None:
            condition(metric.failure, f"{where}.failureCondition")
        found.append(metric)
    if not found:
        raise AnalysisError("spec.metrics: the AnalysisTemplate has no metric")
    return found


def fill(query: str, args: Mapping[str, str]) -> str:
    """Put the arguments into a query as Argo does; an argument without a value is an error."""
    missing = sorted({name for name in _ARG.findall(query) if name not in args})
    if missing:
        raise AnalysisError(f"the query needs the arguments {missing}, given {sorted(args)}")
    return _ARG.sub(lambda m: args[m.group(1)], query)


@dataclass
class AnalysisRun:
    """Outcome counts of one background analysis and the phase they put it in."""

    metrics: list[Metric]
    counts: dict[str, dict[str, int]] = field(default_factory=dict)

    def record(self, metric: Metric, outcome: Outcome) -> None:
        """Count one measurement of ``metric``."""
        per = self.counts.setdefault(metric.name, {})
        per[outcome] = per.get(outcome, 0) + 1

    def phase(self) -> Phase:
        """Failed once a metric failed more than its limit; Inconclusive likewise; else Running."""
        for metric in self.metrics:
            if self.counts.get(metric.name, {}).get("Failed", 0) > metric.failure_limit:
                return "Failed"
        for metric in self.metrics:
            per = self.counts.get(metric.name, {})
            if per.get("Inconclusive", 0) > metric.inconclusive_limit:
                return "Inconclusive"
        return "Running"
