"""One Kubernetes quantity parser (test_app_tooling.quantities) for every check that reads one."""

from __future__ import annotations

from decimal import Decimal

import pytest

from test_app_tooling.quantities import QuantityError, cpu_cores, memory_bytes, quantity


@pytest.mark.parametrize(
    ("text", "exact"),
    [
        ("250m", Decimal("0.25")),
        ("1", Decimal(1)),
        ("1.5", Decimal("1.5")),
        ("512Mi", Decimal(536870912)),
        ("1Gi", Decimal(1073741824)),
        ("1G", Decimal(1000000000)),
        ("2k", Decimal(2000)),
        ("1e3", Decimal(1000)),
        ("5E-1", Decimal("0.5")),
        ("100u", Decimal("0.0001")),
        (".5", Decimal("0.5")),
    ],
)
def test_quantities_have_their_exact_value(text, exact):
    assert quantity(text, "x") == exact


def test_cpu_in_cores_and_memory_in_whole_bytes():
    assert cpu_cores("250m", "resources.requests.cpu") == 0.25
    assert cpu_cores(2, "resources.requests.cpu") == 2.0
    assert memory_bytes("1.5Ki", "resources.limits.memory") == 1536
    assert memory_bytes("1m", "resources.limits.memory") == 1  # a thousandth of a byte: rounds up


@pytest.mark.parametrize("bad", ["one", "512MB", "", "1.2.3", "Mi", True, None, "1 Gi"])
def test_a_bad_quantity_names_the_field(bad):
    with pytest.raises(QuantityError, match=r"^resources\.limits\.memory: expected a memory"):
        memory_bytes(bad, "resources.limits.memory")
