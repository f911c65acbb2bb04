"""Prometheus results read as findings. A query is recognised by what it measures (latency,
errors, traffic, CPU throttling, memory, certificates, volumes, node conditions, autoscalers,
...) and its
series are read the way an engineer reads a graph: the level before, the level now, and when it
changed."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from statistics import median
from typing import Any

from agent.offline.findings import Finding
from agent.offline.reading import found, items, mapping, text
from agent.offline.scene import Scene, human_bytes, human_duration, number, parse_time
from agent.report import Category
from agent.tooling import ToolOutcome


class Measure(StrEnum):
    CERT_EXPIRY = "cert_expiry"
    CERT_READY = "cert_ready"
    AUTOSCALER = "autoscaler"
    THROTTLING = "throttling"
    LATENCY = "latency"
    ERRORS = "errors"
    TRAFFIC = "traffic"
    CPU = "cpu"
    MEMORY = "memory"
    LIMITS = "limits"
    RESTARTS = "restarts"
    EXPORTER_UP = "exporter_up"
    TARGETS_UP = "up"
    VOLUME = "volume"
    NODE_CONDITION = "node_condition"
    OTHER = "other"


# What a PromQL expression measures, by the metric names and label filters in it. First wins.
_MEASURES: tuple[tuple[re.Pattern[str], Measure], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), measure)
    for pattern, measure in (
        (
            r"(?:cert|ssl|x509|tls)\w{0,40}(?:expir|not_?after)|expir\w{0,40}(?:cert|ssl|tls)",
            Measure.CERT_EXPIRY,
        ),
        (r"certmanager_certificate_ready_status", Measure.CERT_READY),
        (r"kube_horizontalpodautoscaler_", Measure.AUTOSCALER),
        (r"cfs_throttled", Measure.THROTTLING),
        (
            r"histogram_quantile|_duration_seconds(?:_bucket)?\b(?!_count)|latency|_p(?:50|90"
            r"|95|99|999)\b|response_time",
            Measure.LATENCY,
        ),
        (
            r"(?:code|status|status_code|response_code)\s{0,3}=~?\s{0,3}[\"']5|5xx"
            r"|errors?_total|_errors?\b|by\s{0,3}\((?:[\w, ]{0,60})\b(?:code|status|status_code)\b",
            Measure.ERRORS,
        ),
        (r"requests?_total|_count\b|requests_per|request_rate|_requests\b|rps\b", Measure.TRAFFIC),
        (r"container_cpu_usage", Measure.CPU),
        (r"container_memory_(?:working_set|rss|usage)", Measure.MEMORY),
        (r"kube_pod_container_resource_limits", Measure.LIMITS),
        (r"restarts_total", Measure.RESTARTS),
        (r"\b[a-z][a-z0-9]{1,20}_up\b|\+_up\b", Measure.EXPORTER_UP),
        (r"(?:^|[^\w])up\s{0,3}(?:\{|==|$|\))", Measure.TARGETS_UP),
        (r"kubelet_volume_stats|node_filesystem", Measure.VOLUME),
        (r"kube_node_status_condition", Measure.NODE_CONDITION),
    )
)
_ERROR_LABELS = ("code", "status", "status_code", "response_code", "http_status")
_MILLISECONDS = re.compile(r"_ms\b|millisecond", re.IGNORECASE)
_RATIO_QUERY = re.compile(r"/")
# A CFS period is 100 ms, so a container can be throttled in at most 10 periods per second.
_PERIODS_PER_S = 10.0


def measure_of(query: str) -> Measure:
    for pattern, measure in _MEASURES:
        if pattern.search(query):
            return measure
    return Measure.OTHER


@dataclass(frozen=True)
class Curve:
    """One series as read from a graph."""

    labels: dict[str, str]
    points: list[tuple[datetime, float]]
    baseline: float
    recent: float
    peak: float
    changed_at: datetime | None

    @property
    def rose(self) -> bool:
        return self.recent > self.baseline

    def label_text(self) -> str:
        shown = {k: v for k, v in self.labels.items() if k != "__name__"}
        return ", ".join(f"{k}={v}" for k, v in list(shown.items())[:4])


def curve(labels: dict[str, str], raw_points: Any) -> Curve | None:
    points: list[tuple[datetime, float]] = []
    for point in raw_points if isinstance(raw_points, list) else []:
        if not isinstance(point, list | tuple) or len(point) != 2:
            continue
        moment, value = parse_time(point[0]), number(point[1])
        if moment is not None and value is not None:
            points.append((moment, value))
    if not points:
        return None
    values = [v for _, v in points]
    count = len(values)
    head = values[: max(1, count // 3)]
    tail = values[-max(1, count // 10) :] if count >= 4 else values[-1:]
    baseline, recent = median(head), median(tail)
    return Curve(
        labels=labels,
        points=points,
        baseline=baseline,
        recent=recent,
        peak=max(values),
        changed_at=_change_point(points, baseline, recent),
    )


def _change_point(
    points: list[tuple[datetime, float]], baseline: float, recent: float
) -> datetime | None:
    """When the series moved from its baseline to where it is now: the first point past the
    midpoint after which most points stay past it."""
    if abs(recent - baseline) <= 1e-12 or len(points) < 4:
        return None
    middle = (baseline + recent) / 2
    rising = recent > baseline
    beyond = [(v > middle) if rising else (v < middle) for _, v in points]
    for index, flag in enumerate(beyond):
        if not flag:
            continue
        rest = beyond[index:]
        if sum(rest) / len(rest) >= 0.7:
            return points[index][0]
    return None


def range_findings(outcome: ToolOutcome, scene: Scene) -> list[Finding]:
    """`query_range` (RangeQueryResult) and `query` (QueryResult)."""
    result = mapping(outcome.structured)
    query = text(result.get("query"), 4000) or str(outcome.arguments.get("query") or "")
    series = items(result.get("series"))
    curves = [
        c
        for c in (curve(mapping(s.get("labels")), s.get("points")) for s in series)
        if c is not None
    ]
    samples = items(result.get("samples"))
    if not curves and samples:
        curves = [
            Curve(
                labels=mapping(s.get("labels")),
                points=[(scene.now, v)],
                baseline=v,
                recent=v,
                peak=v,
                changed_at=None,
            )
            for s in samples
            if (v := number(s.get("value"))) is not None
        ]
    if not curves:
        return [
            found(
                outcome,
                "metric_no_data",
                f"No data for {_short(query)}",
                None,
                0.0,
                query=query,
                measure=measure_of(query).value,
            )
        ]
    measure = measure_of(query)
    reader = _READERS.get(measure, _other)
    return reader(outcome, query, curves, scene)


# --- readers, one per measure ----------------------------------------------------------------


def _latency(outcome: ToolOutcome, query: str, curves: list[Curve], scene: Scene) -> list[Finding]:
    unit = 0.001 if _MILLISECONDS.search(query) else 1.0
    worst = max(curves, key=lambda c: c.recent - c.baseline)
    base, now, peak = worst.baseline * unit, worst.recent * unit, worst.peak * unit
    facts = _curve_facts(worst, query, scene, baseline=base, recent=now, peak=peak)
    if breakdown := _breakdown(curves, unit):
        facts["breakdown"] = breakdown
        base = min(c.baseline for c in curves) * unit
    if now >= base * 1.5 and now - base >= 0.05:
        return [
            found(
                outcome,
                "latency_jump",
                f"{_subject('Latency', worst)} rose from {_seconds(base)} to {_seconds(now)}"
                + _since(worst, scene),
                None,
                0.0,
                symptom=True,
                **facts,
            )
        ]
    if peak >= base * 1.5 and peak - base >= 0.05 and now < base * 1.2:
        return [
            found(
                outcome,
                "latency_recovered",
                f"{_subject('Latency', worst)} peaked at {_seconds(peak)} and is back to "
                f"{_seconds(now)} (baseline {_seconds(base)})",
                Category.NO_ISSUE,
                0.55,
                **facts,
            )
        ]
    return [
        found(
            outcome,
            "latency_flat",
            f"{_subject('Latency', worst)} is steady around {_seconds(now)} (baseline "
            f"{_seconds(base)})",
            None,
            0.0,
            **facts,
        )
    ]


# Outgoing calls (a client's view of its dependencies), and the labels that name the other end.
_CLIENT_METRIC = re.compile(r"client|outbound|egress|upstream", re.IGNORECASE)
TARGET_LABELS = (
    "client_name", "upstream", "target", "peer", "host", "server_address", "net_peer_name",
    "destination_service", "destination", "remote", "authority", "service_name",
)  # fmt: skip


def _errors(outcome: ToolOutcome, query: str, curves: list[Curve], scene: Scene) -> list[Finding]:
    if _CLIENT_METRIC.search(query):
        return _client_errors(outcome, query, curves, scene)
    by_code = [c for c in curves if any(label in c.labels for label in _ERROR_LABELS)]
    if by_code and any(not _is_error(c) for c in by_code):
        ratio = _error_ratio(by_code)
        if ratio is not None:
            return _ratio_findings(outcome, query, ratio, scene, what="Share of 5xx responses")
    if _RATIO_QUERY.search(query):
        worst = max(curves, key=lambda c: c.recent)
        return _ratio_findings(outcome, query, worst, scene, what="Error ratio")
    total = _summed(curves)
    if total is None:
        return []
    facts = _curve_facts(total, query, scene, baseline=total.baseline, recent=total.recent)
    if breakdown := _breakdown(curves):
        facts["breakdown"] = breakdown
    if total.recent >= max(3 * total.baseline, 0.05) and total.recent > 0:
        return [
            found(
                outcome,
                "error_rate_jump",
                f"{_subject('Errors', curves[0])} rose from {total.baseline:.3g}/s to "
                f"{total.recent:.3g}/s" + _since(total, scene),
                None,
                0.0,
                symptom=True,
                **facts,
            )
        ]
    return [
        found(
            outcome,
            "error_rate_flat",
            f"{_subject('Errors', curves[0])} are steady at {total.recent:.3g}/s",
            None,
            0.0,
            **facts,
        )
    ]


def _client_errors(
    outcome: ToolOutcome, query: str, curves: list[Curve], scene: Scene
) -> list[Finding]:
    """Errors of calls the service makes: per dependency when the series name the other end."""
    groups: dict[str, list[Curve]] = {}
    for series in curves:
        target = next((series.labels[k] for k in TARGET_LABELS if series.labels.get(k)), "")
        groups.setdefault(target, []).append(series)
    findings: list[Finding] = []
    for target, members in groups.items():
        by_code = [c for c in members if any(label in c.labels for label in _ERROR_LABELS)]
        ratio = (
            _error_ratio(by_code) if by_code and any(not _is_error(c) for c in by_code) else None
        )
        if ratio is None:
            continue
        facts = _curve_facts(ratio, query, scene, baseline=ratio.baseline, recent=ratio.recent)
        who = f"Calls to {target}" if target else "Calls to the service's dependencies"
        if target:
            facts["host"] = target
        if ratio.recent >= 0.05 and ratio.recent >= 3 * ratio.baseline + 0.005:
            findings.append(
                found(
                    outcome,
                    "dependency_errors",
                    f"{who} fail: {_percent(ratio.recent)} answer 5xx (was "
                    f"{_percent(ratio.baseline)})" + _since(ratio, scene),
                    Category.DEPENDENCY_FAILURE,
                    0.6 if target else 0.5,
                    **facts,
                )
            )
        else:
            findings.append(
                found(
                    outcome,
                    "dependency_calls_ok",
                    f"{who} succeed: {_percent(ratio.recent)} answer 5xx",
                    None,
                    0.0,
                    **facts,
                )
            )
    return findings


def _ratio_findings(
    outcome: ToolOutcome, query: str, ratio: Curve, scene: Scene, *, what: str
) -> list[Finding]:
    facts = _curve_facts(
        ratio, query, scene, baseline=ratio.baseline, recent=ratio.recent, peak=ratio.peak
    )
    base, now, peak = ratio.baseline, ratio.recent, ratio.peak
    if now >= 0.01 and now >= 3 * base + 0.005:
        return [
            found(
                outcome,
                "error_rate_jump",
                f"{what} rose from {_percent(base)} to {_percent(now)}" + _since(ratio, scene),
                None,
                0.0,
                symptom=True,
                **facts,
            )
        ]
    if now >= 0.05:
        return [
            found(
                outcome,
                "error_rate_high",
                f"{what} is high: {_percent(now)} (was {_percent(base)})",
                None,
                0.0,
                symptom=True,
                **facts,
            )
        ]
    if peak >= 0.01 and peak >= 3 * base + 0.005:
        return [
            found(
                outcome,
                "error_rate_recovered",
                f"{what} peaked at {_percent(peak)} and is back to {_percent(now)}",
                Category.NO_ISSUE,
                0.55,
                **facts,
            )
        ]
    return [
        found(
            outcome,
            "error_rate_flat",
            f"{what} is low and steady: {_percent(now)}",
            None,
            0.0,
            **facts,
        )
    ]


def _traffic(outcome: ToolOutcome, query: str, curves: list[Curve], scene: Scene) -> list[Finding]:
    total = _summed(curves)
    if total is None or total.baseline <= 0:
        return []
    ratio = total.recent / total.baseline
    facts = _curve_facts(
        total, query, scene, baseline=total.baseline, recent=total.recent, ratio=round(ratio, 2)
    )
    if ratio >= 1.5:
        return [
            found(
                outcome,
                "traffic_increase",
                f"Traffic rose {ratio:.1f}x (request rate {total.baseline:.3g}/s -> "
                f"{total.recent:.3g}/s)" + _since(total, scene),
                None,
                0.0,
                **facts,
            )
        ]
    if ratio <= 0.5:
        return [
            found(
                outcome,
                "traffic_drop",
                f"Traffic fell (request rate {total.baseline:.3g}/s -> {total.recent:.3g}/s)"
                + _since(total, scene),
                None,
                0.0,
                symptom=True,
                **facts,
            )
        ]
    return [
        found(
            outcome,
            "traffic_steady",
            f"Traffic is steady ({total.baseline:.3g}/s before, {total.recent:.3g}/s now)",
            None,
            0.0,
            **facts,
        )
    ]


def _throttling(
    outcome: ToolOutcome, query: str, curves: list[Curve], scene: Scene
) -> list[Finding]:
    ratio_query = "cfs_periods" in query and bool(_RATIO_QUERY.search(query))
    scale = 1.0 if ratio_query else 1.0 / _PERIODS_PER_S
    worst = max(curves, key=lambda c: c.recent)
    now, base = min(1.0, worst.recent * scale), min(1.0, worst.baseline * scale)
    facts = _curve_facts(worst, query, scene, baseline=base, recent=now, exact=ratio_query)
    estimate = "" if ratio_query else " (estimated from throttled periods per second)"
    who = f" for {worst.label_text()}" if worst.label_text() else ""
    if now >= 0.25:
        strength = (0.8 if now >= 0.5 else 0.7) * (1.0 if ratio_query else 0.85)
        rise = (
            f", up from {_percent(base)}" + _since(worst, scene) if now >= 1.5 * base + 0.05 else ""
        )
        return [
            found(
                outcome,
                "cpu_throttled",
                f"CPU throttling{who}: {_percent(now)} of CFS periods throttled{estimate}{rise}",
                Category.CPU_THROTTLING,
                strength,
                **facts,
            )
        ]
    return [
        found(
            outcome,
            "cpu_not_throttled",
            f"CPU throttling is low{who}: {_percent(now)} of periods{estimate}",
            None,
            0.0,
            **facts,
        )
    ]


def _cpu(outcome: ToolOutcome, query: str, curves: list[Curve], scene: Scene) -> list[Finding]:
    worst = max(curves, key=lambda c: c.recent)
    facts = _curve_facts(
        worst, query, scene, baseline=worst.baseline, recent=worst.recent, peak=worst.peak
    )
    return [
        found(
            outcome,
            "cpu_usage",
            f"CPU use{' of ' + worst.label_text() if worst.label_text() else ''}: "
            f"{worst.recent:.2f} cores now (was {worst.baseline:.2f})",
            None,
            0.0,
            cpu_used=worst.recent,
            **facts,
        )
    ]


def _memory(outcome: ToolOutcome, query: str, curves: list[Curve], scene: Scene) -> list[Finding]:
    findings: list[Finding] = []
    for series in sorted(curves, key=lambda c: -c.peak)[:3]:
        drops = _drops(series)
        facts = _curve_facts(
            series,
            query,
            scene,
            baseline=series.baseline,
            recent=series.recent,
            peak=series.peak,
            drops=drops,
        )
        shape = f", dropping sharply {drops} times (restarts)" if drops else ""
        findings.append(
            found(
                outcome,
                "memory_usage",
                f"Memory working set{' of ' + series.label_text() if series.label_text() else ''}: "
                f"peak {human_bytes(series.peak)}, now {human_bytes(series.recent)} (was "
                f"{human_bytes(series.baseline)}){shape}",
                None,
                0.0,
                peak_bytes=series.peak,
                **facts,
            )
        )
    return findings


def _limits(outcome: ToolOutcome, query: str, curves: list[Curve], scene: Scene) -> list[Finding]:
    findings: list[Finding] = []
    for series in curves[:5]:
        resource = series.labels.get("resource", "")
        value = human_bytes(series.recent) if resource == "memory" else f"{series.recent:g}"
        findings.append(
            found(
                outcome,
                "resource_limit",
                f"{resource or 'resource'} limit of {series.label_text()}: {value}",
                None,
                0.0,
                limit_value=series.recent,
                resource=resource,
                **_curve_facts(series, query, scene),
            )
        )
    return findings


def _restarts(outcome: ToolOutcome, query: str, curves: list[Curve], scene: Scene) -> list[Finding]:
    findings: list[Finding] = []
    for series in curves[:5]:
        added = series.recent - series.points[0][1]
        if added > 0 and "rate(" not in query and "increase(" not in query:
            findings.append(
                found(
                    outcome,
                    "restarts_rising",
                    f"{series.label_text()}: {added:.0f} restarts in the queried window",
                    None,
                    0.0,
                    symptom=True,
                    **_curve_facts(series, query, scene),
                )
            )
    return findings


def _targets_up(
    outcome: ToolOutcome, query: str, curves: list[Curve], scene: Scene
) -> list[Finding]:
    down = [c for c in curves if c.recent == 0]
    if "== 0" in query.replace(" ", "").replace("==0", "== 0") and curves:
        down = curves
    if down:
        names = [c.labels.get("pod") or c.labels.get("instance") or c.label_text() for c in down]
        return [
            found(
                outcome,
                "targets_down",
                f"{len(down)} scrape targets are down ({', '.join(n for n in names[:5] if n)})",
                None,
                0.0,
                symptom=True,
                pods=[c.labels.get("pod") for c in down if c.labels.get("pod")],
                query=query,
            )
        ]
    return [
        found(
            outcome,
            "targets_up",
            f"All {len(curves)} scrape targets are up",
            None,
            0.0,
            query=query,
        )
    ]


# What an exporter's `<prefix>_up` metric watches (the exporters' own naming).
EXPORTED: dict[str, str] = {
    "pg": "PostgreSQL",
    "postgres": "PostgreSQL",
    "postgresql": "PostgreSQL",
    "mysql": "MySQL",
    "redis": "Redis",
    "mongodb": "MongoDB",
    "kafka": "Kafka",
    "rabbitmq": "RabbitMQ",
    "elasticsearch": "Elasticsearch",
    "memcached": "Memcached",
    "nats": "NATS",
    "cassandra": "Cassandra",
    "mssql": "SQL Server",
    "oracledb": "Oracle",
}


def _exporter_up(
    outcome: ToolOutcome, query: str, curves: list[Curve], scene: Scene
) -> list[Finding]:
    """`pg_up`, `redis_up`, ...: 0 means the exporter cannot reach what it watches."""
    findings: list[Finding] = []
    for series in curves[:10]:
        name = series.labels.get("__name__", "")
        prefix = name[: -len("_up")] if name.endswith("_up") else ""
        technology = EXPORTED.get(prefix, prefix or "the")
        facts = {**_curve_facts(series, query, scene), "technology": technology, "metric": name}
        if series.recent < 0.5:
            since = _since(series, scene)
            findings.append(
                found(
                    outcome,
                    "exporter_down",
                    f"{name} is 0{since}: the {technology} exporter cannot reach its database",
                    Category.DEPENDENCY_FAILURE,
                    0.6,
                    **facts,
                )
            )
        else:
            findings.append(
                found(
                    outcome,
                    "exporter_up",
                    f"{name} is 1: {technology} answers its exporter",
                    None,
                    0.0,
                    **facts,
                )
            )
    return findings


def _cert_expiry(
    outcome: ToolOutcome, query: str, curves: list[Curve], scene: Scene
) -> list[Finding]:
    relative = "time()" in query
    soonest: tuple[float, Curve] | None = None
    for series in curves:
        left = series.recent if relative else series.recent - scene.now.timestamp()
        if soonest is None or left < soonest[0]:
            soonest = (left, series)
    if soonest is None:
        return []
    left, series = soonest
    who = certificate_name(series.labels)
    facts = {**_certificate_facts(series, query, scene), "seconds_left": left}
    if left <= 0:
        return [
            found(
                outcome,
                "cert_expired",
                f"The TLS certificate of {who} expired {human_duration(-left)} ago",
                Category.CERT_EXPIRY,
                1.0,
                **facts,
            )
        ]
    if left <= 7 * 86400:
        return [
            found(
                outcome,
                "cert_expiring",
                f"The TLS certificate of {who} expires in {human_duration(left)}",
                Category.CERT_EXPIRY,
                0.85,
                **facts,
            )
        ]
    return [
        found(
            outcome,
            "cert_valid",
            f"The TLS certificate of {who} is valid for {human_duration(left)}",
            None,
            0.0,
            **facts,
        )
    ]


def certificate_name(labels: dict[str, str]) -> str:
    """The certificate a series is about, in its exporter's own terms: the URL a blackbox probe
    checks, the Secret x509-certificate-exporter reads, or cert-manager's Certificate (whose
    namespace is `exported_namespace` when Prometheus scraped cert-manager in its own)."""
    if labels.get("secret_name"):
        namespace = labels.get("secret_namespace")
        return f"Secret {namespace}/{labels['secret_name']}" if namespace else labels["secret_name"]
    if _is_cert_manager(labels):
        namespace = labels.get("exported_namespace") or labels.get("namespace")
        return f"{namespace}/{labels['name']}" if namespace else labels["name"]
    if labels.get("instance"):
        return labels["instance"]
    shown = {k: v for k, v in labels.items() if k != "__name__"}
    return shown.get("subject_CN") or ", ".join(f"{k}={v}" for k, v in list(shown.items())[:4])


def _is_cert_manager(labels: dict[str, str]) -> bool:
    """A cert-manager series names its Certificate `name` (its `instance` is the exporter)."""
    return (
        bool(labels.get("name"))
        and not labels.get("secret_name")
        and (
            bool(labels.get("issuer_name") or labels.get("exported_namespace"))
            or not labels.get("instance")
        )
    )


def _certificate_facts(series: Curve, query: str, scene: Scene) -> dict[str, Any]:
    """A certificate's facts: its name, and the namespace it lives in (not the exporter's)."""
    labels = series.labels
    facts = {**_curve_facts(series, query, scene), "certificate": certificate_name(labels)}
    home = labels.get("secret_namespace") or (
        labels.get("name") and labels.get("exported_namespace")
    )
    if home:
        facts["namespace"] = home
    if _is_cert_manager(labels):
        facts["cert_manager_certificate"] = labels["name"]
    return facts


def _cert_ready(
    outcome: ToolOutcome, query: str, curves: list[Curve], scene: Scene
) -> list[Finding]:
    """`certmanager_certificate_ready_status{condition=...}`: 1 for the Certificate's current
    Ready condition. Not Ready means cert-manager cannot issue or renew it."""
    findings: list[Finding] = []
    for series in curves[:5]:
        condition = series.labels.get("condition", "True")
        ready = series.recent >= 0.5 if condition == "True" else series.recent < 0.5
        who = certificate_name(series.labels)
        facts = _certificate_facts(series, query, scene)
        if ready:
            findings.append(
                found(outcome, "cert_ready", f"Certificate {who} is Ready", None, 0.0, **facts)
            )
            continue
        findings.append(
            found(
                outcome,
                "cert_not_ready",
                f"cert-manager cannot issue or renew Certificate {who}: not Ready"
                + _since(series, scene),
                Category.CERT_EXPIRY,
                0.6,
                **facts,
            )
        )
    return findings


_HPA_SERIES = {
    "kube_horizontalpodautoscaler_status_current_replicas": "current",
    "kube_horizontalpodautoscaler_status_desired_replicas": "desired",
    "kube_horizontalpodautoscaler_spec_max_replicas": "max",
    "kube_horizontalpodautoscaler_spec_min_replicas": "min",
}


def _autoscaler(
    outcome: ToolOutcome, query: str, curves: list[Curve], scene: Scene
) -> list[Finding]:
    """kube-state-metrics' HPA series read together: the replicas it runs against its maximum
    (capacity, not a fault by itself) and the replicas it wants but does not get (a symptom)."""
    by_hpa: dict[tuple[str, str], dict[str, Curve]] = {}
    for series in curves:
        role = _HPA_SERIES.get(series.labels.get("__name__", ""))
        name = series.labels.get("horizontalpodautoscaler", "")
        if role and name:
            key = (series.labels.get("namespace", ""), name)
            by_hpa.setdefault(key, {})[role] = series
    if not by_hpa:
        return _other(outcome, query, curves, scene)
    findings: list[Finding] = []
    for (namespace, name), roles in list(by_hpa.items())[:5]:
        who = f"{namespace}/{name}" if namespace else name
        current, desired, ceiling = roles.get("current"), roles.get("desired"), roles.get("max")
        if current is None:
            continue
        now = round(current.recent)
        facts = {
            **_curve_facts(current, query, scene),
            "horizontalpodautoscaler": name,
            "replicas": now,
            "max_replicas": round(ceiling.recent) if ceiling else None,
        }
        if ceiling is not None and now >= ceiling.recent:
            since = _at_least_since(current, ceiling.recent)
            how_long = f" for {scene.ago(since)}" if since is not None else ""
            was = f" (was {round(current.baseline)})" if current.baseline < now else ""
            findings.append(
                found(
                    outcome,
                    "hpa_at_max",
                    f"HPA {who} has run at its maximum of {now} replicas{how_long}{was}",
                    None,
                    0.0,
                    **facts,
                )
            )
        elif ceiling is not None:
            findings.append(
                found(
                    outcome,
                    "hpa_headroom",
                    f"HPA {who} runs {now} of at most {round(ceiling.recent)} replicas",
                    None,
                    0.0,
                    **facts,
                )
            )
        if desired is not None and desired.recent > current.recent:
            findings.append(
                found(
                    outcome,
                    "hpa_short",
                    f"HPA {who} wants {round(desired.recent)} replicas but runs {now}",
                    None,
                    0.0,
                    symptom=True,
                    **facts,
                )
            )
    return findings or _other(outcome, query, curves, scene)


def _at_least_since(series: Curve, level: float) -> datetime | None:
    """Since when the series has stayed at or above `level` (None if it is not there now)."""
    since: datetime | None = None
    for moment, value in reversed(series.points):
        if value < level:
            break
        since = moment
    return since


def _volume(outcome: ToolOutcome, query: str, curves: list[Curve], scene: Scene) -> list[Finding]:
    findings: list[Finding] = []
    ratio = bool(_RATIO_QUERY.search(query))
    for series in curves[:3]:
        who = (
            series.labels.get("persistentvolumeclaim")
            or series.labels.get("mountpoint")
            or series.label_text()
        )
        facts = _curve_facts(series, query, scene, recent=series.recent, baseline=series.baseline)
        if series.labels.get("persistentvolumeclaim"):
            facts["pvc"] = series.labels["persistentvolumeclaim"]
        if ratio and series.recent <= 1.0:
            if series.recent < 0.1:
                findings.append(
                    found(
                        outcome,
                        "volume_full",
                        f"Volume {who} has {_percent(series.recent)} space left (was "
                        f"{_percent(series.baseline)})",
                        Category.DISK_PRESSURE,
                        0.8,
                        **facts,
                    )
                )
            continue
        falling = series.recent < series.baseline
        findings.append(
            found(
                outcome,
                "volume_space",
                f"Volume {who}: {human_bytes(series.recent)} now (was "
                f"{human_bytes(series.baseline)})" + (" and falling" if falling else ""),
                None,
                0.0,
                bytes_now=series.recent,
                **facts,
            )
        )
    return findings


def _node_condition(
    outcome: ToolOutcome, query: str, curves: list[Curve], scene: Scene
) -> list[Finding]:
    findings: list[Finding] = []
    for series in curves:
        condition = series.labels.get("condition", "")
        status = series.labels.get("status", "true")
        node = series.labels.get("node")
        flips = sum(
            1 for (_, a), (_, b) in zip(series.points, series.points[1:], strict=False) if a != b
        )
        true_now = series.recent >= 0.5 if status == "true" else series.recent < 0.5
        facts = {**_curve_facts(series, query, scene), "node": node, "condition": condition}
        if condition == "Ready" and not true_now:
            findings.append(
                found(
                    outcome,
                    "node_not_ready_metric",
                    f"Node {node} is not Ready (kube_node_status_condition)",
                    Category.NODE_NOT_READY,
                    0.85,
                    **facts,
                )
            )
        elif condition == "Ready" and flips >= 3:
            findings.append(
                found(
                    outcome,
                    "node_flapping",
                    f"Node {node}'s Ready condition flapped {flips} times",
                    Category.NODE_NOT_READY,
                    0.6,
                    **facts,
                )
            )
        elif condition == "DiskPressure" and true_now:
            findings.append(
                found(
                    outcome,
                    "node_disk_pressure_metric",
                    f"Node {node} reports DiskPressure",
                    Category.DISK_PRESSURE,
                    0.85,
                    **facts,
                )
            )
        elif condition == "MemoryPressure" and true_now:
            findings.append(
                found(
                    outcome,
                    "node_memory_pressure_metric",
                    f"Node {node} reports MemoryPressure",
                    Category.OOM_KILLED,
                    0.5,
                    **facts,
                )
            )
    return findings


def _other(outcome: ToolOutcome, query: str, curves: list[Curve], scene: Scene) -> list[Finding]:
    worst = max(curves, key=lambda c: abs(c.recent - c.baseline) / (abs(c.baseline) + 1e-9))
    facts = _curve_facts(
        worst, query, scene, baseline=worst.baseline, recent=worst.recent, peak=worst.peak
    )
    moved = abs(worst.recent - worst.baseline) > 0.5 * (abs(worst.baseline) + 1e-9)
    if moved:
        statement = (
            f"{_short(query)} moved from {worst.baseline:.4g} to {worst.recent:.4g}"
            + _since(worst, scene)
        )
    else:
        statement = f"{_short(query)} is steady around {worst.recent:.4g}"
    return [
        found(outcome, "metric_moved" if moved else "metric_steady", statement, None, 0.0, **facts)
    ]


_READERS = {
    Measure.LATENCY: _latency,
    Measure.ERRORS: _errors,
    Measure.TRAFFIC: _traffic,
    Measure.THROTTLING: _throttling,
    Measure.CPU: _cpu,
    Measure.MEMORY: _memory,
    Measure.LIMITS: _limits,
    Measure.RESTARTS: _restarts,
    Measure.EXPORTER_UP: _exporter_up,
    Measure.TARGETS_UP: _targets_up,
    Measure.CERT_EXPIRY: _cert_expiry,
    Measure.CERT_READY: _cert_ready,
    Measure.AUTOSCALER: _autoscaler,
    Measure.VOLUME: _volume,
    Measure.NODE_CONDITION: _node_condition,
}


# --- helpers ---------------------------------------------------------------------------------


def _is_error(series: Curve) -> bool:
    return any(str(series.labels.get(label, "")).startswith("5") for label in _ERROR_LABELS)


def _error_ratio(curves: list[Curve]) -> Curve | None:
    errors: dict[datetime, float] = {}
    totals: dict[datetime, float] = {}
    for series in curves:
        for moment, value in series.points:
            totals[moment] = totals.get(moment, 0.0) + value
            if _is_error(series):
                errors[moment] = errors.get(moment, 0.0) + value
    points = [(t, errors.get(t, 0.0) / totals[t]) for t in sorted(totals) if totals[t] > 0]
    return curve({"__name__": "error_ratio"}, [[t.isoformat(), v] for t, v in points])


def _summed(curves: list[Curve]) -> Curve | None:
    totals: dict[datetime, float] = {}
    for series in curves:
        for moment, value in series.points:
            totals[moment] = totals.get(moment, 0.0) + value
    return curve({"__name__": "sum"}, [[t.isoformat(), v] for t, v in sorted(totals.items())])


_BREAKDOWN_LABELS = ("pod", "version", "app_version", "revision", "replicaset")


def _breakdown(curves: list[Curve], unit: float = 1.0) -> list[dict[str, Any]]:
    """Per pod (or version) levels, when a query was broken down that way."""
    if len(curves) < 2 or not any(label in c.labels for c in curves for label in _BREAKDOWN_LABELS):
        return []
    return [
        {
            **{k: c.labels[k] for k in _BREAKDOWN_LABELS if c.labels.get(k)},
            "baseline": c.baseline * unit,
            "recent": c.recent * unit,
        }
        for c in sorted(curves, key=lambda c: -c.recent)[:20]
    ]


def _drops(series: Curve) -> int:
    """How many times the value fell by more than 30% from one point to the next."""
    return sum(
        1
        for (_, before), (_, after) in zip(series.points, series.points[1:], strict=False)
        if before > 0 and after < 0.7 * before
    )


def _curve_facts(series: Curve, query: str, scene: Scene, **extra: Any) -> dict[str, Any]:
    facts: dict[str, Any] = {
        "query": query,
        "measure": measure_of(query).value,
        "labels": {k: v for k, v in series.labels.items() if k != "__name__"},
        **extra,
    }
    for label, fact in (
        ("namespace", "namespace"),
        ("pod", "pod"),
        ("container", "container"),
        ("service", "service"),
        ("node", "node"),
    ):
        if series.labels.get(label):
            facts.setdefault(fact, series.labels[label])
    if series.changed_at is not None:
        facts["changed_at"] = series.changed_at.isoformat()
        facts["changed_minutes_before_alert"] = round(
            scene.minutes_before_alert(series.changed_at), 1
        )
    return facts


def _since(series: Curve, scene: Scene) -> str:
    if series.changed_at is None:
        return ""
    return f" since {scene.ago(series.changed_at)} ago"


def _subject(what: str, series: Curve) -> str:
    service = series.labels.get("service") or series.labels.get("job")
    return f"{what} of {service}" if service else what


def _seconds(value: float) -> str:
    return f"{value * 1000:.0f}ms" if value < 1 else f"{value:.2f}s"


def _percent(value: float) -> str:
    if value < 0.001:
        return f"{value * 100:.2f}%"
    return f"{value * 100:.1f}%"


def _short(query: str) -> str:
    flat = " ".join(query.split())
    return flat if len(flat) <= 90 else flat[:87] + "..."


def _alert_object(alert: dict[str, Any]) -> str:
    for key in ("pod", "service", "deployment", "node", "persistentvolumeclaim"):
        if alert.get(key):
            return str(alert[key])
    return ""


def alert_list_findings(outcome: ToolOutcome, scene: Scene) -> list[Finding]:
    """`alerts` (AlertList): other alerts firing now often share the cause."""
    others: list[dict[str, Any]] = []
    for alert in items(mapping(outcome.structured).get("alerts")):
        labels = mapping(alert.get("labels"))
        if text(alert.get("state"), 20) != "firing":
            continue
        name = text(alert.get("name"), 200) or text(labels.get("alertname"), 200)
        if name == scene.alert.name and all(
            labels.get(k) == v for k, v in scene.alert.labels.items() if k in labels
        ):
            continue
        others.append(
            {
                "name": name,
                **{
                    key: text(labels.get(key), 253)
                    for key in (
                        "namespace",
                        "pod",
                        "deployment",
                        "service",
                        "node",
                        "persistentvolumeclaim",
                    )
                    if labels.get(key)
                },
            }
        )
    if not others:
        return [found(outcome, "no_other_alerts", "No other alerts are firing", None, 0.0)]
    described = [
        a["name"] + (f" ({a.get('namespace', '')}/{_alert_object(a)})" if len(a) > 1 else "")
        for a in others[:6]
    ]
    return [
        found(
            outcome,
            "other_alerts",
            f"Other alerts firing now: {', '.join(described)}",
            None,
            0.0,
            alerts=others[:20],
        )
    ]
