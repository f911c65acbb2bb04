"""Evaluation of parsed PromQL over in-memory series, all steps of a query at once."""

from __future__ import annotations

import bisect
import math
import re
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TypeAlias

from .functions import (
    ELEMENT_FUNCTIONS,
    RANGE_FUNCTIONS,
    ROW_FUNCTIONS,
    aggregate_values,
    bottom_first,
    bucket_quantile,
    expand_template,
    operate,
    top_first,
)
from .model import (
    LABEL_NAME_RE,
    MatrixResult,
    PromQLError,
    QueryExecutionError,
    QueryResult,
    QueryTimeoutError,
    Sample,
    ScalarResult,
    Series,
    StringResult,
    VectorResult,
    quote,
)
from .parser import parse, parse_selector
from .syntax import (
    COMPARISONS,
    DROPS_METRIC_NAME,
    SET_OPERATORS,
    TYPE_NAMES,
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

LOOKBACK_MS = 5 * 60 * 1000
DEFAULT_SUBQUERY_STEP_MS = 60 * 1000
# Prometheus' own default is 50M; a pure-Python engine runs out of memory long before that.
DEFAULT_MAX_SAMPLES = 5_000_000

_TOO_DEEP = "query is nested too deeply to evaluate: split it or use fewer chained operators"

LabelKey: TypeAlias = tuple[tuple[str, str], ...]


def _key(labels: dict[str, str]) -> LabelKey:
    return tuple(sorted(labels.items()))


def _labels_text(labels: dict[str, str]) -> str:
    inner = ", ".join(f"{name}={quote(value)}" for name, value in sorted(labels.items()))
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
        self.index = _SeriesIndex(series)
        self.lookback_ms = round(lookback_s * 1000)
        self.max_samples = max_samples

    def instant_query(
        self, query: str, time_s: float, *, timeout_s: float | None = None
    ) -> QueryResult:
        """Evaluate `query` at one moment, like GET /api/v1/query."""
        expr = parse(query)
        at = round(time_s * 1000)
        evaluator = _Evaluator(self, [at], at, at, _deadline(timeout_s))
        try:
            return self._instant(expr, evaluator, at)
        except RecursionError:
            raise QueryExecutionError(_TOO_DEEP) from None

    def _instant(self, expr: Expr, evaluator: _Evaluator, at: int) -> QueryResult:
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
                f"invalid expression type {quote(TYPE_NAMES[expr.type])} for range query, must be "
                "Scalar or instant Vector"
            )
        start, end, step = round(start_s * 1000), round(end_s * 1000), round(step_s * 1000)
        if step <= 0:
            raise PromQLError("zero or negative query resolution step widths are not accepted")
        if end < start:
            raise PromQLError("end timestamp must not be before start time")
        steps = list(range(start, end + 1, step))
        evaluator = _Evaluator(self, steps, start, end, _deadline(timeout_s))
        try:
            value = evaluator.eval(expr)
        except RecursionError:
            raise QueryExecutionError(_TOO_DEEP) from None
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
                for stored in self.index.select(parse_selector(text).matchers):
                    found[stored.key] = stored
            candidates = [found[k] for k in sorted(found)]
        else:
            candidates = self.index.series
        lo = -math.inf if start_s is None else start_s * 1000
        hi = math.inf if end_s is None else end_s * 1000
        return [s for s in candidates if _has_point_between(s.times, lo, hi)]


def _has_point_between(times: list[int], lo: float, hi: float) -> bool:
    index = bisect.bisect_left(times, lo)
    return index < len(times) and times[index] <= hi


def _deadline(timeout_s: float | None) -> float:
    return math.inf if timeout_s is None else time.monotonic() + timeout_s


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
            f"a {TYPE_NAMES[expr.type]} cannot be evaluated here"
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
        for stored in self.engine.index.select(selector.matchers):
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
                for s in self.engine.index.select(expr.selector.matchers)
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
                value, keep = operate(op, lv, rv)
                out.append((1.0 if keep else 0.0) if expr.return_bool else value)
            return _Scalar(out)
        if isinstance(lhs, _Vector) and isinstance(rhs, _Scalar):
            return self.vector_scalar(expr, lhs, rhs.values, swapped=False)
        if isinstance(lhs, _Scalar) and isinstance(rhs, _Vector):
            return self.vector_scalar(expr, rhs, lhs.values, swapped=True)
        assert isinstance(lhs, _Vector)
        assert isinstance(rhs, _Vector)
        assert expr.matching is not None
        if op in SET_OPERATORS:
            return self.vector(self.set_operation(op, lhs.rows, rhs.rows, expr.matching))
        return self.vector(self.vector_vector(expr, lhs.rows, rhs.rows, expr.matching))

    def vector_scalar(
        self, expr: BinaryExpr, vector: _Vector, scalars: list[float], swapped: bool
    ) -> _Vector:
        op = expr.op
        comparison = op in COMPARISONS
        drop = expr.return_bool or op in DROPS_METRIC_NAME
        rows: list[_Row] = []
        for row in vector.rows:
            out: list[float | None] = []
            for v, s in zip(row.values, scalars, strict=True):
                if v is None:
                    out.append(None)
                    continue
                value, keep = operate(op, s, v) if swapped else operate(op, v, s)
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
        drop = op in DROPS_METRIC_NAME or expr.return_bool
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
                value, keep = operate(op, a, b)
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
                aggregated.append(aggregate_values(expr.op, present, params[i] if params else 0.0))
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
        if name in RANGE_FUNCTIONS or name in ROW_FUNCTIONS or name == "absent_over_time":
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
        if name in ROW_FUNCTIONS:
            whole_row = ROW_FUNCTIONS[name]
            computed_rows: list[_Row] = []
            for row in rows:
                computed = whole_row(row.times, row.values, ends, range_ms)
                if any(v is not None for v in computed):
                    computed_rows.append(_Row(_drop_name(row.labels), computed))
                self.check()
            return self.vector(_merge_rows(computed_rows))
        function = RANGE_FUNCTIONS[name]
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
        no_args: list[float] = []
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
                args = [a[i] for a in scalar_args] if scalar_args else no_args
                value = function(times, vals, lo, hi, start, end, self.steps[i], args)
                if value is not None:
                    result[i] = value
                    found = True
            if found:
                out.append(_Row(row.labels if keep_name else _drop_name(row.labels), result))
            self.check()  # windows are views into stored samples: only the output counts
        return self.vector(_merge_rows(out))

    def map_function(self, expr: Call) -> _Vector:
        name = expr.func
        n = len(self.steps)
        if expr.args:
            rows = self.instant(expr.args[0])
        else:  # date functions default to vector(time())
            rows = [_Row({}, [t / 1000 for t in self.steps])]
        scalar_args = [self.scalar(a) for a in expr.args[1:]]
        function = ELEMENT_FUNCTIONS[name]
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
                values.append(bucket_quantile(quantiles[i], present) if present else None)
            if any(v is not None for v in values):
                out.append(_Row(labels, values))
        return self.vector(out)

    def label_function(self, expr: Call) -> _Vector:
        rows = self.instant(expr.args[0])
        strings = [self.string(a) for a in expr.args[1:]]
        destination = strings[0]
        if not LABEL_NAME_RE.fullmatch(destination):
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
            if not LABEL_NAME_RE.fullmatch(source):
                raise QueryExecutionError(f"invalid source label name in label_replace(): {source}")
            for row in rows:
                match = regex.fullmatch(row.labels.get(source, ""))
                labels = row.labels
                if match is not None:
                    labels = dict(row.labels)
                    value = expand_template(replacement, match)
                    if value:
                        labels[destination] = value
                    else:
                        labels.pop(destination, None)
                out.append(_Row(labels, row.values))
        else:
            separator, sources = strings[1], strings[2:]
            for name in sources:
                if not LABEL_NAME_RE.fullmatch(name):
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
            present.sort(key=top_first if op == "topk" else bottom_first)
            for value, j in present[:k]:
                row_id = id(members[j])
                row = out.get(row_id)
                if row is None:
                    row = out[row_id] = _Row(members[j].labels, [None] * n)
                    order.append(row_id)
                row.values[i] = value
    return [out[r] for r in order]
