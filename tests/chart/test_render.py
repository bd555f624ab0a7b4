"""The chart renders and lints with Helm's engine for every value set; an empty render fails."""

from __future__ import annotations

import helm_python as helm
import pytest
from chart.test_validate import KUBERNETES_VERSION

from test_app_tooling.helm_render import (
    CHART,
    VALUE_SETS,
    by_kind,
    load_values,
    parse_manifests,
    render,
)


ALWAYS = {
    "Service",
    "ServiceAccount",
    "PodDisruptionBudget",
    "NetworkPolicy",
    "Pod",  # the `helm test` hook
}

# Every set but existing-secret runs the database role hook (a Job; its ExternalSecret).
# The Argo Rollouts canary (rollout.enabled) replaces the Deployment.
CANARY = {"Rollout", "AnalysisTemplate"}
EXPECTED_KINDS = {
    "defaults": ALWAYS
    | {"Deployment"}
    | {
        "HorizontalPodAutoscaler",
        "ExternalSecret",
        "ServiceMonitor",
        "PrometheusRule",
        "ConfigMap",
    },
    "staging": ALWAYS
    | CANARY
    | {"HorizontalPodAutoscaler", "ExternalSecret", "ServiceMonitor", "PrometheusRule"}
    | {"ConfigMap", "Ingress"},
    "prod": ALWAYS
    | CANARY
    | {"HorizontalPodAutoscaler", "ExternalSecret", "ServiceMonitor", "PrometheusRule"}
    | {"ConfigMap", "Ingress", "Probe"},
    # On AKS the login rotates in the cluster: the rotation CronJob (rotation.enabled).
    "aks-staging": ALWAYS
    | CANARY
    | {"HorizontalPodAutoscaler", "ExternalSecret", "ServiceMonitor", "PrometheusRule"}
    | {"ConfigMap", "Ingress", "CronJob"},
    "aks-prod": ALWAYS
    | CANARY
    | {"HorizontalPodAutoscaler", "ExternalSecret", "ServiceMonitor", "PrometheusRule"}
    | {"ConfigMap", "Ingress", "Probe", "CronJob"},
    "autoscaling-off": ALWAYS
    | {"Deployment"}
    | {"ExternalSecret", "ServiceMonitor", "PrometheusRule", "ConfigMap"},
    "ingress": ALWAYS
    | {"Deployment"}
    | {"HorizontalPodAutoscaler", "ExternalSecret", "ServiceMonitor", "PrometheusRule"}
    | {"ConfigMap", "Ingress"},
    "existing-secret": ALWAYS
    | {"Deployment", "HorizontalPodAutoscaler"},  # no hook: no External Secrets
    "namespace": ALWAYS
    | {"Deployment"}
    | {"HorizontalPodAutoscaler", "ExternalSecret", "ServiceMonitor", "PrometheusRule"}
    | {"ConfigMap", "Namespace"},
    "probe": ALWAYS
    | {"Deployment"}
    | {"HorizontalPodAutoscaler", "ExternalSecret", "ServiceMonitor", "PrometheusRule"}
    | {"ConfigMap", "Ingress", "Probe"},
    "rollout": ALWAYS
    | CANARY
    | {"ExternalSecret", "ServiceMonitor", "PrometheusRule", "ConfigMap"},
    # The admission proxy's configuration is one more ConfigMap.
    "admission-proxy": ALWAYS
    | {"Deployment"}
    | {"HorizontalPodAutoscaler", "ExternalSecret", "ServiceMonitor", "PrometheusRule"}
    | {"ConfigMap", "Ingress"},
}


def test_every_value_set_has_expected_kinds():
    assert set(EXPECTED_KINDS) == set(VALUE_SETS)


def test_renders_exactly_the_expected_kinds(objects, value_set):
    kinds = {obj["kind"] for obj in objects}
    hook = set() if value_set == "existing-secret" else {"Job"}
    assert kinds == EXPECTED_KINDS[value_set] | hook


def test_every_object_is_namespaced_explicitly(objects):
    for obj in objects:
        if obj["kind"] == "Namespace":
            continue
        assert obj["metadata"].get("namespace") == "test-app", obj["metadata"]["name"]


def test_object_names_are_unique(objects):
    keys = [(obj["kind"], obj["metadata"]["name"]) for obj in objects]
    assert len(keys) == len(set(keys)), keys


@pytest.mark.parametrize("name", sorted(VALUE_SETS))
def test_lint_is_clean(name):
    files, extra = VALUE_SETS[name]
    report = helm.lint(
        CHART,
        load_values(files, extra),
        strict=True,
        namespace="test-app",
        kube_version=f"v{KUBERNETES_VERSION}",
    )
    assert report["total_charts_linted"] == 1
    problems = [m for m in report["messages"] if m["severity"] >= 2]
    assert problems == [], problems
    assert report["errors"] == []


def test_lint_reports_schema_errors():
    report = helm.lint(
        CHART,
        {"replicaCount": "three"},
        strict=True,
        namespace="test-app",
        kube_version=f"v{KUBERNETES_VERSION}",
    )
    assert any("/replicaCount" in error for error in report["errors"]), report


def test_chart_defaults_alone_fail_naming_the_missing_value():
    with pytest.raises(helm.HelmRenderError, match=r"externalSecret\.remoteSecretName"):
        render({})


def test_empty_render_fails(tmp_path):
    chart = tmp_path / "empty"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: empty\nversion: 0.1.0\n")
    (chart / "templates" / "NOTES.txt").write_text("nothing\n")
    with pytest.raises(ValueError, match="no Kubernetes object"):
        render({}, chart=chart)
    with pytest.raises(ValueError, match="no Kubernetes object"):
        parse_manifests({"x/templates/empty.yaml": "---\n# only a comment\n"})


def test_dashboards_and_rules_come_from_files(rendered_sets):
    objects = rendered_sets["defaults"]
    dashboards = sorted((CHART / "files" / "dashboards").glob("*.json"))
    configmaps = [
        cm
        for cm in by_kind(objects, "ConfigMap")
        if "grafana_dashboard" in cm["metadata"]["labels"]
    ]
    assert dashboards, "files/dashboards holds no dashboard"
    assert len(configmaps) == len(dashboards)
    for cm in configmaps:
        assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
        (key,) = cm["data"]
        assert (CHART / "files" / "dashboards" / key).read_text(encoding="utf-8").strip() == cm[
            "data"
        ][key].strip()


def test_values_yaml_documents_every_top_level_key():
    lines = (CHART / "values.yaml").read_text(encoding="utf-8").splitlines()
    keys = [i for i, line in enumerate(lines) if line and line[0].isalpha() and ":" in line]
    assert len(keys) > 20
    undocumented = []
    for index in keys:
        above = lines[index - 1].strip() if index else ""
        below = lines[index + 1].strip() if index + 1 < len(lines) else ""
        if not (above.startswith("##") or below.startswith("##")):
            undocumented.append(lines[index])
    assert undocumented == []
