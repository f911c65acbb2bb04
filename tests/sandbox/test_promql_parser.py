"""The PromQL parser: precedence, every supported construct, and errors that say where."""

from __future__ import annotations

import pytest

from mcp_bridge.sandbox.promql import PromQLEngine, PromQLError, ScalarResult, parse, parse_duration
from mcp_bridge.sandbox.promql.syntax import (
    AggregateExpr,
    BinaryExpr,
    Call,
    Expr,
    MatrixSelector,
    NumberLiteral,
    ParenExpr,
    StringLiteral,
    Subquery,
    UnaryExpr,
    VectorSelector,
)


def shape(expr: Expr) -> str:
    """A compact rendering of the tree that shows how the parser grouped things."""
    if isinstance(expr, NumberLiteral):
        return f"{expr.value:g}"
    if isinstance(expr, StringLiteral):
        return repr(expr.value)
    if isinstance(expr, VectorSelector):
        return expr.name or "{...}"
    if isinstance(expr, ParenExpr):
        return shape(expr.expr)
    if isinstance(expr, UnaryExpr):
        return f"({expr.op}{shape(expr.expr)})"
    if isinstance(expr, BinaryExpr):
        return f"({shape(expr.lhs)} {expr.op} {shape(expr.rhs)})"
    if isinstance(expr, Call):
        return f"{expr.func}({', '.join(shape(a) for a in expr.args)})"
    if isinstance(expr, AggregateExpr):
        return f"{expr.op}({shape(expr.expr)})"
    if isinstance(expr, MatrixSelector):
        return f"{shape(expr.selector)}[{expr.range_ms}ms]"
    assert isinstance(expr, Subquery)
    return f"{shape(expr.expr)}[{expr.range_ms}ms:{expr.step_ms}ms]"


@pytest.mark.parametrize(
    ("query", "grouping"),
    [
        ("a + b * c", "(a + (b * c))"),
        ("a * b + c", "((a * b) + c)"),
        ("a - b - c", "((a - b) - c)"),
        ("a / b % c", "((a / b) % c)"),
        ("a ^ b ^ c", "(a ^ (b ^ c))"),
        ("a * b ^ c", "(a * (b ^ c))"),
        ("-a ^ b", "(-(a ^ b))"),
        ("-a * b", "((-a) * b)"),
        ("a == b + c", "(a == (b + c))"),
        ("a > b and c", "((a > b) and c)"),
        ("a or b and c", "(a or (b and c))"),
        ("a unless b or c", "((a unless b) or c)"),
        ("a and b unless c", "((a and b) unless c)"),
        ("a atan2 b + c", "((a atan2 b) + c)"),
        ("(a + b) * c", "((a + b) * c)"),
        ("a + -b", "(a + (-b))"),
        ("sum(a) by (x) / sum(b) by (x)", "(sum(a) / sum(b))"),
    ],
)
def test_operators_group_by_prometheus_precedence(query: str, grouping: str) -> None:
    assert shape(parse(query)) == grouping


@pytest.mark.parametrize(
    ("query", "value"),
    [
        ("1 + 2 * 3", 7.0),
        ("2 ^ 3 ^ 2", 512.0),
        ("-2 ^ 2", -4.0),
        ("10 - 2 - 3", 5.0),
        ("2 * 7 % 4", 2.0),
        ("7 % -4", 3.0),
        ("-7 % 4", -3.0),
        ("0x1F + 1e1 + .5", 41.5),
        ("1 > bool 0", 1.0),
        ("2 == bool 3", 0.0),
        ("8 atan2 0", 1.5707963267948966),
        ("(1 + 1) * 3", 6.0),
    ],
)
def test_scalar_arithmetic_follows_precedence(query: str, value: float) -> None:
    result = PromQLEngine([]).instant_query(query, 1000.0)
    assert isinstance(result, ScalarResult)
    assert result.value == value


def test_selector_carries_every_kind_of_matcher() -> None:
    expr = parse('http_requests_total{code=~"5..", method!="GET", path!~"/health.*", job="api",}')
    assert isinstance(expr, VectorSelector)
    assert expr.name == "http_requests_total"
    ops = [(m.name, m.op, m.value) for m in expr.matchers]
    assert ops == [
        ("__name__", "=", "http_requests_total"),
        ("code", "=~", "5.."),
        ("method", "!=", "GET"),
        ("path", "!~", "/health.*"),
        ("job", "=", "api"),
    ]


def test_regex_matchers_are_anchored_at_both_ends() -> None:
    expr = parse('x{code=~"5.", path!~"/api"}')
    assert isinstance(expr, VectorSelector)
    code, path = expr.matchers[1], expr.matchers[2]
    assert code.matches("50")
    assert not code.matches("500")
    assert not code.matches("150")
    assert path.matches("/api/v1")
    assert not path.matches("/api")


def test_metric_name_may_come_from_a_name_matcher_or_contain_colons() -> None:
    by_matcher = parse('{__name__=~"job:.*"}')
    assert isinstance(by_matcher, VectorSelector)
    assert by_matcher.name is None
    recording_rule = parse("job:http_requests:rate5m")
    assert isinstance(recording_rule, VectorSelector)
    assert recording_rule.name == "job:http_requests:rate5m"


def test_keywords_may_be_label_names_and_are_case_insensitive_as_keywords() -> None:
    expr = parse('SUM BY (on, by) (x{on="a", bool="b"}) OR Y')
    assert isinstance(expr, BinaryExpr)
    assert expr.op == "or"
    assert isinstance(expr.lhs, AggregateExpr)
    assert expr.lhs.grouping == ("on", "by")


def test_range_offset_at_and_subquery_modifiers() -> None:
    matrix = parse("x[1h30m] offset -5m @ 1700000000")
    assert isinstance(matrix, MatrixSelector)
    assert matrix.range_ms == 90 * 60 * 1000
    assert matrix.selector.offset_ms == -5 * 60 * 1000
    assert matrix.selector.at == 1700000000.0
    subquery = parse("max_over_time(rate(x[5m])[1h:30s] offset 1d @ end())")
    assert isinstance(subquery, Call)
    inner = subquery.args[0]
    assert isinstance(inner, Subquery)
    assert (inner.range_ms, inner.step_ms, inner.offset_ms, inner.at) == (
        3_600_000,
        30_000,
        86_400_000,
        "end",
    )
    default_step = parse("avg_over_time(x[10m:])")
    assert isinstance(default_step, Call)
    sub = default_step.args[0]
    assert isinstance(sub, Subquery)
    assert sub.step_ms is None


def test_aggregation_grouping_may_come_before_or_after_the_arguments() -> None:
    before = parse("sum by (pod) (x)")
    after = parse("sum(x) by (pod,)")
    without = parse("topk without (a) (3, x)")
    assert isinstance(before, AggregateExpr)
    assert isinstance(after, AggregateExpr)
    assert isinstance(without, AggregateExpr)
    assert before.grouping == after.grouping == ("pod",)
    assert without.without
    assert without.grouping == ("a",)
    assert isinstance(without.param, NumberLiteral)
    empty = parse("sum by () (x)")
    assert isinstance(empty, AggregateExpr)
    assert empty.grouping == ()


def test_vector_matching_modifiers() -> None:
    expr = parse("a / on(pod, container) group_left(node) b")
    assert isinstance(expr, BinaryExpr)
    assert expr.matching is not None
    assert expr.matching.card == "many-to-one"
    assert expr.matching.on
    assert expr.matching.labels == ("pod", "container")
    assert expr.matching.include == ("node",)
    right = parse("a > bool ignoring(code) group_right b")
    assert isinstance(right, BinaryExpr)
    assert right.return_bool
    assert right.matching is not None
    assert right.matching.card == "one-to-many"
    assert not right.matching.on


def test_strings_numbers_and_comments() -> None:
    expr = parse(
        "label_replace(x, 'dst', \"a\\tb\\u00e9\\x41\\101\", `src`, `\\d+`)  # trailing comment"
    )
    assert isinstance(expr, Call)
    strings = [a.value for a in expr.args[1:] if isinstance(a, StringLiteral)]
    assert strings == ["dst", "a\tbéAA", "src", "\\d+"]
    for text, value in (("Inf", float("inf")), ("-inf", float("-inf")), ("1e-3", 0.001)):
        number = parse(text)
        assert isinstance(number, NumberLiteral)
        assert number.value == value
    nan = parse("NaN")
    assert isinstance(nan, NumberLiteral)
    assert nan.value != nan.value


@pytest.mark.parametrize(
    ("text", "milliseconds"),
    [
        ("5m", 300_000),
        ("1h30m", 5_400_000),
        ("1y2w3d", (365 + 14 + 3) * 86_400_000),
        ("250ms", 250),
    ],
)
def test_durations(text: str, milliseconds: int) -> None:
    assert parse_duration(text) == milliseconds


@pytest.mark.parametrize("text", ["", "5", "m", "5m1h", "1.5h", "-5m", "5 m"])
def test_bad_durations_are_rejected(text: str) -> None:
    with pytest.raises(PromQLError, match="duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("query", "message", "where"),
    [
        ("", "no expression found in input", "1:1"),
        ("sum(rate(x[5m])", "unexpected end of input", "1:16"),
        ("rate(x)", 'expected type range vector in call to function "rate"', "1:6"),
        ("foo(x)", 'unknown function with name "foo"', "1:1"),
        ('x + count_values("v", y)', "count_values is not supported", "1:5"),
        ("histogram_count(x)", 'function "histogram_count" is not supported', "1:1"),
        ("(x)[5m]", "ranges only allowed for vector selectors", "1:4"),
        ("x[5m", "unexpected end of input", "1:5"),
        ("1 > 2", "comparisons between scalars must use BOOL modifier", "1:3"),
        ("x + on(a) 1", "vector matching only allowed between instant vectors", "1:3"),
        ("x and 1", 'set operator "and" not allowed in binary scalar expression', "1:3"),
        ("x + bool y", "bool modifier can only be used on comparison operators", "1:5"),
        ("{}", "vector selector must contain at least one non-empty matcher", "1:1"),
        ('{job=~".*"}', "vector selector must contain at least one non-empty matcher", "1:1"),
        ('x{a=~"("}', "invalid regular expression", "1:6"),
        ('x{a="b"', "unexpected end of input in label matching", "1:8"),
        ("x{a}", "expected one of =, !=, =~, !~", "1:4"),
        ("x offset 5m offset 1m", "offset may not be set multiple times", "1:13"),
        ("x[5m] offset 1m offset 1m", "offset may not be set multiple times", "1:17"),
        ("x @ 1 @ 2", "may not be set multiple times", "1:7"),
        ('x{__name__="y"}', "metric name must not be set twice", "1:3"),
        ("sum by (a) (x) by (b)", "two grouping clauses", "1:16"),
        ("topk(x)", "wrong number of arguments for aggregate expression", "1:1"),
        ('topk("3", x)', "expected type scalar in aggregation parameter", "1:6"),
        ("sum(x[5m])", "expected type instant vector in aggregation expression", "1:5"),
        ("5m", "unexpected duration", "1:1"),
        ("x $ y", "unexpected character", "1:3"),
        ('"unterminated', "unterminated quoted string", "1:1"),
        ('"\\q"', "unknown escape sequence", "1:2"),
        ("1.2.3", "bad number or duration syntax", "1:1"),
        ("x[5x]", "bad number or duration syntax", "1:3"),
        ("x[5m1h]", "not a valid duration", "1:3"),
        ("x[0s]", "range selector duration must be greater than zero", "1:3"),
        ("x @ foo", "after @", "1:5"),
        ("abs(x, y)", 'expected 1 argument(s) in call to "abs", got 2', "1:1"),
        ('label_replace(x, "a", "b", "c")', "expected 5 argument(s)", "1:1"),
        ("round(x, 1, 2)", "expected 1 to 2 argument(s)", "1:1"),
        ("-x[5m]", "unary expression only allowed on expressions of type scalar", "1:1"),
        ("x * group_left y", "group_left must follow on(...) or ignoring(...)", "1:5"),
        ("x * on(a) group_left(a) y", "must not occur in ON and GROUP clause", "1:11"),
        ("x and on(a) group_left y", 'no grouping allowed for "and" operation', "1:13"),
        ("x[5m] + 1", "binary expression must contain only scalar and instant vector", "1:7"),
        ('"a"[5m:]', "subquery is only allowed on instant vector", "1:4"),
        ("sum(\n  rate(x)\n)", "expected type range vector", "2:8"),
        ("x )", 'unexpected ")"', "1:3"),
    ],
)
def test_errors_name_the_problem_and_its_position(query: str, message: str, where: str) -> None:
    with pytest.raises(PromQLError) as caught:
        parse(query)
    text = str(caught.value)
    assert message in text
    assert text.startswith(f"{where}: parse error: "), text


def test_error_keeps_the_offset_for_callers() -> None:
    with pytest.raises(PromQLError) as caught:
        parse("up + foo(x)")
    assert caught.value.position == 5
    assert caught.value.error_type == "bad_data"


def test_absurd_nesting_is_a_clear_error_not_a_crash() -> None:
    with pytest.raises(PromQLError, match="nested more than"):
        parse("(" * 500 + "1" + ")" * 500)
    with pytest.raises(PromQLError, match="nested more than"):
        parse("-" * 500 + "1")
