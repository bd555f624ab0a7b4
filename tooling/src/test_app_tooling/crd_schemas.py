"""Structural schemas of the custom resources the chart renders.

No package reachable here (PyPI, npm, Debian) ships the upstream CRD OpenAPI schemas as data
with the CRD version recorded: npm's @kubernetes-models/prometheus-operator 6.0.0 and
@kubernetes-models/external-secrets 2.0.0 carry only compiled JavaScript validators and name no
operator version, and PyPI's cloudcoil-models-prometheus-operator stops at 0.80.1. So these
schemas are written from the CRD references below and cover every field the chart sets:
required fields, types, enums and no unknown keys in the parts the chart writes.
Refs:
- ServiceMonitor, PrometheusRule, Probe: https://prometheus-operator.dev/docs/api-reference/api/
- ExternalSecret, ClusterSecretStore (external-secrets.io/v1):
  https://external-secrets.io/latest/api/spec/
- Rollout, AnalysisTemplate (argoproj.io/v1alpha1, Argo Rollouts v1.9):
  https://argoproj.github.io/argo-rollouts/features/specification/ ; field names, nesting and
  required fields checked against the npm package @kubernetes-models/argo-rollouts 2.0.0, which
  is generated from Argo Rollouts' Go API types but ships compiled validators, not JSON schemas.
  The Rollout's pod template is validated by the Kubernetes schema (tests/chart/test_validate.py).
"""

from __future__ import annotations

from typing import Any


_NAME = {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", "maxLength": 253}
_LABELS = {"type": "object", "additionalProperties": {"type": "string"}}
_DURATION = {
    "type": "string",
    "pattern": (
        r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?"
        r"(([0-9]+)ms)?)$"
    ),
}
_SELECTOR = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "matchLabels": {**_LABELS, "minProperties": 1},
        "matchExpressions": {"type": "array"},
    },
}
_METADATA = {
    "type": "object",
    "required": ["name", "namespace"],
    "properties": {"name": _NAME, "namespace": _NAME, "labels": _LABELS, "annotations": _LABELS},
}


def _resource(api_version: str, kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "apiVersion": {"const": api_version},
            "kind": {"const": kind},
            "metadata": _METADATA,
            "spec": spec,
        },
    }


SERVICE_MONITOR = _resource(
    "monitoring.coreos.com/v1",
    "ServiceMonitor",
    {
        "type": "object",
        "additionalProperties": False,
        "required": ["selector", "endpoints"],
        "properties": {
            "selector": _SELECTOR,
            "namespaceSelector": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "any": {"type": "boolean"},
                    "matchNames": {"type": "array", "items": {"type": "string"}},
                },
            },
            "jobLabel": {"type": "string"},
            "podTargetLabels": {"type": "array", "items": {"type": "string", "minLength": 1}},
            "endpoints": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["port"],
                    "properties": {
                        "port": {"type": "string", "minLength": 1},
                        "path": {"type": "string", "pattern": "^/"},
                        "scheme": {"enum": ["http", "https", "HTTP", "HTTPS"]},
                        "interval": _DURATION,
                        "scrapeTimeout": _DURATION,
                        "honorLabels": {"type": "boolean"},
                        "relabelings": {"type": "array"},
                        "metricRelabelings": {"type": "array"},
                    },
                },
            },
        },
    },
)

PROBE = _resource(
    "monitoring.coreos.com/v1",
    "Probe",
    {
        "type": "object",
        "additionalProperties": False,
        "required": ["jobName", "module", "prober", "targets"],
        "properties": {
            "jobName": {"type": "string", "minLength": 1},
            "module": {"type": "string", "minLength": 1},
            "prober": {
                "type": "object",
                "additionalProperties": False,
                "required": ["url"],
                "properties": {
                    "url": {"type": "string", "pattern": r"^[a-z0-9.-]+(:[0-9]+)?$"},
                    "scheme": {"enum": ["http", "https"]},
                    "path": {"type": "string", "pattern": "^/"},
                },
            },
            "interval": _DURATION,
            "scrapeTimeout": _DURATION,
            "targets": {
                "type": "object",
                "additionalProperties": False,
                "required": ["staticConfig"],
                "properties": {
                    "staticConfig": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["static"],
                        "properties": {
                            "static": {
                                "type": "array",
                                "minItems": 1,
                                "items": {"type": "string", "pattern": "^https?://"},
                            },
                            "labels": _LABELS,
                        },
                    },
                },
            },
        },
    },
)

_RULE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["expr"],
    "oneOf": [{"required": ["alert"]}, {"required": ["record"]}],
    "properties": {
        "alert": {"type": "string", "minLength": 1},
        "record": {"type": "string", "minLength": 1},
        "expr": {"type": ["string", "integer"]},
        "for": _DURATION,
        "keep_firing_for": _DURATION,
        "labels": _LABELS,
        "annotations": _LABELS,
    },
}

PROMETHEUS_RULE = _resource(
    "monitoring.coreos.com/v1",
    "PrometheusRule",
    {
        "type": "object",
        "additionalProperties": False,
        "required": ["groups"],
        "properties": {
            "groups": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["name", "rules"],
                    "properties": {
                        "name": {"type": "string", "minLength": 1},
                        "interval": _DURATION,
                        "query_offset": _DURATION,
                        "limit": {"type": "integer"},
                        "labels": _LABELS,
                        "partial_response_strategy": {"type": "string"},
                        "rules": {"type": "array", "minItems": 1, "items": _RULE},
                    },
                },
            }
        },
    },
)

EXTERNAL_SECRET = _resource(
    "external-secrets.io/v1",
    "ExternalSecret",
    {
        "type": "object",
        "additionalProperties": False,
        "required": ["secretStoreRef", "target"],
        "anyOf": [{"required": ["data"]}, {"required": ["dataFrom"]}],
        "properties": {
            "refreshInterval": _DURATION,
            "secretStoreRef": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name", "kind"],
                "properties": {
                    "name": _NAME,
                    "kind": {"enum": ["SecretStore", "ClusterSecretStore"]},
                },
            },
            "target": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name"],
                "properties": {
                    "name": _NAME,
                    "creationPolicy": {"enum": ["Owner", "Orphan", "Merge", "None"]},
                    "deletionPolicy": {"enum": ["Delete", "Merge", "Retain"]},
                    "immutable": {"type": "boolean"},
                    "template": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "type": {"type": "string"},
                            "engineVersion": {"enum": ["v2"]},
                            "metadata": {
                                "type": "object",
                                "additionalProperties": False,
                                "properties": {"labels": _LABELS, "annotations": _LABELS},
                            },
                        },
                    },
                },
            },
            "data": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["secretKey", "remoteRef"],
                    "properties": {
                        "secretKey": {"type": "string", "pattern": r"^[-._a-zA-Z0-9]+$"},
                        "remoteRef": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["key"],
                            "properties": {
                                "key": {"type": "string", "minLength": 1},
                                "property": {"type": "string"},
                                "version": {"type": "string"},
                                "conversionStrategy": {"enum": ["Default", "Unicode"]},
                                "decodingStrategy": {
                                    "enum": ["Auto", "Base64", "Base64URL", "None"]
                                },
                                "metadataPolicy": {"enum": ["None", "Fetch"]},
                            },
                        },
                    },
                },
            },
        },
    },
)

_EXTRACT = {
    "type": "object",
    "additionalProperties": False,
    "required": ["extract"],
    "properties": {
        "extract": {
            "type": "object",
            "additionalProperties": False,
            "required": ["key"],
            "properties": {
                "key": {"type": "string", "minLength": 1},
                "property": {"type": "string"},
                "version": {"type": "string"},
                "conversionStrategy": {"enum": ["Default", "Unicode"]},
                "decodingStrategy": {"enum": ["Auto", "Base64", "Base64URL", "None"]},
            },
        }
    },
}
EXTERNAL_SECRET["properties"]["spec"]["properties"]["dataFrom"] = {
    "type": "array",
    "minItems": 1,
    "items": _EXTRACT,
}

# spec.provider.azurekv (AzureKVProvider): the fields of workload identity and service principal
# authentication; `authSecretRef` holds secret references, not values.
_AZURE_KV = {
    "type": "object",
    "additionalProperties": False,
    "required": ["vaultUrl"],
    "properties": {
        "authType": {"enum": ["ServicePrincipal", "ManagedIdentity", "WorkloadIdentity"]},
        "vaultUrl": {"type": "string", "pattern": r"^https://"},
        "tenantId": {"type": "string"},
        "environmentType": {
            "enum": ["PublicCloud", "USGovernmentCloud", "ChinaCloud", "GermanCloud"]
        },
        "identityId": {"type": "string"},
        "serviceAccountRef": {
            "type": "object",
            "additionalProperties": False,
            "required": ["name"],
            "properties": {
                "name": _NAME,
                "namespace": _NAME,
                "audiences": {"type": "array", "items": {"type": "string"}},
            },
        },
        "authSecretRef": {"type": "object"},
    },
}

CLUSTER_SECRET_STORE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "external-secrets.io/v1"},
        "kind": {"const": "ClusterSecretStore"},
        "metadata": {
            "type": "object",
            "required": ["name"],
            "not": {"required": ["namespace"]},
            "properties": {"name": _NAME, "labels": _LABELS, "annotations": _LABELS},
        },
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "required": ["provider"],
            "properties": {
                "provider": {
                    "type": "object",
                    "additionalProperties": False,
                    "minProperties": 1,
                    "maxProperties": 1,
                    "properties": {
                        "azurekv": _AZURE_KV,
                        "aws": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["service", "region"],
                            "properties": {
                                "service": {"enum": ["SecretsManager", "ParameterStore"]},
                                "region": {
                                    "type": "string",
                                    "pattern": r"^[a-z]{2}(-[a-z]+)+-[0-9]$",
                                },
                                "role": {"type": "string"},
                                "auth": {"type": "object"},
                            },
                        },
                    },
                },
                "conditions": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "namespaces": {"type": "array", "items": _NAME},
                            "namespaceSelector": _SELECTOR,
                            "namespaceRegexes": {"type": "array", "items": {"type": "string"}},
                        },
                    },
                },
                "refreshInterval": {"type": "integer"},
            },
        },
    },
}

_ROLLOUTS = "argoproj.io/v1alpha1"
_INT_OR_STRING = {"anyOf": [{"type": "integer", "minimum": 0}, {"type": "string"}]}
_ARGO_DURATION = {"type": "string", "pattern": r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"}


def _closed(required: list[str], properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": required,
        "properties": properties,
    }


_ROLLOUT_ARG = _closed(
    ["name"],
    {
        "name": {"type": "string", "minLength": 1},
        "value": {"type": "string"},
        "valueFrom": _closed(
            [],
            {
                "podTemplateHashValue": {"enum": ["Stable", "Latest"]},
                "fieldRef": _closed(["fieldPath"], {"fieldPath": {"type": "string"}}),
            },
        ),
    },
)

ROLLOUT = _resource(
    _ROLLOUTS,
    "Rollout",
    _closed(
        ["selector", "template", "strategy"],
        {
            "replicas": {"type": "integer", "minimum": 0},
            "selector": _SELECTOR,
            "template": {"type": "object"},
            "minReadySeconds": {"type": "integer", "minimum": 0},
            "revisionHistoryLimit": {"type": "integer", "minimum": 0},
            "progressDeadlineSeconds": {"type": "integer", "minimum": 1},
            "progressDeadlineAbort": {"type": "boolean"},
            "rollbackWindow": _closed(
                ["revisions"], {"revisions": {"type": "integer", "minimum": 1}}
            ),
            "strategy": _closed(
                ["canary"],
                {
                    "canary": _closed(
                        ["steps"],
                        {
                            "stableService": _NAME,
                            "canaryService": _NAME,
                            "maxSurge": _INT_OR_STRING,
                            "maxUnavailable": _INT_OR_STRING,
                            # types.go: `DynamicStableScale bool`, with traffic routing only.
                            "dynamicStableScale": {"type": "boolean"},
                            "trafficRouting": {
                                **_closed(
                                    [],
                                    {
                                        "alb": _closed(
                                            ["ingress", "servicePort"],
                                            {
                                                "ingress": _NAME,
                                                "rootService": _NAME,
                                                "servicePort": {
                                                    "type": "integer",
                                                    "minimum": 1,
                                                    "maximum": 65535,
                                                },
                                            },
                                        ),
                                        "nginx": _closed(
                                            ["stableIngress"], {"stableIngress": _NAME}
                                        ),
                                    },
                                ),
                                "minProperties": 1,
                                "maxProperties": 1,
                            },
                            "analysis": _closed(
                                ["templates"],
                                {
                                    "templates": {
                                        "type": "array",
                                        "minItems": 1,
                                        "items": _closed(
                                            ["templateName"],
                                            {
                                                "templateName": _NAME,
                                                "clusterScope": {"type": "boolean"},
                                            },
                                        ),
                                    },
                                    "startingStep": {"type": "integer", "minimum": 0},
                                    "args": {"type": "array", "items": _ROLLOUT_ARG},
                                },
                            ),
                            "steps": {
                                "type": "array",
                                "minItems": 1,
                                "items": {
                                    "oneOf": [
                                        _closed(
                                            ["setWeight"],
                                            {
                                                "setWeight": {
                                                    "type": "integer",
                                                    "minimum": 0,
                                                    "maximum": 100,
                                                }
                                            },
                                        ),
                                        _closed(
                                            ["pause"],
                                            {"pause": _closed([], {"duration": _ARGO_DURATION})},
                                        ),
                                    ]
                                },
                            },
                        },
                    )
                },
            ),
        },
    ),
)

ANALYSIS_TEMPLATE = _resource(
    _ROLLOUTS,
    "AnalysisTemplate",
    _closed(
        ["metrics"],
        {
            "args": {"type": "array", "items": _ROLLOUT_ARG},
            "metrics": {
                "type": "array",
                "minItems": 1,
                "items": _closed(
                    ["name", "provider"],
                    {
                        "name": {"type": "string", "minLength": 1},
                        "interval": _ARGO_DURATION,
                        "initialDelay": _ARGO_DURATION,
                        "count": _INT_OR_STRING,
                        "failureLimit": _INT_OR_STRING,
                        "inconclusiveLimit": _INT_OR_STRING,
                        "consecutiveErrorLimit": _INT_OR_STRING,
                        "successCondition": {"type": "string", "minLength": 1},
                        "failureCondition": {"type": "string", "minLength": 1},
                        "provider": _closed(
                            ["prometheus"],
                            {
                                "prometheus": _closed(
                                    ["address", "query"],
                                    {
                                        "address": {"type": "string", "pattern": "^https?://"},
                                        "query": {"type": "string", "minLength": 1},
                                        "timeout": {"type": "integer", "minimum": 1},
                                    },
                                )
                            },
                        ),
                    },
                ),
            },
        },
    ),
)

CRD_SCHEMAS: dict[tuple[str, str], dict[str, Any]] = {
    (_ROLLOUTS, "Rollout"): ROLLOUT,
    (_ROLLOUTS, "AnalysisTemplate"): ANALYSIS_TEMPLATE,
    ("monitoring.coreos.com/v1", "ServiceMonitor"): SERVICE_MONITOR,
    ("monitoring.coreos.com/v1", "PrometheusRule"): PROMETHEUS_RULE,
    ("monitoring.coreos.com/v1", "Probe"): PROBE,
    ("external-secrets.io/v1", "ExternalSecret"): EXTERNAL_SECRET,
    ("external-secrets.io/v1", "ClusterSecretStore"): CLUSTER_SECRET_STORE,
}
