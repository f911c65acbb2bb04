"""PromQL for the sandbox: in-memory series, a parser and an evaluator for the subset SREs use.

Semantics follow Prometheus 2.42 (the version the differential test runs against); see PROMQL.md.
"""

from __future__ import annotations

import bisect
import calendar
import math
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Literal, TypeAlias

__all__ = [
    "MatrixResult",
    "PromQLEngine",
    "PromQLError",
    "QueryExecutionError",
    "QueryResult",
    "QueryTimeoutError",
    "Sample",
    "ScalarResult",
    "Series",
    "StringResult",
    "VectorResult",
    "parse",
    "parse_duration",
    "parse_selector",
]

LOOKBACK_MS = 5 * 60 * 1000
DEFAULT_SUBQUERY_STEP_MS = 60 * 1000
# Prometheus' own default is 50M; a pure-Python engine runs out of memory long before that.
DEFAULT_MAX_SAMPLES = 5_000_000
MAX_NESTING = 100

_LABEL_NAME_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_METRIC_NAME_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_DURATION_RE = re.compile(
    r"(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?"
)
_DURATION_UNITS_MS = (
    365 * 24 * 3600 * 1000,
    7 * 24 * 3600 * 1000,
    24 * 3600 * 1000,
    3600 * 1000,
    60 * 1000,
    1000,
    1,
)


# --------------------------------------------------------------------------------------------
# Errors and public data


class PromQLError(ValueError):
    """A query this engine cannot parse or run; the message names the construct and position.

    `error_type` is the Prometheus API error type the HTTP layer answers with.
    """

    error_type: ClassVar[str] = "bad_data"

    def __init__(self, message: str, position: int | None = None, query: str | None = None):
        self.message = message
        self.position = position
        if position is not None and query is not None:
            line = query.count("\n", 0, position) + 1
            column = position - (query.rfind("\n", 0, position) + 1) + 1
            text = f"{line}:{column}: parse error: {message}"
        elif position is not None:
            text = f"position {position}: parse error: {message}"
        else:
            text = message
        super().__init__(text)


class QueryExecutionError(PromQLError):
    """The query parsed but cannot be evaluated on this data (e.g. many-to-many matching)."""

    error_type = "execution"


class QueryTimeoutError(PromQLError):
    """Evaluation ran past its deadline."""

    error_type = "timeout"


@dataclass(frozen=True)
class Series:
    """One time series: labels (with `__name__`) and points in absolute epoch seconds, sorted."""

    labels: dict[str, str]
    points: tuple[tuple[float, float], ...]

    def __post_init__(self) -> None:
        for name, value in self.labels.items():
            if not _LABEL_NAME_RE.fullmatch(name):
                raise ValueError(
                    f"series {self.labels}: {name!r} is not a valid label name "
                    "(letters, digits and '_', not starting with a digit)"
                )
            if not isinstance(value, str):
                raise ValueError(f"series {self.labels}: label {name!r} must be a string")
        metric = self.labels.get("__name__")
        if metric is not None and not _METRIC_NAME_RE.fullmatch(metric):
            raise ValueError(f"series {self.labels}: {metric!r} is not a valid metric name")
        times = [point[0] for point in self.points]
        if times != sorted(times):
            raise ValueError(f"series {self.labels}: points must be sorted by time")


@dataclass(frozen=True)
class Sample:
    """One element of an instant vector."""

    labels: dict[str, str]
    value: float


@dataclass(frozen=True)
class ScalarResult:
    result_type: ClassVar[Literal["scalar"]] = "scalar"
    time: float
    value: float


@dataclass(frozen=True)
class StringResult:
    result_type: ClassVar[Literal["string"]] = "string"
    time: float
    value: str


@dataclass(frozen=True)
class VectorResult:
    result_type: ClassVar[Literal["vector"]] = "vector"
    time: float
    samples: list[Sample]


@dataclass(frozen=True)
class MatrixResult:
    result_type: ClassVar[Literal["matrix"]] = "matrix"
    series: list[Series]


QueryResult: TypeAlias = ScalarResult | StringResult | VectorResult | MatrixResult


def parse_duration(text: str) -> int:
    """A Prometheus duration (`1h30m`, `90s`, `5m`) in milliseconds; raises PromQLError."""
    match = _DURATION_RE.fullmatch(text)
    if text == "0":
        return 0
    if not text or match is None:
        raise PromQLError(f"not a valid duration string: {text!r}")
    return sum(
        int(g) * unit for g, unit in zip(match.groups(), _DURATION_UNITS_MS, strict=True) if g
    )


# --------------------------------------------------------------------------------------------
# Lexer


@dataclass(frozen=True)
class _Token:
    kind: str  # NUMBER DURATION STRING IDENT EOF, a lower-case keyword, or the operator itself
    text: str
    pos: int
    number: float = 0.0


_KEYWORDS = {
    "and",
    "or",
    "unless",
    "atan2",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "offset",
}
_AGGREGATORS = {
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
_OPERATORS_2 = ("==", "!=", "<=", ">=", "=~", "!~")
_OPERATORS_1 = "+-*/%^<>=(){}[],:@"
_NUMBER_RE = re.compile(r"0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_DURATION_TOKEN_RE = re.compile(r"(?:\d+(?:ms|[smhdwy]))+")
_ESCAPES = {
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
}


def _lex(query: str) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    n = len(query)
    brace_depth = 0
    bracket_depth = 0
    while i < n:
        c = query[i]
        if c.isspace():
            i += 1
            continue
        if c == "#":
            end = query.find("\n", i)
            i = n if end < 0 else end
            continue
        if c.isdigit() or (c == "." and i + 1 < n and query[i + 1].isdigit()):
            duration = _DURATION_TOKEN_RE.match(query, i)
            if duration and not _continues_word(query, duration.end()):
                text = duration.group()
                if not _DURATION_RE.fullmatch(text):
                    raise PromQLError(f"not a valid duration string: {text!r}", i, query)
                tokens.append(_Token("DURATION", text, i, float(parse_duration(text))))
                i = duration.end()
                continue
            number = _NUMBER_RE.match(query, i)
            if number is None or _continues_word(query, number.end()):
                raise PromQLError("bad number or duration syntax", i, query)
            text = number.group()
            value = float(int(text, 16)) if text[:2] in ("0x", "0X") else float(text)
            tokens.append(_Token("NUMBER", text, i, value))
            i = number.end()
            continue
        if c.isalpha() or c == "_" or (c == ":" and brace_depth == 0 and bracket_depth == 0):
            j = i + 1
            in_selector = brace_depth > 0 or bracket_depth > 0
            while j < n and (
                query[j].isalnum() or query[j] == "_" or (query[j] == ":" and not in_selector)
            ):
                j += 1
            word = query[i:j]
            if not word.isascii():
                raise PromQLError(f"unexpected character in identifier {word!r}", i, query)
            lower = word.lower()
            if brace_depth > 0:
                tokens.append(_Token("IDENT", word, i))
            elif lower in ("inf", "nan"):
                tokens.append(_Token("NUMBER", word, i, float(lower)))
            elif lower in _KEYWORDS:
                tokens.append(_Token(lower, word, i))
            else:
                tokens.append(_Token("IDENT", word, i))
            i = j
            continue
        if c in "\"'`":
            string, end = _lex_string(query, i)
            tokens.append(_Token("STRING", string, i))
            i = end
            continue
        two = query[i : i + 2]
        if two in _OPERATORS_2:
            tokens.append(_Token(two, two, i))
            i += 2
            continue
        if c in _OPERATORS_1:
            if c == "{":
                brace_depth += 1
            elif c == "}":
                brace_depth = max(0, brace_depth - 1)
            elif c == "[":
                bracket_depth += 1
            elif c == "]":
                bracket_depth = max(0, bracket_depth - 1)
            tokens.append(_Token(c, c, i))
            i += 1
            continue
        raise PromQLError(f"unexpected character: {c!r}", i, query)
    tokens.append(_Token("EOF", "", n))
    return tokens


def _continues_word(query: str, index: int) -> bool:
    return index < len(query) and (query[index].isalnum() or query[index] in "_.")


def _lex_string(query: str, start: int) -> tuple[str, int]:
    quote = query[start]
    i = start + 1
    n = len(query)
    if quote == "`":
        end = query.find("`", i)
        if end < 0:
            raise PromQLError("unterminated raw string", start, query)
        return query[i:end], end + 1
    out: list[str] = []
    while i < n:
        c = query[i]
        if c == quote:
            return "".join(out), i + 1
        if c == "\n":
            break
        if c != "\\":
            out.append(c)
            i += 1
            continue
        if i + 1 >= n:
            break
        e = query[i + 1]
        if e in _ESCAPES:
            out.append(_ESCAPES[e])
            i += 2
        elif e == quote:
            out.append(e)
            i += 2
        elif e in "xuU":
            width = {"x": 2, "u": 4, "U": 8}[e]
            digits = query[i + 2 : i + 2 + width]
            if len(digits) != width or not all(d in "0123456789abcdefABCDEF" for d in digits):
                raise PromQLError(f"invalid escape sequence \\{e}{digits}", i, query)
            code = int(digits, 16)
            if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                raise PromQLError(f"escape sequence \\{e}{digits} is not a valid code point", i)
            out.append(chr(code))
            i += 2 + width
        elif e in "01234567":
            digits = query[i + 1 : i + 4]
            if len(digits) != 3 or not all(d in "01234567" for d in digits) or int(digits, 8) > 255:
                raise PromQLError(f"invalid octal escape sequence \\{digits}", i, query)
            out.append(chr(int(digits, 8)))
            i += 4
        else:
            raise PromQLError(f"unknown escape sequence \\{e}", i, query)
    raise PromQLError("unterminated quoted string", start, query)


# --------------------------------------------------------------------------------------------
# Syntax tree

ValueType = Literal["scalar", "vector", "matrix", "string"]
_TYPE_NAMES: dict[str, str] = {
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
_MATCH_OPS: dict[str, MatchOp] = {"=": "=", "!=": "!=", "=~": "=~", "!~": "!~"}
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

    @property
    def type(self) -> ValueType:
        if self.lhs.type == "scalar" and self.rhs.type == "scalar":
            return "scalar"
        return "vector"


@dataclass(frozen=True)
class Call:
    func: str
    args: tuple[Expr, ...]
    pos: int

    @property
    def type(self) -> ValueType:
        return _FUNCTIONS[self.func].returns


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
class _FunctionSpec:
    args: tuple[ValueType, ...]
    returns: ValueType
    optional: int = 0  # trailing arguments that may be left out
    variadic: bool = False  # the last argument type repeats


_V: ValueType = "vector"
_M: ValueType = "matrix"
_S: ValueType = "scalar"
_STR: ValueType = "string"

_FUNCTIONS: dict[str, _FunctionSpec] = {
    **{
        name: _FunctionSpec((_V,), _V)
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
        name: _FunctionSpec((_M,), _V)
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
        name: _FunctionSpec((_V,), _V, optional=1)
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
    "clamp": _FunctionSpec((_V, _S, _S), _V),
    "clamp_min": _FunctionSpec((_V, _S), _V),
    "clamp_max": _FunctionSpec((_V, _S), _V),
    "round": _FunctionSpec((_V, _S), _V, optional=1),
    "histogram_quantile": _FunctionSpec((_S, _V), _V),
    "quantile_over_time": _FunctionSpec((_S, _M), _V),
    "predict_linear": _FunctionSpec((_M, _S), _V),
    "holt_winters": _FunctionSpec((_M, _S, _S), _V),
    "label_replace": _FunctionSpec((_V, _STR, _STR, _STR, _STR), _V),
    "label_join": _FunctionSpec((_V, _STR, _STR, _STR), _V, optional=1, variadic=True),
    "scalar": _FunctionSpec((_V,), _S),
    "vector": _FunctionSpec((_S,), _V),
    "time": _FunctionSpec((), _S),
    "pi": _FunctionSpec((), _S),
}
# Functions Prometheus has that this engine does not implement: named, not "unknown".
_UNSUPPORTED_FUNCTIONS = {
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
_COMPARISONS = {"==", "!=", ">", "<", ">=", "<="}
_SET_OPERATORS = {"and", "or", "unless"}
# Arithmetic drops the metric name; Prometheus 2.42 keeps it for atan2.
_DROPS_METRIC_NAME = {"+", "-", "*", "/", "%", "^"}
_PRECEDENCE = {
    "or": 1,
    "and": 2,
    "unless": 2,
    **dict.fromkeys(_COMPARISONS, 3),
    "+": 4,
    "-": 4,
    "*": 5,
    "/": 5,
    "%": 5,
    "atan2": 5,
    "^": 6,
}


# --------------------------------------------------------------------------------------------
# Parser (precedence climbing)


def parse(query: str) -> Expr:
    """Parse a PromQL expression; raises PromQLError with the position of the problem."""
    return _Parser(query).parse_query()


def parse_selector(text: str) -> VectorSelector:
    """Parse a series selector as `/api/v1/series` takes it (`up{job="x"}`, `{__name__=~"a.*"}`)."""
    expr = parse(text)
    if not isinstance(expr, VectorSelector) or expr.offset_ms or expr.at is not None:
        raise PromQLError(f'expected a series selector like up{{job="x"}}, got {text!r}')
    return expr


class _Parser:
    def __init__(self, query: str) -> None:
        self.query = query
        self.tokens = _lex(query)
        self.i = 0
        self.depth = 0

    # -- token helpers
    @property
    def tok(self) -> _Token:
        return self.tokens[self.i]

    def peek(self, ahead: int = 1) -> _Token:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def advance(self) -> _Token:
        token = self.tokens[self.i]
        if token.kind != "EOF":
            self.i += 1
        return token

    def error(self, message: str, pos: int | None = None) -> PromQLError:
        return PromQLError(message, self.tok.pos if pos is None else pos, self.query)

    def unexpected(self, context: str = "") -> PromQLError:
        token = self.tok
        what = "end of input" if token.kind == "EOF" else _describe(token)
        return self.error(f"unexpected {what}{context}")

    def expect(self, kind: str, context: str) -> _Token:
        if self.tok.kind != kind:
            raise self.unexpected(f" {context}")
        return self.advance()

    # -- grammar
    def parse_query(self) -> Expr:
        if self.tok.kind == "EOF":
            raise self.error("no expression found in input")
        expr = self.expr(0)
        if self.tok.kind != "EOF":
            raise self.unexpected("")
        return expr

    def expr(self, min_precedence: int) -> Expr:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise self.error(f"expression nested more than {MAX_NESTING} levels deep")
        lhs = self.unary()
        while True:
            op = self.tok.kind
            precedence = _PRECEDENCE.get(op)
            if precedence is None or precedence < min_precedence:
                break
            op_pos = self.advance().pos
            return_bool, matching = self.binary_modifiers(op)
            next_min = precedence if op == "^" else precedence + 1
            rhs = self.expr(next_min)
            lhs = self.check_binary(op, lhs, rhs, op_pos, return_bool, matching)
        self.depth -= 1
        return lhs

    def unary(self) -> Expr:
        if self.tok.kind in ("+", "-"):
            token = self.advance()
            # Unary operators bind like multiplication: -a^b is -(a^b), -a*b is (-a)*b.
            operand = self.expr(_PRECEDENCE["^"])
            if operand.type not in ("scalar", "vector"):
                raise self.error(
                    "unary expression only allowed on expressions of type scalar or instant "
                    f"vector, got {_TYPE_NAMES[operand.type]}",
                    token.pos,
                )
            if isinstance(operand, NumberLiteral):
                value = -operand.value if token.kind == "-" else operand.value
                return NumberLiteral(value, token.pos)
            return UnaryExpr("-" if token.kind == "-" else "+", operand, token.pos)
        return self.postfix(self.primary())

    def binary_modifiers(self, op: str) -> tuple[bool, VectorMatching | None]:
        return_bool = False
        if self.tok.kind == "bool":
            if op not in _COMPARISONS:
                raise self.error("bool modifier can only be used on comparison operators")
            self.advance()
            return_bool = True
        if self.tok.kind not in ("on", "ignoring"):
            if self.tok.kind in ("group_left", "group_right"):
                raise self.error(f"{self.tok.text} must follow on(...) or ignoring(...)")
            card: Literal["one-to-one", "many-to-many"] = (
                "many-to-many" if op in _SET_OPERATORS else "one-to-one"
            )
            return return_bool, VectorMatching(card, False, ())
        on = self.advance().kind == "on"
        labels = self.label_list()
        matching = VectorMatching(
            "many-to-many" if op in _SET_OPERATORS else "one-to-one", on, tuple(labels)
        )
        if self.tok.kind in ("group_left", "group_right"):
            group = self.advance()
            if op in _SET_OPERATORS:
                raise self.error(f"no grouping allowed for {op!r} operation", group.pos)
            include: list[str] = self.label_list() if self.tok.kind == "(" else []
            for name in include:
                if on and name in labels:
                    raise self.error(
                        f"label {name!r} must not occur in ON and GROUP clause at once", group.pos
                    )
            matching = VectorMatching(
                "many-to-one" if group.kind == "group_left" else "one-to-many",
                on,
                tuple(labels),
                tuple(include),
            )
        return return_bool, matching

    def label_list(self) -> list[str]:
        self.expect("(", 'in grouping opts, expected "("')
        labels: list[str] = []
        while self.tok.kind != ")":
            token = self.tok
            if token.kind == "IDENT" or token.kind in _KEYWORDS:
                if not _LABEL_NAME_RE.fullmatch(token.text):
                    raise self.error(f"invalid label name {token.text!r} in grouping opts")
                labels.append(token.text)
                self.advance()
            else:
                raise self.unexpected(" in grouping opts, expected label")
            if self.tok.kind == ",":
                self.advance()
            elif self.tok.kind != ")":
                raise self.unexpected(' in grouping opts, expected "," or ")"')
        self.advance()
        return labels

    def check_binary(
        self,
        op: str,
        lhs: Expr,
        rhs: Expr,
        pos: int,
        return_bool: bool,
        matching: VectorMatching | None,
    ) -> BinaryExpr:
        for side in (lhs, rhs):
            if side.type not in ("scalar", "vector"):
                raise self.error(
                    "binary expression must contain only scalar and instant vector types", pos
                )
        both_vectors = lhs.type == "vector" and rhs.type == "vector"
        if op in _COMPARISONS and not return_bool and lhs.type == rhs.type == "scalar":
            raise self.error("comparisons between scalars must use BOOL modifier", pos)
        if op in _SET_OPERATORS and not both_vectors:
            raise self.error(f"set operator {op!r} not allowed in binary scalar expression", pos)
        if not both_vectors:
            assert matching is not None
            if matching.on or matching.labels or matching.card != "one-to-one":
                raise self.error("vector matching only allowed between instant vectors", pos)
            matching = None
        return BinaryExpr(op, lhs, rhs, pos, return_bool, matching)

    def primary(self) -> Expr:
        token = self.tok
        if token.kind == "NUMBER":
            self.advance()
            return NumberLiteral(token.number, token.pos)
        if token.kind == "DURATION":
            raise self.error(
                f"unexpected duration {token.text!r}: durations belong inside [...] or after offset"
            )
        if token.kind == "STRING":
            self.advance()
            return StringLiteral(token.text, token.pos)
        if token.kind == "(":
            self.advance()
            inner = self.expr(0)
            self.expect(")", 'in paren expression, expected ")"')
            return ParenExpr(inner, token.pos)
        if token.kind == "{":
            return self.vector_selector(None, token.pos)
        if token.kind == "IDENT":
            lower = token.text.lower()
            following = self.peek().kind
            if lower in _AGGREGATORS and following in ("(", "by", "without"):
                return self.aggregation()
            if following == "(":
                return self.call()
            self.advance()
            return self.vector_selector(token.text, token.pos)
        raise self.unexpected("")

    def postfix(self, expr: Expr) -> Expr:
        while True:
            kind = self.tok.kind
            if kind == "[":
                expr = self.range_or_subquery(expr)
            elif kind == "offset":
                expr = self.offset(expr)
            elif kind == "@":
                expr = self.at(expr)
            else:
                return expr

    def range_or_subquery(self, expr: Expr) -> Expr:
        start = self.advance()
        range_ms = self.duration("in range selector")
        if self.tok.kind == "]":
            self.advance()
            if isinstance(expr, VectorSelector):
                if expr.offset_ms or expr.at is not None:
                    raise self.error(
                        "no offset or @ modifiers allowed before a range: write x[5m] offset 1h",
                        start.pos,
                    )
                return MatrixSelector(expr, range_ms, expr.pos)
            raise self.error(
                "ranges only allowed for vector selectors (use a subquery: (expr)[5m:1m])",
                start.pos,
            )
        if self.tok.kind != ":":
            raise self.unexpected(' in range selector, expected "]" or ":"')
        self.advance()
        step_ms: int | None = None
        if self.tok.kind != "]":
            step_ms = self.duration("in subquery step")
            if step_ms <= 0:
                raise self.error("zero or negative subquery step is not allowed", start.pos)
        self.expect("]", 'in subquery, expected "]"')
        if expr.type != "vector":
            raise self.error(
                f"subquery is only allowed on instant vector, got {_TYPE_NAMES[expr.type]}",
                start.pos,
            )
        return Subquery(expr, range_ms, step_ms, expr_pos(expr))

    def duration(self, context: str) -> int:
        token = self.tok
        if token.kind == "DURATION":
            self.advance()
            value = int(token.number)
        elif token.kind == "NUMBER" and token.text.isdigit() and token.text == "0":
            self.advance()
            value = 0
        else:
            raise self.unexpected(f" {context}, expected a duration like 5m")
        if value <= 0 and context == "in range selector":
            raise self.error("range selector duration must be greater than zero", token.pos)
        return value

    def offset(self, expr: Expr) -> Expr:
        token = self.advance()
        sign = 1
        if self.tok.kind in ("+", "-"):
            sign = -1 if self.advance().kind == "-" else 1
        offset_ms = sign * self.duration("in offset")
        target = expr.selector if isinstance(expr, MatrixSelector) else expr
        if not isinstance(target, VectorSelector | Subquery):
            raise self.error(
                "offset modifier must be preceded by an instant vector selector or range vector "
                "selector or a subquery",
                token.pos,
            )
        if target.offset_ms:
            raise self.error("offset may not be set multiple times", token.pos)
        if isinstance(expr, MatrixSelector):
            return MatrixSelector(
                _replace_selector(expr.selector, offset_ms=offset_ms), expr.range_ms, expr.pos
            )
        if isinstance(expr, VectorSelector):
            return _replace_selector(expr, offset_ms=offset_ms)
        assert isinstance(expr, Subquery)
        return Subquery(expr.expr, expr.range_ms, expr.step_ms, expr.pos, offset_ms, expr.at)

    def at(self, expr: Expr) -> Expr:
        token = self.advance()
        at: AtModifier
        if self.tok.kind == "IDENT" and self.tok.text in ("start", "end"):
            name = self.advance().text
            self.expect("(", f'after {name}, expected "("')
            self.expect(")", f'after {name}(, expected ")"')
            at = "start" if name == "start" else "end"
        else:
            sign = 1.0
            if self.tok.kind in ("+", "-"):
                sign = -1.0 if self.advance().kind == "-" else 1.0
            if self.tok.kind != "NUMBER":
                raise self.unexpected(" after @, expected a unix timestamp, start() or end()")
            value = sign * self.advance().number
            if not math.isfinite(value):
                raise self.error("timestamp out of bounds for @ modifier", token.pos)
            at = value
        target = expr.selector if isinstance(expr, MatrixSelector) else expr
        if not isinstance(target, VectorSelector | Subquery):
            raise self.error(
                "@ modifier must be preceded by an instant vector selector or range vector "
                "selector or a subquery",
                token.pos,
            )
        if target.at is not None:
            raise self.error("@ <timestamp> may not be set multiple times", token.pos)
        if isinstance(expr, MatrixSelector):
            return MatrixSelector(_replace_selector(expr.selector, at=at), expr.range_ms, expr.pos)
        if isinstance(expr, VectorSelector):
            return _replace_selector(expr, at=at)
        assert isinstance(expr, Subquery)
        return Subquery(expr.expr, expr.range_ms, expr.step_ms, expr.pos, expr.offset_ms, at)

    def vector_selector(self, name: str | None, pos: int) -> VectorSelector:
        matchers: list[Matcher] = []
        if name is not None:
            matchers.append(Matcher("__name__", "=", name))
        if self.tok.kind == "{":
            self.advance()
            while self.tok.kind != "}":
                matchers.append(self.matcher(name))
                if self.tok.kind == ",":
                    self.advance()
                elif self.tok.kind != "}":
                    raise self.unexpected(' in label matching, expected "," or "}"')
            self.advance()
        if not any(not m.matches("") for m in matchers):
            raise self.error("vector selector must contain at least one non-empty matcher", pos)
        return VectorSelector(name, tuple(matchers), pos)

    def matcher(self, metric: str | None) -> Matcher:
        token = self.tok
        if token.kind != "IDENT":
            raise self.unexpected(" in label matching, expected label name")
        self.advance()
        op = self.tok.kind
        if op not in ("=", "!=", "=~", "!~"):
            raise self.unexpected(" in label matching, expected one of =, !=, =~, !~")
        self.advance()
        value = self.tok
        if value.kind != "STRING":
            raise self.unexpected(" in label matching, expected string")
        self.advance()
        if token.text == "__name__" and metric is not None:
            raise self.error(
                f"metric name must not be set twice: {metric!r} or {value.text!r}", token.pos
            )
        regex = None
        if op in ("=~", "!~"):
            try:
                regex = re.compile(f"(?:{value.text})")
            except re.error as exc:
                message = f"invalid regular expression {value.text!r}: {exc}"
                raise self.error(message, value.pos) from exc
        return Matcher(token.text, _MATCH_OPS[op], value.text, regex)

    def aggregation(self) -> AggregateExpr:
        token = self.advance()
        op = token.text.lower()
        grouping: list[str] = []
        without = False
        have_grouping = False
        if self.tok.kind in ("by", "without"):
            without = self.advance().kind == "without"
            grouping = self.label_list()
            have_grouping = True
        self.expect("(", f'in aggregation {op}, expected "("')
        args: list[Expr] = []
        while self.tok.kind != ")":
            args.append(self.expr(0))
            if self.tok.kind == ",":
                self.advance()
            elif self.tok.kind != ")":
                raise self.unexpected(f' in aggregation {op}, expected "," or ")"')
        self.advance()
        if self.tok.kind in ("by", "without"):
            if have_grouping:
                raise self.error(f"{op} has two grouping clauses")
            without = self.advance().kind == "without"
            grouping = self.label_list()
        if op == "count_values":
            raise self.error("aggregation count_values is not supported by this engine", token.pos)
        wants_param = op in ("topk", "bottomk", "quantile")
        expected = 2 if wants_param else 1
        if len(args) != expected:
            raise self.error(
                f"wrong number of arguments for aggregate expression provided, expected "
                f"{expected}, got {len(args)}",
                token.pos,
            )
        param = args[0] if wants_param else None
        expr = args[-1]
        if param is not None and param.type != "scalar":
            raise self.error(
                f"expected type scalar in aggregation parameter, got {_TYPE_NAMES[param.type]}",
                expr_pos(param),
            )
        if expr.type != "vector":
            raise self.error(
                "expected type instant vector in aggregation expression, got "
                f"{_TYPE_NAMES[expr.type]}",
                expr_pos(expr),
            )
        return AggregateExpr(op, expr, param, tuple(grouping), without, token.pos)

    def call(self) -> Call:
        token = self.advance()
        name = token.text
        if name in _UNSUPPORTED_FUNCTIONS:
            raise self.error(f"function {name!r} is not supported by this engine", token.pos)
        spec = _FUNCTIONS.get(name)
        if spec is None:
            raise self.error(f"unknown function with name {name!r}", token.pos)
        self.advance()  # "("
        args: list[Expr] = []
        while self.tok.kind != ")":
            args.append(self.expr(0))
            if self.tok.kind == ",":
                self.advance()
            elif self.tok.kind != ")":
                raise self.unexpected(f' in call to {name}, expected "," or ")"')
        self.advance()
        least = len(spec.args) - spec.optional
        if len(args) < least or (len(args) > len(spec.args) and not spec.variadic):
            expected = str(least) if not spec.optional else f"{least} to {len(spec.args)}"
            if spec.variadic:
                expected = f"at least {least}"
            raise self.error(
                f"expected {expected} argument(s) in call to {name!r}, got {len(args)}", token.pos
            )
        for index, arg in enumerate(args):
            wanted = spec.args[min(index, len(spec.args) - 1)]
            if arg.type != wanted:
                raise self.error(
                    f"expected type {_TYPE_NAMES[wanted]} in call to function {name!r}, got "
                    f"{_TYPE_NAMES[arg.type]}",
                    expr_pos(arg),
                )
        return Call(name, tuple(args), token.pos)


def _describe(token: _Token) -> str:
    if token.kind == "IDENT":
        return f"identifier {token.text!r}"
    if token.kind in ("NUMBER", "DURATION"):
        return f"{token.kind.lower()} {token.text!r}"
    if token.kind == "STRING":
        return f"string {token.text!r}"
    return repr(token.text)


def expr_pos(expr: Expr) -> int:
    """Where an expression starts in the query text."""
    return expr.pos


def _replace_selector(
    selector: VectorSelector, *, offset_ms: int | None = None, at: AtModifier = None
) -> VectorSelector:
    return VectorSelector(
        selector.name,
        selector.matchers,
        selector.pos,
        selector.offset_ms if offset_ms is None else offset_ms,
        selector.at if at is None else at,
    )


# --------------------------------------------------------------------------------------------
# Storage

LabelKey: TypeAlias = tuple[tuple[str, str], ...]


def _key(labels: dict[str, str]) -> LabelKey:
    return tuple(sorted(labels.items()))


def _labels_text(labels: dict[str, str]) -> str:
    inner = ", ".join(f'{name}="{value}"' for name, value in sorted(labels.items()))
    return "{" + inner + "}"


class _Stored:
    """A series as the engine reads it: integer millisecond times, parallel value list."""

    __slots__ = ("key", "labels", "times", "values")

    def __init__(self, labels: dict[str, str], times: list[int], values: list[float]) -> None:
        self.labels = labels
        self.key = _key(labels)
        self.times = times
        self.values = values


class _SeriesIndex:
    def __init__(self, series: Iterable[Series]) -> None:
        merged: dict[LabelKey, dict[int, float]] = {}
        labels_of: dict[LabelKey, dict[str, str]] = {}
        for one in series:
            # Empty label values mean "no such label" in Prometheus.
            labels = {k: v for k, v in one.labels.items() if v != ""}
            key = _key(labels)
            labels_of[key] = labels
            points = merged.setdefault(key, {})
            for t, v in one.points:
                points[round(t * 1000)] = float(v)
        self.series: list[_Stored] = []
        for key in sorted(merged):
            points = merged[key]
            times = sorted(points)
            self.series.append(_Stored(labels_of[key], times, [points[t] for t in times]))
        self.by_name: dict[str, list[_Stored]] = {}
        for stored in self.series:
            self.by_name.setdefault(stored.labels.get("__name__", ""), []).append(stored)

    def select(self, matchers: Sequence[Matcher]) -> list[_Stored]:
        candidates = self.series
        for m in matchers:
            if m.name == "__name__" and m.op == "=":
                candidates = self.by_name.get(m.value, [])
                break
        return [s for s in candidates if all(m.matches(s.labels.get(m.name, "")) for m in matchers)]


# --------------------------------------------------------------------------------------------
# Evaluation


class _Scalar:
    __slots__ = ("values",)

    def __init__(self, values: list[float]) -> None:
        self.values = values


class _String:
    __slots__ = ("value",)

    def __init__(self, value: str) -> None:
        self.value = value


class _Row:
    """One output series across all evaluation steps; None where it has no sample."""

    __slots__ = ("_key", "labels", "values")

    def __init__(self, labels: dict[str, str], values: list[float | None]) -> None:
        self.labels = labels
        self.values = values
        self._key: LabelKey | None = None

    @property
    def key(self) -> LabelKey:
        if self._key is None:
            self._key = _key(self.labels)
        return self._key


class _Vector:
    __slots__ = ("rows",)

    def __init__(self, rows: list[_Row]) -> None:
        self.rows = rows


_Value: TypeAlias = _Scalar | _String | _Vector


class _RangeRow:
    """Samples of one series that a range function windows over."""

    __slots__ = ("labels", "times", "values")

    def __init__(self, labels: dict[str, str], times: list[int], values: list[float]) -> None:
        self.labels = labels
        self.times = times
        self.values = values


def _drop_name(labels: dict[str, str]) -> dict[str, str]:
    if "__name__" not in labels:
        return labels
    return {k: v for k, v in labels.items() if k != "__name__"}


class PromQLEngine:
    """Runs PromQL over a fixed set of in-memory series (the sandbox's Prometheus)."""

    def __init__(
        self,
        series: Iterable[Series],
        *,
        lookback_s: float = LOOKBACK_MS / 1000,
        max_samples: int = DEFAULT_MAX_SAMPLES,
    ) -> None:
        self._index = _SeriesIndex(series)
        self.lookback_ms = round(lookback_s * 1000)
        self.max_samples = max_samples

    def instant_query(
        self, query: str, time_s: float, *, timeout_s: float | None = None
    ) -> QueryResult:
        """Evaluate `query` at one moment, like GET /api/v1/query."""
        expr = parse(query)
        at = round(time_s * 1000)
        evaluator = _Evaluator(self, [at], at, at, _deadline(timeout_s))
        if isinstance(expr, MatrixSelector | Subquery):
            rows = evaluator.range_rows(expr)
            out = [
                Series(
                    row.labels,
                    tuple((t / 1000, v) for t, v in zip(row.times, row.values, strict=True)),
                )
                for row in rows
                if row.times
            ]
            return MatrixResult(out)
        value = evaluator.eval(expr)
        if isinstance(value, _Scalar):
            return ScalarResult(at / 1000, value.values[0])
        if isinstance(value, _String):
            return StringResult(at / 1000, value.value)
        samples = [Sample(row.labels, v) for row in value.rows if (v := row.values[0]) is not None]
        return VectorResult(at / 1000, samples)

    def range_query(
        self,
        query: str,
        start_s: float,
        end_s: float,
        step_s: float,
        *,
        timeout_s: float | None = None,
    ) -> MatrixResult:
        """Evaluate `query` at every step from start to end, like GET /api/v1/query_range."""
        expr = parse(query)
        if expr.type not in ("scalar", "vector"):
            raise PromQLError(
                f"invalid expression type {_TYPE_NAMES[expr.type]!r} for range query, must be "
                "Scalar or instant Vector"
            )
        start, end, step = round(start_s * 1000), round(end_s * 1000), round(step_s * 1000)
        if step <= 0:
            raise PromQLError("zero or negative query resolution step widths are not accepted")
        if end < start:
            raise PromQLError("end timestamp must not be before start time")
        steps = list(range(start, end + 1, step))
        evaluator = _Evaluator(self, steps, start, end, _deadline(timeout_s))
        value = evaluator.eval(expr)
        if isinstance(value, _Scalar):
            scalar_values: list[float | None] = list(value.values)
            rows = [_Row({}, scalar_values)]
        elif isinstance(value, _Vector):
            rows = value.rows
        else:  # pragma: no cover - type-checked by the parser
            raise PromQLError("string expressions cannot be used in range queries")
        out: list[Series] = []
        for row in rows:
            points = tuple(
                (t / 1000, v) for t, v in zip(steps, row.values, strict=True) if v is not None
            )
            if points:
                out.append(Series(row.labels, points))
        out.sort(key=lambda s: _key(s.labels))
        return MatrixResult(out)

    def series(
        self, selectors: Sequence[str], start_s: float | None, end_s: float | None
    ) -> list[dict[str, str]]:
        """Label sets of the series any selector matches with samples in [start, end]."""
        return [s.labels for s in self._matching(selectors, start_s, end_s)]

    def label_names(
        self, selectors: Sequence[str], start_s: float | None, end_s: float | None
    ) -> list[str]:
        names: set[str] = set()
        for stored in self._matching(selectors, start_s, end_s):
            names.update(stored.labels)
        return sorted(names)

    def label_values(
        self, name: str, selectors: Sequence[str], start_s: float | None, end_s: float | None
    ) -> list[str]:
        values = {
            v
            for stored in self._matching(selectors, start_s, end_s)
            if (v := stored.labels.get(name)) is not None
        }
        return sorted(values)

    def _matching(
        self, selectors: Sequence[str], start_s: float | None, end_s: float | None
    ) -> list[_Stored]:
        if selectors:
            found: dict[LabelKey, _Stored] = {}
            for text in selectors:
                for stored in self._index.select(parse_selector(text).matchers):
                    found[stored.key] = stored
            candidates = [found[k] for k in sorted(found)]
        else:
            candidates = self._index.series
        lo = -math.inf if start_s is None else start_s * 1000
        hi = math.inf if end_s is None else end_s * 1000
        return [s for s in candidates if _has_point_between(s.times, lo, hi)]


def _has_point_between(times: list[int], lo: float, hi: float) -> bool:
    index = bisect.bisect_left(times, lo)
    return index < len(times) and times[index] <= hi


def _deadline(timeout_s: float | None) -> float:
    return math.inf if timeout_s is None else time.monotonic() + timeout_s


RangeFunction: TypeAlias = Callable[
    [list[int], list[float], int, int, int, int, int, Sequence[float]], float | None
]


class _Evaluator:
    def __init__(
        self,
        engine: PromQLEngine,
        steps: list[int],
        query_start: int,
        query_end: int,
        deadline: float,
    ) -> None:
        self.engine = engine
        self.steps = steps
        self.query_start = query_start
        self.query_end = query_end
        self.deadline = deadline

    # -- guards
    def check(self, produced: int = 0) -> None:
        if time.monotonic() > self.deadline:
            raise QueryTimeoutError("query timed out in expression evaluation")
        if produced > self.engine.max_samples:
            raise QueryExecutionError(
                "query processing would load too many samples into memory in query execution "
                f"(more than {self.engine.max_samples}); narrow the selector or use a larger step"
            )

    def vector(self, rows: list[_Row]) -> _Vector:
        self.check(len(rows) * len(self.steps))
        return _Vector(rows)

    # -- dispatch
    def eval(self, expr: Expr) -> _Value:
        self.check()
        if isinstance(expr, NumberLiteral):
            return _Scalar([expr.value] * len(self.steps))
        if isinstance(expr, StringLiteral):
            return _String(expr.value)
        if isinstance(expr, ParenExpr):
            return self.eval(expr.expr)
        if isinstance(expr, VectorSelector):
            return self.vector(self.select(expr))
        if isinstance(expr, UnaryExpr):
            return self.unary(expr)
        if isinstance(expr, BinaryExpr):
            return self.binary(expr)
        if isinstance(expr, AggregateExpr):
            return self.aggregate(expr)
        if isinstance(expr, Call):
            return self.call(expr)
        raise QueryExecutionError(  # pragma: no cover - the parser never builds these here
            f"a {_TYPE_NAMES[expr.type]} cannot be evaluated here"
        )

    def scalar(self, expr: Expr) -> list[float]:
        value = self.eval(expr)
        assert isinstance(value, _Scalar)
        return value.values

    def instant(self, expr: Expr) -> list[_Row]:
        value = self.eval(expr)
        assert isinstance(value, _Vector)
        return value.rows

    def string(self, expr: Expr) -> str:
        value = self.eval(expr)
        assert isinstance(value, _String)
        return value.value

    # -- selectors
    def reference_times(self, at: AtModifier, offset_ms: int) -> list[int]:
        if at is None:
            return [t - offset_ms for t in self.steps]
        if at == "start":
            fixed = self.query_start
        elif at == "end":
            fixed = self.query_end
        else:
            fixed = round(at * 1000)
        return [fixed - offset_ms] * len(self.steps)

    def select(self, selector: VectorSelector, timestamps: bool = False) -> list[_Row]:
        refs = self.reference_times(selector.at, selector.offset_ms)
        lookback = self.engine.lookback_ms
        rows: list[_Row] = []
        for stored in self.engine._index.select(selector.matchers):
            times, values = stored.times, stored.values
            out: list[float | None] = []
            found = False
            for ref in refs:
                i = bisect.bisect_right(times, ref) - 1
                if i >= 0 and times[i] >= ref - lookback:
                    out.append(times[i] / 1000 if timestamps else values[i])
                    found = True
                else:
                    out.append(None)
            if found:
                rows.append(_Row(stored.labels, out))
        self.check(len(rows) * len(refs))
        return rows

    def range_source(self, expr: MatrixSelector | Subquery) -> tuple[list[_RangeRow], list[int]]:
        """The series a range function windows over, and each step's window end."""
        if isinstance(expr, MatrixSelector):
            ends = self.reference_times(expr.selector.at, expr.selector.offset_ms)
            rows = [
                _RangeRow(s.labels, s.times, s.values)
                for s in self.engine._index.select(expr.selector.matchers)
            ]
            return rows, ends
        ends = self.reference_times(expr.at, expr.offset_ms)
        step = expr.step_ms or DEFAULT_SUBQUERY_STEP_MS
        first = ends[0] - expr.range_ms
        # Subquery steps are aligned to multiples of the step since the epoch, like Prometheus.
        inner_start = -(-first // step) * step
        inner_steps = list(range(inner_start, ends[-1] + 1, step))
        self.check(len(inner_steps))
        inner = _Evaluator(
            self.engine, inner_steps, self.query_start, self.query_end, self.deadline
        )
        value = inner.eval(expr.expr)
        assert isinstance(value, _Vector)
        rows = []
        for row in value.rows:
            times = [t for t, v in zip(inner_steps, row.values, strict=True) if v is not None]
            values = [v for v in row.values if v is not None]
            rows.append(_RangeRow(row.labels, times, values))
        return rows, ends

    def range_rows(self, expr: MatrixSelector | Subquery) -> list[_RangeRow]:
        """Raw samples of a top-level range expression in an instant query."""
        rows, ends = self.range_source(expr)
        range_ms = expr.range_ms
        out = []
        for row in rows:
            lo = bisect.bisect_left(row.times, ends[0] - range_ms)
            hi = bisect.bisect_right(row.times, ends[0])
            out.append(_RangeRow(row.labels, row.times[lo:hi], row.values[lo:hi]))
        return out

    # -- operators
    def unary(self, expr: UnaryExpr) -> _Value:
        value = self.eval(expr.expr)
        if expr.op == "+":
            return value
        if isinstance(value, _Scalar):
            return _Scalar([-v for v in value.values])
        assert isinstance(value, _Vector)
        rows = [
            _Row(_drop_name(r.labels), [None if v is None else -v for v in r.values])
            for r in value.rows
        ]
        return self.vector(_merge_rows(rows))

    def binary(self, expr: BinaryExpr) -> _Value:
        lhs = self.eval(expr.lhs)
        rhs = self.eval(expr.rhs)
        op = expr.op
        if isinstance(lhs, _Scalar) and isinstance(rhs, _Scalar):
            out: list[float] = []
            for lv, rv in zip(lhs.values, rhs.values, strict=True):
                value, keep = _operate(op, lv, rv)
                out.append((1.0 if keep else 0.0) if expr.return_bool else value)
            return _Scalar(out)
        if isinstance(lhs, _Vector) and isinstance(rhs, _Scalar):
            return self.vector_scalar(expr, lhs, rhs.values, swapped=False)
        if isinstance(lhs, _Scalar) and isinstance(rhs, _Vector):
            return self.vector_scalar(expr, rhs, lhs.values, swapped=True)
        assert isinstance(lhs, _Vector)
        assert isinstance(rhs, _Vector)
        assert expr.matching is not None
        if op in _SET_OPERATORS:
            return self.vector(self.set_operation(op, lhs.rows, rhs.rows, expr.matching))
        return self.vector(self.vector_vector(expr, lhs.rows, rhs.rows, expr.matching))

    def vector_scalar(
        self, expr: BinaryExpr, vector: _Vector, scalars: list[float], swapped: bool
    ) -> _Vector:
        op = expr.op
        comparison = op in _COMPARISONS
        drop = expr.return_bool or op in _DROPS_METRIC_NAME
        rows: list[_Row] = []
        for row in vector.rows:
            out: list[float | None] = []
            for v, s in zip(row.values, scalars, strict=True):
                if v is None:
                    out.append(None)
                    continue
                value, keep = _operate(op, s, v) if swapped else _operate(op, v, s)
                if expr.return_bool:
                    out.append(1.0 if keep else 0.0)
                elif not keep:
                    out.append(None)
                else:
                    # A comparison always yields the vector element's own value.
                    out.append(v if comparison else value)
            if any(v is not None for v in out):
                rows.append(_Row(_drop_name(row.labels) if drop else row.labels, out))
        return self.vector(_merge_rows(rows) if drop else rows)

    def set_operation(
        self, op: str, lhs: list[_Row], rhs: list[_Row], matching: VectorMatching
    ) -> list[_Row]:
        signature = _signature_function(matching)
        left_sigs = [signature(r.labels) for r in lhs]
        right_sigs = [signature(r.labels) for r in rhs]
        n = len(self.steps)
        if op == "or":
            present_left: list[set[LabelKey]] = [set() for _ in range(n)]
            for sig, row in zip(left_sigs, lhs, strict=True):
                for i, v in enumerate(row.values):
                    if v is not None:
                        present_left[i].add(sig)
            rows = list(lhs)
            for sig, row in zip(right_sigs, rhs, strict=True):
                values = [
                    v if v is not None and sig not in present_left[i] else None
                    for i, v in enumerate(row.values)
                ]
                if any(v is not None for v in values):
                    rows.append(_Row(row.labels, values))
            return _merge_rows(rows)
        present_right: list[set[LabelKey]] = [set() for _ in range(n)]
        for sig, row in zip(right_sigs, rhs, strict=True):
            for i, v in enumerate(row.values):
                if v is not None:
                    present_right[i].add(sig)
        keep_matched = op == "and"
        rows = []
        for sig, row in zip(left_sigs, lhs, strict=True):
            values = [
                v if v is not None and ((sig in present_right[i]) == keep_matched) else None
                for i, v in enumerate(row.values)
            ]
            if any(v is not None for v in values):
                rows.append(_Row(row.labels, values))
        return rows

    def vector_vector(
        self, expr: BinaryExpr, lhs: list[_Row], rhs: list[_Row], matching: VectorMatching
    ) -> list[_Row]:
        op = expr.op
        if matching.card == "one-to-many":
            lhs, rhs = rhs, lhs
        signature = _signature_function(matching)
        left_sigs = [signature(r.labels) for r in lhs]
        right_sigs = [signature(r.labels) for r in rhs]
        drop = op in _DROPS_METRIC_NAME or expr.return_bool
        results: dict[LabelKey, _Row] = {}
        metric_cache: dict[tuple[int, int], tuple[LabelKey, dict[str, str]]] = {}
        n = len(self.steps)
        for i in range(n):
            right_at: dict[LabelKey, int] = {}
            for j, row in enumerate(rhs):
                if row.values[i] is None:
                    continue
                sig = right_sigs[j]
                if sig in right_at:
                    side = "left" if matching.card == "one-to-many" else "right"
                    other = rhs[right_at[sig]].labels
                    group = _match_group(row.labels, matching)
                    raise QueryExecutionError(
                        f"found duplicate series for the match group {group} "
                        f"on the {side} hand-side of the operation: [{_labels_text(row.labels)}, "
                        f"{_labels_text(other)}];many-to-many matching not allowed: matching "
                        "labels must be unique on one side"
                    )
                right_at[sig] = j
            matched: dict[LabelKey, set[LabelKey] | None] = {}
            for k, row in enumerate(lhs):
                lv = row.values[i]
                if lv is None:
                    continue
                sig = left_sigs[k]
                match = right_at.get(sig)
                if match is None:
                    continue
                j = match
                rv = rhs[j].values[i]
                assert rv is not None
                a, b = (rv, lv) if matching.card == "one-to-many" else (lv, rv)
                value, keep = _operate(op, a, b)
                if expr.return_bool:
                    value = 1.0 if keep else 0.0
                elif not keep:
                    continue
                cached = metric_cache.get((k, j))
                if cached is None:
                    labels = _result_labels(row.labels, rhs[j].labels, drop, matching)
                    cached = (_key(labels), labels)
                    metric_cache[(k, j)] = cached
                key, labels = cached
                if matching.card == "one-to-one":
                    if sig in matched:
                        raise QueryExecutionError(
                            "multiple matches for labels: many-to-one matching must be explicit "
                            "(group_left/group_right)"
                        )
                    matched[sig] = None
                else:
                    inserted = matched.setdefault(sig, set())
                    assert inserted is not None
                    if key in inserted:
                        raise QueryExecutionError(
                            "multiple matches for matching labels in grouping labels, must be "
                            "unique"
                        )
                    inserted.add(key)
                out = results.get(key)
                if out is None:
                    out = results[key] = _Row(labels, [None] * n)
                if out.values[i] is not None:
                    raise QueryExecutionError(
                        "vector cannot contain metrics with the same labelset"
                    )
                out.values[i] = value
            if i % 64 == 0:
                self.check()
        return list(results.values())

    # -- aggregation
    def aggregate(self, expr: AggregateExpr) -> _Vector:
        rows = self.instant(expr.expr)
        params = self.scalar(expr.param) if expr.param is not None else None
        groups: dict[LabelKey, tuple[dict[str, str], list[_Row]]] = {}
        excluded = set(expr.grouping) | {"__name__"}
        for row in rows:
            if expr.without:
                labels = {k: v for k, v in row.labels.items() if k not in excluded}
            else:
                labels = {k: v for k in expr.grouping if (v := row.labels.get(k)) is not None}
            groups.setdefault(_key(labels), (labels, []))[1].append(row)
        n = len(self.steps)
        if expr.op in ("topk", "bottomk"):
            assert params is not None
            return self.vector(_select_k(expr.op, groups, params, n))
        out: list[_Row] = []
        for labels, members in groups.values():
            aggregated: list[float | None] = []
            for i in range(n):
                present = [x for m in members if (x := m.values[i]) is not None]
                if not present:
                    aggregated.append(None)
                    continue
                aggregated.append(_aggregate_values(expr.op, present, params[i] if params else 0.0))
            out.append(_Row(labels, aggregated))
        return self.vector(out)

    # -- functions
    def call(self, expr: Call) -> _Value:
        name = expr.func
        n = len(self.steps)
        if name == "time":
            return _Scalar([t / 1000 for t in self.steps])
        if name == "pi":
            return _Scalar([math.pi] * n)
        if name == "vector":
            values: list[float | None] = list(self.scalar(expr.args[0]))
            return self.vector([_Row({}, values)])
        if name == "scalar":
            rows = self.instant(expr.args[0])
            out: list[float] = []
            for i in range(n):
                present = [v for r in rows if (v := r.values[i]) is not None]
                out.append(present[0] if len(present) == 1 else math.nan)
            return _Scalar(out)
        if name in _RANGE_FUNCTIONS or name == "absent_over_time":
            return self.range_call(expr)
        if name == "timestamp":
            # A selector's samples carry their own time; anything else is computed at the step.
            if isinstance(expr.args[0], VectorSelector):
                rows = self.select(expr.args[0], timestamps=True)
            else:
                rows = [
                    _Row(
                        r.labels,
                        [
                            None if v is None else t / 1000
                            for t, v in zip(self.steps, r.values, strict=True)
                        ],
                    )
                    for r in self.instant(expr.args[0])
                ]
            return self.vector(_merge_rows([_Row(_drop_name(r.labels), r.values) for r in rows]))
        if name == "absent":
            rows = self.instant(expr.args[0])
            absent: list[float | None] = [
                None if any(r.values[i] is not None for r in rows) else 1.0 for i in range(n)
            ]
            if all(v is None for v in absent):
                return self.vector([])
            return self.vector([_Row(_absent_labels(expr.args[0]), absent)])
        if name == "histogram_quantile":
            return self.histogram_quantile(expr)
        if name in ("label_replace", "label_join"):
            return self.label_function(expr)
        if name in ("sort", "sort_desc"):
            return self.sort(expr)
        return self.map_function(expr)

    def range_call(self, expr: Call) -> _Vector:
        name = expr.func
        matrix_index = next(i for i, a in enumerate(expr.args) if a.type == "matrix")
        source = expr.args[matrix_index]
        assert isinstance(source, MatrixSelector | Subquery)
        rows, ends = self.range_source(source)
        range_ms = source.range_ms
        scalar_args = [self.scalar(a) for a in expr.args if a.type == "scalar"]
        n = len(self.steps)
        if name == "absent_over_time":
            values: list[float | None] = []
            for end in ends:
                start = end - range_ms
                seen = any(_has_point_between(r.times, start, end) for r in rows)
                values.append(None if seen else 1.0)
            if all(v is None for v in values):
                return self.vector([])
            return self.vector([_Row(_absent_labels(source), values)])
        function = _RANGE_FUNCTIONS[name]
        keep_name = name == "last_over_time"
        if name == "holt_winters":
            for sf, tf in zip(scalar_args[0], scalar_args[1], strict=True):
                if not 0 < sf < 1:
                    raise QueryExecutionError(
                        f"invalid smoothing factor. Expected: 0 < sf < 1, got: {sf:f}"
                    )
                if not 0 < tf < 1:
                    raise QueryExecutionError(
                        f"invalid trend factor. Expected: 0 < tf < 1, got: {tf:f}"
                    )
        out: list[_Row] = []
        produced = 0
        for row in rows:
            times, vals = row.times, row.values
            result: list[float | None] = [None] * n
            found = False
            for i in range(n):
                end = ends[i]
                start = end - range_ms
                lo = bisect.bisect_left(times, start)
                hi = bisect.bisect_right(times, end)
                if lo >= hi:
                    continue
                produced += hi - lo
                args = [a[i] for a in scalar_args]
                value = function(times, vals, lo, hi, start, end, self.steps[i], args)
                if value is not None:
                    result[i] = value
                    found = True
            if found:
                out.append(_Row(row.labels if keep_name else _drop_name(row.labels), result))
            self.check(produced)
        return self.vector(_merge_rows(out))

    def map_function(self, expr: Call) -> _Vector:
        name = expr.func
        n = len(self.steps)
        if expr.args:
            rows = self.instant(expr.args[0])
        else:  # date functions default to vector(time())
            rows = [_Row({}, [t / 1000 for t in self.steps])]
        scalar_args = [self.scalar(a) for a in expr.args[1:]]
        function = _MAP_FUNCTIONS[name]
        out: list[_Row] = []
        for row in rows:
            values: list[float | None] = []
            for i in range(n):
                v = row.values[i]
                values.append(None if v is None else function(v, [a[i] for a in scalar_args]))
            if any(v is not None for v in values):
                out.append(_Row(_drop_name(row.labels), values))
        return self.vector(_merge_rows(out))

    def sort(self, expr: Call) -> _Vector:
        rows = self.instant(expr.args[0])
        if len(self.steps) != 1:
            return self.vector(rows)  # sorting means nothing in a range query

        def order(row: _Row) -> tuple[int, float]:
            value = row.values[0]
            assert value is not None
            if math.isnan(value):
                return (0, 0.0)
            return (1, value if expr.func == "sort" else -value)

        return self.vector(sorted((r for r in rows if r.values[0] is not None), key=order))

    def histogram_quantile(self, expr: Call) -> _Vector:
        quantiles = self.scalar(expr.args[0])
        rows = self.instant(expr.args[1])
        groups: dict[LabelKey, tuple[dict[str, str], list[tuple[float, _Row]]]] = {}
        for row in rows:
            le = row.labels.get("le")
            if le is None:
                continue
            try:
                bound = float(le)
            except ValueError:
                continue
            labels = {k: v for k, v in row.labels.items() if k not in ("le", "__name__")}
            groups.setdefault(_key(labels), (labels, []))[1].append((bound, row))
        out: list[_Row] = []
        n = len(self.steps)
        for labels, buckets in groups.values():
            values: list[float | None] = []
            for i in range(n):
                present = [(b, v) for b, r in buckets if (v := r.values[i]) is not None]
                values.append(_bucket_quantile(quantiles[i], present) if present else None)
            if any(v is not None for v in values):
                out.append(_Row(labels, values))
        return self.vector(out)

    def label_function(self, expr: Call) -> _Vector:
        rows = self.instant(expr.args[0])
        strings = [self.string(a) for a in expr.args[1:]]
        destination = strings[0]
        if not _LABEL_NAME_RE.fullmatch(destination):
            raise QueryExecutionError(
                f"invalid destination label name in {expr.func}(): {destination}"
            )
        out: list[_Row] = []
        if expr.func == "label_replace":
            replacement, source, pattern = strings[1], strings[2], strings[3]
            try:
                regex = re.compile(f"(?:{pattern})")
            except re.error as exc:
                raise QueryExecutionError(
                    f"invalid regular expression in label_replace(): {pattern} ({exc})"
                ) from exc
            if not _LABEL_NAME_RE.fullmatch(source):
                raise QueryExecutionError(f"invalid source label name in label_replace(): {source}")
            for row in rows:
                match = regex.fullmatch(row.labels.get(source, ""))
                labels = row.labels
                if match is not None:
                    labels = dict(row.labels)
                    value = _expand(replacement, match)
                    if value:
                        labels[destination] = value
                    else:
                        labels.pop(destination, None)
                out.append(_Row(labels, row.values))
        else:
            separator, sources = strings[1], strings[2:]
            for name in sources:
                if not _LABEL_NAME_RE.fullmatch(name):
                    raise QueryExecutionError(f"invalid source label name in label_join(): {name}")
            for row in rows:
                labels = dict(row.labels)
                value = separator.join(row.labels.get(name, "") for name in sources)
                if value:
                    labels[destination] = value
                else:
                    labels.pop(destination, None)
                out.append(_Row(labels, row.values))
        return self.vector(_merge_rows(out))


# --------------------------------------------------------------------------------------------
# Evaluation helpers


def _merge_rows(rows: list[_Row]) -> list[_Row]:
    """Rows that ended up with the same labels become one, unless they overlap in time."""
    position: dict[LabelKey, int] = {}
    merged: list[_Row] = []
    for row in rows:
        index = position.get(row.key)
        if index is None:
            position[row.key] = len(merged)
            merged.append(row)
            continue
        combined = list(merged[index].values)
        for i, v in enumerate(row.values):
            if v is None:
                continue
            if combined[i] is not None:
                raise QueryExecutionError("vector cannot contain metrics with the same labelset")
            combined[i] = v
        merged[index] = _Row(row.labels, combined)
    return merged


def _signature_function(matching: VectorMatching) -> Callable[[dict[str, str]], LabelKey]:
    names = set(matching.labels)
    if matching.on:
        ordered = sorted(names)
        return lambda labels: tuple((n, labels.get(n, "")) for n in ordered)
    names.add("__name__")
    return lambda labels: tuple(sorted((k, v) for k, v in labels.items() if k not in names))


def _match_group(labels: dict[str, str], matching: VectorMatching) -> str:
    if matching.on:
        kept = {k: v for k, v in labels.items() if k in matching.labels}
    else:
        kept = {k: v for k, v in labels.items() if k not in matching.labels and k != "__name__"}
    return _labels_text(kept)


def _result_labels(
    left: dict[str, str], right: dict[str, str], drop_name: bool, matching: VectorMatching
) -> dict[str, str]:
    labels = dict(left)
    if drop_name:
        labels.pop("__name__", None)
    if matching.card == "one-to-one":
        if matching.on:
            labels = {k: v for k, v in labels.items() if k in matching.labels}
        else:
            for name in matching.labels:
                labels.pop(name, None)
    for name in matching.include:
        value = right.get(name, "")
        if value:
            labels[name] = value
        else:
            labels.pop(name, None)
    return labels


def _absent_labels(expr: Expr) -> dict[str, str]:
    if isinstance(expr, MatrixSelector):
        expr = expr.selector
    if not isinstance(expr, VectorSelector):
        return {}
    labels: dict[str, str] = {}
    seen: set[str] = set()
    for m in expr.matchers:
        if m.name == "__name__":
            continue
        if m.op == "=" and m.name not in seen:
            labels[m.name] = m.value
        else:
            labels.pop(m.name, None)
        seen.add(m.name)
    return labels


def _operate(op: str, a: float, b: float) -> tuple[float, bool]:
    """Apply a binary operator the way Go's float64 arithmetic does; (value, keep)."""
    if op == "+":
        return a + b, True
    if op == "-":
        return a - b, True
    if op == "*":
        return a * b, True
    if op == "/":
        return _divide(a, b), True
    if op == "%":
        try:
            return math.fmod(a, b), True
        except ValueError:
            return math.nan, True
    if op == "^":
        return _power(a, b), True
    if op == "atan2":
        return math.atan2(a, b), True
    if op == "==":
        return a, a == b
    if op == "!=":
        return a, a != b
    if op == ">":
        return a, a > b
    if op == "<":
        return a, a < b
    if op == ">=":
        return a, a >= b
    if op == "<=":
        return a, a <= b
    raise QueryExecutionError(f"operator {op!r} not allowed here")  # pragma: no cover


def _divide(a: float, b: float) -> float:
    if b != 0:
        return a / b
    if a == 0 or math.isnan(a):
        return math.nan
    return math.copysign(math.inf, a) * math.copysign(1.0, b)


def _is_odd_integer(y: float) -> bool:
    return math.isfinite(y) and y == math.floor(y) and abs(y) < 2**53 and int(y) % 2 == 1


def _power(x: float, y: float) -> float:
    try:
        return math.pow(x, y)
    except OverflowError:
        return -math.inf if x < 0 and _is_odd_integer(y) else math.inf
    except ValueError:
        if x == 0 and y < 0:
            return math.copysign(math.inf, x) if _is_odd_integer(y) else math.inf
        return math.nan


def _aggregate_values(op: str, values: list[float], param: float) -> float:
    if op == "sum":
        total = 0.0
        for v in values:
            total += v
        return total
    if op == "count":
        return float(len(values))
    if op == "group":
        return 1.0
    if op == "max":
        best = values[0]
        for v in values[1:]:
            if best < v or math.isnan(best):
                best = v
        return best
    if op == "min":
        best = values[0]
        for v in values[1:]:
            if best > v or math.isnan(best):
                best = v
        return best
    if op == "avg":
        # Prometheus' incremental mean, which avoids overflow on huge values.
        mean = values[0]
        for count, v in enumerate(values[1:], start=2):
            if math.isinf(mean):
                if math.isinf(v) and (mean > 0) == (v > 0):
                    continue
                if not math.isinf(v) and not math.isnan(v):
                    continue
            mean += v / count - mean / count
        return mean
    if op in ("stddev", "stdvar"):
        mean, m2 = values[0], 0.0
        for count, v in enumerate(values[1:], start=2):
            delta = v - mean
            mean += delta / count
            m2 += delta * (v - mean)
        variance = m2 / len(values)
        return math.sqrt(variance) if op == "stddev" else variance
    if op == "quantile":
        return _quantile(param, values)
    raise QueryExecutionError(f"aggregation {op!r} is not supported")  # pragma: no cover


def _select_k(
    op: str,
    groups: dict[LabelKey, tuple[dict[str, str], list[_Row]]],
    params: list[float],
    n: int,
) -> list[_Row]:
    out: dict[int, _Row] = {}
    order: list[int] = []
    for _, members in groups.values():
        for i in range(n):
            raw = params[i]
            if math.isnan(raw) or abs(raw) >= 2**63:
                raise QueryExecutionError(f"Scalar value {raw} overflows int64")
            k = int(raw)
            if k < 1:
                continue
            present = [(v, j) for j, m in enumerate(members) if (v := m.values[i]) is not None]
            present.sort(key=_top_first if op == "topk" else _bottom_first)
            for value, j in present[:k]:
                row_id = id(members[j])
                row = out.get(row_id)
                if row is None:
                    row = out[row_id] = _Row(members[j].labels, [None] * n)
                    order.append(row_id)
                row.values[i] = value
    return [out[r] for r in order]


def _top_first(element: tuple[float, int]) -> tuple[bool, float]:
    value = element[0]
    return (math.isnan(value), 0.0 if math.isnan(value) else -value)  # NaN loses, as in Prometheus


def _bottom_first(element: tuple[float, int]) -> tuple[bool, float]:
    value = element[0]
    return (math.isnan(value), 0.0 if math.isnan(value) else value)


def _quantile(q: float, values: list[float]) -> float:
    if not values:
        return math.nan
    if math.isnan(q):
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    ordered = sorted(values, key=lambda v: (not math.isnan(v), v if not math.isnan(v) else 0))
    count = len(ordered)
    rank = q * (count - 1)
    lower = max(0, math.floor(rank))
    upper = min(count - 1, lower + 1)
    weight = rank - math.floor(rank)
    return ordered[lower] * (1 - weight) + ordered[upper] * weight


def _bucket_quantile(q: float, buckets: list[tuple[float, float]]) -> float:
    """Prometheus' bucketQuantile: linear interpolation inside the bucket holding the rank."""
    if math.isnan(q):
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    buckets = sorted(buckets, key=lambda b: b[0])
    if not math.isinf(buckets[-1][0]) or buckets[-1][0] < 0:
        return math.nan
    coalesced: list[list[float]] = []
    for bound, count in buckets:
        if coalesced and coalesced[-1][0] == bound:
            coalesced[-1][1] += count
        else:
            coalesced.append([bound, count])
    highest = -math.inf
    for bucket in coalesced:  # counts must not decrease; fix up scrape races like Prometheus
        if bucket[1] > highest:
            highest = bucket[1]
        elif bucket[1] < highest:
            bucket[1] = highest
    if len(coalesced) < 2:
        return math.nan
    observations = coalesced[-1][1]
    if observations == 0:
        return math.nan
    rank = q * observations
    b = len(coalesced) - 1
    for index in range(len(coalesced) - 1):
        if coalesced[index][1] >= rank:
            b = index
            break
    if b == len(coalesced) - 1:
        return coalesced[-2][0]
    if b == 0 and coalesced[0][0] <= 0:
        return coalesced[0][0]
    bucket_start = 0.0
    bucket_end = coalesced[b][0]
    count = coalesced[b][1]
    if b > 0:
        bucket_start = coalesced[b - 1][0]
        count -= coalesced[b - 1][1]
        rank -= coalesced[b - 1][1]
    return bucket_start + (bucket_end - bucket_start) * (rank / count)


def _expand(template: str, match: re.Match[str]) -> str:
    """Go's Regexp.Expand: $1, ${1}, $name, ${name}, $$."""
    out: list[str] = []
    i = 0
    n = len(template)
    while i < n:
        c = template[i]
        if c != "$" or i + 1 >= n:
            out.append(c)
            i += 1
            continue
        nxt = template[i + 1]
        if nxt == "$":
            out.append("$")
            i += 2
            continue
        if nxt == "{":
            end = template.find("}", i + 2)
            name = template[i + 2 : end] if end > 0 else ""
            if end < 0 or not re.fullmatch(r"\w+", name):
                out.append(c)
                i += 1
                continue
            i = end + 1
        else:
            m = re.match(r"\w+", template[i + 1 :])
            if m is None:
                out.append(c)
                i += 1
                continue
            name = m.group()
            i += 1 + len(name)
        try:
            group = match.group(int(name) if name.isdigit() else name)
        except IndexError:  # unknown group names and numbers expand to nothing, as in Go
            group = None
        out.append(group or "")
    return "".join(out)


# -- range functions: (times, values, lo, hi, window_start, window_end, eval_time, args).
# The window is values[lo:hi]; times are integer milliseconds like Prometheus' own.


def _extrapolated_rate(
    times: list[int],
    values: list[float],
    lo: int,
    hi: int,
    start: int,
    end: int,
    counter: bool,
    per_second: bool,
) -> float | None:
    if hi - lo < 2:
        return None
    first, last = values[lo], values[hi - 1]
    result = last - first
    if counter:
        previous = first
        for k in range(lo + 1, hi):
            current = values[k]
            if current < previous:  # a counter reset: the counter restarted from zero
                result += previous
            previous = current
    duration_to_start = (times[lo] - start) / 1000
    duration_to_end = (end - times[hi - 1]) / 1000
    sampled = (times[hi - 1] - times[lo]) / 1000
    average_between = sampled / (hi - lo - 1)
    if counter and result > 0 and first >= 0:
        # A counter cannot go below zero: do not extrapolate past the point where it was zero.
        duration_to_zero = sampled * (first / result)
        if duration_to_zero < duration_to_start:
            duration_to_start = duration_to_zero
    threshold = average_between * 1.1
    interval = sampled
    interval += duration_to_start if duration_to_start < threshold else average_between / 2
    interval += duration_to_end if duration_to_end < threshold else average_between / 2
    result = result * (interval / sampled)
    if per_second:
        result = result / ((end - start) / 1000)
    return result


def _instant_value(
    times: list[int], values: list[float], lo: int, hi: int, per_second: bool
) -> float | None:
    if hi - lo < 2:
        return None
    last, previous = values[hi - 1], values[hi - 2]
    result = last if per_second and last < previous else last - previous
    interval = times[hi - 1] - times[hi - 2]
    if interval == 0:
        return None
    return result / (interval / 1000) if per_second else result


def _linear_regression(
    times: list[int], values: list[float], lo: int, hi: int, intercept_time: int
) -> tuple[float, float]:
    initial = values[lo]
    if all(values[k] == initial for k in range(lo + 1, hi)):
        if math.isinf(initial):
            return math.nan, math.nan
        return 0.0, initial
    n = float(hi - lo)
    sum_x = sum_y = sum_xy = sum_x2 = 0.0
    for k in range(lo, hi):
        x = (times[k] - intercept_time) / 1000
        y = values[k]
        sum_x += x
        sum_y += y
        sum_xy += x * y
        sum_x2 += x * x
    cov_xy = sum_xy - sum_x * sum_y / n
    var_x = sum_x2 - sum_x * sum_x / n
    slope = _divide(cov_xy, var_x)
    intercept = sum_y / n - slope * sum_x / n
    return slope, intercept


def _predict_linear(
    times: list[int], values: list[float], lo: int, hi: int, at: int, seconds: float
) -> float | None:
    if hi - lo < 2:
        return None
    slope, intercept = _linear_regression(times, values, lo, hi, at)
    return slope * seconds + intercept


def _holt_winters(values: list[float], lo: int, hi: int, sf: float, tf: float) -> float | None:
    if hi - lo < 2:
        return None
    s0, s1 = 0.0, values[lo]
    trend = values[lo + 1] - values[lo]
    for k in range(lo + 1, hi):
        if k > lo + 1:
            trend = tf * (s1 - s0) + (1 - tf) * trend
        s0, s1 = s1, sf * values[k] + (1 - sf) * (s1 + trend)
    return s1


def _changes(values: list[float], lo: int, hi: int) -> float:
    count = 0
    for k in range(lo + 1, hi):
        a, b = values[k - 1], values[k]
        if a != b and not (math.isnan(a) and math.isnan(b)):
            count += 1
    return float(count)


_RANGE_FUNCTIONS: dict[str, RangeFunction] = {
    "rate": lambda t, v, lo, hi, s, e, at, a: _extrapolated_rate(t, v, lo, hi, s, e, True, True),
    "increase": lambda t, v, lo, hi, s, e, at, a: _extrapolated_rate(
        t, v, lo, hi, s, e, True, False
    ),
    "delta": lambda t, v, lo, hi, s, e, at, a: _extrapolated_rate(t, v, lo, hi, s, e, False, False),
    "irate": lambda t, v, lo, hi, s, e, at, a: _instant_value(t, v, lo, hi, True),
    "idelta": lambda t, v, lo, hi, s, e, at, a: _instant_value(t, v, lo, hi, False),
    "deriv": lambda t, v, lo, hi, s, e, at, a: (
        _linear_regression(t, v, lo, hi, t[lo])[0] if hi - lo >= 2 else None
    ),
    "predict_linear": lambda t, v, lo, hi, s, e, at, a: _predict_linear(t, v, lo, hi, at, a[0]),
    "holt_winters": lambda t, v, lo, hi, s, e, at, a: _holt_winters(v, lo, hi, a[0], a[1]),
    "avg_over_time": lambda t, v, lo, hi, s, e, at, a: _aggregate_values("avg", v[lo:hi], 0.0),
    "sum_over_time": lambda t, v, lo, hi, s, e, at, a: _aggregate_values("sum", v[lo:hi], 0.0),
    "min_over_time": lambda t, v, lo, hi, s, e, at, a: _aggregate_values("min", v[lo:hi], 0.0),
    "max_over_time": lambda t, v, lo, hi, s, e, at, a: _aggregate_values("max", v[lo:hi], 0.0),
    "count_over_time": lambda t, v, lo, hi, s, e, at, a: float(hi - lo),
    "last_over_time": lambda t, v, lo, hi, s, e, at, a: v[hi - 1],
    "stddev_over_time": lambda t, v, lo, hi, s, e, at, a: _aggregate_values(
        "stddev", v[lo:hi], 0.0
    ),
    "stdvar_over_time": lambda t, v, lo, hi, s, e, at, a: _aggregate_values(
        "stdvar", v[lo:hi], 0.0
    ),
    "quantile_over_time": lambda t, v, lo, hi, s, e, at, a: _quantile(a[0], v[lo:hi]),
    "changes": lambda t, v, lo, hi, s, e, at, a: _changes(v, lo, hi),
    "resets": lambda t, v, lo, hi, s, e, at, a: float(
        sum(1 for k in range(lo + 1, hi) if v[k] < v[k - 1])
    ),
    "present_over_time": lambda t, v, lo, hi, s, e, at, a: 1.0,
}


# -- element-wise functions: (value, scalar arguments at this step) -> value, or None to drop


ElementFunction: TypeAlias = Callable[[float, Sequence[float]], float | None]


def _safe(function: Callable[[float], float]) -> ElementFunction:
    """Go's math returns NaN or Inf where Python's raises; keep Go's answers."""

    def apply(value: float, _: Sequence[float]) -> float | None:
        try:
            return function(value)
        except ValueError:
            return math.nan
        except OverflowError:
            return math.inf

    return apply


def _logarithm(function: Callable[[float], float]) -> Callable[[float], float]:
    return lambda value: -math.inf if value == 0 else function(value)


def _sgn(value: float) -> float:
    if value > 0:
        return 1.0
    if value < 0:
        return -1.0
    return value  # 0 and NaN stay as they are


def _go_max(a: float, b: float) -> float:
    return math.nan if math.isnan(a) or math.isnan(b) else max(a, b)


def _go_min(a: float, b: float) -> float:
    return math.nan if math.isnan(a) or math.isnan(b) else min(a, b)


def _round(value: float, args: Sequence[float]) -> float | None:
    inverse = _divide(1.0, args[0] if args else 1.0)
    scaled = value * inverse + 0.5
    if not math.isfinite(scaled):
        return scaled / inverse if math.isfinite(inverse) and inverse else math.nan
    return math.floor(scaled) / inverse


def _clamp(value: float, args: Sequence[float]) -> float | None:
    low, high = args
    if high < low:
        return None  # Prometheus returns nothing when the bounds are inverted
    return _go_max(low, _go_min(high, value))


def _date_part(part: str) -> ElementFunction:
    def apply(value: float, _: Sequence[float]) -> float | None:
        if not math.isfinite(value):
            return math.nan
        try:
            moment = time.gmtime(int(value))
        except (OverflowError, OSError, ValueError):
            return math.nan
        if part == "minute":
            return float(moment.tm_min)
        if part == "hour":
            return float(moment.tm_hour)
        if part == "day_of_month":
            return float(moment.tm_mday)
        if part == "day_of_week":
            return float((moment.tm_wday + 1) % 7)  # Go counts from Sunday = 0
        if part == "day_of_year":
            return float(moment.tm_yday)
        if part == "days_in_month":
            return float(calendar.monthrange(moment.tm_year, moment.tm_mon)[1])
        if part == "month":
            return float(moment.tm_mon)
        return float(moment.tm_year)

    return apply


def _finite_or_same(function: Callable[[float], int]) -> Callable[[float], float]:
    return lambda value: value if not math.isfinite(value) else float(function(value))


_MAP_FUNCTIONS: dict[str, ElementFunction] = {
    "abs": _safe(abs),
    "ceil": _safe(_finite_or_same(math.ceil)),
    "floor": _safe(_finite_or_same(math.floor)),
    "exp": _safe(math.exp),
    "ln": _safe(_logarithm(math.log)),
    "log2": _safe(_logarithm(math.log2)),
    "log10": _safe(_logarithm(math.log10)),
    "sqrt": _safe(math.sqrt),
    "sgn": _safe(_sgn),
    "deg": _safe(math.degrees),
    "rad": _safe(math.radians),
    **{
        name: _safe(getattr(math, name))
        for name in (
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
    "round": _round,
    "clamp": _clamp,
    "clamp_min": lambda value, args: _go_max(value, args[0]),
    "clamp_max": lambda value, args: _go_min(value, args[0]),
    **{
        part: _date_part(part)
        for part in (
            "minute",
            "hour",
            "day_of_month",
            "day_of_week",
            "day_of_year",
            "days_in_month",
            "month",
            "year",
        )
    },
}
