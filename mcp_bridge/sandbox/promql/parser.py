"""The PromQL parser: precedence climbing over tokens, with Prometheus' type checks."""

from __future__ import annotations

import math
import re
from typing import Literal

from .lexer import KEYWORDS, Token, lex
from .model import LABEL_NAME_RE, PromQLError, quote
from .syntax import (
    AGGREGATORS,
    COMPARISONS,
    FUNCTIONS,
    MATCH_OPS,
    PRECEDENCE,
    SET_OPERATORS,
    TYPE_NAMES,
    UNSUPPORTED_FUNCTIONS,
    AggregateExpr,
    AtModifier,
    BinaryExpr,
    Call,
    Expr,
    Matcher,
    MatrixSelector,
    NumberLiteral,
    ParenExpr,
    StringLiteral,
    Subquery,
    UnaryExpr,
    VectorMatching,
    VectorSelector,
)

MAX_NESTING = 100


def parse(query: str) -> Expr:
    """Parse a PromQL expression; raises PromQLError with the position of the problem."""
    return _Parser(query).parse_query()


def parse_selector(text: str) -> VectorSelector:
    """Parse a series selector as `/api/v1/series` takes it (`up{job="x"}`, `{__name__=~"a.*"}`)."""
    expr = parse(text)
    if not isinstance(expr, VectorSelector) or expr.offset_ms or expr.at is not None:
        raise PromQLError(f'expected a series selector like up{{job="x"}}, got {quote(text)}')
    return expr


class _Parser:
    def __init__(self, query: str) -> None:
        self.query = query
        self.tokens = lex(query)
        self.i = 0
        self.depth = 0

    # -- token helpers
    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def peek(self, ahead: int = 1) -> Token:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def advance(self) -> Token:
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

    def expect(self, kind: str, context: str) -> Token:
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
            precedence = PRECEDENCE.get(op)
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
            operand = self.expr(PRECEDENCE["^"])
            if operand.type not in ("scalar", "vector"):
                raise self.error(
                    "unary expression only allowed on expressions of type scalar or instant "
                    f"vector, got {TYPE_NAMES[operand.type]}",
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
            if op not in COMPARISONS:
                raise self.error("bool modifier can only be used on comparison operators")
            self.advance()
            return_bool = True
        if self.tok.kind not in ("on", "ignoring"):
            if self.tok.kind in ("group_left", "group_right"):
                raise self.error(f"{self.tok.text} must follow on(...) or ignoring(...)")
            card: Literal["one-to-one", "many-to-many"] = (
                "many-to-many" if op in SET_OPERATORS else "one-to-one"
            )
            return return_bool, VectorMatching(card, False, ())
        on = self.advance().kind == "on"
        labels = self.label_list()
        matching = VectorMatching(
            "many-to-many" if op in SET_OPERATORS else "one-to-one", on, tuple(labels)
        )
        if self.tok.kind in ("group_left", "group_right"):
            group = self.advance()
            if op in SET_OPERATORS:
                raise self.error(f"no grouping allowed for {quote(op)} operation", group.pos)
            include: list[str] = self.label_list() if self.tok.kind == "(" else []
            for name in include:
                if on and name in labels:
                    raise self.error(
                        f"label {quote(name)} must not occur in ON and GROUP clause at once",
                        group.pos,
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
            if token.kind == "IDENT" or token.kind in KEYWORDS:
                if not LABEL_NAME_RE.fullmatch(token.text):
                    raise self.error(f"invalid label name {quote(token.text)} in grouping opts")
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
        if op in COMPARISONS and not return_bool and lhs.type == rhs.type == "scalar":
            raise self.error("comparisons between scalars must use BOOL modifier", pos)
        if op in SET_OPERATORS and not both_vectors:
            raise self.error(
                f"set operator {quote(op)} not allowed in binary scalar expression", pos
            )
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
                f"unexpected duration {quote(token.text)}: "
                "durations belong inside [...] or after offset"
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
            if lower in AGGREGATORS and following in ("(", "by", "without"):
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
                f"subquery is only allowed on instant vector, got {TYPE_NAMES[expr.type]}",
                start.pos,
            )
        return Subquery(expr, range_ms, step_ms, expr.pos)

    def duration(self, context: str) -> int:
        token = self.tok
        if token.kind == "DURATION":
            self.advance()
            value = int(token.number)
        elif token.kind == "NUMBER" and token.text == "0":
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
                f"metric name must not be set twice: {quote(metric)} or {quote(value.text)}",
                token.pos,
            )
        regex = None
        if op in ("=~", "!~"):
            try:
                regex = re.compile(f"(?:{value.text})")
            except re.error as exc:
                message = f"invalid regular expression {quote(value.text)}: {exc}"
                raise self.error(message, value.pos) from exc
        return Matcher(token.text, MATCH_OPS[op], value.text, regex)

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
                f"expected type scalar in aggregation parameter, got {TYPE_NAMES[param.type]}",
                param.pos,
            )
        if expr.type != "vector":
            raise self.error(
                "expected type instant vector in aggregation expression, got "
                f"{TYPE_NAMES[expr.type]}",
                expr.pos,
            )
        return AggregateExpr(op, expr, param, tuple(grouping), without, token.pos)

    def call(self) -> Call:
        token = self.advance()
        name = token.text
        if name in UNSUPPORTED_FUNCTIONS:
            raise self.error(f"function {quote(name)} is not supported by this engine", token.pos)
        spec = FUNCTIONS.get(name)
        if spec is None:
            raise self.error(f"unknown function with name {quote(name)}", token.pos)
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
                f"expected {expected} argument(s) in call to {quote(name)}, got {len(args)}",
                token.pos,
            )
        for index, arg in enumerate(args):
            wanted = spec.args[min(index, len(spec.args) - 1)]
            if arg.type != wanted:
                raise self.error(
                    f"expected type {TYPE_NAMES[wanted]} in call to function {quote(name)}, got "
                    f"{TYPE_NAMES[arg.type]}",
                    arg.pos,
                )
        return Call(name, tuple(args), token.pos)


def _describe(token: Token) -> str:
    if token.kind == "IDENT":
        return f"identifier {quote(token.text)}"
    if token.kind in ("NUMBER", "DURATION"):
        return f"{token.kind.lower()} {quote(token.text)}"
    if token.kind == "STRING":
        return f"string {quote(token.text)}"
    return quote(token.text)


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
