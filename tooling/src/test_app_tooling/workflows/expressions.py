"""GitHub Actions expressions (`${{ ... }}`), evaluated the way the runner does.

Only the subset the project's workflows use: literals, context properties (`vars.X`, `inputs.x`,
`steps.a.outputs.b`), index access (`vars['X']`), `!`, `==`, `!=`, `&&`, `||`, parentheses and
the functions `format`, `contains`, `startsWith`, `endsWith` and the status functions (for a
run in which every step so far succeeded).

The rules follow GitHub's documentation ("Expressions"): a missing property is `null`;
`&&`/`||` return one of their operands; `==` compares strings ignoring case and converts
operands of different types to numbers (`null` and `''` are 0); property names are matched
ignoring case. Anything outside the subset raises `ExpressionError` naming the expression.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any


TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^']|'')*')|(?P<number>-?\d+(?:\.\d+)?)"
    r"|(?P<op>==|!=|&&|\|\||[!()\[\],.])|(?P<name>[A-Za-z_][A-Za-z0-9_-]*))"
)
TEMPLATE = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)
KEYWORDS = {"true": True, "false": False, "null": None}


class ExpressionError(ValueError):
    """An expression this evaluator cannot read."""


def _tokens(text: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = TOKEN.match(text, position)
        if not match or match.end() == position:
            msg = f"cannot read expression {text!r} at {text[position:]!r}"
            raise ExpressionError(msg)
        kind = match.lastgroup or ""
        found.append((kind, match.group(kind)))
        position = match.end()
    return found


def truthy(value: Any) -> bool:  # noqa: ANN401 - any expression value
    """GitHub's truthiness: null, false, 0, NaN and '' are false."""
    if value is None or value is False or value == "":
        return False
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value != 0 and not math.isnan(value)
    return True


def _number(value: Any) -> float:  # noqa: ANN401 - any expression value
    if value is None or isinstance(value, (bool, int, float)):
        return float(value or 0)
    if isinstance(value, str):
        try:
            return float(value.strip() or 0)
        except ValueError:
            return math.nan
    return math.nan


def equal(left: Any, right: Any) -> bool:  # noqa: ANN401 - any expression values
    """`==` as GitHub evaluates it."""
    if isinstance(left, str) and isinstance(right, str):
        return left.casefold() == right.casefold()
    if type(left) is type(right) and not isinstance(left, (int, float)):
        return bool(left == right)
    return _number(left) == _number(right)


def text_of(value: Any) -> str:  # noqa: ANN401 - any expression value
    """A value as `${{ }}` interpolation and `format` write it."""
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _lookup(base: Any, key: Any) -> Any:  # noqa: ANN401 - any expression values
    if isinstance(base, Mapping):
        wanted = text_of(key).casefold()
        for name, value in base.items():
            if str(name).casefold() == wanted:
                return value
        return base.get("*") if "*" in base else None
    return None


def _format(template: str, *args: Any) -> str:  # noqa: ANN401 - any expression values
    def replace(match: re.Match[str]) -> str:
        if match.group(0) in {"{{", "}}"}:
            return match.group(0)[0]
        index = int(match.group(1))
        if index >= len(args):
            msg = f"format({template!r}) names argument {index}, got {len(args)}"
            raise ExpressionError(msg)
        return text_of(args[index])

    return re.sub(r"\{\{|\}\}|\{(\d+)\}", replace, template)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "format": lambda template, *args: _format(text_of(template), *args),
    "contains": lambda hay, needle: (
        any(equal(item, needle) for item in hay)
        if isinstance(hay, list)
        else text_of(needle).casefold() in text_of(hay).casefold()
    ),
    "startswith": lambda s, p: text_of(s).casefold().startswith(text_of(p).casefold()),
    "endswith": lambda s, p: text_of(s).casefold().endswith(text_of(p).casefold()),
    # Status functions, for a run in which every step so far succeeded (the walk of a release).
    "success": lambda: True,
    "always": lambda: True,
    "failure": lambda: False,
    "cancelled": lambda: False,
}


class _Parser:
    def __init__(self, text: str, contexts: Mapping[str, Any]) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.position = 0
        self.contexts = contexts

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (value is not None and token[1] != value):
            msg = f"expression {self.text!r}: expected {value or 'more'}, got {token}"
            raise ExpressionError(msg)
        self.position += 1
        return token

    def parse(self) -> Any:  # noqa: ANN401 - any expression value
        value = self.or_()
        if self.peek() is not None:
            msg = f"expression {self.text!r}: unexpected {self.peek()}"
            raise ExpressionError(msg)
        return value

    def or_(self) -> Any:  # noqa: ANN401
        value = self.and_()
        while self.peek() == ("op", "||"):
            self.take()
            right = self.and_()
            value = value if truthy(value) else right
        return value

    def and_(self) -> Any:  # noqa: ANN401
        value = self.comparison()
        while self.peek() == ("op", "&&"):
            self.take()
            right = self.comparison()
            value = right if truthy(value) else value
        return value

    def comparison(self) -> Any:  # noqa: ANN401
        value = self.unary()
        while self.peek() in {("op", "=="), ("op", "!=")}:
            operator = self.take()[1]
            right = self.unary()
            same = equal(value, right)
            value = same if operator == "==" else not same
        return value

    def unary(self) -> Any:  # noqa: ANN401
        if self.peek() == ("op", "!"):
            self.take()
            return not truthy(self.unary())
        return self.postfix()

    def postfix(self) -> Any:  # noqa: ANN401
        value = self.primary()
        while self.peek() in {("op", "."), ("op", "[")}:
            if self.take()[1] == ".":
                value = _lookup(value, self.take()[1])
            else:
                key = self.or_()
                self.take("]")
                value = _lookup(value, key)
        return value

    def primary(self) -> Any:  # noqa: ANN401
        kind, value = self.take()
        if kind == "string":
            return value[1:-1].replace("''", "'")
        if kind == "number":
            return float(value)
        if (kind, value) == ("op", "("):
            inner = self.or_()
            self.take(")")
            return inner
        if kind == "name":
            if value in KEYWORDS:
                return KEYWORDS[value]
            if self.peek() == ("op", "("):
                return self.call(value)
            return _lookup(self.contexts, value)
        msg = f"expression {self.text!r}: unexpected {value!r}"
        raise ExpressionError(msg)

    def call(self, name: str) -> Any:  # noqa: ANN401
        function = FUNCTIONS.get(name.casefold())
        if function is None:
            msg = f"expression {self.text!r}: function {name}() is not supported here"
            raise ExpressionError(msg)
        self.take("(")
        args = []
        while self.peek() != ("op", ")"):
            args.append(self.or_())
            if self.peek() == ("op", ","):
                self.take()
        self.take(")")
        return function(*args)


def evaluate(expression: str, contexts: Mapping[str, Any]) -> Any:  # noqa: ANN401
    """The value of one expression (without `${{ }}`)."""
    return _Parser(expression, contexts).parse()


def _whole(text: str) -> str | None:
    """The expression of a string that is one `${{ }}` and nothing else, else None."""
    found = list(TEMPLATE.finditer(text.strip()))
    if len(found) == 1 and found[0].span() == (0, len(text.strip())):
        return found[0].group(1)
    return None


def interpolate(value: Any, contexts: Mapping[str, Any]) -> Any:  # noqa: ANN401
    """A workflow value with every `${{ }}` evaluated: a whole-string expression keeps its type."""
    if not isinstance(value, str):
        return value
    whole = _whole(value)
    if whole is not None:
        return evaluate(whole, contexts)
    return TEMPLATE.sub(lambda m: text_of(evaluate(m.group(1), contexts)), value)


def condition(value: Any, contexts: Mapping[str, Any]) -> bool:  # noqa: ANN401
    """A job's or step's `if:` (written with or without `${{ }}`); absent means success()."""
    if value is None:
        return True
    if isinstance(value, bool):
        return value
    text = str(value).strip()
    whole = _whole(text)
    return truthy(evaluate(text if whole is None else whole, contexts))
