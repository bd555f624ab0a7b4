"""Rules over the add-ons' values (test_app_tooling.addon_values).

A controller with more than one replica elects a leader: External Secrets ran two replicas
without `leaderElect` (chart default false), both reconciling every ExternalSecret. External
Secrets' rights stay off the user-facing `view`/`edit` ClusterRoles.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from test_app_tooling import addon_values
from test_app_tooling.tools import REPO


def _copy_platform(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "platform", tmp_path / "platform")
    return tmp_path


def _edit(root: Path, name: str, old: str, new: str) -> None:
    path = root / "platform" / "values" / name
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{name} no longer holds {old!r}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_every_replicated_controller_elects_a_leader():
    assert addon_values.leader_election_problems() == []


def test_the_check_sees_the_replicated_controllers():
    # Two replicas each, so a clean check means each switch was looked at.
    steps = addon_values.chart_steps()
    for name in ("external-secrets", "aws-load-balancer-controller", "argo-rollouts"):
        [controller] = addon_values.CONTROLLERS[name]
        values = addon_values.step_values(steps[name])
        node: Any = values
        for key in controller.replicas.split("."):
            node = node[key]
        assert int(node) > 1, name


def test_external_secrets_without_leader_election_fails(tmp_path: Path):
    """The values as they were: two replicas, `leaderElect` unset (chart default false)."""
    root = _copy_platform(tmp_path)
    _edit(root, "external-secrets.yaml", "leaderElect: true\n", "")
    assert addon_values.leader_election_problems(root) == [
        (
            "external-secrets: replicaCount = 2 but leaderElect is unset (chart default false): "
            "every replica reconciles at once; set leaderElect: true "
            "(external-secrets/external-secrets deploy/charts/external-secrets/values.yaml)"
        )
    ]


def test_a_controller_switched_off_by_extra_args_fails(tmp_path: Path):
    root = _copy_platform(tmp_path)
    _edit(root, "cluster-autoscaler.yaml", "extraArgs:\n", "replicaCount: 2\nextraArgs:\n")
    assert addon_values.leader_election_problems(root) == []
    _edit(root, "cluster-autoscaler.yaml", "extraArgs:\n", "extraArgs:\n  leader-elect: false\n")
    [problem] = addon_values.leader_election_problems(root)
    assert problem.startswith("cluster-autoscaler: replicaCount = 2 but extraArgs.leader-elect is")


def test_an_unclassified_add_on_fails(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(addon_values, "NOT_CONTROLLERS", {"metrics-server"})
    problems = addon_values.leader_election_problems()
    assert len(problems) == 2
    assert all("neither in CONTROLLERS nor in NOT_CONTROLLERS" in p for p in problems)


def test_external_secrets_rights_are_not_aggregated_into_edit():
    assert addon_values.eso_aggregation_problems() == []


def test_the_chart_default_aggregation_fails(tmp_path: Path):
    root = _copy_platform(tmp_path)
    _edit(root, "external-secrets.yaml", "  aggregateToEdit: false\n", "")
    assert addon_values.eso_aggregation_problems(root) == [
        (
            "external-secrets: rbac.aggregateToEdit is None (chart default true): anyone bound "
            "to the user-facing ClusterRole may create SecretStores that act as the controller; "
            "set rbac.aggregateToEdit: false"
        )
    ]


def test_the_autoscaler_may_read_what_its_image_reads():
    assert addon_values.autoscaler_rbac_problems() == []


def test_the_autoscaler_values_without_the_extra_rules_fail(tmp_path: Path):
    """The values as they were: v1.36.1 on a chart whose RBAC was written for v1.35.0."""
    root = _copy_platform(tmp_path)
    path = root / "platform" / "values" / "cluster-autoscaler.yaml"
    text = path.read_text(encoding="utf-8")
    start = text.index("  ## What the v1.35+ image reads")
    end = text.index("\nextraArgs:")
    path.write_text(text[:start] + text[end + 1 :], encoding="utf-8")
    assert addon_values.autoscaler_rbac_problems(root) == [
        f"cluster-autoscaler v1.36.1: rbac.additionalRules does not grant get/list/watch on "
        f"{resource}, which it reads whatever its flags"
        for resource in (
            "deviceclasses.resource.k8s.io",
            "resourceclaims.resource.k8s.io",
            "resourceslices.resource.k8s.io",
            "volumeattachments.storage.k8s.io",
        )
    ]
