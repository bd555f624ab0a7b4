"""Kubernetes resource quantities (`250m`, `1.5`, `512Mi`, `1G`, `1e3`): one parser for all.

The grammar is Kubernetes' own (k8s.io/apimachinery `resource.Quantity`): a decimal number with
an optional binary suffix (Ki, Mi, Gi, Ti, Pi, Ei), decimal suffix (n, u, m, k, M, G, T, P, E)
or decimal exponent (`e3`, `E-2`). A value of another form is an error naming the field.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from test_app_tooling.fields import FieldError, message


QUANTITY = re.compile(
    r"^(?P<number>[+-]?(?:\d+(?:\.\d*)?|\.\d+))"
    r"(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?$"
)
SUFFIXES = {
    **{s: Decimal(1024) ** (i + 1) for i, s in enumerate(("Ki", "Mi", "Gi", "Ti", "Pi", "Ei"))},
    **{s: Decimal(1000) ** (i + 1) for i, s in enumerate(("k", "M", "G", "T", "P", "E"))},
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
}


class QuantityError(FieldError):
    """A value is not a Kubernetes quantity; the message names the field."""


def quantity(
    value: object, where: str, what: str = "a quantity like 250m, 1.5 or 512Mi"
) -> Decimal:
    """The exact value of a Kubernetes quantity (`1Ki` is 1024, `250m` is 0.25)."""
    match = QUANTITY.match(str(value).strip()) if isinstance(value, str | int | float) else None
    if match is None or isinstance(value, bool):
        raise QuantityError(message(where, what, value))
    suffix = match["suffix"] or ""
    try:
        number = Decimal(match["number"])
        scale = (
            Decimal(f"1{suffix}") if suffix[:1] in {"e", "E"} else SUFFIXES.get(suffix, Decimal(1))
        )
    except InvalidOperation:
        raise QuantityError(message(where, what, value)) from None
    return number * scale


def cpu_cores(value: object, where: str) -> float:
    """A CPU quantity in cores (`250m` is 0.25)."""
    return float(quantity(value, where, "a CPU quantity like 250m or 1"))


def memory_bytes(value: object, where: str) -> int:
    """A memory quantity in bytes (`512Mi` is 536870912); fractions of a byte round up."""
    exact = quantity(value, where, "a memory quantity like 512Mi or 1Gi")
    return int(exact.to_integral_value(rounding="ROUND_CEILING"))
