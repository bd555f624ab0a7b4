"""Bad values are rejected before anything reaches a cluster, with a message naming the value:
types and unsafe values by values.schema.json, cross-field rules by the templates' `fail`."""

from __future__ import annotations

import json
import re
from typing import Any

import helm_python as helm
import pytest

from test_app_tooling.helm_render import (
    CHART,
    PROD_INSTALL_TIME,
    deep_merge,
    load_values,
    render,
    render_error,
)


def valid(extra: dict[str, Any]) -> dict[str, Any]:
    return load_values(["ci/default-values.yaml"], extra)


REJECTED: list[tuple[str, dict[str, Any], str]] = [
    # wrong types
    ("replicas as a string", {"replicaCount": "3"}, r"/replicaCount': got string, want integer"),
    (
        "port as a string",
        {"database": {"port": "5432"}},
        r"/database/port': got string, want integer",
    ),
    (
        "boolean as a string",
        {"ingress": {"enabled": "yes"}},
        r"/ingress/enabled': got string, want boolean",
    ),
    (
        "unknown key (typo)",
        {"replicacount": 3},
        r"additional properties 'replicacount' not allowed",
    ),
    (
        "unknown nested key",
        {"autoscaling": {"maxReplica": 5}},
        r"additional properties 'maxReplica'",
    ),
    # unsafe values
    ("fewer than 3 replicas", {"replicaCount": 1}, r"/replicaCount': minimum: got 1, want 3"),
    (
        "HPA minimum below 3",
        {"autoscaling": {"minReplicas": 2}},
        r"/autoscaling/minReplicas': minimum",
    ),
    (
        "maxUnavailable above 0",
        {"updateStrategy": {"maxUnavailable": 1}},
        r"/updateStrategy/maxUnavailable'",
    ),
    (
        "root user allowed",
        {"securityContext": {"runAsNonRoot": False}},
        r"/securityContext/runAsNonRoot': value must be true",
    ),
    (
        "privilege escalation",
        {"securityContext": {"allowPrivilegeEscalation": True}},
        r"/securityContext/allowPrivilegeEscalation'",
    ),
    (
        "writable root filesystem",
        {"securityContext": {"readOnlyRootFilesystem": False}},
        r"/securityContext/readOnlyRootFilesystem'",
    ),
    (
        "privileged container",
        {"securityContext": {"privileged": True}},
        r"/securityContext/privileged'",
    ),
    (
        "added capability",
        {"securityContext": {"capabilities": {"add": ["NET_ADMIN"]}}},
        r"/securityContext/capabilities/add'",
    ),
    (
        "seccomp unconfined",
        {"podSecurityContext": {"seccompProfile": {"type": "Unconfined"}}},
        r"/podSecurityContext/seccompProfile/type'",
    ),
    (
        "user id 0",
        {"podSecurityContext": {"runAsUser": 0}},
        r"/podSecurityContext/runAsUser': minimum",
    ),
    (
        "liveness on the database",
        {"probes": {"liveness": {"path": "/health"}}},
        r"/probes/liveness/path'",
    ),
    (
        "liveness on readiness",
        {"probes": {"liveness": {"path": "/readyz"}}},
        r"/probes/liveness/path'",
    ),
    ("latest tag", {"image": {"tag": "latest"}}, r"/image/tag'"),
    ("malformed digest", {"image": {"digest": "sha256:abc"}}, r"/image/digest'"),
    ("bad account id", {"image": {"ecr": {"accountId": "12345"}}}, r"/image/ecr/accountId'"),
    (
        "baseline pod security",
        {"namespace": {"podSecurityStandard": "baseline"}},
        r"/namespace/podSecurityStandard'",
    ),
    (
        "ALB instance targets",
        {"ingress": {"alb": {"targetType": "instance"}}},
        r"/ingress/alb/targetType'",
    ),
    (
        "ALB idle timeout above the app's",
        {"ingress": {"alb": {"idleTimeoutSeconds": 60}}},
        r"/ingress/alb/idleTimeoutSeconds'",
    ),
    (
        "metrics on the public load balancer",
        {"ingress": {"publicPaths": ["/health", "/metrics"]}},
        r"/ingress/publicPaths/1'",
    ),
    (
        "open to the internet",
        {"networkPolicy": {"ingress": {"loadBalancerCidrs": ["0.0.0.0/0"]}}},
        r"/networkPolicy/ingress/loadBalancerCidrs'",
    ),
    (
        "malformed CIDR",
        {"networkPolicy": {"egress": {"databaseCidrs": ["10.0.0.0"]}}},
        r"/networkPolicy/egress/databaseCidrs/0'",
    ),
    (
        "password as plain env",
        {"app": {"extraEnv": [{"name": "POSTGRESQL_PASSWORD", "value": "x"}]}},
        r"/app/extraEnv/0'",
    ),
    ("bad sslmode", {"database": {"sslMode": "on"}}, r"/database/sslMode'"),
    # prod-only rules
    (
        "prod without image tag or digest",
        {"environment": "prod", "image": {"tag": "", "digest": ""}},
        r"/image/(tag|digest)': minLength",
    ),
    (
        "prod ALB without TLS",
        {
            "environment": "prod",
            "image": {"tag": "1.0.0"},
            "ingress": {"enabled": True},
            "networkPolicy": {"ingress": {"loadBalancerCidrs": ["10.0.0.0/16"]}},
        },
        r"/ingress/alb/certificateArn': minLength",
    ),
    # cross-field rules (templates)
    (
        "maxReplicas below minReplicas",
        {"autoscaling": {"minReplicas": 5, "maxReplicas": 4}},
        (
            r"autoscaling\.maxReplicas \(4\) must be greater than or equal to "
            r"autoscaling\.minReplicas \(5\)"
        ),
    ),
    (
        "PDB blocks every drain",
        {
            "autoscaling": {"enabled": False},
            "replicaCount": 3,
            "podDisruptionBudget": {"minAvailable": 3},
        },
        (
            r"podDisruptionBudget\.minAvailable \(3\) must be lower than the minimum replica count "
            r"\(3, from replicaCount\)"
        ),
    ),
    (
        "grace period too short",
        {"terminationGracePeriodSeconds": 15},
        (
            r"terminationGracePeriodSeconds \(15\) must be greater than "
            r"lifecycle\.preStopSleepSeconds \+ app\.drainSeconds \(10 \+ 5 = 15\)"
        ),
    ),
    (
        "drain longer than grace",
        {"app": {"drainSeconds": 25}},
        r"terminationGracePeriodSeconds \(30\) must be greater",
    ),
    (
        "no Secret at all",
        {"externalSecret": {"enabled": False}},
        r"database\.existingSecret must name a Secret",
    ),
    ("no database host", {"database": {"host": ""}}, r"database\.host must be set"),
    (
        "ingress blocked by policy",
        {"ingress": {"enabled": True}},
        r"networkPolicy\.ingress\.loadBalancerCidrs .* must be set when ingress\.enabled",
    ),
    (
        "database blocked by policy",
        {"networkPolicy": {"egress": {"databaseCidrs": []}}},
        (
            r"networkPolicy\.egress\.databaseCidrs or "
            r"networkPolicy\.egress\.databaseSelector must be set"
        ),
    ),
    (
        "role hook without the master secret",
        {"dbRole": {"adminRemoteSecretName": ""}},
        r"dbRole\.adminRemoteSecretName must name the master secret",
    ),
    (
        "role hook without External Secrets",
        {"externalSecret": {"enabled": False}, "database": {"existingSecret": "test-app-db"}},
        r"dbRole\.enabled needs externalSecret\.enabled",
    ),
    (
        "role name that cannot take the clone suffix",
        {"dbRole": {"name": "Test-App"}},
        r"/dbRole/name'",
    ),
    (
        "relative credentials mount path",
        {"database": {"credentialsMountPath": "secrets/db"}},
        r"/database/credentialsMountPath'",
    ),
]


@pytest.mark.parametrize(("case", "extra", "message"), REJECTED, ids=[c[0] for c in REJECTED])
def test_bad_values_are_rejected_with_a_clear_message(case, extra, message):
    error = render_error(valid(extra))
    assert case
    assert re.search(message, error), error


def test_the_baseline_of_the_negative_cases_renders():
    assert render(valid({}))


def test_prod_values_file_pins_the_image():
    tls = {"ingress": PROD_INSTALL_TIME["ingress"]}
    with helm.Chart.load(CHART) as chart:
        chart.validate_schema(chart.merge_values(load_values(["values-prod.yaml"], tls)))
        stripped = deep_merge(
            load_values(["values-prod.yaml"], tls), {"image": {"tag": "", "digest": ""}}
        )
        with pytest.raises(helm.HelmValuesError, match=r"/image/(tag|digest)': minLength"):
            chart.validate_schema(chart.merge_values(stripped))


def test_schema_types_every_key_of_values_yaml():
    schema = json.loads((CHART / "values.schema.json").read_text(encoding="utf-8"))
    with helm.Chart.load(CHART) as chart:
        defaults = chart.values

    def walk(values: dict[str, Any], node: dict[str, Any], path: str) -> None:
        properties = node.get("properties", {})
        for key, value in values.items():
            assert key in properties, f"{path}{key} has no schema"
            child = properties[key]
            assert "type" in child or "const" in child or "enum" in child, f"{path}{key} untyped"
            if isinstance(value, dict) and child.get("additionalProperties") is False:
                walk(value, child, f"{path}{key}.")

    walk(defaults, schema, "")
