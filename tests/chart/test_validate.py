"""Every rendered object is valid: built-in kinds against the OpenAPI schema of the pinned
Kubernetes version (platform/addons.yaml `kubernetesVersion`; kubernetes-validate
strict: unknown fields fail), custom resources against the schemas in
test_app_tooling.crd_schemas, and only kinds from the allow-list."""

from __future__ import annotations

import subprocess
from collections import Counter

import jsonschema
import kubernetes_validate
import pytest
import yaml

from test_app_tooling.crd_schemas import CRD_SCHEMAS
from test_app_tooling.tools import REPO


# The EKS / Kubernetes version the platform pins (platform/versions.yaml lists its support).
KUBERNETES_VERSION = (
    yaml.safe_load((REPO / "platform" / "addons.yaml").read_text(encoding="utf-8"))[
        "kubernetesVersion"
    ]
    + ".0"
)

BUILT_IN = {
    ("v1", "ConfigMap"),
    ("v1", "Namespace"),
    ("v1", "Pod"),
    ("v1", "Service"),
    ("v1", "ServiceAccount"),
    ("apps/v1", "Deployment"),
    ("batch/v1", "Job"),
    ("batch/v1", "CronJob"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ("policy/v1", "PodDisruptionBudget"),
    ("networking.k8s.io/v1", "Ingress"),
    ("networking.k8s.io/v1", "NetworkPolicy"),
}

TEMPLATES = REPO / "charts" / "test-app" / "templates"


def template_kinds() -> set[str]:
    """Every `kind:` the chart's templates write at the top level."""
    kinds = {
        line.split(":", 1)[1].strip()
        for path in TEMPLATES.rglob("*.yaml")
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.startswith("kind:")
    }
    if not kinds:
        pytest.fail(f"no `kind:` found in {TEMPLATES}: nothing to check")
    return kinds


def test_kubernetes_validate_has_the_target_version():
    assert kubernetes_validate.utils.major_minor(KUBERNETES_VERSION) in {
        kubernetes_validate.utils.major_minor(v) for v in kubernetes_validate.utils.all_versions()
    }


def test_only_allow_listed_kinds(objects):
    allowed = BUILT_IN | set(CRD_SCHEMAS)
    for obj in objects:
        assert (obj["apiVersion"], obj["kind"]) in allowed, (obj["apiVersion"], obj["kind"])


def test_built_in_kinds_are_valid_kubernetes_strict(objects):
    checked = 0
    for obj in objects:
        if (obj["apiVersion"], obj["kind"]) in BUILT_IN:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
            checked += 1
    assert checked > 0


def test_custom_resources_match_their_schema(rendered_sets):
    checked: Counter[tuple[str, str]] = Counter()
    for objs in rendered_sets.values():
        for obj in objs:
            key = (obj["apiVersion"], obj["kind"])
            if key in CRD_SCHEMAS:
                jsonschema.validate(obj, CRD_SCHEMAS[key])
                checked[key] += 1
    # Every custom kind a template writes is validated at least once across the value sets.
    custom = template_kinds() - {kind for _, kind in BUILT_IN}
    assert custom, "the templates write no custom resource: nothing to check"
    assert {kind for _, kind in checked} == custom


def test_strict_validation_catches_an_unknown_field(rendered_sets):
    deployment = next(o for o in rendered_sets["defaults"] if o["kind"] == "Deployment")
    broken = {**deployment, "spec": {**deployment["spec"], "replica": 3}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_crd_schema_catches_a_wrong_field(rendered_sets):
    monitor = next(o for o in rendered_sets["defaults"] if o["kind"] == "ServiceMonitor")
    broken = {**monitor, "spec": {**monitor["spec"], "endpoint": []}}
    schema = CRD_SCHEMAS[(monitor["apiVersion"], monitor["kind"])]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


def test_kubernetes_validate_cli_strict_passes_the_rendered_built_in_objects(
    rendered_sets, tool, tmp_path
):
    objects = [
        obj
        for objs in rendered_sets.values()
        for obj in objs
        if (obj["apiVersion"], obj["kind"]) in BUILT_IN
    ]
    manifest = tmp_path / "built-in.yaml"
    manifest.write_text(yaml.safe_dump_all(objects), encoding="utf-8")
    result = subprocess.run(
        [tool("kubernetes-validate"), "--strict", "-k", KUBERNETES_VERSION, str(manifest)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count(" passed for resource ") == len(objects) > 0, result.stdout[-2000:]
