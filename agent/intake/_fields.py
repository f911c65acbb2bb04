"""Typed reads from untrusted JSON, each failure an `AlertParseError` naming where and what."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from agent.alert import AlertStatus


class AlertParseError(ValueError):
    """An alert payload is not what its source sends; the message names where and what is wrong.

    `where` is a path into the payload (`alerts[2].labels`), `problem` says what was expected.
    """

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}")
        self.where = where
        self.problem = problem


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

# RFC 3339 as Alertmanager and Grafana write it. Go prints up to nine fractional digits, which
# `datetime` cannot hold, so the fraction is cut to microseconds before parsing.
_RFC3339 = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})[Tt ](?P<time>\d{2}:\d{2}:\d{2})(?:\.(?P<fraction>\d+))?"
    r"(?P<offset>[Zz]|[+-]\d{2}:\d{2})"
)
# Go's zero `time.Time`: Alertmanager sends it as `endsAt` of an alert that has not ended.
_GO_ZERO_YEAR = 1


def child(where: str, key: str | int) -> str:
    """The path of `key` inside `where`: `alerts[2]`, `alerts[2].labels`, `labels["a.b"]`."""
    if isinstance(key, int):
        return f"{where}[{key}]"
    if _IDENTIFIER.fullmatch(key):
        return f"{where}.{key}" if where else key
    return f"{where}[{json.dumps(key)}]"


def kind(value: object) -> str:
    """How JSON would call this value, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def as_object(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise AlertParseError(where, f"expected an object, got {kind(value)}")
    return value


def as_list(value: object, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise AlertParseError(where, f"expected a list, got {kind(value)}")
    return value


def optional_string(obj: Mapping[str, Any], key: str, where: str) -> str | None:
    """The string at `key`; None when absent or null. Any other type is an error."""
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise AlertParseError(child(where, key), f"expected a string, got {kind(value)}")
    return value


def string_map(obj: Mapping[str, Any], key: str, where: str) -> dict[str, str]:
    """An object of strings (labels, annotations); absent or null is empty."""
    value = obj.get(key)
    path = child(where, key)
    if value is None:
        return {}
    mapping = as_object(value, path)
    result: dict[str, str] = {}
    for name, item in mapping.items():
        if not isinstance(item, str):
            raise AlertParseError(child(path, name), f"expected a string, got {kind(item)}")
        result[name] = item
    return result


def status(obj: Mapping[str, Any], key: str, where: str) -> AlertStatus:
    """`firing` or `resolved`; absent means firing."""
    value = optional_string(obj, key, where)
    if value is None:
        return AlertStatus.FIRING
    try:
        return AlertStatus(value.strip().lower())
    except ValueError:
        raise AlertParseError(
            child(where, key), f'expected "firing" or "resolved", got {json.dumps(value)}'
        ) from None


def timestamp(obj: Mapping[str, Any], key: str, where: str) -> datetime | None:
    """An RFC 3339 time with an offset; None when absent, empty or Go's zero time."""
    value = obj.get(key)
    path = child(where, key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise AlertParseError(path, f"expected an RFC 3339 time string, got {kind(value)}")
    parsed = parse_rfc3339(value)
    if parsed is None:
        raise AlertParseError(
            path,
            f"expected an RFC 3339 time with an offset like 2024-05-01T12:00:00Z, "
            f"got {json.dumps(value[:60])}",
        )
    return None if parsed.year == _GO_ZERO_YEAR else parsed


def parse_rfc3339(text: str) -> datetime | None:
    found = _RFC3339.fullmatch(text.strip())
    if found is None:
        return None
    fraction = (found["fraction"] or "")[:6]
    offset = "+00:00" if found["offset"] in ("Z", "z") else found["offset"]
    iso = f"{found['date']}T{found['time']}{'.' + fraction.ljust(6, '0') if fraction else ''}"
    try:
        return datetime.fromisoformat(iso + offset)
    except ValueError:  # 2024-02-30 and friends match the pattern but are not dates
        return None


def web_link(value: str | None) -> str | None:
    """Keep a link only when it is an absolute http(s) URL: it will be rendered as a link."""
    if not value:
        return None
    text = value.strip()
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return text


def count(obj: Mapping[str, Any], key: str, where: str) -> int:
    """A non-negative integer; absent or null is 0."""
    value = obj.get(key)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise AlertParseError(child(where, key), f"expected a count (0 or more), got {kind(value)}")
    return value


def alert_list(payload: Mapping[str, Any], what: str) -> list[Any]:
    """The non-empty `alerts` list every webhook carries."""
    if "alerts" not in payload:
        raise AlertParseError("alerts", f"missing; {what} carries its alerts in `alerts`")
    items = as_list(payload["alerts"], "alerts")
    if not items:
        raise AlertParseError("alerts", f"empty; {what} always carries at least one alert")
    return items
