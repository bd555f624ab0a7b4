"""The admission proxy (`admissionProxy`, ADR 0010): HAProxy in a native sidecar before the app.

Rendered with the value set `admission-proxy` (ci/admission-proxy-values.yaml: the proxy behind
the ALB), which the other chart tests (invariants, kubernetes-validate, checkov) also cover. Here:
the sidecar and its wiring (ports, probes, Service, NetworkPolicy, ServiceMonitor, HPA,
TRUSTED_PROXIES), the ConfigMap's configuration, HAProxy's own verdict on it (`haproxy -c`, and
the rendered configuration run for its probe and exporter), and the values that are refused.

The HAProxy binary here is the machine's (Debian's); the image runs the version pinned in
values.yaml (platform/versions.yaml). Both must accept the configuration.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from chart.test_invariants import admission_proxy, pod_spec, port_named

from test_app.proxies import parse_networks
from test_app_tooling.helm_render import (
    CHART,
    PROD_INSTALL_TIME,
    VALUE_SETS,
    app_container,
    by_kind,
    chart_values,
    deep_merge,
    literal_env,
    load_values,
    one,
    render,
    render_error,
    schema_error,
    workload,
)
from test_app_tooling.ports import free_port
from test_app_tooling.process import http_ok, stop, wait_until


SET = "admission-proxy"
CONFIG = "test-app-admission-proxy"
# Values unlike the defaults, so that each one is seen where it lands.
TUNED = {
    "admissionProxy": {
        "port": 9081,
        "metricsPort": 9405,
        "connections": 7,
        "queue": 11,
        "queueTimeoutMs": 250,
        "maxConnections": 2000,
        "headerTimeoutSeconds": 6,
        "keepAliveSeconds": 9,
    }
}


def proxy_values(extra: dict[str, Any] | None = None) -> dict[str, Any]:
    files, base = VALUE_SETS[SET]
    return load_values(files, deep_merge(base, extra or {}))


def sidecar(objects: list[dict[str, Any]]) -> dict[str, Any]:
    proxy = admission_proxy(objects)
    assert proxy is not None, "no admission-proxy sidecar in the pod"
    return proxy


def haproxy_cfg(objects: list[dict[str, Any]]) -> str:
    text: str = one(objects, "ConfigMap", CONFIG)["data"]["haproxy.cfg"]
    return text


def sections(cfg: str) -> dict[str, list[str]]:
    """HAProxy's sections (`frontend web`, `backend app`, ...) and their lines, no comments."""
    found: dict[str, list[str]] = {}
    current = ""
    for raw in cfg.splitlines():
        line = raw.split("#", 1)[0].rstrip()
        if not line:
            continue
        if not line[0].isspace():
            current = line
            found[current] = []
        else:
            found[current].append(line.strip())
    return found


# Off by default ---------------------------------------------------------------------------------


def test_off_by_default_and_in_every_environment(rendered_sets):
    assert chart_values()["admissionProxy"]["enabled"] is False
    for name, objects in rendered_sets.items():
        on = admission_proxy(objects) is not None
        assert on == (name == SET), name
        assert (
            bool([c for c in by_kind(objects, "ConfigMap") if c["metadata"]["name"] == CONFIG])
            == on
        )
    for path in CHART.glob("values-*.yaml"):
        assert "admissionProxy" not in path.read_text(encoding="utf-8"), path.name


# The sidecar ------------------------------------------------------------------------------------


def test_the_proxy_is_a_native_sidecar_running_the_mounted_configuration(rendered_sets):
    objects = rendered_sets[SET]
    proxy = sidecar(objects)
    assert proxy["restartPolicy"] == "Always"
    assert proxy["image"] == "haproxy:3.2.18-alpine"
    (mount,) = proxy["volumeMounts"]
    assert mount["readOnly"] is True
    assert proxy["command"] == ["haproxy", "-db", "-f", f"{mount['mountPath']}/haproxy.cfg"]
    (volume,) = [v for v in pod_spec(objects)["volumes"] if v["name"] == mount["name"]]
    assert volume == {"name": mount["name"], "configMap": {"name": CONFIG}}


def test_the_sidecar_has_the_app_containers_hardened_context(rendered_sets):
    objects = rendered_sets[SET]
    # test_invariants.py::test_container_security_context checks each field of every container,
    # the sidecar included; here, that the sidecar gets exactly the app's.
    context = sidecar(objects)["securityContext"]
    assert context == app_container(objects)["securityContext"]


def test_the_sidecar_is_guaranteed_its_cpu(rendered_sets):
    # The figures themselves are sized from the benchmark (tests/app/test_admission_bound.py).
    resources = sidecar(rendered_sets[SET])["resources"]
    assert resources["requests"] == resources["limits"]
    assert set(resources["limits"]) == {"cpu", "memory"}


def test_the_sidecar_is_probed_on_its_monitor_port():
    objects = render(proxy_values(TUNED))
    proxy = sidecar(objects)
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert proxy[probe]["httpGet"] == {"path": "/healthz", "port": "proxy-metrics"}, probe
    assert port_named(objects, "proxy-metrics") == ("admission-proxy", 9405)
    # The monitor frontend is the one bound at that port, and answers /healthz itself.
    monitor = sections(haproxy_cfg(objects))["frontend monitor"]
    assert "bind :9405" in monitor
    assert "monitor-uri /healthz" in monitor


# Ports: the proxy takes `http`, the kubelet probes the app directly -----------------------------


def test_the_service_reaches_the_proxy_and_the_probes_the_app():
    objects = render(proxy_values(TUNED))
    service = one(objects, "Service", "test-app")
    http = next(p for p in service["spec"]["ports"] if p["name"] == "http")
    assert port_named(objects, http["targetPort"]) == ("admission-proxy", 9081)
    assert "bind :9081" in sections(haproxy_cfg(objects))["frontend web"]
    app = app_container(objects)
    assert app["ports"] == [{"name": "app", "containerPort": 8080, "protocol": "TCP"}]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert port_named(objects, app[probe]["httpGet"]["port"]) == ("test-app", 8080), probe
    # The proxy forwards to the app's port on the loopback.
    for backend in ("backend app", "backend direct"):
        (server,) = [
            line for line in sections(haproxy_cfg(objects))[backend] if line.startswith("server")
        ]
        assert server.split()[2] == "127.0.0.1:8080", server


def test_every_service_and_the_ingress_name_the_proxys_port(rendered_sets):
    objects = rendered_sets[SET]
    for service in by_kind(objects, "Service"):
        assert service["spec"]["ports"][0]["targetPort"] == "http"
    backend = one(objects, "Ingress")["spec"]["rules"][0]["http"]["paths"][0]["backend"]
    assert backend["service"]["port"] == {"name": "http"}
    assert port_named(objects, "http")[0] == "admission-proxy"


def test_network_policy_opens_the_proxy_not_the_app(rendered_sets):
    objects = rendered_sets[SET]
    policy = one(objects, "NetworkPolicy", "test-app")
    ports = {
        (p["port"], p["protocol"]) for rule in policy["spec"]["ingress"] for p in rule["ports"]
    }
    http, metrics = port_named(objects, "http")[1], port_named(objects, "proxy-metrics")[1]
    assert ports == {(http, "TCP"), (metrics, "TCP")}, "never the app's port itself"
    (prometheus,) = [
        rule
        for rule in policy["spec"]["ingress"]
        if any("namespaceSelector" in peer for peer in rule["from"])
        and rule["from"][0]["namespaceSelector"]["matchLabels"]
        == {"kubernetes.io/metadata.name": "monitoring"}
    ]
    assert {p["port"] for p in prometheus["ports"]} == {http, metrics}
    # The test pod's egress names the number behind `http`: the proxy's.
    test_policy = one(objects, "NetworkPolicy", "test-app-test")
    numbers = [p["port"] for rule in test_policy["spec"]["egress"] for p in rule["ports"]]
    assert port_named(objects, "http")[1] in numbers
    assert 8080 not in numbers


def test_the_service_monitor_scrapes_the_app_and_the_proxy(rendered_sets):
    objects = rendered_sets[SET]
    monitor = one(objects, "ServiceMonitor")
    app, proxy = monitor["spec"]["endpoints"]
    assert app["port"] == "http"
    assert proxy["port"] == "proxy-metrics"
    service_ports = {p["name"] for p in one(objects, "Service", "test-app")["spec"]["ports"]}
    assert {app["port"], proxy["port"]} <= service_ports
    # Like the app's endpoint, nothing relabelled: the operator's own target labels (namespace,
    # pod, container, job from jobLabel) are on the proxy's series too.
    assert {k: v for k, v in proxy.items() if k != "port"} == {
        k: v for k, v in app.items() if k != "port"
    }
    assert not {"relabelings", "metricRelabelings", "honorLabels"} & set(proxy)
    default_monitor = one(rendered_sets["defaults"], "ServiceMonitor")
    assert [e["port"] for e in default_monitor["spec"]["endpoints"]] == ["http"]


# HPA ---------------------------------------------------------------------------------------------


def test_the_hpa_scales_on_the_app_containers_cpu_with_the_proxy(rendered_sets):
    with_proxy = one(rendered_sets[SET], "HorizontalPodAutoscaler")["spec"]["metrics"]
    without = one(rendered_sets["ingress"], "HorizontalPodAutoscaler")["spec"]["metrics"]
    target = {"type": "Utilization", "averageUtilization": 70}
    assert with_proxy == [
        {
            "type": "ContainerResource",
            "containerResource": {"name": "cpu", "container": "test-app", "target": target},
        }
    ]
    assert without == [{"type": "Resource", "resource": {"name": "cpu", "target": target}}]
    assert app_container(rendered_sets[SET])["name"] == "test-app"


# TRUSTED_PROXIES ----------------------------------------------------------------------------------


def _trusted(objects: list[dict[str, Any]]) -> str:
    return literal_env(app_container(objects))["TRUSTED_PROXIES"]


def test_the_app_trusts_the_proxy_on_the_loopback(rendered_sets):
    behind_alb = _trusted(rendered_sets[SET])
    assert behind_alb == "10.0.0.0/16,127.0.0.1/32"
    without_ingress = _trusted(render(proxy_values({"ingress": {"enabled": False}})))
    assert without_ingress == "127.0.0.1/32"
    # The app's own parser takes it.
    assert [str(n) for n in parse_networks(behind_alb)] == ["10.0.0.0/16", "127.0.0.1/32"]


def test_trusted_proxies_from_extra_env_still_wins():
    entry = {"name": "TRUSTED_PROXIES", "value": "10.99.0.0/16"}
    objects = render(proxy_values({"app": {"extraEnv": [entry]}}))
    assert [e for e in app_container(objects)["env"] if e["name"] == "TRUSTED_PROXIES"] == [entry]


# The configuration --------------------------------------------------------------------------------


def test_the_config_map_holds_the_file_with_the_values_filled_in():
    objects = render(proxy_values(TUNED))
    cfg = haproxy_cfg(objects)
    assert "{{" not in cfg
    template = (CHART / "files" / "admission-proxy" / "haproxy.cfg").read_text(encoding="utf-8")
    assert len(cfg.splitlines()) == len(template.splitlines())
    parts = sections(cfg)
    assert "maxconn 2000" in parts["global"]
    defaults = parts["defaults"]
    for line in (
        "timeout http-request 6s",
        "timeout http-keep-alive 9s",
        "timeout client 9s",
        "timeout queue 250ms",
        "option forwardfor",
    ):
        assert line in defaults, line
    assert "acl full queue(app) ge 11" in parts["frontend web"]
    assert "server app 127.0.0.1:8080 maxconn 7" in parts["backend app"]
    # The refusals' backends keep their names: the Prometheus rules count
    # haproxy_backend_http_requests_total{proxy="shed_health"|"shed_health_read"}.
    for name in ("shed_health", "shed_health_read"):
        (line,) = parts[f"backend {name}"]
        assert line.startswith("http-request return status 503 "), line
        assert 'string "OVERLOADED" hdr Retry-After 1' in line


def test_a_configuration_change_rolls_the_pods():
    def checksum(values: dict[str, Any]) -> str:
        annotations = workload(render(values))["spec"]["template"]["metadata"]["annotations"]
        value: str = annotations["checksum/admission-proxy"]
        return value

    first = checksum(proxy_values())
    assert re.fullmatch(r"[0-9a-f]{64}", first)
    assert checksum(proxy_values({"admissionProxy": {"queue": 33}})) != first
    assert checksum(proxy_values({"replicaCount": 5})) == first


def _check(haproxy: str, cfg: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "haproxy.cfg"
    path.write_text(cfg, encoding="utf-8")
    return subprocess.run(
        [haproxy, "-c", "-f", str(path)], capture_output=True, text=True, timeout=60, check=False
    )


def test_haproxy_accepts_the_rendered_configuration(tool, tmp_path):
    haproxy = tool("haproxy")
    for values in (proxy_values(), proxy_values(TUNED)):
        result = _check(haproxy, haproxy_cfg(render(values)), tmp_path)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "[WARNING]" not in result.stdout + result.stderr, result.stdout + result.stderr


def test_haproxy_refuses_a_broken_configuration(tool, tmp_path):
    # The check above can fail: a backend that does not exist is refused.
    cfg = haproxy_cfg(render(proxy_values())).replace(
        "use_backend shed_health if", "use_backend shed_nowhere if"
    )
    result = _check(tool("haproxy"), cfg, tmp_path)
    assert result.returncode != 0
    assert "shed_nowhere" in result.stdout + result.stderr


def _start(haproxy: str, cfg: str, folder: Path) -> subprocess.Popen[bytes]:
    path = folder / "haproxy.cfg"
    path.write_text(cfg, encoding="utf-8")
    with (folder / "haproxy.log").open("wb") as err:
        return subprocess.Popen(
            [haproxy, "-db", "-f", str(path)], stdout=subprocess.DEVNULL, stderr=err
        )


@pytest.fixture
def running_proxy(tool, tmp_path) -> Iterator[Callable[[str], tuple[str, str]]]:
    """Start HAProxy on the rendered configuration (its ports moved to free ones), after `edit`.

    Returns the proxy's and the exporter's base URLs once /healthz answers; stopped afterwards.
    """
    started: list[subprocess.Popen[bytes]] = []

    def start(edit: str = "") -> tuple[str, str]:
        port, metrics = free_port(), free_port()
        values = proxy_values({"admissionProxy": {"port": port, "metricsPort": metrics}})
        cfg = haproxy_cfg(render(values))
        if edit:
            old, new = edit.split(" => ")
            assert old in cfg, old
            cfg = cfg.replace(old, new)
        started.append(_start(tool("haproxy"), cfg, tmp_path))
        exporter = f"http://127.0.0.1:{metrics}"
        wait_until(lambda: http_ok(f"{exporter}/healthz"), 10, "the proxy's /healthz")
        return f"http://127.0.0.1:{port}", exporter

    try:
        yield start
    finally:
        for proc in started:
            stop(proc, timeout=10)


def _requests_total(exporter: str) -> dict[str, float]:
    """haproxy_backend_http_requests_total by backend (`proxy`), from the exporter."""
    text = httpx.get(f"{exporter}/metrics", timeout=5).text
    found = re.findall(
        r'^haproxy_backend_http_requests_total\{proxy="([^"]+)"\} (\S+)$', text, re.MULTILINE
    )
    return {name: float(value) for name, value in found}


def test_the_running_proxy_answers_its_probe_and_exports_the_refusal_counters(running_proxy):
    _, exporter = running_proxy()
    assert _requests_total(exporter) == {
        "shed_health": 0,
        "shed_health_read": 0,
        "app": 0,
        "direct": 0,
    }


def test_a_refusal_is_the_proxys_own_answer_counted_by_route(running_proxy):
    # The queue is made to look full, so every /health and /health/read is refused at once;
    # none goes to the app's backend.
    proxy, exporter = running_proxy("acl full queue(app) ge 256 => acl full always_true")
    for path in ("/health", "/health", "/health/read"):
        answer = httpx.get(f"{proxy}{path}", timeout=5)
        assert (answer.status_code, answer.text) == (503, "OVERLOADED"), path
        assert answer.headers["retry-after"] == "1"
    counts = _requests_total(exporter)
    assert (counts["shed_health"], counts["shed_health_read"], counts["app"]) == (2, 1, 0)


def test_checkov_image_skips_name_the_proxy_until_both_images_have_a_digest():
    # checkov checks the init containers' images too (test_checkov runs it over this value set).
    digest = {"digest": "sha256:" + "0" * 64}

    def skips(extra: dict[str, Any]) -> dict[str, str]:
        annotations: dict[str, str] = (
            workload(render(proxy_values(extra)))["metadata"].get("annotations") or {}
        )
        return annotations

    both_tags = skips({})
    assert all("admission proxy" in v and "ECR" in v for v in both_tags.values()), both_tags
    proxy_tag = skips({"image": digest})
    assert set(proxy_tag) == {"checkov.io/skip1", "checkov.io/skip2"}
    assert all("admission proxy" in v and "ECR" not in v for v in proxy_tag.values()), proxy_tag
    assert skips({"image": digest, "admissionProxy": {"image": digest}}) == {}


# Refused values ----------------------------------------------------------------------------------


def test_prod_refuses_an_unpinned_proxy_image():
    tls = {"ingress": PROD_INSTALL_TIME["ingress"]}
    prod = load_values(["values-prod.yaml"], tls)
    pinned = deep_merge(prod, {"admissionProxy": {"enabled": True}})
    assert schema_error(pinned) is None
    unpinned = deep_merge(pinned, {"admissionProxy": {"image": {"tag": "", "digest": ""}}})
    error = schema_error(unpinned)
    assert error is not None
    assert re.search(r"/admissionProxy/image/(tag|digest)': minLength", error), error
    by_digest = deep_merge(
        unpinned, {"admissionProxy": {"image": {"digest": "sha256:" + "ab" * 32}}}
    )
    assert schema_error(by_digest) is None


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"image": {"tag": "latest"}}, r"/admissionProxy/image/tag'"),
        ({"port": 8080}, r"/admissionProxy/port'"),
        ({"connections": 0}, r"/admissionProxy/connections': minimum"),
        ({"queueTimeoutMs": "100"}, r"/admissionProxy/queueTimeoutMs': got string, want integer"),
        ({"resources": {"limits": {"cpu": "half"}}}, r"/admissionProxy/resources/limits"),
        ({"maxconn": 10}, r"additional properties 'maxconn' not allowed"),
        (
            {"image": {"tag": "", "digest": ""}},
            r"admissionProxy\.image\.tag or admissionProxy\.image\.digest",
        ),
        (
            {"metricsPort": 8081},
            r"admissionProxy\.port and admissionProxy\.metricsPort must differ",
        ),
        (
            {"keepAliveSeconds": 4},
            (
                r"admissionProxy\.keepAliveSeconds \(4\) must be greater than "
                r"ingress\.alb\.idleTimeoutSeconds \(4\)"
            ),
        ),
        (
            {"maxConnections": 64, "connections": 40, "queue": 40},
            r"admissionProxy\.maxConnections \(64\) must be at least",
        ),
    ],
)
def test_bad_proxy_values_are_refused(extra, message):
    error = render_error(proxy_values({"admissionProxy": extra}))
    assert re.search(message, error), error
