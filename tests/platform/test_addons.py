"""platform/: the add-on list pins exact chart versions, its values files parse and agree with
the test-app chart, and the namespaces carry the Pod Security labels."""

from __future__ import annotations

import re
from pathlib import Path
from types import ModuleType
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

import install
from test_app_tooling.crd_schemas import CRD_SCHEMAS
from test_app_tooling.fields import FieldError
from test_app_tooling.helm_render import by_kind, load_values, one, render
from test_app_tooling.tools import REPO


PLATFORM = REPO / "platform"
EXACT = re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+$")
REQUIRED_CHARTS = {
    "kube-prometheus-stack",
    "aws-load-balancer-controller",
    "external-secrets",
    "metrics-server",
    "cluster-autoscaler",
    "prometheus-blackbox-exporter",
    "argo-rollouts",
}


@pytest.fixture(scope="module")
def installer() -> ModuleType:
    return install


@pytest.fixture(scope="module")
def addons() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((PLATFORM / "addons.yaml").read_text())
    return document


@pytest.fixture(scope="module")
def charts(addons) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in addons["steps"] if s["type"] == "chart"}


def values_of(name: str) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((PLATFORM / "values" / f"{name}.yaml").read_text())
    return document


def test_every_required_add_on_is_listed(charts):
    assert set(charts) == REQUIRED_CHARTS


def test_every_chart_is_pinned_to_an_exact_version(charts):
    assert charts
    for name, step in charts.items():
        assert EXACT.match(str(step["version"])), f"{name}: {step['version']!r} is not exact"
        assert step["repository"].startswith("https://"), name


def test_every_values_file_parses_and_is_used(charts):
    files = sorted((PLATFORM / "values").glob("*.yaml"))
    assert files
    for path in files:
        assert isinstance(yaml.safe_load(path.read_text()), dict), path.name
    used = {
        v
        for s in charts.values()
        for v in ([s["values"]] if isinstance(s["values"], str) else s["values"])
    }
    assert {f"values/{p.name}" for p in files} <= used
    for name in used:
        assert isinstance(yaml.safe_load((PLATFORM / name).read_text()), dict), name


def test_observability_overlay_comes_after_the_platform_values(charts):
    assert charts["kube-prometheus-stack"]["values"] == [
        "values/kube-prometheus-stack.yaml",
        "../observability/kube-prometheus-stack/values.yaml",
    ]


def test_installer_validates_the_list(installer):
    steps = installer.load_steps()
    assert steps[0].name == "namespaces"
    assert {s.name for s in steps if s.type == "chart"} == REQUIRED_CHARTS


def test_install_order(addons):
    order = [s["name"] for s in addons["steps"]]
    assert order[0] == "namespaces"
    # The ALB controller's webhook is up before other charts create Services.
    assert order.index("aws-load-balancer-controller") < order.index("kube-prometheus-stack")
    # The ClusterSecretStore needs the External Secrets CRDs.
    assert order.index("external-secrets") < order.index("cluster-secret-store")
    assert order.index("grafana-admin") < order.index("kube-prometheus-stack")
    # The Probe CRD and the Prometheus selecting Probes come with kube-prometheus-stack.
    assert order.index("kube-prometheus-stack") < order.index("prometheus-blackbox-exporter")


EXACT_EXPECTED = "expected an exact chart version like 1.2.3 (no range, no `v`)"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"version": "^1.14.0"}, f"steps[4].version: {EXACT_EXPECTED}, got '^1.14.0'"),
        ({"version": "v1.14.0"}, f"steps[4].version: {EXACT_EXPECTED}, got 'v1.14.0'"),
        ({"version": 1.14}, f"steps[4].version: {EXACT_EXPECTED}, got 1.14"),
        ({"version": None}, f"steps[4].version: {EXACT_EXPECTED}, got None"),
        (
            {"repository": "http://aws.github.io/eks-charts"},
            "steps[4].repository: expected an https URL, got 'http://aws.github.io/eks-charts'",
        ),
        (
            {"values": "values/missing.yaml"},
            "steps[4].values: expected a file under platform/, got 'values/missing.yaml'",
        ),
        (
            {"values": ["values/missing.yaml"]},
            "steps[4].values[0]: expected a file under platform/, got 'values/missing.yaml'",
        ),
        (
            {"type": "kustomize"},
            "steps[4].type: expected one of chart, generated-secret, manifest, got 'kustomize'",
        ),
        ({"chart": ""}, "steps[4].chart: expected a non-empty string, got ''"),
        ({"set": ["a=b"]}, "steps[4].set: expected a mapping, got ['a=b']"),
    ],
)
def test_installer_rejects_a_bad_entry(installer, addons, tmp_path, change, message):
    steps = [dict(s) for s in addons["steps"]]
    index = next(i for i, s in enumerate(steps) if s["name"] == "aws-load-balancer-controller")
    assert index == 4, "the messages above name the step by its index"
    steps[index].update(change)
    broken = tmp_path / "addons.yaml"
    broken.write_text(yaml.safe_dump({**addons, "steps": steps}))
    with pytest.raises(FieldError) as caught:
        installer.load_steps(broken)
    assert str(caught.value) == f"addons.yaml.{message}"


def test_installer_names_a_missing_field_and_a_bad_document(installer, addons, tmp_path):
    steps = [{k: v for k, v in s.items() if k != "purpose"} for s in addons["steps"]]
    broken = tmp_path / "addons.yaml"
    broken.write_text(yaml.safe_dump({**addons, "steps": steps}))
    with pytest.raises(
        FieldError,
        match=r"^addons\.yaml\.steps\[0\]\.purpose: expected a non-empty string, missing$",
    ):
        installer.load_steps(broken)
    broken.write_text(yaml.safe_dump({**addons, "kind": "List"}))
    with pytest.raises(FieldError, match=r"^addons\.yaml\.kind: expected AddonList, got 'List'$"):
        installer.load_steps(broken)
    broken.write_text(yaml.safe_dump({**addons, "steps": [*addons["steps"], addons["steps"][0]]}))
    with pytest.raises(FieldError, match=r"unique step names, repeated, got \['namespaces'\]$"):
        installer.load_steps(broken)


def test_installer_prints_the_field_error_and_exits_2(installer, capsys, monkeypatch, tmp_path):
    broken = tmp_path / "addons.yaml"
    broken.write_text("kind: AddonList\nsteps: []\n")
    monkeypatch.setattr(installer, "ADDONS", broken)
    assert installer.main(["--cluster-name", "test-app-staging", "--dry-run"]) == 2
    assert capsys.readouterr().err == (
        "error: addons.yaml.steps: expected a non-empty list of steps, got []\n"
    )


def test_kube_prometheus_stack_skips_the_eks_control_plane():
    values = values_of("kube-prometheus-stack")
    for component in ("kubeScheduler", "kubeControllerManager", "kubeEtcd", "kubeProxy"):
        assert values[component]["enabled"] is False, component
    rules = values["defaultRules"]["rules"]
    for group in ("etcd", "kubeControllerManager", "kubeSchedulerAlerting", "kubeProxy"):
        assert rules[group] is False, group


def test_grafana_sidecar_loads_the_charts_dashboards():
    dashboards = values_of("kube-prometheus-stack")["grafana"]["sidecar"]["dashboards"]
    objects = render(load_values(["ci/default-values.yaml"]))
    configmaps = [
        c for c in by_kind(objects, "ConfigMap") if dashboards["label"] in c["metadata"]["labels"]
    ]
    assert configmaps
    assert dashboards["enabled"] is True
    assert dashboards["searchNamespace"] == "ALL"
    for configmap in configmaps:
        assert configmap["metadata"]["labels"][dashboards["label"]] == dashboards["labelValue"]
        assert dashboards["folderAnnotation"] in configmap["metadata"]["annotations"]


def test_prometheus_selects_the_charts_monitor_and_rules():
    spec = values_of("kube-prometheus-stack")["prometheus"]["prometheusSpec"]
    objects = render(load_values(["ci/default-values.yaml"]))
    pairs = [
        ("serviceMonitorSelector", "serviceMonitorNamespaceSelector", "ServiceMonitor"),
        ("ruleSelector", "ruleNamespaceSelector", "PrometheusRule"),
    ]
    for selector, namespace_selector, kind in pairs:
        labels = one(objects, kind)["metadata"]["labels"]
        wanted = spec[selector]["matchLabels"]
        assert wanted
        assert all(labels.get(k) == v for k, v in wanted.items()), (kind, wanted, labels)
        assert spec[namespace_selector] == {}  # every namespace
    assert spec["serviceMonitorSelectorNilUsesHelmValues"] is False
    assert spec["ruleSelectorNilUsesHelmValues"] is False


def test_alertmanager_config_has_a_marked_place():
    text = (PLATFORM / "values" / "kube-prometheus-stack.yaml").read_text()
    assert ">>> OBSERVABILITY" in text
    assert "<<< OBSERVABILITY" in text
    assert "alertmanager" in values_of("kube-prometheus-stack")


def test_cluster_autoscaler_matches_the_kubernetes_minor(addons):
    tag = values_of("cluster-autoscaler")["image"]["tag"]
    assert tag.startswith(f"v{addons['kubernetesVersion']}.")


def namespaces() -> dict[str, dict[str, Any]]:
    documents = yaml.safe_load_all((PLATFORM / "manifests" / "namespaces.yaml").read_text())
    return {d["metadata"]["name"]: d for d in documents if d}


def test_app_namespace_enforces_the_restricted_standard():
    labels = namespaces()["test-app"]["metadata"]["labels"]
    for mode in ("enforce", "audit", "warn"):
        assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"
    assert labels["elbv2.k8s.aws/pod-readiness-gate-inject"] == "enabled"


def test_platform_namespaces_audit_and_warn_restricted():
    found = namespaces()
    assert set(found) == {"test-app", "monitoring", "external-secrets"}
    for name, namespace in found.items():
        labels = namespace["metadata"]["labels"]
        assert labels["pod-security.kubernetes.io/warn"] == "restricted", name
        assert labels["pod-security.kubernetes.io/audit"] == "restricted", name


def test_built_in_manifests_are_valid_kubernetes_objects():
    objects = [
        *namespaces().values(),
        yaml.safe_load((PLATFORM / "manifests" / "storage-class.yaml").read_text()),
    ]
    for obj in objects:
        kubernetes_validate.validate(obj, "1.35.0", strict=True)
    assert len(objects) == 4


@pytest.mark.parametrize("name", ["cluster-secret-store.yaml", "alertmanager-receivers.yaml"])
def test_custom_resources_match_their_schema(installer, name):
    text = (PLATFORM / "manifests" / name).read_text()
    variables = {"AWS_REGION": "eu-central-1", "CLUSTER_NAME": "test-app-staging"}
    obj = yaml.safe_load(installer.substitute(text, variables))
    jsonschema.validate(obj, CRD_SCHEMAS[(obj["apiVersion"], obj["kind"])])


def test_prometheus_volumes_use_the_platform_storage_class():
    storage = yaml.safe_load((PLATFORM / "manifests" / "storage-class.yaml").read_text())
    assert (
        storage["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true"
    )
    spec = values_of("kube-prometheus-stack")["prometheus"]["prometheusSpec"]
    claim = spec["storageSpec"]["volumeClaimTemplate"]["spec"]
    assert claim["storageClassName"] == storage["metadata"]["name"]


def test_cluster_secret_store_is_the_one_the_chart_reads(installer):
    text = (PLATFORM / "manifests" / "cluster-secret-store.yaml").read_text()
    store = yaml.safe_load(installer.substitute(text, {"AWS_REGION": "eu-central-1"}))
    external = one(render(load_values(["ci/default-values.yaml"])), "ExternalSecret", "test-app-db")
    assert store["apiVersion"] == external["apiVersion"] == "external-secrets.io/v1"
    assert external["spec"]["secretStoreRef"] == {
        "kind": store["kind"],
        "name": store["metadata"]["name"],
    }
    assert store["spec"]["provider"]["aws"] == {
        "service": "SecretsManager",
        "region": "eu-central-1",
    }
    assert store["spec"]["conditions"] == [{"namespaces": ["test-app", "monitoring"]}]


def test_alertmanager_receivers_secret_matches_the_overlay():
    overlay = yaml.safe_load(
        (REPO / "observability" / "kube-prometheus-stack" / "values.yaml").read_text()
    )
    external = yaml.safe_load((PLATFORM / "manifests" / "alertmanager-receivers.yaml").read_text())
    assert (
        external["spec"]["target"]["name"] in overlay["alertmanager"]["alertmanagerSpec"]["secrets"]
    )
    assert external["metadata"]["namespace"] == "monitoring"


def test_no_plain_secret_in_platform_files():
    texts = [p.read_text() for p in PLATFORM.rglob("*.yaml")]
    assert texts
    for text in texts:
        assert not re.search(r"(?i)(password|secret_key|token)\s*:\s*['\"]?[A-Za-z0-9+/]{8,}", text)


def test_relative_paths_only(installer):
    for step in installer.load_steps():
        for path in (*step.values, step.path):
            assert not Path(path).is_absolute()


def test_blackbox_exporter_add_on_is_pinned_in_monitoring(charts):
    step = charts["prometheus-blackbox-exporter"]
    assert step["repository"] == "https://prometheus-community.github.io/helm-charts"
    assert step["chart"] == "prometheus-blackbox-exporter"
    assert step["namespace"] == "monitoring"
    assert EXACT.match(str(step["version"]))
    assert step["values"] == "values/prometheus-blackbox-exporter.yaml"


def test_blackbox_module_is_the_observability_one():
    wanted = yaml.safe_load((REPO / "observability" / "blackbox" / "blackbox.yml").read_text())
    modules = values_of("prometheus-blackbox-exporter")["config"]["modules"]
    assert "http_health_up" in wanted["modules"]
    assert modules["http_health_up"] == wanted["modules"]["http_health_up"]


def test_charts_probe_reaches_the_exporter_and_is_selected():
    objects = render(load_values(["ci/probe-values.yaml"]))
    probe = one(objects, "Probe")
    exporter = values_of("prometheus-blackbox-exporter")
    service = exporter["fullnameOverride"]
    assert probe["spec"]["prober"]["url"] == f"{service}.monitoring.svc:9115"
    assert probe["spec"]["module"] in exporter["config"]["modules"]
    spec = values_of("kube-prometheus-stack")["prometheus"]["prometheusSpec"]
    wanted = spec["probeSelector"]["matchLabels"]
    assert wanted
    labels = probe["metadata"]["labels"]
    assert all(labels.get(k) == v for k, v in wanted.items()), (wanted, labels)
    assert spec["probeNamespaceSelector"] == {}
    assert spec["probeSelectorNilUsesHelmValues"] is False
