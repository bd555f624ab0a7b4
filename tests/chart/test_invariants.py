"""One test per production guarantee of the chart, asserted on the rendered objects of every
value set (each test fails if its guarantee is broken in any set)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import hcl2
import pytest
import yaml

from test_app.server import HEADER_READ_TIMEOUT_MS
from test_app.settings import load_settings
from test_app_tooling.helm_render import (
    CHART,
    VALUE_SETS,
    app_container,
    by_kind,
    load_values,
    one,
    render,
    workload,
)
from test_app_tooling.tools import REPO


DATABASE_ENDPOINTS = {"/health", "/health/read", "/readyz"}


def pod_spec(objects: list[dict[str, Any]]) -> dict[str, Any]:
    spec: dict[str, Any] = workload(objects)["spec"]["template"]["spec"]
    return spec


def pod_labels(objects: list[dict[str, Any]]) -> dict[str, str]:
    labels: dict[str, str] = workload(objects)["spec"]["template"]["metadata"]["labels"]
    return labels


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """A label selector's verdict: matchLabels and matchExpressions (Kubernetes' operators)."""
    match = selector.get("matchLabels", {})
    verdicts = {
        "In": lambda e: labels.get(e["key"]) in e["values"],
        "NotIn": lambda e: labels.get(e["key"]) not in e["values"],
        "Exists": lambda e: e["key"] in labels,
        "DoesNotExist": lambda e: e["key"] not in labels,
    }
    expressions = selector.get("matchExpressions", [])
    return (
        bool(match)
        and all(labels.get(k) == v for k, v in match.items())
        and all(verdicts[e["operator"]](e) for e in expressions)
    )


def env_of(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in container.get("env", [])}


def pod_containers(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every container of the app's pod: the native sidecars (init containers) and the app."""
    spec = pod_spec(objects)
    containers: list[dict[str, Any]] = spec.get("initContainers", []) + spec["containers"]
    return containers


def admission_proxy(objects: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The admission proxy's sidecar, or None when `admissionProxy.enabled` is off."""
    found = [
        c for c in pod_spec(objects).get("initContainers", []) if c["name"] == "admission-proxy"
    ]
    assert len(found) <= 1, found
    return found[0] if found else None


def port_named(objects: list[dict[str, Any]], name: str) -> tuple[str, int]:
    """The container and number of the pod's one port called `name` (what a Service resolves)."""
    found = [
        (container["name"], port["containerPort"])
        for container in pod_containers(objects)
        for port in container.get("ports", [])
        if port["name"] == name
    ]
    assert len(found) == 1, f"expected one port named {name}, found {found}"
    return found[0]


# Replicas and autoscaling ----------------------------------------------------------------------


def test_replicas_or_hpa_bounds(objects):
    deployment = workload(objects)
    hpas = by_kind(objects, "HorizontalPodAutoscaler")
    if hpas:
        (hpa,) = hpas
        # With an HPA the workload must not set replicas, or every upgrade resets the scale.
        assert "replicas" not in deployment["spec"]
        assert hpa["apiVersion"] == "autoscaling/v2"
        # The HPA scales what owns the pods: the Deployment, or the Rollout when it replaces it.
        assert hpa["spec"]["scaleTargetRef"] == {
            "apiVersion": deployment["apiVersion"],
            "kind": deployment["kind"],
            "name": deployment["metadata"]["name"],
        }
        assert hpa["spec"]["minReplicas"] >= 3
        assert hpa["spec"]["maxReplicas"] >= hpa["spec"]["minReplicas"]
        (metric,) = hpa["spec"]["metrics"]
        if admission_proxy(objects):
            # A Resource metric would average over the sidecar's request too: the app's alone.
            assert metric["type"] == "ContainerResource"
            source = metric["containerResource"]
            assert source["container"] == app_container(objects)["name"]
        else:
            assert metric["type"] == "Resource"
            source = metric["resource"]
        assert source["name"] == "cpu"
        assert 0 < source["target"]["averageUtilization"] <= 100
    else:
        assert deployment["spec"]["replicas"] >= 3


def test_hpa_defaults_are_3_to_10(rendered_sets):
    hpa = one(rendered_sets["defaults"], "HorizontalPodAutoscaler")
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (3, 10)


def test_hpa_behavior_scales_up_fast_and_down_slowly(objects):
    for hpa in by_kind(objects, "HorizontalPodAutoscaler"):
        behavior = hpa["spec"]["behavior"]
        assert behavior["scaleUp"]["stabilizationWindowSeconds"] <= 60
        assert behavior["scaleDown"]["stabilizationWindowSeconds"] >= 300
        assert all(p["periodSeconds"] >= 60 for p in behavior["scaleDown"]["policies"])


def test_autoscaling_off_renders_fixed_replicas(rendered_sets):
    objects = rendered_sets["autoscaling-off"]
    assert by_kind(objects, "HorizontalPodAutoscaler") == []
    assert workload(objects)["spec"]["replicas"] == 4


# Rollout -------------------------------------------------------------------------------------


def test_rolling_update_never_removes_a_serving_pod_first(objects):
    owner = workload(objects)
    if owner["kind"] == "Rollout":
        update = owner["spec"]["strategy"]["canary"]
    else:
        strategy = owner["spec"]["strategy"]
        assert strategy["type"] == "RollingUpdate"
        update = strategy["rollingUpdate"]
    assert update["maxUnavailable"] == 0
    assert update["maxSurge"] not in (0, "0", "0%")


# Placement -----------------------------------------------------------------------------------


def test_pod_anti_affinity_on_hostname(objects):
    labels = pod_labels(objects)
    anti = pod_spec(objects)["affinity"]["podAntiAffinity"]
    terms = anti.get("requiredDuringSchedulingIgnoredDuringExecution") or [
        t["podAffinityTerm"] for t in anti["preferredDuringSchedulingIgnoredDuringExecution"]
    ]
    assert any(
        t["topologyKey"] == "kubernetes.io/hostname" and selects(t["labelSelector"], labels)
        for t in terms
    )


def test_anti_affinity_is_hard_in_staging_and_prod(rendered_sets):
    for name in ("defaults", "staging", "prod"):
        anti = pod_spec(rendered_sets[name])["affinity"]["podAntiAffinity"]
        assert "requiredDuringSchedulingIgnoredDuringExecution" in anti, name


def test_topology_spread_across_zones_and_nodes(objects):
    labels = pod_labels(objects)
    constraints = pod_spec(objects)["topologySpreadConstraints"]
    keys = {c["topologyKey"] for c in constraints if selects(c["labelSelector"], labels)}
    assert keys == {"topology.kubernetes.io/zone", "kubernetes.io/hostname"}
    for constraint in constraints:
        assert constraint["maxSkew"] == 1


def test_zone_spread_is_enforced_in_staging_and_prod(rendered_sets):
    for name in ("staging", "prod"):
        (zone,) = [
            c
            for c in pod_spec(rendered_sets[name])["topologySpreadConstraints"]
            if c["topologyKey"] == "topology.kubernetes.io/zone"
        ]
        assert zone["whenUnsatisfiable"] == "DoNotSchedule", name


# Probes --------------------------------------------------------------------------------------


def test_probes_on_the_right_endpoints(objects):
    container = app_container(objects)
    # The app's own port (`http`, or `app` behind the admission proxy): never through a proxy.
    (port,) = container["ports"]
    assert port["containerPort"] == 8080
    name = port["name"]
    assert port_named(objects, name) == (container["name"], 8080)
    assert container["startupProbe"]["httpGet"] == {"path": "/readyz", "port": name}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": name}
    assert container["livenessProbe"]["httpGet"] == {"path": "/livez", "port": name}


def test_no_liveness_probe_on_the_database(objects):
    liveness = app_container(objects)["livenessProbe"]
    assert liveness["httpGet"]["path"] not in DATABASE_ENDPOINTS
    assert "exec" not in liveness


# Graceful shutdown ---------------------------------------------------------------------------


def test_prestop_sleep_and_grace_period_longer_than_the_drain(objects):
    spec = pod_spec(objects)
    container = app_container(objects)
    sleep = container["lifecycle"]["preStop"]["sleep"]["seconds"]
    drain = int(env_of(container)["DRAIN_SECONDS"]["value"])
    assert sleep > 0
    assert drain >= 0
    assert spec["terminationGracePeriodSeconds"] > sleep + drain
    assert "exec" not in container["lifecycle"]["preStop"]  # no shell in the image


def test_alb_deregistration_fits_in_the_shutdown(objects):
    container = app_container(objects)
    sleep = container["lifecycle"]["preStop"]["sleep"]["seconds"]
    drain = int(env_of(container)["DRAIN_SECONDS"]["value"])
    for ingress in by_kind(objects, "Ingress"):
        if ingress["spec"]["ingressClassName"] != "alb":
            continue  # no target group: NGINX drops the pod when its readiness fails
        attributes = ingress["metadata"]["annotations"][
            "alb.ingress.kubernetes.io/target-group-attributes"
        ]
        delay = int(attributes.split("deregistration_delay.timeout_seconds=")[1].split(",")[0])
        assert delay <= sleep + drain


# Security ------------------------------------------------------------------------------------


def test_pod_security_context(objects):
    for spec in [pod_spec(objects), one(objects, "Pod")["spec"]]:
        context = spec["securityContext"]
        assert context["runAsNonRoot"] is True
        assert context["runAsUser"] == 10001
        assert context["runAsGroup"] == 10001
        assert context["seccompProfile"] == {"type": "RuntimeDefault"}


def test_container_security_context(objects):
    containers = pod_containers(objects) + one(objects, "Pod")["spec"]["containers"]
    for container in containers:
        context = container["securityContext"]
        assert context["runAsNonRoot"] is True
        assert context["runAsUser"] == 10001
        assert context["allowPrivilegeEscalation"] is False
        assert context["privileged"] is False
        assert context["readOnlyRootFilesystem"] is True
        assert context["capabilities"] == {"drop": ["ALL"]}
        assert context["seccompProfile"] == {"type": "RuntimeDefault"}


def test_only_tmp_is_writable(objects):
    spec = pod_spec(objects)
    assert spec["volumes"][0] == {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}
    proxy = admission_proxy(objects)
    configuration = ["admission-proxy"] if proxy else []
    assert [v["name"] for v in spec["volumes"]] == ["tmp", "database-credentials", *configuration]
    mounts = app_container(objects)["volumeMounts"]
    assert mounts[0] == {"name": "tmp", "mountPath": "/tmp"}
    assert [m.get("readOnly") for m in mounts[1:]] == [True], "everything but /tmp is read-only"
    if proxy:
        # The proxy writes nothing: its configuration only, read-only.
        assert [(m["name"], m.get("readOnly")) for m in proxy["volumeMounts"]] == [
            ("admission-proxy", True)
        ]


def test_no_service_links_and_no_api_token(objects):
    for spec in [pod_spec(objects), one(objects, "Pod")["spec"]]:
        assert spec["enableServiceLinks"] is False
        assert spec["automountServiceAccountToken"] is False
    for account in by_kind(objects, "ServiceAccount"):
        assert account["automountServiceAccountToken"] is False


def test_resources_have_requests_and_limits(objects):
    containers = pod_containers(objects) + one(objects, "Pod")["spec"]["containers"]
    for container in containers:
        resources = container["resources"]
        assert set(resources["requests"]) == {"cpu", "memory"}
        assert set(resources["limits"]) == {"cpu", "memory"}


def test_service_account_takes_the_pod_identity_annotation():
    role = "arn:aws:iam::111122223333:role/test-app-prod"
    values = load_values(
        ["ci/default-values.yaml"],
        {"serviceAccount": {"annotations": {"eks.amazonaws.com/role-arn": role}}},
    )
    objects = render(values)
    account = one(objects, "ServiceAccount")
    assert account["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": role}
    assert pod_spec(objects)["serviceAccountName"] == account["metadata"]["name"]


# Secrets -------------------------------------------------------------------------------------


def app_external_secret(objects: list[dict[str, Any]]) -> dict[str, Any]:
    return one(objects, "ExternalSecret", "test-app-db")


def test_database_credentials_only_as_projected_files(objects):
    container = app_container(objects)
    env = env_of(container)
    assert not {"POSTGRESQL_USER", "POSTGRESQL_PASSWORD"} & set(env), "no login in variables"
    expected = (
        app_external_secret(objects)["spec"]["target"]["name"]
        if by_kind(objects, "ExternalSecret")
        else "test-app-db"  # ci/existing-secret-values.yaml
    )
    (volume,) = [v for v in pod_spec(objects)["volumes"] if v["name"] == "database-credentials"]
    (source,) = volume["projected"]["sources"]
    assert source["secret"] == {
        "name": expected,
        "items": [
            {"key": "POSTGRESQL_USER", "path": "user"},
            {"key": "POSTGRESQL_PASSWORD", "path": "password"},
        ],
    }
    assert volume["projected"]["defaultMode"] == 0o440
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == "database-credentials"]
    assert mount["readOnly"] is True
    assert "subPath" not in mount, "the kubelet never updates a subPath mount"
    assert env["POSTGRESQL_USER_FILE"]["value"] == mount["mountPath"] + "/user"
    assert env["POSTGRESQL_PASSWORD_FILE"]["value"] == mount["mountPath"] + "/password"
    assert by_kind(objects, "Secret") == []
    assert "mysecretpassword" not in yaml.safe_dump_all(objects)


def test_external_secret_maps_the_app_secret_keys(rendered_sets):
    external = app_external_secret(rendered_sets["defaults"])
    mapping = {d["secretKey"]: d["remoteRef"]["property"] for d in external["spec"]["data"]}
    assert mapping == {"POSTGRESQL_USER": "username", "POSTGRESQL_PASSWORD": "password"}
    assert {d["remoteRef"]["key"] for d in external["spec"]["data"]} == {
        "arn:aws:secretsmanager:eu-central-1:111122223333:secret:test-app-staging/database-app-AbCdEf"
    }, "the app's own secret, never the master secret"
    assert external["spec"]["secretStoreRef"] == {
        "kind": "ClusterSecretStore",
        "name": "aws-secrets-manager",
    }


GO_DURATION = re.compile(r"(\d+)(h|m|s)")
KUBELET_BOUND_SECONDS = 60 + 60  # syncFrequency (default 1m) + watch propagation budget


def _seconds(duration: str) -> int:
    parts = GO_DURATION.findall(duration)
    assert parts, f"not a Go duration: {duration!r}"
    assert "".join(n + u for n, u in parts) == duration, f"unsupported duration {duration!r}"
    return sum(int(n) * {"h": 3600, "m": 60, "s": 1}[u] for n, u in parts)


def _hcl(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        loaded: dict[str, Any] = hcl2.load(handle)
    return loaded


def _terraform_default(name: str) -> str:
    """The default of a database stack variable, as text (python-hcl2 keeps the quotes)."""
    variables = _hcl(REPO / "infra" / "stacks" / "database" / "variables.tf")["variable"]
    (block,) = [v[key] for v in variables for key in v if key.strip('"') == name]
    return str(block["default"]).strip('"')


def test_refresh_interval_is_far_inside_the_rotation_period(objects):
    """A new login reaches the files long before the previous one can be rotated away."""
    if not by_kind(objects, "ExternalSecret"):
        # existing-secret mode: the operator's Secret, refreshed by whoever owns it (docs).
        assert by_kind(objects, "Job") == []
        return
    pickup = (
        _seconds(app_external_secret(objects)["spec"]["refreshInterval"]) + KUBELET_BOUND_SECONDS
    )
    days = int(_terraform_default("app_secret_rotation_days"))
    window = _seconds(_terraform_default("app_secret_rotation_window"))
    for env in ("staging", "prod"):
        overrides = _hcl(REPO / "infra" / "envs" / env / "database.tfvars")
        assert not {"app_secret_rotation_days", "app_secret_rotation_window"} & set(overrides), (
            "the environments use the defaults this arithmetic reads"
        )
    shortest_gap = days * 86400 - window
    assert 0 < pickup <= 15 * 60, f"a rotation reaches the pods in {pickup} s: keep it below 15 min"
    assert pickup * 100 < shortest_gap, (pickup, shortest_gap)


# The database role hook ------------------------------------------------------------------------


def hook_objects(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [o for o in objects if "helm.sh/hook" in (o["metadata"].get("annotations") or {})]


def test_role_hook_runs_before_install_and_upgrade_in_order(objects):
    hooks = [
        o
        for o in hook_objects(objects)
        if "test" not in o["metadata"]["annotations"]["helm.sh/hook"]
    ]
    if not by_kind(objects, "ExternalSecret"):
        assert hooks == [], "existing-secret mode runs no role hook"
        return
    order = sorted(hooks, key=lambda o: int(o["metadata"]["annotations"]["helm.sh/hook-weight"]))
    assert [(o["kind"], o["metadata"]["name"]) for o in order] == [
        ("ExternalSecret", "test-app-db-admin"),
        ("NetworkPolicy", "test-app-db-role"),
        ("Job", "test-app-db-role"),
    ]
    for hook in hooks:
        annotations = hook["metadata"]["annotations"]
        assert annotations["helm.sh/hook"] == "pre-install,pre-upgrade"
        assert "before-hook-creation" in annotations["helm.sh/hook-delete-policy"]
    for name in ("ExternalSecret", "Job"):
        policy = one(hooks, name)["metadata"]["annotations"]["helm.sh/hook-delete-policy"]
        assert "hook-succeeded" in policy, f"the {name} must not outlive a successful hook"


def test_role_hook_reads_the_master_secret_and_nothing_else_does(objects, value_set):
    if not by_kind(objects, "Job"):
        return
    files, extra = VALUE_SETS[value_set]
    master = load_values(files, extra)["dbRole"]["adminRemoteSecretName"]
    assert master, f"{value_set} runs the hook without the master secret"
    admin = one(objects, "ExternalSecret", "test-app-db-admin")
    assert admin["spec"]["target"]["deletionPolicy"] == "Delete"
    keys = {
        d["secretKey"]: (d["remoteRef"]["key"], d["remoteRef"]["property"])
        for d in admin["spec"]["data"]
    }
    assert keys["admin-user"] == (master, "username")
    assert keys["admin-password"] == (master, "password")
    assert keys["app-password"][1] == "password"
    others = [o for o in objects if o["kind"] != "ExternalSecret" and o["kind"] != "Job"]
    assert "test-app-db-admin" not in yaml.safe_dump_all(others), "only the Job mounts it"
    # The rotation CronJob (AKS) names the secret to read it from Key Vault with its own identity;
    # no Secret of the namespace holds it.
    rotation = [o for o in objects if o["kind"] == "CronJob"]
    for cron in rotation:
        [container] = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
        args = container["command"]
        assert args[args.index("--admin-secret-name") + 1] == master
        assert "volumeMounts" not in container
    assert master not in yaml.safe_dump_all(
        [o for o in objects if o is not admin and o not in rotation]
    )


def test_role_job_runs_the_provisioning_command_restricted(objects):
    if not by_kind(objects, "Job"):
        return
    job = one(objects, "Job", "test-app-db-role")
    assert job["spec"]["activeDeadlineSeconds"] <= 600
    pod = job["spec"]["template"]
    (container,) = pod["spec"]["containers"]
    assert container["image"] == app_container(objects)["image"]
    assert container["command"][:3] == ["test-app-db-role", "--role", "test_app"]
    env = env_of(container)
    (mount,) = container["volumeMounts"]
    assert mount["readOnly"] is True
    assert env["POSTGRESQL_USER_FILE"]["value"] == mount["mountPath"] + "/admin-user"
    assert env["POSTGRESQL_PASSWORD_FILE"]["value"] == mount["mountPath"] + "/admin-password"
    assert container["command"][-1] == mount["mountPath"] + "/app-password"
    # The same endpoints and TLS settings as the app: only the login differs.
    app_env = env_of(app_container(objects))
    login = {"POSTGRESQL_USER_FILE", "POSTGRESQL_PASSWORD_FILE"}
    database = {k for k in app_env if k.startswith(("POSTGRESQL_", "PGSSL"))} - login
    assert {k: env.get(k) for k in database} == {k: app_env[k] for k in database}
    assert container["securityContext"] == app_container(objects)["securityContext"]
    assert pod["spec"]["automountServiceAccountToken"] is False
    assert pod["spec"]["restartPolicy"] == "Never"


def test_role_job_pod_is_not_selected_by_the_app_service_or_policy(objects):
    if not by_kind(objects, "Job"):
        return
    labels = one(objects, "Job")["spec"]["template"]["metadata"]["labels"]
    service = one(objects, "Service", "test-app")
    assert not selects({"matchLabels": service["spec"]["selector"]}, labels)
    policies = [
        p["metadata"]["name"]
        for p in by_kind(objects, "NetworkPolicy")
        if selects(p["spec"]["podSelector"], labels)
    ]
    assert policies == ["test-app-db-role"]
    policy = one(objects, "NetworkPolicy", "test-app-db-role")
    assert policy["spec"]["ingress"] == []
    app_egress = one(objects, "NetworkPolicy", "test-app")["spec"]["egress"]
    assert policy["spec"]["egress"] == app_egress, "DNS and the database port, like the app"


# Disruption budget ---------------------------------------------------------------------------


def test_pdb_keeps_two_available(objects):
    pdb = one(objects, "PodDisruptionBudget")
    assert pdb["spec"]["minAvailable"] == 2
    assert selects(pdb["spec"]["selector"], pod_labels(objects))
    hpas = by_kind(objects, "HorizontalPodAutoscaler")
    floor = hpas[0]["spec"]["minReplicas"] if hpas else workload(objects)["spec"]["replicas"]
    assert pdb["spec"]["minAvailable"] < floor  # otherwise no node can be drained


# Network -------------------------------------------------------------------------------------


def test_network_policy_default_deny(objects):
    deny = one(objects, "NetworkPolicy", "test-app-default-deny")
    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def _peers(rules: list[dict[str, Any]], field: str) -> list[tuple[Any, ...]]:
    peers: list[tuple[Any, ...]] = []
    for rule in rules:
        ports = tuple(sorted((p["protocol"], str(p["port"])) for p in rule["ports"]))
        peers.extend((yaml.safe_dump(peer, sort_keys=True), ports) for peer in rule[field])
    return sorted(peers)


def test_network_policy_exact_allows(rendered_sets):
    objects = rendered_sets["ingress"]
    policy = one(objects, "NetworkPolicy", "test-app")
    assert selects(policy["spec"]["podSelector"], pod_labels(objects))
    assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
    http = (("TCP", "8080"),)
    assert _peers(policy["spec"]["ingress"], "from") == sorted(
        [
            (yaml.safe_dump({"ipBlock": {"cidr": "10.0.0.0/16"}}, sort_keys=True), http),
            (
                yaml.safe_dump(
                    {
                        "namespaceSelector": {
                            "matchLabels": {"kubernetes.io/metadata.name": "monitoring"}
                        },
                        "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}},
                    },
                    sort_keys=True,
                ),
                http,
            ),
            (
                yaml.safe_dump(
                    {
                        "podSelector": {
                            "matchLabels": {
                                "app.kubernetes.io/name": "test-app-test",
                                "app.kubernetes.io/instance": "test-app",
                            }
                        }
                    },
                    sort_keys=True,
                ),
                http,
            ),
        ]
    )
    dns = yaml.safe_dump(
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
        },
        sort_keys=True,
    )
    assert _peers(policy["spec"]["egress"], "to") == sorted(
        [
            (dns, (("TCP", "53"), ("UDP", "53"))),
            (
                yaml.safe_dump({"ipBlock": {"cidr": "10.0.0.0/16"}}, sort_keys=True),
                (("TCP", "5432"),),
            ),
        ]
    )


def test_every_network_policy_port_is_a_number(rendered_sets):
    """No port names in a NetworkPolicy, in any value set.

    The AWS network policy controller (EKS with `enableNetworkPolicy`) cannot resolve a port
    name in an ipBlock rule and drops the whole rule (`convertToPolicyInfoPortForCIDRs` in
    aws/amazon-network-policy-controller-k8s, pkg/resolvers/endpoints.go), so the ALB's subnets
    would reach nothing; and it looks names up on a pod's regular containers only, never on a
    sidecar such as the admission proxy.
    """
    named = [
        (value_set, policy["metadata"]["name"], port["port"])
        for value_set, objects in rendered_sets.items()
        for policy in by_kind(objects, "NetworkPolicy")
        for direction in ("ingress", "egress")
        for rule in policy["spec"].get(direction) or []
        for port in rule.get("ports") or []
        if not isinstance(port.get("port"), int)
    ]
    policies = sum(len(by_kind(objects, "NetworkPolicy")) for objects in rendered_sets.values())
    assert policies > 0, "no NetworkPolicy rendered: nothing was checked"
    assert named == [], f"NetworkPolicy ports that are not numbers: {named}"


def test_network_policy_database_by_selector(rendered_sets):
    policy = one(rendered_sets["existing-secret"], "NetworkPolicy", "test-app")
    database = [
        r for r in policy["spec"]["egress"] if r["ports"] == [{"port": 5432, "protocol": "TCP"}]
    ]
    assert database[0]["to"] == [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "database"}},
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": "postgresql"}},
        }
    ]


def test_every_policy_rule_names_ports(objects):
    rules = [
        (policy["metadata"]["name"], rule)
        for policy in by_kind(objects, "NetworkPolicy")
        for rule in policy["spec"].get("ingress", []) + policy["spec"].get("egress", [])
    ]
    assert rules, "no NetworkPolicy rule rendered: nothing to check"
    for name, rule in rules:
        assert rule.get("ports"), f"{name}: a rule without ports allows every port"
        for peer in rule.get("from", []) + rule.get("to", []):
            assert peer.get("ipBlock", {}).get("cidr") != "0.0.0.0/0", name


def test_test_pod_is_covered_by_a_policy(objects):
    pod = one(objects, "Pod")
    policies = [
        p
        for p in by_kind(objects, "NetworkPolicy")
        if selects(p["spec"]["podSelector"], pod["metadata"]["labels"])
    ]
    assert [p["metadata"]["name"] for p in policies] == ["test-app-test"]


# Namespace -----------------------------------------------------------------------------------


def test_namespace_has_restricted_pod_security_labels(rendered_sets):
    namespace = one(rendered_sets["namespace"], "Namespace")
    labels = namespace["metadata"]["labels"]
    for mode in ("enforce", "audit", "warn"):
        assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"
    assert namespace["metadata"]["name"] == "test-app"


def test_namespace_is_left_to_the_platform_by_default(rendered_sets):
    for name in ("defaults", "staging", "prod"):
        assert by_kind(rendered_sets[name], "Namespace") == [], name


# Service and monitoring ----------------------------------------------------------------------


def test_service_targets_the_http_port(objects):
    service = one(objects, "Service", "test-app")
    assert selects({"matchLabels": service["spec"]["selector"]}, pod_labels(objects))
    port = service["spec"]["ports"][0]
    assert (port["name"], port["targetPort"]) == ("http", "http")
    # `http` is the app's 8080, or the admission proxy's port in front of it.
    proxy = admission_proxy(objects)
    expected = (proxy["name"], proxy["ports"][0]["containerPort"]) if proxy else ("test-app", 8080)
    assert port_named(objects, "http") == expected
    (container_port,) = app_container(objects)["ports"]
    assert container_port == {
        "name": "app" if proxy else "http",
        "containerPort": 8080,
        "protocol": "TCP",
    }
    # Beyond `http`, only the proxy's metrics port (for the ServiceMonitor).
    extra = [p["targetPort"] for p in service["spec"]["ports"][1:]]
    assert extra == (["proxy-metrics"] if proxy else [])


def test_service_monitor_matches_the_service(objects):
    for monitor in by_kind(objects, "ServiceMonitor"):
        service = one(objects, "Service", "test-app")
        assert selects(monitor["spec"]["selector"], service["metadata"]["labels"])
        # Exactly one Service: the Rollout's stable and canary Services hold the same pods, and
        # scraping them again would count every request two or three times.
        selected = [
            s["metadata"]["name"]
            for s in by_kind(objects, "Service")
            if selects(monitor["spec"]["selector"], s["metadata"]["labels"])
        ]
        assert selected == ["test-app"], selected
        assert monitor["spec"]["namespaceSelector"]["matchNames"] == [
            service["metadata"]["namespace"]
        ]
        # The alert rules select job="test-app": the job label must not depend on the release.
        assert service["metadata"]["labels"][monitor["spec"]["jobLabel"]] == "test-app"
        port_names = {p["name"] for p in service["spec"]["ports"]}
        for endpoint in monitor["spec"]["endpoints"]:
            assert endpoint["port"] in port_names
            assert endpoint["path"] == "/metrics"


def test_prometheus_rule_holds_every_rule_group_of_the_files(rendered_sets):
    rule = one(rendered_sets["defaults"], "PrometheusRule")
    expected = [
        group["name"]
        for path in sorted((CHART / "files" / "rules").glob("*.yaml"))
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]
    ]
    assert expected, "files/rules holds no rule group"
    assert [g["name"] for g in rule["spec"]["groups"]] == expected


# Ingress -------------------------------------------------------------------------------------


def test_ingress_off_by_default(rendered_sets):
    assert by_kind(rendered_sets["defaults"], "Ingress") == []


@pytest.mark.parametrize("name", ["ingress", "staging", "prod"])
def test_ingress_for_the_alb(rendered_sets, name):
    ingress = one(rendered_sets[name], "Ingress")
    annotations = ingress["metadata"]["annotations"]
    assert ingress["spec"]["ingressClassName"] == "alb"
    assert annotations["alb.ingress.kubernetes.io/healthcheck-path"] == "/readyz"
    assert annotations["alb.ingress.kubernetes.io/target-type"] == "ip"
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    # With the Rollout (staging, prod) the ALB forwards by the weights Argo writes into the
    # actions annotation of the root Service: the port is `use-annotation` (Argo's ALB docs).
    canary = by_kind(rendered_sets[name], "Rollout") != []
    assert backend == {
        "name": one(rendered_sets[name], "Service", "test-app")["metadata"]["name"],
        "port": {"name": "use-annotation" if canary else "http"},
    }


@pytest.mark.parametrize("name", ["ingress", "staging", "prod"])
def test_ingress_exposes_the_health_api_only(rendered_sets, name):
    paths = one(rendered_sets[name], "Ingress")["spec"]["rules"][0]["http"]["paths"]
    assert [(path["path"], path["pathType"]) for path in paths] == [
        ("/health", "Exact"),
        ("/health/read", "Exact"),
    ]


@pytest.mark.parametrize("name", ["ingress", "staging", "prod"])
def test_alb_closes_idle_connections_before_the_app_does(rendered_sets, name):
    annotations = one(rendered_sets[name], "Ingress")["metadata"]["annotations"]
    attribute = annotations["alb.ingress.kubernetes.io/load-balancer-attributes"]
    key, _, seconds = attribute.partition("=")
    assert key == "idle_timeout.timeout_seconds"
    assert 0 < int(seconds) * 1000 < HEADER_READ_TIMEOUT_MS


def _alb_cidrs(objects: list[dict[str, Any]]) -> list[str]:
    """The CIDRs the app's NetworkPolicy lets the load balancer send from (none without one)."""
    policies = [p for p in by_kind(objects, "NetworkPolicy") if p["metadata"]["name"] == "test-app"]
    return [
        peer["ipBlock"]["cidr"]
        for policy in policies
        for rule in policy["spec"].get("ingress", [])
        for peer in rule["from"]
        if "ipBlock" in peer
    ]


def _trusted_proxies(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in app_container(objects)["env"] if e["name"] == "TRUSTED_PROXIES"]


def test_behind_the_alb_the_app_trusts_its_subnets_for_the_client_address(objects):
    """The ALB appends the client to X-Forwarded-For; the app believes it from those subnets."""
    cidrs = _alb_cidrs(objects) if by_kind(objects, "Ingress") else []
    # The admission proxy connects from the loopback and appends its peer (`option forwardfor`).
    trusted = cidrs + (["127.0.0.1/32"] if admission_proxy(objects) else [])
    if trusted:
        assert _trusted_proxies(objects) == [
            {"name": "TRUSTED_PROXIES", "value": ",".join(trusted)}
        ]
    else:
        assert _trusted_proxies(objects) == []


@pytest.mark.parametrize("name", ["ingress", "staging", "prod"])
def test_every_alb_value_set_sets_trusted_proxies(rendered_sets, name):
    assert _alb_cidrs(rendered_sets[name])
    assert len(_trusted_proxies(rendered_sets[name])) == 1


@pytest.mark.parametrize(
    "entry",
    [
        {"name": "TRUSTED_PROXIES", "value": "10.99.0.0/16"},
        {
            "name": "TRUSTED_PROXIES",
            "valueFrom": {"configMapKeyRef": {"name": "net", "key": "alb"}},
        },
    ],
)
def test_trusted_proxies_from_extra_env_wins_and_appears_once(entry):
    objects = render(load_values(["ci/ingress-values.yaml"], {"app": {"extraEnv": [entry]}}))
    assert _trusted_proxies(objects) == [entry]


def test_prod_ingress_serves_tls_and_redirects(rendered_sets):
    annotations = one(rendered_sets["prod"], "Ingress")["metadata"]["annotations"]
    assert annotations["alb.ingress.kubernetes.io/certificate-arn"].startswith("arn:aws:acm:")
    assert annotations["alb.ingress.kubernetes.io/ssl-redirect"] == "443"


# Image and helm test -------------------------------------------------------------------------


def test_image_defaults_to_the_ecr_repository(rendered_sets):
    image = app_container(rendered_sets["defaults"])["image"]
    assert image == "111122223333.dkr.ecr.eu-central-1.amazonaws.com/test-app:1.0.0"


def test_prod_pulls_by_digest(rendered_sets):
    image = app_container(rendered_sets["prod"])["image"]
    assert image.split("@")[1].startswith("sha256:")


def test_helm_test_checks_health_with_the_app_image(objects):
    pod = one(objects, "Pod")
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    (container,) = pod["spec"]["containers"]
    assert container["image"] == app_container(objects)["image"]
    assert container["command"][:2] == ["python", "-c"]
    assert "/health" in container["command"][2]
    compile(container["command"][2], "helm-test", "exec")  # the check is valid Python
    assert pod["spec"]["restartPolicy"] == "Never"


# External probe ----------------------------------------------------------------------------------

REPO_ROOT = CHART.parent.parent


def test_probe_matches_the_rule_and_the_blackbox_module(rendered_sets):
    probes = [p for objects in rendered_sets.values() for p in by_kind(objects, "Probe")]
    assert len(probes) >= 2, "expected a Probe in the prod and probe value sets"
    rules = yaml.safe_load((REPO_ROOT / "observability" / "rules" / "test-app.yaml").read_text())
    exprs = [r["expr"] for g in rules["groups"] for r in g["rules"] if "alert" in r]
    modules = yaml.safe_load(
        (REPO_ROOT / "observability" / "blackbox" / "blackbox.yml").read_text()
    )
    for probe in probes:
        spec = probe["spec"]
        assert f'probe_success{{job="{spec["jobName"]}"}}' in " ".join(exprs)
        assert spec["module"] in modules["modules"]
        assert spec["prober"]["path"] == "/probe"
        (target,) = spec["targets"]["staticConfig"]["static"]
        assert target.endswith("/health"), target
        assert probe["metadata"]["labels"]["release"] == "kube-prometheus-stack"


def test_probe_url_follows_the_ingress_host_and_tls(rendered_sets):
    (probe,) = by_kind(rendered_sets["prod"], "Probe")
    assert probe["spec"]["targets"]["staticConfig"]["static"] == [
        "https://test-app.example.com/health"
    ]
    values = load_values(["ci/probe-values.yaml"], {"ingress": {"alb": {"certificateArn": ""}}})
    (plain,) = by_kind(render(values), "Probe")
    assert plain["spec"]["targets"]["staticConfig"]["static"] == [
        "http://test-app.example.com/health"
    ]
    explicit = load_values(["ci/probe-values.yaml"], {"probe": {"url": "https://a.example/health"}})
    (given,) = by_kind(render(explicit), "Probe")
    assert given["spec"]["targets"]["staticConfig"]["static"] == ["https://a.example/health"]


def test_probe_off_by_default_and_needs_a_host(rendered_sets):
    assert by_kind(rendered_sets["defaults"], "Probe") == []
    assert by_kind(rendered_sets["staging"], "Probe") == []
    values = load_values(["ci/default-values.yaml"], {"probe": {"enabled": True}})
    with pytest.raises(Exception, match=r"probe\.url or ingress\.host"):
        render(values)


def test_the_admission_bound_reaches_the_app_and_the_app_takes_it():
    """`app.maxInFlight` becomes MAX_IN_FLIGHT, which the app's settings parse as its bound."""
    objects = render(load_values(["ci/ingress-values.yaml"], {"app": {"maxInFlight": 123}}))
    env = {e["name"]: e.get("value") for e in app_container(objects)["env"]}
    assert env["MAX_IN_FLIGHT"] == "123"
    assert load_settings({"MAX_IN_FLIGHT": env["MAX_IN_FLIGHT"]}).max_in_flight == 123
