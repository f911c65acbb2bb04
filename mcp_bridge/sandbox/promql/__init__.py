"""PromQL for the sandbox: in-memory series, a parser and an evaluator for the subset SREs use.

Semantics follow Prometheus 2.42, the version the differential test runs against; PROMQL.md in
the sandbox package lists what is supported.
"""

from .engine import PromQLEngine
from .model import (
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
    parse_duration,
)
from .parser import parse, parse_selector

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
