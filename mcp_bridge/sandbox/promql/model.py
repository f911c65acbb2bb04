"""What the engine takes and gives: series, query results, errors, durations."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import ClassVar, Literal, TypeAlias

LABEL_NAME_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
METRIC_NAME_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
DURATION_RE = re.compile(
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
            if not LABEL_NAME_RE.fullmatch(name):
                raise ValueError(
                    f"series {self.labels}: {name!r} is not a valid label name "
                    "(letters, digits and '_', not starting with a digit)"
                )
            if not isinstance(value, str):
                raise ValueError(f"series {self.labels}: label {name!r} must be a string")
        metric = self.labels.get("__name__")
        if metric is not None and not METRIC_NAME_RE.fullmatch(metric):
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


def quote(text: str) -> str:
    """A string quoted the way Go's %q quotes it in Prometheus' messages."""
    return json.dumps(text, ensure_ascii=False)


def parse_duration(text: str) -> int:
    """A Prometheus duration (`1h30m`, `90s`, `5m`) in milliseconds; raises PromQLError."""
    match = DURATION_RE.fullmatch(text)
    if text == "0":
        return 0
    if not text or match is None:
        raise PromQLError(f"not a valid duration string: {quote(text)}")
    return sum(
        int(g) * unit for g, unit in zip(match.groups(), _DURATION_UNITS_MS, strict=True) if g
    )
