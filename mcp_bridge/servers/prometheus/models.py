"""What the Prometheus tools return: compact, capped, and explicit about what was cut."""

from __future__ import annotations

from typing import Literal, TypeAlias

from pydantic import BaseModel, Field

Number: TypeAlias = float | str
"""A sample value; NaN and infinities are spelled as Prometheus does: "NaN", "+Inf", "-Inf"."""


class Truncated(BaseModel):
    """Set when a list was cut: how many items were left out and how to ask for fewer."""

    omitted: int
    hint: str


class Sample(BaseModel):
    labels: dict[str, str]
    value: Number


class SeriesSummary(BaseModel):
    """Figures over every point Prometheus returned (not only the downsampled ones)."""

    first: Number
    last: Number
    min: Number
    max: Number
    avg: Number
    points: int = Field(description="number of points Prometheus returned for this series")


class RangeSeries(BaseModel):
    labels: dict[str, str]
    summary: SeriesSummary
    points: list[tuple[str, Number]] = Field(
        description="[RFC 3339 time, value] pairs, evenly downsampled to at most 60"
    )


class QueryResult(BaseModel):
    """An instant query: a vector (`samples`), a scalar or string (`value`), or raw samples of
    a range selector (`series`)."""

    query: str
    time: str
    result_type: Literal["vector", "scalar", "string", "matrix"]
    samples: list[Sample] = []
    value: Number | None = None
    series: list[RangeSeries] = []
    truncated: Truncated | None = None
    note: str | None = None


class RangeQueryResult(BaseModel):
    query: str
    start: str
    end: str
    step_seconds: float
    series: list[RangeSeries]
    series_count: int = Field(description="series Prometheus returned, before the cap")
    truncated: Truncated | None = None
    note: str | None = None


class SeriesList(BaseModel):
    match: str
    series: list[dict[str, str]]
    total: int
    truncated: Truncated | None = None


class LabelNames(BaseModel):
    labels: list[str]
    total: int
    truncated: Truncated | None = None


class LabelValues(BaseModel):
    label: str
    values: list[str]
    total: int
    truncated: Truncated | None = None


class Alert(BaseModel):
    name: str
    state: str = Field(description="firing or pending")
    labels: dict[str, str]
    annotations: dict[str, str]
    active_at: str | None = None
    value: str | None = None


class AlertList(BaseModel):
    alerts: list[Alert]
    firing: int
    pending: int
    truncated: Truncated | None = None
