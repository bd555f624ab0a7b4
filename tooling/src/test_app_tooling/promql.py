"""PromQL as the checks read it: the vector selectors of an expression (promql-parser)."""

from __future__ import annotations

from typing import Any

import promql_parser


# The matchers that select failures (`status!="200"`, `alertstate="firing"`): a selector that
# is empty only because of them says nothing went wrong, not that a metric is missing.
FAILURE_LABELS = frozenset({"status", "alertstate"})
_OPS = (
    (promql_parser.MatchOp.Equal, "="),
    (promql_parser.MatchOp.NotEqual, "!="),
    (promql_parser.MatchOp.Re, "=~"),
    (promql_parser.MatchOp.NotRe, "!~"),
)


def _op(op: Any) -> str:  # noqa: ANN401 - promql-parser's MatchOp (not hashable)
    return next(text for known, text in _OPS if op == known)


def selectors(node: Any) -> list[Any]:  # noqa: ANN401 - promql-parser's node classes
    """Every VectorSelector in a parsed PromQL expression."""
    if isinstance(node, promql_parser.VectorSelector):
        return [node]
    if isinstance(node, promql_parser.MatrixSelector):
        return [node.vector_selector]
    children: list[Any] = []
    if isinstance(node, promql_parser.BinaryExpr):
        children = [node.lhs, node.rhs]
    elif isinstance(node, promql_parser.AggregateExpr):
        children = [node.expr, node.param]
    elif isinstance(node, promql_parser.Call):
        children = list(node.args)
    elif isinstance(
        node, promql_parser.ParenExpr | promql_parser.UnaryExpr | promql_parser.SubqueryExpr
    ):
        children = [node.expr]
    return [s for child in children if child is not None for s in selectors(child)]


def selector_text(selector: Any, *, without: frozenset[str] = frozenset()) -> str:  # noqa: ANN401
    """The selector as PromQL, e.g. `up{job="x"}`, leaving out the matchers on `without`."""
    matchers = [
        f'{m.name}{_op(m.op)}"{m.value}"'
        for m in selector.matchers.matchers
        if m.name not in without
    ]
    return f"{selector.name}{{{','.join(matchers)}}}"


def substitute(expr: str, variables: dict[str, str]) -> str:
    """A dashboard query with its Grafana variables replaced, ready for Prometheus."""
    for variable, value in variables.items():
        expr = expr.replace(variable, value)
    return expr
