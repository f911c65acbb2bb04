"""What the analyzers know besides one tool result: the alert (its target and when it started),
the present, and the small readers every analyzer shares (times, ages, quantities)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qs, urlsplit

from agent.alert import Alert, AlertStatus, KubernetesTarget


@dataclass(frozen=True)
class Scene:
    alert: Alert
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def target(self) -> KubernetesTarget:
        return self.alert.kubernetes

    @property
    def namespace(self) -> str | None:
        return self.target.namespace

    @property
    def started(self) -> datetime:
        """When the alert started firing (now, when the source did not say)."""
        return self.alert.starts_at or self.now

    @property
    def resolved(self) -> bool:
        return self.alert.status is AlertStatus.RESOLVED

    def minutes_before_alert(self, moment: datetime) -> float:
        """How long before the alert started `moment` was (negative: after it started)."""
        return (self.started - moment).total_seconds() / 60

    def ago(self, moment: datetime) -> str:
        return human_duration((self.now - moment).total_seconds())

    @property
    def expression(self) -> str | None:
        """The PromQL expression behind the alert, from Prometheus' generator URL, if any."""
        return alert_expression(self.alert.links.generator)


def alert_expression(url: str | None) -> str | None:
    if not url:
        return None
    try:
        query = parse_qs(urlsplit(url).query)
    except ValueError:
        return None
    for key in ("g0.expr", "expr"):
        values = query.get(key)
        if values and values[0].strip():
            expression = values[0].strip()[:2000]
            # An expression that only selects the ALERTS series says nothing about the metric.
            return None if expression.startswith("ALERTS") else expression
    return None


def parse_time(value: object) -> datetime | None:
    """An RFC 3339 time from a tool result, or None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)([smhdy])")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "y": 365 * 86400}


def parse_age(text: object) -> float | None:
    """Seconds in a kubectl age (`40s`, `3m12s`, `5h8m`, `3d`), or None."""
    if not isinstance(text, str) or not text or len(text) > 20:
        return None
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    return sum(float(n) * _UNIT_S[u] for n, u in parts)


def human_duration(seconds: float) -> str:
    """`45s`, `12m`, `3h20m`, `2d` — how people say how long ago."""
    whole = int(max(0, seconds))
    if whole < 120:
        return f"{whole}s"
    minutes = whole // 60
    if minutes < 120:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 48:
        rest = minutes % 60
        return f"{hours}h{rest}m" if rest else f"{hours}h"
    return f"{hours // 24}d"


_QUANTITY = re.compile(r"^([+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)([a-zA-Z]{0,2})$")
_SUFFIX = {
    "": Decimal(1),
    "m": Decimal("0.001"),
    "k": Decimal(10**3),
    "M": Decimal(10**6),
    "G": Decimal(10**9),
    "T": Decimal(10**12),
    "P": Decimal(10**15),
    "Ki": Decimal(2**10),
    "Mi": Decimal(2**20),
    "Gi": Decimal(2**30),
    "Ti": Decimal(2**40),
    "Pi": Decimal(2**50),
}


def quantity(text: object) -> float | None:
    """A Kubernetes quantity (`512Mi`, `250m`, `1`) as a number (bytes, cores), or None."""
    if isinstance(text, int | float):
        return float(text)
    if not isinstance(text, str):
        return None
    match = _QUANTITY.match(text.strip())
    if match is None or match.group(2) not in _SUFFIX:
        return None
    try:
        return float(Decimal(match.group(1)) * _SUFFIX[match.group(2)])
    except InvalidOperation:
        return None


def human_bytes(value: float) -> str:
    """`536870912` -> `512Mi`, the way limits are written."""
    for suffix, size in (("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10)):
        if abs(value) >= size:
            amount = value / size
            return (
                f"{amount:.0f}{suffix}"
                if abs(amount - round(amount)) < 0.05
                else (f"{amount:.1f}{suffix}")
            )
    return f"{value:.0f}B"


def number(value: Any) -> float | None:
    """A sample value (float, or Prometheus' "NaN"/"+Inf" strings) as a finite float, or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        result = float(value)
    elif isinstance(value, str):
        try:
            result = float(value)
        except ValueError:
            return None
    else:
        return None
    if result != result or result in (float("inf"), float("-inf")):
        return None
    return result


# What usually listens on a port: lets a report say "the PostgreSQL database" for `:5432`.
WELL_KNOWN_PORTS: dict[int, str] = {
    5432: "PostgreSQL",
    3306: "MySQL",
    6379: "Redis",
    27017: "MongoDB",
    9092: "Kafka",
    5672: "RabbitMQ",
    9200: "Elasticsearch",
    11211: "Memcached",
    2181: "ZooKeeper",
    4222: "NATS",
    9042: "Cassandra",
    1433: "SQL Server",
    1521: "Oracle",
    26257: "CockroachDB",
    2379: "etcd",
}
_DATABASES = frozenset(
    {"PostgreSQL", "MySQL", "MongoDB", "Cassandra", "SQL Server", "Oracle", "CockroachDB"}
)


def technology_of(port: object) -> str | None:
    return WELL_KNOWN_PORTS.get(port) if isinstance(port, int) else None


def dependency_noun(port: object) -> str:
    """`the PostgreSQL database`, `the Redis`, or `the dependency`."""
    technology = technology_of(port)
    if technology is None:
        return "the dependency"
    return f"the {technology} database" if technology in _DATABASES else f"the {technology} service"
