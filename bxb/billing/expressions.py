"""Billable metric expressions, as Lago evaluates them (its Rust crate lago-expression).

A metric may compute each event's value from the event instead of reading one property:
``round((event.properties.ended_at - event.timestamp) / 3600)``. The grammar is Lago's
(expression-core/src/grammar.pest), parsed here with lark, never with ``eval``:

- numbers (``12``, ``1.5``; no exponent), strings in single quotes, ``event.timestamp``
  (Unix seconds, an integer), ``event.code`` and ``event.properties.<name>`` (a name is a
  letter then letters, digits or ``_``);
- ``+ - * /`` with the usual precedence, left-associative, a unary minus, parentheses;
- ``ceil``, ``floor``, ``round`` (an optional second argument: the decimal places, may be
  negative; ``round`` is half-up), ``concat``, ``least``, ``greatest``; a function name is
  written all lower case, all upper case or capitalized, as in Lago;
- only spaces between tokens (Lago's grammar has no other whitespace).

Arithmetic is Decimal, exact for ``+ - *``; a quotient keeps 100 significant digits (the
precision of the ``bigdecimal`` crate's division). A property holding a numeric string is a
number, any other string stays a string; arithmetic on a string, a missing property or a
division by zero is an `ExpressionEvaluationError`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import (
    ROUND_CEILING,
    ROUND_FLOOR,
    ROUND_HALF_UP,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    localcontext,
)
from functools import lru_cache
from typing import Any

from lark import Lark, Token, Tree
from lark.exceptions import LarkError

ExpressionValue = Decimal | str

_GRAMMAR = r"""
?start: sum

?sum: product
    | sum "+" product -> add
    | sum "-" product -> sub

?product: atom
    | product "*" atom -> mul
    | product "/" atom -> div

?atom: "-" primary -> neg
     | primary

?primary: function
        | VARIABLE -> variable
        | DECIMAL -> number
        | STRING -> string
        | "(" sum ")"

function: FUNCTION_NAME "(" sum ("," sum)* ")"

FUNCTION_NAME.2: /(FUNCTIONS)/
VARIABLE: /event\.(timestamp|code|properties\.[A-Za-z][A-Za-z0-9_]*)(?![A-Za-z0-9_])/
DECIMAL: /[0-9]+(\.[0-9]+)?(?![0-9.])/
STRING: /'[^']*'/

%ignore " "
"""
# Lago writes each name all lower case, all upper case or capitalized, nothing else.
_FUNCTIONS = ("ceil", "concat", "round", "floor", "least", "greatest")
_GRAMMAR = _GRAMMAR.replace(
    "FUNCTIONS", "|".join(f"{n}|{n.upper()}|{n.capitalize()}" for n in _FUNCTIONS)
)

_PARSER = Lark(_GRAMMAR, parser="lalr", maybe_placeholders=False)

# The bigdecimal crate divides to 100 significant digits; sums and products stay exact.
_CONTEXT = Context(prec=100, rounding=ROUND_HALF_UP, Emax=999_999, Emin=-999_999)
_NUMERIC_TEXT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_ROUNDING = {"ceil": ROUND_CEILING, "floor": ROUND_FLOOR, "round": ROUND_HALF_UP}


class InvalidExpressionError(ValueError):
    """The text is not an expression of Lago's grammar."""


class ExpressionEvaluationError(ValueError):
    """The expression cannot be evaluated on this event."""


@dataclass(frozen=True, slots=True)
class ExpressionEvent:
    """What an expression can read of an event."""

    code: str
    timestamp: int  # Unix seconds
    properties: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Expression:
    text: str
    tree: Tree[Token] | Token

    def evaluate(self, event: ExpressionEvent) -> ExpressionValue:
        with localcontext(_CONTEXT):
            try:
                return _evaluate(self.tree, event)
            except (DivisionByZero, InvalidOperation) as exc:
                raise ExpressionEvaluationError("the expression cannot be computed") from exc


def parse_expression(text: str) -> Expression:
    """The expression, or InvalidExpressionError (Lago's `invalid_expression`)."""
    return _parse_cached(text)


@lru_cache(maxsize=1024)
def _parse_cached(text: str) -> Expression:
    try:
        tree = _PARSER.parse(text)
    except LarkError as exc:
        raise InvalidExpressionError(str(exc).splitlines()[0]) from None
    _check_arity(tree)
    return Expression(text, tree)


def is_valid_expression(text: str) -> bool:
    try:
        parse_expression(text)
    except InvalidExpressionError:
        return False
    return True


def evaluate_expression(text: str, event: ExpressionEvent) -> ExpressionValue:
    return parse_expression(text).evaluate(event)


def value_text(value: ExpressionValue) -> str:
    """The value as Lago's server writes it (Ruby's BigDecimal#to_s): plain decimal
    notation with at least one decimal place (``13.0``, ``0.5``); strings as they are."""
    if isinstance(value, str):
        return value
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0")
        return text + "0" if text.endswith(".") else text
    return text + ".0"


def apply_rounding(value: Decimal, function: str | None, precision: int | None) -> Decimal:
    """Lago's rounding of a metric's aggregated units (ApplyRoundingService): ``round``
    (half-up), ``ceil`` or ``floor`` to ``precision`` decimal places (default 0, may be
    negative); no function: the value unchanged."""
    if not function:
        return value
    return _round(value, precision or 0, _ROUNDING[function])


# --- evaluation ---------------------------------------------------------------------------


def _check_arity(tree: Tree[Token] | Token) -> None:
    if not isinstance(tree, Tree):
        return
    if tree.data == "function":
        name = str(tree.children[0]).lower()
        if name in _ROUNDING and len(tree.children) - 1 > 2:
            raise InvalidExpressionError(f"wrong number of arguments to function {name}")
    for child in tree.children:
        _check_arity(child)


def _evaluate(node: Tree[Token] | Token, event: ExpressionEvent) -> ExpressionValue:
    assert isinstance(node, Tree)
    kind = node.data
    if kind == "number":
        return Decimal(str(node.children[0]))
    if kind == "string":
        return str(node.children[0])[1:-1]
    if kind == "variable":
        return _variable(str(node.children[0]), event)
    if kind == "neg":
        return -_number(_evaluate(node.children[0], event))
    if kind in _OPERATIONS:
        left = _number(_evaluate(node.children[0], event))
        right = _number(_evaluate(node.children[1], event))
        return _OPERATIONS[str(kind)](left, right)
    if kind == "function":
        name = str(node.children[0]).lower()
        args = [_evaluate(child, event) for child in node.children[1:]]
        return _function(name, args)
    raise AssertionError(f"unexpected node {kind}")  # pragma: no cover - the grammar's


_OPERATIONS: dict[str, Callable[[Decimal, Decimal], Decimal]] = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
}


def _function(name: str, args: Sequence[ExpressionValue]) -> ExpressionValue:
    if name == "concat":
        return "".join(value_text_plain(arg) for arg in args)
    if name in ("least", "greatest"):
        numbers = [_number(arg) for arg in args]
        return min(numbers) if name == "least" else max(numbers)
    places = 0
    if len(args) == 2:
        digits = _number(args[1])
        if digits != digits.to_integral_value():
            raise ExpressionEvaluationError("the number of decimal places must be an integer")
        places = int(digits)
    return _round(_number(args[0]), places, _ROUNDING[name])


def value_text_plain(value: ExpressionValue) -> str:
    """A value inside concat: numbers as the crate prints them (plain, as written)."""
    return value if isinstance(value, str) else format(value, "f")


def _round(value: Decimal, places: int, rounding: str) -> Decimal:
    with localcontext(_CONTEXT):
        return value.quantize(Decimal(1).scaleb(-places), rounding=rounding)


def _variable(name: str, event: ExpressionEvent) -> ExpressionValue:
    attribute = name.removeprefix("event.")
    if attribute == "timestamp":
        return Decimal(event.timestamp)
    if attribute == "code":
        return event.code
    key = attribute.removeprefix("properties.")
    if key not in event.properties:
        raise ExpressionEvaluationError(f"variable {key} not found")
    return _property(event.properties[key])


def _property(value: Any) -> ExpressionValue:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    text = "" if value is None else str(value)
    if _NUMERIC_TEXT.fullmatch(text):
        return Decimal(text)
    return text


def _number(value: ExpressionValue) -> Decimal:
    if isinstance(value, str):
        raise ExpressionEvaluationError("expected a number")
    return value
