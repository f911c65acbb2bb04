"""PromQL evaluation semantics, each against a hand-computed expectation."""

from __future__ import annotations

import math

import pytest

from mcp_bridge.sandbox.promql import (
    MatrixResult,
    PromQLEngine,
    PromQLError,
    QueryExecutionError,
    QueryTimeoutError,
    ScalarResult,
    Series,
    StringResult,
    VectorResult,
)

Key = tuple[tuple[str, str], ...]


def series(name: str, points: list[tuple[float, float]], **labels: str) -> Series:
    return Series({"__name__": name, **labels}, tuple(points))


def instant(engine: PromQLEngine, query: str, at: float) -> dict[Key, float]:
    result = engine.instant_query(query, at)
    assert isinstance(result, VectorResult), result
    out = {tuple(sorted(s.labels.items())): s.value for s in result.samples}
    assert len(out) == len(result.samples), "a vector must not repeat a label set"
    return out


def only(engine: PromQLEngine, query: str, at: float) -> float:
    values = list(instant(engine, query, at).values())
    assert len(values) == 1, values
    return values[0]


# ---------------------------------------------------------------- rate and friends


def test_rate_extrapolates_to_the_window_edges() -> None:
    # Every 10 s from t=105 to t=395, rising 2/s. The window [100, 400] misses 5 s at each end,
    # less than 1.1 sample intervals, so Prometheus extrapolates: 580 * 300/290 = 600 -> 2/s.
    engine = PromQLEngine([series("c", [(t, 2.0 * (t - 100)) for t in range(105, 400, 10)])])
    assert only(engine, "increase(c[5m])", 400) == pytest.approx(600.0)
    assert only(engine, "rate(c[5m])", 400) == pytest.approx(2.0)


def test_rate_extrapolates_only_half_an_interval_when_samples_stop_far_from_the_edges() -> None:
    # Samples 160..340 cover 180 s of a 300 s window: each side gets half an interval (5 s).
    engine = PromQLEngine([series("c", [(t, 2.0 * (t - 100)) for t in range(160, 341, 10)])])
    assert only(engine, "increase(c[5m])", 400) == pytest.approx(360 * 190 / 180)
    assert only(engine, "rate(c[5m])", 400) == pytest.approx(360 * 190 / 180 / 300)


def test_increase_does_not_extrapolate_a_counter_below_zero() -> None:
    # Every 30 s from 110 to 380, value t-105: the counter was zero at t=105, 5 s before the
    # first sample, closer than the 10 s to the window start. So: 270 + 5 + 20 = 295.
    engine = PromQLEngine([series("c", [(t, t - 105.0) for t in range(110, 381, 30)])])
    assert only(engine, "increase(c[5m])", 400) == pytest.approx(295.0)


def test_counter_reset_counts_the_value_before_the_reset() -> None:
    # 10, 20, 30, then the process restarts: 5, 15. Increase = (15 - 10) + 30 = 35.
    engine = PromQLEngine([series("c", [(0, 10), (10, 20), (20, 30), (30, 5), (40, 15)])])
    assert only(engine, "increase(c[40s])", 40) == pytest.approx(35.0)
    assert only(engine, "rate(c[40s])", 40) == pytest.approx(35 / 40)
    assert only(engine, "resets(c[40s])", 40) == 1.0
    assert only(engine, "irate(c[40s])", 30) == pytest.approx(0.5)  # 5 counts in 10 s after reset
    assert only(engine, "delta(c[40s])", 40) == pytest.approx(5.0)  # gauges do not reset


def test_rate_needs_two_samples_in_the_window() -> None:
    engine = PromQLEngine([series("c", [(0, 1), (100, 2)])])
    assert instant(engine, "rate(c[1m])", 100) == {}
    # The window [-20, 100] starts 20 s before the first sample, within 1.1 intervals (110 s):
    # extrapolate the full 20 s. 1 * 120/100 over 120 s.
    assert only(engine, "rate(c[2m])", 100) == pytest.approx(0.01)


def test_predict_linear_and_deriv_fit_a_line() -> None:
    engine = PromQLEngine([series("free", [(t, 1000.0 - 2 * t) for t in range(0, 601, 60)])])
    assert only(engine, "deriv(free[10m])", 600) == pytest.approx(-2.0)
    assert only(engine, "predict_linear(free[10m], 3600)", 600) == pytest.approx(
        1000.0 - 2 * (600 + 3600)
    )


def test_over_time_functions() -> None:
    engine = PromQLEngine([series("g", [(0, 4), (10, 1), (20, 7), (30, 2), (40, 6)])])
    at = 40
    assert only(engine, "avg_over_time(g[40s])", at) == 4.0
    assert only(engine, "min_over_time(g[40s])", at) == 1.0
    assert only(engine, "max_over_time(g[40s])", at) == 7.0
    assert only(engine, "sum_over_time(g[40s])", at) == 20.0
    assert only(engine, "count_over_time(g[40s])", at) == 5.0
    assert only(engine, "last_over_time(g[40s])", at) == 6.0
    assert only(engine, "quantile_over_time(0.5, g[40s])", at) == 4.0
    assert only(engine, "stdvar_over_time(g[40s])", at) == pytest.approx(5.2)
    assert only(engine, "changes(g[40s])", at) == 4.0
    # The window is closed at both ends, as in Prometheus 2.x: [0, 40] holds five samples,
    # (0, 40] would hold four.
    assert only(engine, "count_over_time(g[39s])", at) == 4.0


# ---------------------------------------------------------------- lookback and offsets


def test_instant_selector_looks_back_five_minutes_and_no_further() -> None:
    engine = PromQLEngine([series("g", [(100, 1.0)])])
    assert only(engine, "g", 100) == 1.0
    assert only(engine, "g", 400) == 1.0
    assert instant(engine, "g", 400.001) == {}
    assert instant(engine, "g", 99.999) == {}


def test_a_series_disappears_from_a_range_query_five_minutes_after_its_last_sample() -> None:
    engine = PromQLEngine([series("g", [(0, 1.0), (60, 2.0)])])
    result = engine.range_query("g", 0, 600, 60)
    assert isinstance(result, MatrixResult)
    (only_series,) = result.series
    assert only_series.points == (
        (0.0, 1.0),
        (60.0, 2.0),
        (120.0, 2.0),
        (180.0, 2.0),
        (240.0, 2.0),
        (300.0, 2.0),
        (360.0, 2.0),
    )


def test_offset_and_at_shift_the_evaluation_time() -> None:
    engine = PromQLEngine([series("g", [(t, float(t)) for t in range(0, 1201, 60)])])
    assert only(engine, "g offset 5m", 1200) == 900.0
    assert only(engine, "g offset -5m", 600) == 900.0
    assert only(engine, "g @ 300", 1200) == 300.0
    assert only(engine, "max_over_time(g[5m] offset 10m)", 1200) == 600.0
    result = engine.range_query("g @ start()", 600, 900, 60)
    assert isinstance(result, MatrixResult)
    assert {v for _, v in result.series[0].points} == {600.0}


# ---------------------------------------------------------------- aggregation


def _pods() -> PromQLEngine:
    return PromQLEngine(
        [
            series("mem", [(0, 10)], namespace="a", pod="p1", container="app"),
            series("mem", [(0, 20)], namespace="a", pod="p1", container="sidecar"),
            series("mem", [(0, 30)], namespace="a", pod="p2", container="app"),
            series("mem", [(0, 40)], namespace="b", pod="p3", container="app"),
        ]
    )


def test_aggregation_groups_by_the_listed_labels_and_drops_the_rest() -> None:
    engine = _pods()
    assert instant(engine, "sum by (namespace) (mem)", 0) == {
        (("namespace", "a"),): 60.0,
        (("namespace", "b"),): 40.0,
    }
    assert instant(engine, "max(mem) by (container)", 0) == {
        (("container", "app"),): 40.0,
        (("container", "sidecar"),): 20.0,
    }
    assert instant(engine, "avg(mem)", 0) == {(): 25.0}
    assert instant(engine, "count without (container) (mem)", 0) == {
        (("namespace", "a"), ("pod", "p1")): 2.0,
        (("namespace", "a"), ("pod", "p2")): 1.0,
        (("namespace", "b"), ("pod", "p3")): 1.0,
    }
    assert instant(engine, "sum by (__name__) (mem)", 0) == {(("__name__", "mem"),): 100.0}
    assert instant(engine, "quantile(0.5, mem)", 0) == {(): 25.0}
    assert only(engine, "stddev(mem)", 0) == pytest.approx(math.sqrt(125.0))


def test_topk_keeps_the_original_series_per_group() -> None:
    engine = _pods()
    assert instant(engine, "topk(1, mem) by (namespace)", 0) == {
        (("__name__", "mem"), ("container", "app"), ("namespace", "a"), ("pod", "p2")): 30.0,
        (("__name__", "mem"), ("container", "app"), ("namespace", "b"), ("pod", "p3")): 40.0,
    }
    bottom = engine.instant_query("bottomk(2, mem)", 0)
    assert isinstance(bottom, VectorResult)
    assert [s.value for s in bottom.samples] == [10.0, 20.0]


# ---------------------------------------------------------------- operators and matching


def test_arithmetic_drops_the_metric_name_and_comparison_filters() -> None:
    engine = _pods()
    assert (("__name__", "mem"),) not in instant(engine, "mem * 2", 0)
    assert all(not any(k == "__name__" for k, _ in key) for key in instant(engine, "mem * 2", 0))
    kept = instant(engine, "mem > 25", 0)
    assert sorted(kept.values()) == [30.0, 40.0]
    assert all(("__name__", "mem") in key for key in kept)
    as_bool = instant(engine, "mem > bool 25", 0)
    assert sorted(as_bool.values()) == [0.0, 0.0, 1.0, 1.0]
    assert all(("__name__", "mem") not in key for key in as_bool)
    flipped = instant(engine, "25 < mem", 0)
    assert sorted(flipped.values()) == [30.0, 40.0]  # the vector's own value, not the scalar


def test_one_to_one_matching_on_labels_keeps_only_those_labels() -> None:
    engine = PromQLEngine(
        [
            series("used", [(0, 50)], pod="p1", container="app", id="/kubepods/1"),
            series("used", [(0, 30)], pod="p2", container="app", id="/kubepods/2"),
            series("limit", [(0, 100)], pod="p1", container="app", resource="memory"),
            series("limit", [(0, 60)], pod="p2", container="app", resource="memory"),
            series("limit", [(0, 2)], pod="p2", container="app", resource="cpu"),
        ]
    )
    ratio = 'used / on(pod, container) limit{resource="memory"}'
    assert instant(engine, ratio, 0) == {
        (("container", "app"), ("pod", "p1")): 0.5,
        (("container", "app"), ("pod", "p2")): 0.5,
    }
    with pytest.raises(QueryExecutionError, match="many-to-many matching not allowed"):
        engine.instant_query("used / on(pod, container) limit", 0)


def test_group_left_copies_labels_from_the_one_side() -> None:
    engine = PromQLEngine(
        [
            series("cpu", [(0, 2)], pod="p1", container="a"),
            series("cpu", [(0, 4)], pod="p1", container="b"),
            series("info", [(0, 1)], pod="p1", node="n7"),
        ]
    )
    assert instant(engine, "cpu * on(pod) group_left(node) info", 0) == {
        (("container", "a"), ("node", "n7"), ("pod", "p1")): 2.0,
        (("container", "b"), ("node", "n7"), ("pod", "p1")): 4.0,
    }
    with pytest.raises(QueryExecutionError, match="many-to-one matching must be explicit"):
        engine.instant_query("cpu * on(pod) info", 0)


def test_set_operators_match_on_all_labels_but_the_name() -> None:
    engine = PromQLEngine(
        [
            series("up", [(0, 1)], job="api"),
            series("up", [(0, 0)], job="db"),
            series("errors", [(0, 5)], job="api"),
        ]
    )
    assert instant(engine, "up and errors", 0) == {(("__name__", "up"), ("job", "api")): 1.0}
    assert instant(engine, "up unless errors", 0) == {(("__name__", "up"), ("job", "db")): 0.0}
    assert instant(engine, 'up{job="db"} or errors', 0) == {
        (("__name__", "up"), ("job", "db")): 0.0,
        (("__name__", "errors"), ("job", "api")): 5.0,
    }
    assert instant(engine, "up == 0", 0) == {(("__name__", "up"), ("job", "db")): 0.0}


def test_same_labels_after_dropping_the_name_is_an_execution_error() -> None:
    engine = PromQLEngine([series("a", [(0, 1)], x="1"), series("b", [(0, 2)], x="1")])
    with pytest.raises(QueryExecutionError, match="same labelset"):
        engine.instant_query('{__name__=~"a|b"} * 2', 0)


def test_division_by_zero_and_modulo_follow_ieee_like_prometheus() -> None:
    engine = PromQLEngine([])
    for query, expected in (("1 / 0", math.inf), ("-1 / 0", -math.inf), ("2 ^ 2000", math.inf)):
        result = engine.instant_query(query, 0)
        assert isinstance(result, ScalarResult)
        assert result.value == expected
    for query in ("0 / 0", "5 % 0", "(-8) ^ 0.5"):
        result = engine.instant_query(query, 0)
        assert isinstance(result, ScalarResult)
        assert math.isnan(result.value)


# ---------------------------------------------------------------- histograms


def _histogram(buckets: dict[str, float]) -> PromQLEngine:
    return PromQLEngine(
        [series("latency_bucket", [(0, count)], le=le, pod="p") for le, count in buckets.items()]
    )


def test_histogram_quantile_interpolates_inside_the_bucket() -> None:
    engine = _histogram({"0.1": 10, "0.5": 30, "1": 40, "+Inf": 40})
    # rank 20 lies in (0.1, 0.5]: 10 of that bucket's 20 observations -> 0.1 + 0.4 * 0.5
    assert instant(engine, "histogram_quantile(0.5, latency_bucket)", 0) == {
        (("pod", "p"),): pytest.approx(0.3)
    }
    assert only(engine, "histogram_quantile(0.99, latency_bucket)", 0) == pytest.approx(0.98)
    assert only(engine, "histogram_quantile(1, latency_bucket)", 0) == pytest.approx(1.0)
    assert only(engine, "histogram_quantile(1.5, latency_bucket)", 0) == math.inf


def test_histogram_quantile_in_the_inf_bucket_returns_the_highest_finite_bound() -> None:
    engine = _histogram({"0.1": 10, "+Inf": 20})
    assert only(engine, "histogram_quantile(0.9, latency_bucket)", 0) == 0.1


def test_histogram_quantile_without_an_inf_bucket_is_nan() -> None:
    engine = _histogram({"0.1": 10, "1": 20})
    assert math.isnan(only(engine, "histogram_quantile(0.5, latency_bucket)", 0))


def test_histogram_quantile_over_summed_rates() -> None:
    points = {"0.1": 1.0, "0.5": 3.0, "+Inf": 4.0}  # per-second rate of each bucket
    engine = PromQLEngine(
        [
            series("h_bucket", [(t, rate * t) for t in range(0, 301, 15)], le=le, pod=pod)
            for le, rate in points.items()
            for pod in ("a", "b")
        ]
    )
    query = "histogram_quantile(0.5, sum by (le) (rate(h_bucket[5m])))"
    # rank 4 of 8/s lies in (0.1, 0.5]: (4 - 2) / (6 - 2) of the way -> 0.3
    assert instant(engine, query, 300) == {(): pytest.approx(0.3)}


# ---------------------------------------------------------------- functions


def test_scalar_vector_time_and_absent() -> None:
    engine = PromQLEngine([series("up", [(0, 1)], job="api")])
    assert engine.instant_query("time()", 42.5) == ScalarResult(42.5, 42.5)
    assert engine.instant_query("scalar(up)", 0) == ScalarResult(0.0, 1.0)
    nan = engine.instant_query("scalar(nothing)", 0)
    assert isinstance(nan, ScalarResult)
    assert math.isnan(nan.value)
    assert instant(engine, "vector(3)", 0) == {(): 3.0}
    assert instant(engine, 'absent(nothing{job="api", env=~"p.*"})', 0) == {(("job", "api"),): 1.0}
    assert instant(engine, "absent(up)", 0) == {}
    assert engine.instant_query('"text"', 5) == StringResult(5.0, "text")


def test_clamp_round_and_label_functions() -> None:
    engine = PromQLEngine([series("g", [(0, 7.26)], instance="10.0.0.1:9100", job="node")])
    assert only(engine, "clamp_max(g, 5)", 0) == 5.0
    assert only(engine, "clamp_min(g, 10)", 0) == 10.0
    assert instant(engine, "clamp(g, 10, 5)", 0) == {}  # inverted bounds give nothing
    assert only(engine, "round(g, 0.5)", 0) == 7.5
    assert only(engine, "abs(-g)", 0) == 7.26
    replaced = instant(engine, 'label_replace(g, "host", "$1", "instance", "(.*):.*")', 0)
    assert ("host", "10.0.0.1") in next(iter(replaced))
    joined = instant(engine, 'label_join(g, "id", "/", "job", "instance")', 0)
    assert ("id", "node/10.0.0.1:9100") in next(iter(joined))
    assert ("__name__", "g") in next(iter(joined))  # label functions keep the name


def test_subquery_steps_align_to_multiples_of_the_step() -> None:
    engine = PromQLEngine([series("g", [(t, float(t)) for t in range(0, 1000, 10)])])
    # Steps of 60 s inside (95 s, 395 s] land on 120, 180, ..., 360 -> 5 values.
    assert only(engine, "count_over_time(g[300s:60s])", 395) == 5.0
    assert only(engine, "max_over_time(g[300s:60s])", 395) == 360.0


def test_range_query_with_a_scalar_gives_one_unlabelled_series() -> None:
    engine = PromQLEngine([])
    result = engine.range_query("time() * 2", 0, 120, 60)
    assert isinstance(result, MatrixResult)
    assert [(s.labels, s.points) for s in result.series] == [
        ({}, ((0.0, 0.0), (60.0, 120.0), (120.0, 240.0)))
    ]


def test_instant_query_of_a_range_selector_returns_raw_samples() -> None:
    engine = PromQLEngine([series("g", [(t, float(t)) for t in range(0, 100, 10)])])
    result = engine.instant_query("g[20s]", 90)
    assert isinstance(result, MatrixResult)
    assert result.series[0].points == ((70.0, 70.0), (80.0, 80.0), (90.0, 90.0))


def test_range_query_rejects_range_vectors_and_strings() -> None:
    engine = PromQLEngine([])
    for query in ("x[5m]", '"a"'):
        with pytest.raises(PromQLError, match="for range query"):
            engine.range_query(query, 0, 60, 15)


# ---------------------------------------------------------------- guards and input


def test_a_query_past_its_deadline_times_out() -> None:
    engine = PromQLEngine([series("g", [(t, 1.0) for t in range(0, 3600, 15)])])
    with pytest.raises(QueryTimeoutError, match="timed out"):
        engine.range_query("rate(g[5m])", 0, 3600, 15, timeout_s=0)


def test_too_many_samples_is_an_execution_error_that_says_how_to_narrow() -> None:
    engine = PromQLEngine(
        [series("g", [(0, 1.0)], pod=str(i)) for i in range(100)], max_samples=1000
    )
    with pytest.raises(QueryExecutionError, match="too many samples"):
        engine.range_query("g", 0, 3600, 15)


def test_series_with_invalid_labels_or_unsorted_points_are_refused() -> None:
    with pytest.raises(ValueError, match="not a valid label name"):
        Series({"__name__": "x", "bad-label": "1"}, ())
    with pytest.raises(ValueError, match="not a valid metric name"):
        Series({"__name__": "http-requests"}, ())
    with pytest.raises(ValueError, match="sorted by time"):
        Series({"__name__": "x"}, ((2.0, 1.0), (1.0, 1.0)))


def test_duplicate_input_series_are_merged_and_empty_labels_ignored() -> None:
    engine = PromQLEngine(
        [
            series("g", [(0, 1.0)], pod="p", zone=""),
            series("g", [(60, 2.0)], pod="p"),
        ]
    )
    assert engine.series(["g"], None, None) == [{"__name__": "g", "pod": "p"}]
    assert only(engine, "count_over_time(g[2m])", 60) == 2.0


def test_a_very_long_chain_of_operators_is_an_error_not_a_crash() -> None:
    engine = PromQLEngine([])
    with pytest.raises(QueryExecutionError, match="nested too deeply"):
        engine.instant_query(" + ".join(["1"] * 5000), 0)
