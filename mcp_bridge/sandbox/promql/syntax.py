"""The PromQL syntax tree, the function table and operator precedence."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import ClassVar, Literal, TypeAlias

ValueType = Literal["scalar", "vector", "matrix", "string"]
TYPE_NAMES: dict[str, str] = {
    "scalar": "scalar",
    "vector": "instant vector",
    "matrix": "range vector",
    "string": "string",
}


@dataclass(frozen=True)
class Matcher:
    """One label matcher; regexes are anchored at both ends like Prometheus'."""

    name: str
    op: MatchOp
    value: str
    regex: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    def matches(self, value: str) -> bool:
        if self.op == "=":
            return value == self.value
        if self.op == "!=":
            return value != self.value
        assert self.regex is not None
        found = self.regex.fullmatch(value) is not None
        return found if self.op == "=~" else not found


MatchOp: TypeAlias = Literal["=", "!=", "=~", "!~"]
MATCH_OPS: dict[str, MatchOp] = {"=": "=", "!=": "!=", "=~": "=~", "!~": "!~"}
AtModifier: TypeAlias = float | Literal["start", "end"] | None


@dataclass(frozen=True)
class NumberLiteral:
    value: float
    pos: int
    type: ClassVar[ValueType] = "scalar"


@dataclass(frozen=True)
class StringLiteral:
    value: str
    pos: int
    type: ClassVar[ValueType] = "string"


@dataclass(frozen=True)
class VectorSelector:
    name: str | None
    matchers: tuple[Matcher, ...]
    pos: int
    offset_ms: int = 0
    at: AtModifier = None
    type: ClassVar[ValueType] = "vector"


@dataclass(frozen=True)
class MatrixSelector:
    selector: VectorSelector
    range_ms: int
    pos: int
    type: ClassVar[ValueType] = "matrix"


@dataclass(frozen=True)
class Subquery:
    expr: Expr
    range_ms: int
    step_ms: int | None
    pos: int
    offset_ms: int = 0
    at: AtModifier = None
    type: ClassVar[ValueType] = "matrix"


@dataclass(frozen=True)
class ParenExpr:
    expr: Expr
    pos: int

    @property
    def type(self) -> ValueType:
        return self.expr.type


@dataclass(frozen=True)
class UnaryExpr:
    op: Literal["+", "-"]
    expr: Expr
    pos: int

    @property
    def type(self) -> ValueType:
        return self.expr.type


@dataclass(frozen=True)
class VectorMatching:
    card: Literal["one-to-one", "many-to-one", "one-to-many", "many-to-many"]
    on: bool
    labels: tuple[str, ...]
    include: tuple[str, ...] = ()


@dataclass(frozen=True)
class BinaryExpr:
    op: str
    lhs: Expr
    rhs: Expr
    pos: int
    return_bool: bool = False
    matching: VectorMatching | None = None
    # Stored, not derived: long operator chains would make a derived type quadratic.
    type: ValueType = field(init=False, compare=False)

    def __post_init__(self) -> None:
        both_scalar = self.lhs.type == "scalar" and self.rhs.type == "scalar"
        object.__setattr__(self, "type", "scalar" if both_scalar else "vector")


@dataclass(frozen=True)
class Call:
    func: str
    args: tuple[Expr, ...]
    pos: int

    @property
    def type(self) -> ValueType:
        return FUNCTIONS[self.func].returns


@dataclass(frozen=True)
class AggregateExpr:
    op: str
    expr: Expr
    param: Expr | None
    grouping: tuple[str, ...]
    without: bool
    pos: int
    type: ClassVar[ValueType] = "vector"


Expr: TypeAlias = (
    NumberLiteral
    | StringLiteral
    | VectorSelector
    | MatrixSelector
    | Subquery
    | ParenExpr
    | UnaryExpr
    | BinaryExpr
    | Call
    | AggregateExpr
)


@dataclass(frozen=True)
class FunctionSpec:
    args: tuple[ValueType, ...]
    returns: ValueType
    optional: int = 0  # trailing arguments that may be left out
    variadic: bool = False  # the last argument type repeats


_V: ValueType = "vector"
_M: ValueType = "matrix"
_S: ValueType = "scalar"
_STR: ValueType = "string"

FUNCTIONS: dict[str, FunctionSpec] = {
    **{
        name: FunctionSpec((_V,), _V)
        for name in (
            "abs",
            "ceil",
            "floor",
            "exp",
            "ln",
            "log2",
            "log10",
            "sqrt",
            "sgn",
            "deg",
            "rad",
            "absent",
            "timestamp",
            "sort",
            "sort_desc",
            "acos",
            "acosh",
            "asin",
            "asinh",
            "atan",
            "atanh",
            "cos",
            "cosh",
            "sin",
            "sinh",
            "tan",
            "tanh",
        )
    },
    **{
        name: FunctionSpec((_M,), _V)
        for name in (
            "rate",
            "irate",
            "increase",
            "delta",
            "idelta",
            "deriv",
            "changes",
            "resets",
            "avg_over_time",
            "min_over_time",
            "max_over_time",
            "sum_over_time",
            "count_over_time",
            "last_over_time",
            "stddev_over_time",
            "stdvar_over_time",
            "present_over_time",
            "absent_over_time",
        )
    },
    **{
        name: FunctionSpec((_V,), _V, optional=1)
        for name in (
            "day_of_month",
            "day_of_week",
            "day_of_year",
            "days_in_month",
            "hour",
            "minute",
            "month",
            "year",
        )
    },
    "clamp": FunctionSpec((_V, _S, _S), _V),
    "clamp_min": FunctionSpec((_V, _S), _V),
    "clamp_max": FunctionSpec((_V, _S), _V),
    "round": FunctionSpec((_V, _S), _V, optional=1),
    "histogram_quantile": FunctionSpec((_S, _V), _V),
    "quantile_over_time": FunctionSpec((_S, _M), _V),
    "predict_linear": FunctionSpec((_M, _S), _V),
    "holt_winters": FunctionSpec((_M, _S, _S), _V),
    "label_replace": FunctionSpec((_V, _STR, _STR, _STR, _STR), _V),
    "label_join": FunctionSpec((_V, _STR, _STR, _STR), _V, optional=1, variadic=True),
    "scalar": FunctionSpec((_V,), _S),
    "vector": FunctionSpec((_S,), _V),
    "time": FunctionSpec((), _S),
    "pi": FunctionSpec((), _S),
}
# Functions Prometheus has that this engine does not implement: named, not "unknown".
UNSUPPORTED_FUNCTIONS = {
    "histogram_count",
    "histogram_sum",
    "histogram_fraction",
    "histogram_stddev",
    "histogram_stdvar",
    "mad_over_time",
    "sort_by_label",
    "sort_by_label_desc",
    "limitk",
    "limit_ratio",
}
AGGREGATORS = {
    "sum",
    "avg",
    "count",
    "min",
    "max",
    "group",
    "stddev",
    "stdvar",
    "topk",
    "bottomk",
    "quantile",
    "count_values",
}
COMPARISONS = {"==", "!=", ">", "<", ">=", "<="}
SET_OPERATORS = {"and", "or", "unless"}
# Arithmetic drops the metric name; Prometheus 2.42 keeps it for atan2.
DROPS_METRIC_NAME = {"+", "-", "*", "/", "%", "^"}
PRECEDENCE = {
    "or": 1,
    "and": 2,
    "unless": 2,
    **dict.fromkeys(COMPARISONS, 3),
    "+": 4,
    "-": 4,
    "*": 5,
    "/": 5,
    "%": 5,
    "atan2": 5,
    "^": 6,
}
