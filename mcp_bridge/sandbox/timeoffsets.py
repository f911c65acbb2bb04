"""Scenario time values: offsets from the present (`-15m`, `+2m`, `0s`) or RFC 3339, which keys
hold them, and turning offsets into the real RFC 3339 times the sandbox serves."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

_OFFSET = re.compile(r"(?P<sign>[+-])?(?P<body>(?:\d+(?:\.\d+)?[smhd])+)")
_OFFSET_PART = re.compile(r"(\d+(?:\.\d+)?)([smhd])")
_UNIT_SECONDS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}

# Keys whose values are times. Kubernetes names them `...Timestamp`, `...Time` or `...At`; the two
# odd ones out are managedFields' `time` and a taint's `timeAdded`.
_TIME_KEY_SUFFIXES = ("Timestamp", "Time", "At")
_TIME_KEYS = frozenset({"time", "timeAdded"})
# metav1.MicroTime fields carry microseconds on the wire; every other time has whole seconds.
_MICRO_TIME_KEYS = frozenset({"eventTime", "lastObservedTime", "renewTime", "acquireTime"})
# Free-form string maps: a key there may look like a time key (`.../restartedAt`) without holding
# one, so offsets are resolved there but nothing else is checked.
FREE_FORM_MAPS = frozenset({"labels", "annotations"})
# Opaque payloads: never touched.
OPAQUE_MAPS = frozenset({"data", "binaryData", "stringData"})

OFFSET_HELP = "an offset like -15m, -90s, 0s, +2m, -1h30m (units s m h d) or an RFC 3339 time"


def is_time_key(key: str) -> bool:
    return key in _TIME_KEYS or key.endswith(_TIME_KEY_SUFFIXES)


def offset_seconds(text: str) -> float | None:
    """Seconds from the present for an offset (`-15m` is -900.0), or None if `text` is not one.

    Raises ValueError for an unsigned non-zero offset: `15m` is ambiguous (ago or from now?).
    """
    match = _OFFSET.fullmatch(text.strip())
    if match is None:
        return None
    seconds = sum(float(n) * _UNIT_SECONDS[u] for n, u in _OFFSET_PART.findall(match["body"]))
    if match["sign"] is None and seconds != 0:
        raise ValueError(
            f"offset {text!r} needs a sign: -{text} means ago, +{text} from now (only 0s may go"
            " without)"
        )
    return -seconds if match["sign"] == "-" else seconds


def parse_rfc3339(text: str) -> datetime | None:
    """The time an RFC 3339 string names (with its zone), or None if it is not one."""
    if "T" not in text and "t" not in text:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def time_problem(value: object) -> str | None:
    """What is wrong with a scenario time value, or None when it is an offset or RFC 3339."""
    if value is None:
        return None
    if not isinstance(value, str):
        return f"expected {OFFSET_HELP}, got {value!r}"
    try:
        if offset_seconds(value) is not None:
            return None
    except ValueError as exc:
        return str(exc)
    if parse_rfc3339(value) is None:
        return f"expected {OFFSET_HELP}, got {value!r}"
    return None


def format_time(epoch: float, *, micro: bool = False) -> str:
    moment = datetime.fromtimestamp(epoch, UTC)
    if micro:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def resolve_time(value: str, now: float, *, micro: bool = False) -> str:
    """An offset becomes the RFC 3339 time it names; anything else is returned as written."""
    try:
        seconds = offset_seconds(value)
    except ValueError:
        return value
    if seconds is None:
        return value
    return format_time(now + seconds, micro=micro)


def resolve_times(node: Any, now: float) -> Any:
    """A deep copy of `node` with every offset under a time key replaced by an RFC 3339 time."""
    if isinstance(node, dict):
        resolved: dict[str, Any] = {}
        for key, value in node.items():
            if key in OPAQUE_MAPS:
                resolved[key] = value
            elif isinstance(value, str) and isinstance(key, str) and is_time_key(key):
                resolved[key] = resolve_time(value, now, micro=key in _MICRO_TIME_KEYS)
            else:
                resolved[key] = resolve_times(value, now)
        return resolved
    if isinstance(node, list):
        return [resolve_times(item, now) for item in node]
    return node


def time_problems(
    node: Any, path: tuple[str | int, ...] = ()
) -> list[tuple[tuple[str | int, ...], str]]:
    """Every time value under `node` that is neither an offset nor RFC 3339, with its path."""
    found: list[tuple[tuple[str | int, ...], str]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in OPAQUE_MAPS or key in FREE_FORM_MAPS:
                continue
            if isinstance(key, str) and is_time_key(key) and not isinstance(value, dict | list):
                problem = time_problem(value)
                if problem:
                    found.append(((*path, key), problem))
            else:
                found.extend(time_problems(value, (*path, key)))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            found.extend(time_problems(item, (*path, index)))
    return found
