"""The arithmetic of PromQL: operators, aggregations and functions, with Go's float rules."""

from __future__ import annotations

import bisect
import calendar
import math
import re
import time
from collections.abc import Callable, Sequence
from typing import TypeAlias

from .model import QueryExecutionError, quote


def operate(op: str, a: float, b: float) -> tuple[float, bool]:
    """Apply a binary operator the way Go's float64 arithmetic does; (value, keep)."""
    if op == "+":
        return a + b, True
    if op == "-":
        return a - b, True
    if op == "*":
        return a * b, True
    if op == "/":
        return divide(a, b), True
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
    raise QueryExecutionError(f"operator {quote(op)} not allowed here")  # pragma: no cover


def divide(a: float, b: float) -> float:
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


def aggregate_values(op: str, values: list[float], param: float) -> float:
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
        return quantile_of(param, values)
    raise QueryExecutionError(f"aggregation {quote(op)} is not supported")  # pragma: no cover


def top_first(element: tuple[float, int]) -> tuple[bool, float]:
    value = element[0]
    return (math.isnan(value), 0.0 if math.isnan(value) else -value)  # NaN loses, as in Prometheus


def bottom_first(element: tuple[float, int]) -> tuple[bool, float]:
    value = element[0]
    return (math.isnan(value), 0.0 if math.isnan(value) else value)


def quantile_of(q: float, values: list[float]) -> float:
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


def bucket_quantile(q: float, buckets: list[tuple[float, float]]) -> float:
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


def expand_template(template: str, match: re.Match[str]) -> str:
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


RangeFunction: TypeAlias = Callable[
    [list[int], list[float], int, int, int, int, int, Sequence[float]], float | None
]


# -- range functions: (times, values, lo, hi, window_start, window_end, eval_time, args).
# The window is values[lo:hi]; times are integer milliseconds like Prometheus' own.


def extrapolated_rate_row(
    times: list[int],
    values: list[float],
    ends: list[int],
    range_ms: int,
    counter: bool,
    per_second: bool,
) -> list[float | None]:
    """rate/increase/delta of one series at every step: Prometheus' extrapolatedRate.

    A whole row at once because this is the hot path of every dashboard query: reset positions
    are found once per series, and windows without a reset skip the per-sample loop. The sums
    happen in Prometheus' order, so results are bit-for-bit the same.
    """
    resets = [k for k in range(1, len(values)) if values[k] < values[k - 1]] if counter else []
    range_s = range_ms / 1000
    left, right = bisect.bisect_left, bisect.bisect_right
    out: list[float | None] = []
    for end in ends:
        start = end - range_ms
        lo = left(times, start)
        hi = right(times, end)
        if hi - lo < 2:
            out.append(None)
            continue
        first = values[lo]
        result = values[hi - 1] - first
        if resets:
            index = right(resets, lo)
            while index < len(resets) and resets[index] < hi:
                result += values[resets[index] - 1]  # the counter restarted from zero
                index += 1
        first_time, last_time = times[lo], times[hi - 1]
        to_start = (first_time - start) / 1000
        to_end = (end - last_time) / 1000
        sampled = (last_time - first_time) / 1000
        average = sampled / (hi - lo - 1)
        if counter and result > 0 and first >= 0:
            # A counter cannot go below zero: do not extrapolate past the point where it was 0.
            to_zero = sampled * (first / result)
            if to_zero < to_start:
                to_start = to_zero
        threshold = average * 1.1
        interval = sampled
        interval += to_start if to_start < threshold else average / 2
        interval += to_end if to_end < threshold else average / 2
        result = result * (interval / sampled)
        out.append(result / range_s if per_second else result)
    return out


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
    slope = divide(cov_xy, var_x)
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


RANGE_FUNCTIONS: dict[str, RangeFunction] = {
    "irate": lambda t, v, lo, hi, s, e, at, a: _instant_value(t, v, lo, hi, True),
    "idelta": lambda t, v, lo, hi, s, e, at, a: _instant_value(t, v, lo, hi, False),
    "deriv": lambda t, v, lo, hi, s, e, at, a: (
        _linear_regression(t, v, lo, hi, t[lo])[0] if hi - lo >= 2 else None
    ),
    "predict_linear": lambda t, v, lo, hi, s, e, at, a: _predict_linear(t, v, lo, hi, at, a[0]),
    "holt_winters": lambda t, v, lo, hi, s, e, at, a: _holt_winters(v, lo, hi, a[0], a[1]),
    "avg_over_time": lambda t, v, lo, hi, s, e, at, a: aggregate_values("avg", v[lo:hi], 0.0),
    "sum_over_time": lambda t, v, lo, hi, s, e, at, a: aggregate_values("sum", v[lo:hi], 0.0),
    "min_over_time": lambda t, v, lo, hi, s, e, at, a: aggregate_values("min", v[lo:hi], 0.0),
    "max_over_time": lambda t, v, lo, hi, s, e, at, a: aggregate_values("max", v[lo:hi], 0.0),
    "count_over_time": lambda t, v, lo, hi, s, e, at, a: float(hi - lo),
    "last_over_time": lambda t, v, lo, hi, s, e, at, a: v[hi - 1],
    "stddev_over_time": lambda t, v, lo, hi, s, e, at, a: aggregate_values("stddev", v[lo:hi], 0.0),
    "stdvar_over_time": lambda t, v, lo, hi, s, e, at, a: aggregate_values("stdvar", v[lo:hi], 0.0),
    "quantile_over_time": lambda t, v, lo, hi, s, e, at, a: quantile_of(a[0], v[lo:hi]),
    "changes": lambda t, v, lo, hi, s, e, at, a: _changes(v, lo, hi),
    "resets": lambda t, v, lo, hi, s, e, at, a: float(
        sum(1 for k in range(lo + 1, hi) if v[k] < v[k - 1])
    ),
    "present_over_time": lambda t, v, lo, hi, s, e, at, a: 1.0,
}


# Whole-row functions: (times, values, window ends, range) -> one value or None per step.
ROW_FUNCTIONS: dict[str, Callable[[list[int], list[float], list[int], int], list[float | None]]] = {
    "rate": lambda t, v, ends, r: extrapolated_rate_row(t, v, ends, r, True, True),
    "increase": lambda t, v, ends, r: extrapolated_rate_row(t, v, ends, r, True, False),
    "delta": lambda t, v, ends, r: extrapolated_rate_row(t, v, ends, r, False, False),
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
    inverse = divide(1.0, args[0] if args else 1.0)
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


ELEMENT_FUNCTIONS: dict[str, ElementFunction] = {
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
