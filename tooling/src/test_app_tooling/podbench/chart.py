"""The pod exactly as the chart runs it: rendered by Helm's engine from the chart's values files.

Nothing is retyped: the container's environment, its CPU and memory requests and limits and the
HPA's CPU target come from the rendered Deployment and HorizontalPodAutoscaler of a value set
(`prod` = the chart's values.yaml with values-prod.yaml, merged by Helm itself).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from test_app_tooling.helm_render import VALUE_SETS, app_container, load_values, one, render


MEMORY_UNITS = {
    "": 1,
    "k": 1000,
    "M": 1000**2,
    "G": 1000**3,
    "Ki": 1024,
    "Mi": 1024**2,
    "Gi": 1024**3,
}


class ChartError(ValueError):
    """The rendered chart lacks a field the benchmark needs, or has one of the wrong form."""


def parse_cpu(value: object, where: str) -> float:
    """Parse a Kubernetes CPU quantity (`250m`, `1`, `0.5`) in cores."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(m?)", str(value))
    if match is None:
        raise ChartError(f"{where}: expected a CPU quantity like 250m or 1, got {value!r}")
    number, milli = match.groups()
    return float(number) / (1000 if milli else 1)


def parse_memory(value: object, where: str) -> int:
    """Parse a Kubernetes memory quantity (`512Mi`, `1Gi`, `500M`, `1048576`) in bytes."""
    match = re.fullmatch(r"(\d+)(|k|M|G|Ki|Mi|Gi)", str(value))
    if match is None:
        raise ChartError(f"{where}: expected a memory quantity like 512Mi or 1Gi, got {value!r}")
    number, unit = match.groups()
    return int(number) * MEMORY_UNITS[unit]


@dataclass(frozen=True)
class PodSpec:
    """What the benchmark needs to run the app like one pod of a value set."""

    value_set: str
    values_files: list[str]
    env: dict[str, str]  # the container's literal variables (secret references left out)
    cpu_request: float
    cpu_limit: float
    memory_request: int
    memory_limit: int
    hpa_target_percent: int
    workers: int
    readiness_timeout_s: float  # the readiness probe's timeoutSeconds


def _get(data: Any, path: str) -> Any:  # noqa: ANN401 - parsed YAML
    for key in path.split("."):
        if not isinstance(data, dict) or key not in data:
            raise ChartError(f"the rendered chart has no `{path}`")
        data = data[key]
    return data


def hpa_cpu_target(hpa: dict[str, Any]) -> int:
    """Return the HPA's CPU utilisation target (percent of the CPU request)."""
    for metric in _get(hpa, "spec.metrics"):
        if metric.get("type") == "Resource" and _get(metric, "resource.name") == "cpu":
            return int(_get(metric, "resource.target.averageUtilization"))
    raise ChartError("the HorizontalPodAutoscaler has no CPU utilisation target")


def pod_spec(value_set: str = "prod") -> PodSpec:
    """Render the chart with `value_set` and read the pod from it."""
    if value_set not in VALUE_SETS:
        raise ChartError(f"value set: expected one of {sorted(VALUE_SETS)}, got {value_set!r}")
    files, extra = VALUE_SETS[value_set]
    objects = render(load_values(files, extra))
    container = app_container(objects)
    env = {item["name"]: str(item["value"]) for item in container["env"] if "value" in item}
    limits = _get(container, "resources.limits")
    requests = _get(container, "resources.requests")
    return PodSpec(
        value_set=value_set,
        values_files=["values.yaml", *files],
        env=env,
        cpu_request=parse_cpu(_get(requests, "cpu"), "resources.requests.cpu"),
        cpu_limit=parse_cpu(_get(limits, "cpu"), "resources.limits.cpu"),
        memory_request=parse_memory(_get(requests, "memory"), "resources.requests.memory"),
        memory_limit=parse_memory(_get(limits, "memory"), "resources.limits.memory"),
        hpa_target_percent=hpa_cpu_target(one(objects, "HorizontalPodAutoscaler")),
        workers=int(env.get("WORKERS", "1")),
        readiness_timeout_s=float(_get(container, "readinessProbe.timeoutSeconds")),
    )
