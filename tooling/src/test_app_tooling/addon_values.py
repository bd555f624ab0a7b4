"""Rules over the platform add-ons' values (platform/addons.yaml and platform/values/).

- Leader election: a controller that runs more than one replica must elect a leader, or every
  replica reconciles the same objects (External Secrets: doubled provider calls and conflicting
  writes of the target Secret). `CONTROLLERS` names, per chart, where its replica count lives,
  the value that turns leader election on (or `None` when the chart has none and the binary's
  own default, named in `source`, is on) and the chart's defaults for both, from the chart
  version pinned in platform/addons.yaml. Every chart add-on is either a controller there or
  named in `NOT_CONTROLLERS`, so a new add-on needs a decision.
- Cluster Autoscaler's RBAC: the image (v1.35 and later) reads objects a chart written for an
  older image may not grant (`AUTOSCALER_READS`); the values grant them in
  `rbac.additionalRules`.
- External Secrets' user-facing RBAC: the chart aggregates create rights on ExternalSecrets and
  SecretStores into the `view`/`edit` ClusterRoles (`rbac.aggregateToView`, `aggregateToEdit`,
  on by default). A namespaced SecretStore without `auth` uses the controller's own identity,
  which reads the database's master secret, so anyone bound to `edit` in any namespace could
  read it; the values turn both off, and only the platform's own Roles grant those rights
  (modelled by test_app_tooling.infra.secret_reach).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from test_app_tooling.helm_render import deep_merge
from test_app_tooling.tools import REPO


PLATFORM = REPO / "platform"


@dataclass(frozen=True)
class Controller:
    """Where one chart keeps a controller's replica count and its leader election switch."""

    replicas: str
    replicas_default: int
    leader: str | None
    leader_default: bool
    source: str


CONTROLLERS: dict[str, list[Controller]] = {
    # Chart values.yaml: `leaderElect: false` ("If true, external-secrets will perform leader
    # election between instances to ensure no more than one instance of external-secrets
    # operates at a time"), `replicaCount: 1`; the same keys from chart 0.17 to 2.x.
    "external-secrets": [
        Controller(
            "replicaCount",
            1,
            "leaderElect",
            leader_default=False,
            source="external-secrets/external-secrets deploy/charts/external-secrets/values.yaml",
        )
    ],
    # The controller's flag `--enable-leader-election` defaults to true and the chart has no
    # value for it (docs/deploy/configurations.md of kubernetes-sigs/aws-load-balancer-controller).
    "aws-load-balancer-controller": [
        Controller(
            "replicaCount",
            2,
            None,
            leader_default=True,
            source=(
                "aws-load-balancer-controller docs/deploy/configurations.md: "
                "--enable-leader-election"
            ),
        )
    ],
    # `--leader-elect` is Kubernetes component-base's flag, true by default; the chart passes
    # `extraArgs` as flags.
    "cluster-autoscaler": [
        Controller(
            "replicaCount",
            1,
            "extraArgs.leader-elect",
            leader_default=True,
            source="kubernetes/autoscaler cluster-autoscaler: component-base --leader-elect (true)",
        )
    ],
    # argo-rollouts controller: `--leader-elect` defaults to controller.DefaultLeaderElect = true.
    "argo-rollouts": [
        Controller(
            "controller.replicas",
            2,
            None,
            leader_default=True,
            source="argoproj/argo-rollouts controller/controller.go: DefaultLeaderElect = true",
        )
    ],
}
# Add-ons whose replicas do not reconcile shared objects: metrics-server and the blackbox
# exporter serve requests; Prometheus and Alertmanager run as HA pairs by design and the
# Prometheus operator keeps the chart's single replica.
NOT_CONTROLLERS = {"metrics-server", "prometheus-blackbox-exporter", "kube-prometheus-stack"}
# What cluster-autoscaler v1.35+ reads whatever its flags: DRA is locked on since 1.35
# (kubernetes/autoscaler#10278), VolumeAttachments (kubernetes/autoscaler#8678). (API group,
# resource) pairs its values' `rbac.additionalRules` must grant get/list/watch on.
AUTOSCALER_READS = {
    ("resource.k8s.io", "deviceclasses"),
    ("resource.k8s.io", "resourceclaims"),
    ("resource.k8s.io", "resourceslices"),
    ("storage.k8s.io", "volumeattachments"),
}
# External Secrets' values that aggregate its rights into the user-facing ClusterRoles.
ESO_AGGREGATION = ("rbac.aggregateToView", "rbac.aggregateToEdit")


def chart_steps(root: Path = REPO) -> dict[str, dict[str, Any]]:
    """The chart steps of platform/addons.yaml, by name."""
    document = yaml.safe_load((root / "platform" / "addons.yaml").read_text(encoding="utf-8"))
    return {s["name"]: s for s in document["steps"] if s.get("type") == "chart"}


def _dig(values: dict[str, Any], path: str) -> Any:  # noqa: ANN401
    node: Any = values
    for key in path.split("."):
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def step_values(step: dict[str, Any], root: Path = REPO) -> dict[str, Any]:
    """The values one chart step installs with: its values files in order, then `set`."""
    files = step.get("values") or []
    values: dict[str, Any] = {}
    for name in [files] if isinstance(files, str) else files:
        path = root / "platform" / name
        values = deep_merge(values, yaml.safe_load(path.read_text(encoding="utf-8")) or {})
    for dotted, value in (step.get("set") or {}).items():
        override: dict[str, Any] = {}
        node = override
        *parents, last = str(dotted).split(".")
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value
        values = deep_merge(values, override)
    return values


def _truthy(value: Any) -> bool:  # noqa: ANN401
    return value is True or str(value).lower() == "true"


def leader_election_problems(root: Path = REPO) -> list[str]:
    """Controllers with more than one replica and leader election off; unclassified add-ons."""
    steps = chart_steps(root)
    problems = [
        f"platform/addons.yaml: add-on {name!r} is neither in CONTROLLERS nor in NOT_CONTROLLERS "
        "of test_app_tooling.addon_values: say whether its replicas need leader election"
        for name in sorted(steps)
        if name not in CONTROLLERS and name not in NOT_CONTROLLERS
    ]
    for name, controllers in CONTROLLERS.items():
        if name not in steps:
            problems.append(f"platform/addons.yaml has no chart step {name!r}")
            continue
        values = step_values(steps[name], root)
        for controller in controllers:
            found = _dig(values, controller.replicas)
            replicas = controller.replicas_default if found is None else int(found)
            if replicas <= 1:
                continue
            if controller.leader is None:
                if not controller.leader_default:
                    problems.append(f"{name}: {replicas} replicas and no leader election value")
                continue
            switch = _dig(values, controller.leader)
            elected = controller.leader_default if switch is None else _truthy(switch)
            if not elected:
                problems.append(
                    f"{name}: {controller.replicas} = {replicas} but {controller.leader} is "
                    f"{'unset (chart default false)' if switch is None else switch}: every "
                    f"replica reconciles at once; set {controller.leader}: true "
                    f"({controller.source})"
                )
    return problems


def eso_aggregation_problems(root: Path = REPO) -> list[str]:
    """External Secrets' rights aggregated into `view`/`edit` (the chart's default: on)."""
    steps = chart_steps(root)
    if "external-secrets" not in steps:
        return ["platform/addons.yaml has no chart step 'external-secrets'"]
    values = step_values(steps["external-secrets"], root)
    return [
        f"external-secrets: {path} is {_dig(values, path)!r} (chart default true): anyone bound "
        "to the user-facing ClusterRole may create SecretStores that act as the controller; "
        f"set {path}: false"
        for path in ESO_AGGREGATION
        if _dig(values, path) is not False
    ]


def autoscaler_rbac_problems(root: Path = REPO) -> list[str]:
    """What cluster-autoscaler v1.35+ reads that `rbac.additionalRules` does not grant."""
    steps = chart_steps(root)
    if "cluster-autoscaler" not in steps:
        return ["platform/addons.yaml has no chart step 'cluster-autoscaler'"]
    values = step_values(steps["cluster-autoscaler"], root)
    tag = str(_dig(values, "image.tag") or "")
    minor = tag.removeprefix("v").split(".")[:2]
    if len(minor) < 2 or not all(part.isdigit() for part in minor):
        return [f"cluster-autoscaler: image.tag {tag!r} is not vMAJOR.MINOR.PATCH"]
    if (int(minor[0]), int(minor[1])) < (1, 35):
        return []
    granted = {
        (group, resource)
        for rule in _dig(values, "rbac.additionalRules") or []
        if {"get", "list", "watch"} <= set(rule.get("verbs", []))
        for group in rule.get("apiGroups", [])
        for resource in rule.get("resources", [])
    }
    return [
        f"cluster-autoscaler {tag}: rbac.additionalRules does not grant get/list/watch on "
        f"{resource}.{group}, which it reads whatever its flags"
        for group, resource in sorted(AUTOSCALER_READS - granted)
    ]
