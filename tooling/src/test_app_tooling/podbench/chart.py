"""The pod exactly as the chart runs it: rendered by Helm's engine from the chart's values files.

Nothing is retyped: the container's environment, its CPU and memory requests and limits and the
HPA's CPU target come from the rendered Deployment and HorizontalPodAutoscaler of a value set
(`prod` = the chart's values.yaml with values-prod.yaml, merged by Helm itself).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from test_app_tooling.helm_render import VALUE_SETS, one, rendered_pod
from test_app_tooling.quantities import QuantityError, cpu_cores, memory_bytes


class ChartError(ValueError):
    """The rendered chart lacks a field the benchmark needs, or has one of the wrong form."""


def parse_cpu(value: object, where: str) -> float:
    """Parse a Kubernetes CPU quantity (`250m`, `1`, `0.5`) in cores."""
    try:
        return cpu_cores(value, where)
    except QuantityError as error:
        raise ChartError(str(error)) from None


def parse_memory(value: object, where: str) -> int:
    """Parse a Kubernetes memory quantity (`512Mi`, `1Gi`, `500M`, `1048576`) in bytes."""
    try:
        return memory_bytes(value, where)
    except QuantityError as error:
        raise ChartError(str(error)) from None


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
    try:
        pod = rendered_pod(value_set)
    except KeyError as error:
        raise ChartError(error.args[0]) from None
    objects, container, env = pod.objects, pod.container, pod.env
    limits = _get(container, "resources.limits")
    requests = _get(container, "resources.requests")
    return PodSpec(
        value_set=value_set,
        values_files=["values.yaml", *VALUE_SETS[value_set][0]],
        env=env,
        cpu_request=parse_cpu(_get(requests, "cpu"), "resources.requests.cpu"),
        cpu_limit=parse_cpu(_get(limits, "cpu"), "resources.limits.cpu"),
        memory_request=parse_memory(_get(requests, "memory"), "resources.requests.memory"),
        memory_limit=parse_memory(_get(limits, "memory"), "resources.limits.memory"),
        hpa_target_percent=hpa_cpu_target(one(objects, "HorizontalPodAutoscaler")),
        workers=int(env.get("WORKERS", "1")),
        readiness_timeout_s=float(_get(container, "readinessProbe.timeoutSeconds")),
    )
