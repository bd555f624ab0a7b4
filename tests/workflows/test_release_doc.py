"""docs/release.md quotes the chart's zero-downtime settings; they must be the chart's values."""

from __future__ import annotations

import re

import pytest

from test_app_tooling.helm_render import chart_values
from test_app_tooling.tools import REPO


DOC = REPO / "docs" / "release.md"

# The doc's wording (`<key>: <n>`) -> the path of that value in values.yaml.
QUOTED = {
    "maxSurge": ("updateStrategy", "maxSurge"),
    "maxUnavailable": ("updateStrategy", "maxUnavailable"),
    "minReadySeconds": ("minReadySeconds",),
    "ingress.alb.deregistrationDelaySeconds": ("ingress", "alb", "deregistrationDelaySeconds"),
    "lifecycle.preStopSleepSeconds": ("lifecycle", "preStopSleepSeconds"),
    "app.drainSeconds": ("app", "drainSeconds"),
    "terminationGracePeriodSeconds": ("terminationGracePeriodSeconds",),
    "minAvailable": ("podDisruptionBudget", "minAvailable"),
    "replicaCount": ("replicaCount",),
}


def chart_value(path: tuple[str, ...]) -> object:
    node: object = chart_values()
    for key in path:
        assert isinstance(node, dict), f"{'.'.join(path)} is not in values.yaml"
        node = node[key]
    return node


@pytest.mark.parametrize("name", QUOTED)
def test_the_doc_quotes_the_chart_value(name):
    quoted = re.findall(rf"`(?:[\w.]+\.)?{re.escape(name)}: (\d+)`", DOC.read_text())
    assert quoted, f"docs/release.md does not quote {name}"
    assert {int(q) for q in quoted} == {chart_value(QUOTED[name])}


def test_the_grace_period_covers_the_pre_stop_sleep_and_the_drain():
    grace = chart_value(("terminationGracePeriodSeconds",))
    pre_stop = chart_value(("lifecycle", "preStopSleepSeconds"))
    drain = chart_value(("app", "drainSeconds"))
    assert isinstance(grace, int)
    assert isinstance(pre_stop, int)
    assert isinstance(drain, int)
    assert grace > pre_stop + drain
    assert f"`terminationGracePeriodSeconds: {grace}` > {pre_stop} + {drain}" in DOC.read_text()
