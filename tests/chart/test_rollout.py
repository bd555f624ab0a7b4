"""The Argo Rollouts canary: what Argo's ALB, NGINX and analysis docs require of the objects.

refs: https://argoproj.github.io/argo-rollouts/features/traffic-management/alb/ ,
https://argoproj.github.io/argo-rollouts/features/traffic-management/nginx/ ,
https://argoproj.github.io/argo-rollouts/features/analysis/
"""

from __future__ import annotations

from typing import Any

import helm_python as helm
import kubernetes_validate
import pytest
from chart.test_validate import KUBERNETES_VERSION

from test_app_tooling.helm_render import VALUE_SETS, by_kind, load_values, one, render


CANARY_SETS = ["staging", "prod", "aks-staging", "aks-prod", "rollout"]
ROUTING = {
    "staging": "alb",
    "prod": "alb",
    "aks-staging": "nginx",
    "aks-prod": "nginx",
    "rollout": None,
}


def _render(name: str, **override: Any) -> list[dict[str, Any]]:
    files, extra = VALUE_SETS[name]
    values = load_values(files, extra)
    for key, value in override.items():
        values["rollout"][key] = value
    return render(values)


def _canary(objects: list[dict[str, Any]]) -> dict[str, Any]:
    strategy: dict[str, Any] = one(objects, "Rollout")["spec"]["strategy"]["canary"]
    return strategy


def test_every_canary_set_is_checked():
    assert set(ROUTING) == set(CANARY_SETS)
    assert all(by_kind(_render(n), "Rollout") for n in CANARY_SETS)
    assert not by_kind(_render("defaults"), "Rollout"), "the Deployment stays the default"


@pytest.mark.parametrize("name", CANARY_SETS)
def test_rollouts_pod_template_is_a_valid_kubernetes_pod_template(rendered_sets, name):
    """Wrapped in a Deployment, the template passes the Kubernetes schema of the chart tests."""
    rollout = one(rendered_sets[name], "Rollout")
    wrapped = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "wrapped", "namespace": "test-app"},
        "spec": {"selector": rollout["spec"]["selector"], "template": rollout["spec"]["template"]},
    }
    kubernetes_validate.validate(wrapped, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("name", CANARY_SETS)
def test_stable_and_canary_services_select_the_rollouts_pods(rendered_sets, name):
    objects = rendered_sets[name]
    canary = _canary(objects)
    pods = one(objects, "Rollout")["spec"]["template"]["metadata"]["labels"]
    for role in ("stableService", "canaryService"):
        service = one(objects, "Service", canary[role])
        assert all(pods.get(k) == v for k, v in service["spec"]["selector"].items())
        assert [p["targetPort"] for p in service["spec"]["ports"]] == ["http"]
    assert canary["stableService"] != canary["canaryService"]


@pytest.mark.parametrize("name", CANARY_SETS)
def test_traffic_routing_matches_the_ingress(rendered_sets, name):
    objects = rendered_sets[name]
    canary = _canary(objects)
    routing = canary.get("trafficRouting")
    if ROUTING[name] is None:
        assert routing is None, "without an Ingress the canary is weighted by replicas"
        return
    assert routing is not None, "with an Ingress the Rollout routes traffic through it"
    ingress = one(objects, "Ingress")
    backends = [
        p["backend"]["service"] for r in ingress["spec"]["rules"] for p in r["http"]["paths"]
    ]
    if ROUTING[name] == "alb":
        alb = routing["alb"]
        assert alb["ingress"] == ingress["metadata"]["name"]
        root = one(objects, "Service", alb["rootService"])
        # Every rule forwards by Argo's action annotation for the root Service.
        assert backends
        assert all(
            b == {"name": alb["rootService"], "port": {"name": "use-annotation"}} for b in backends
        )
        assert alb["servicePort"] in [p["port"] for p in root["spec"]["ports"]]
        for role in ("stableService", "canaryService"):
            ports = one(objects, "Service", canary[role])["spec"]["ports"]
            assert alb["servicePort"] in [p["port"] for p in ports]
        assert ingress["spec"]["ingressClassName"] == "alb"
    else:
        assert routing == {"nginx": {"stableIngress": ingress["metadata"]["name"]}}
        # The stable Ingress must route to the stableService (Argo's NGINX docs).
        assert backends
        assert all(b["name"] == canary["stableService"] for b in backends)
        assert ingress["spec"]["ingressClassName"] == "webapprouting.kubernetes.azure.com"


@pytest.mark.parametrize("name", ["staging", "prod", "aks-staging", "aks-prod"])
def test_the_stable_set_shrinks_as_the_canary_grows(rendered_sets, name):
    """With traffic routing Argo keeps the stable ReplicaSet full until promotion unless told
    otherwise: 2 x replicas pods at 100 %, which hard anti-affinity cannot place."""
    canary = _canary(rendered_sets[name])
    assert canary["trafficRouting"]
    assert canary["dynamicStableScale"] is True


@pytest.mark.parametrize("name", ["staging", "prod", "aks-staging", "aks-prod"])
def test_helm_test_asks_the_stable_service(rendered_sets, name):
    """After promotion the old ReplicaSet lingers (scaleDownDelaySeconds); the root Service
    selects it too, so the test pod's /version check would hit old pods."""
    pod = one(rendered_sets[name], "Pod")
    env = {e["name"]: e.get("value") for e in pod["spec"]["containers"][0]["env"]}
    assert env["TEST_APP_URL"].startswith(
        f"http://{_canary(rendered_sets[name])['stableService']}."
    )


@pytest.mark.parametrize("name", ["staging", "prod", "aks-staging", "aks-prod"])
def test_steps_are_5_25_50_100_with_a_pause_between(rendered_sets, name):
    steps = _canary(rendered_sets[name])["steps"]
    assert [s["setWeight"] for s in steps if "setWeight" in s] == [5, 25, 50, 100]
    kinds = ["setWeight" if "setWeight" in s else "pause" for s in steps]
    assert kinds == ["setWeight", "pause"] * 3 + ["setWeight"]
    assert all(s["pause"].get("duration") for s in steps if "pause" in s), "no indefinite pause"


@pytest.mark.parametrize("name", CANARY_SETS)
def test_background_analysis_uses_the_template_with_every_argument(rendered_sets, name):
    objects = rendered_sets[name]
    run = _canary(objects)["analysis"]
    template = one(objects, "AnalysisTemplate")
    assert run["templates"] == [{"templateName": template["metadata"]["name"]}]
    assert run["startingStep"] == 1
    given = {a["name"]: a for a in run["args"]}
    assert set(given) == {a["name"] for a in template["spec"]["args"]}
    assert given["canary-hash"]["valueFrom"] == {"podTemplateHashValue": "Latest"}
    metric = template["spec"]["metrics"][0]
    assert given["window"]["value"] == metric["interval"]


@pytest.mark.parametrize("name", CANARY_SETS)
def test_the_label_the_queries_filter_on_is_the_one_the_servicemonitor_copies(rendered_sets, name):
    objects = rendered_sets[name]
    (label,) = one(objects, "ServiceMonitor")["spec"]["podTargetLabels"]
    assert label == "rollouts-pod-template-hash"  # the label Argo puts on a Rollout's pods
    prometheus_label = label.replace("-", "_")
    for metric in one(objects, "AnalysisTemplate")["spec"]["metrics"]:
        query = metric["provider"]["prometheus"]["query"]
        assert f'{prometheus_label}="{{{{args.canary-hash}}}}"' in query, metric["name"]
        assert 'namespace="{{args.namespace}}"' in query, metric["name"]


@pytest.mark.parametrize("name", ["prod", "aks-prod"])
def test_hpa_and_pdb_cover_the_rollout(rendered_sets, name):
    objects = rendered_sets[name]
    rollout = one(objects, "Rollout")
    target = one(objects, "HorizontalPodAutoscaler")["spec"]["scaleTargetRef"]
    assert target == {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": "test-app"}
    assert "replicas" not in rollout["spec"]
    pdb = one(objects, "PodDisruptionBudget")["spec"]["selector"]["matchLabels"]
    assert pdb == rollout["spec"]["selector"]["matchLabels"]


def test_prod_refuses_a_canary_without_analysis():
    assert by_kind(_render("staging", analysis={"enabled": False}), "AnalysisTemplate") == []
    with pytest.raises(helm.HelmError, match="rollout"):
        _render("prod", analysis={"enabled": False})


@pytest.mark.parametrize(
    ("steps", "message"),
    [([5, 25, 50], "/rollout/steps"), ([25, 5, 100], "rollout.steps must increase")],
)
def test_bad_steps_fail_naming_the_value(steps, message):
    with pytest.raises(helm.HelmError, match=message):
        _render("rollout", steps=steps)
