"""Talking to a Prometheus-compatible HTTP API: settings, times, and errors a person can act on."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from mcp.server.fastmcp.exceptions import ToolError

DEFAULT_TIMEOUT_S = 10.0
_DURATION = re.compile(
    r"(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?"
)
_DURATION_UNITS_S = (365 * 86400, 7 * 86400, 86400, 3600, 60, 1, 0.001)
_RELATIVE = re.compile(r"(?:now)?\s*([+-])\s*(\S+)")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_NICE_STEPS_S = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600)


class PrometheusError(ToolError):
    """A tool call failed; the message says why and what to do about it."""


@dataclass(frozen=True)
class PrometheusSettings:
    """Where Prometheus is and how to talk to it, read from the server's environment."""

    url: str | None
    headers: dict[str, str] = field(default_factory=dict)
    timeout_s: float = DEFAULT_TIMEOUT_S
    problem: str | None = None  # what is wrong with the environment, if anything

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> PrometheusSettings:
        url = env.get("PROMETHEUS_URL", "").strip() or None
        problems: list[str] = []
        if url is None:
            problems.append(
                "PROMETHEUS_URL is not set: set it to the Prometheus base URL, "
                "e.g. http://prometheus.monitoring:9090"
            )
        elif not url.startswith(("http://", "https://")):
            problems.append(
                f"PROMETHEUS_URL must start with http:// or https://, got {display_url(url)!r}"
            )
        headers: dict[str, str] = {}
        raw_headers = env.get("PROMETHEUS_HEADERS", "").strip()
        if raw_headers:
            try:
                parsed = json.loads(raw_headers)
            except json.JSONDecodeError:
                parsed = None
            if isinstance(parsed, dict) and all(
                isinstance(k, str) and isinstance(v, str) for k, v in parsed.items()
            ):
                headers = parsed
            else:  # never echo the value: it usually holds a token
                problems.append(
                    "PROMETHEUS_HEADERS must be a JSON object of header names to string values, "
                    'e.g. {"Authorization": "Bearer <token>"}'
                )
        timeout_s = DEFAULT_TIMEOUT_S
        raw_timeout = env.get("SRE_AGENT_PROMETHEUS_TIMEOUT_S", "").strip()
        if raw_timeout:
            try:
                timeout_s = float(raw_timeout)
            except ValueError:
                timeout_s = math.nan
            if not (math.isfinite(timeout_s) and timeout_s > 0):
                problems.append(
                    "SRE_AGENT_PROMETHEUS_TIMEOUT_S must be a number of seconds above 0, "
                    f"got {raw_timeout!r}"
                )
                timeout_s = DEFAULT_TIMEOUT_S
        return cls(url, headers, timeout_s, "; ".join(problems) or None)


class PrometheusApi:
    """GET requests to `/api/v1/...`, returning the `data` field or raising PrometheusError."""

    def __init__(self, settings: PrometheusSettings, client: httpx.AsyncClient | None) -> None:
        self.settings = settings
        self._client = client

    async def get(self, path: str, params: list[tuple[str, str]] | None = None) -> Any:
        if self.settings.problem is not None or self._client is None:
            raise PrometheusError(
                f"the Prometheus tools are not configured: {self.settings.problem}"
            )
        where = display_url(self.settings.url or "")
        try:
            response = await self._client.get(path, params=tuple(params or ()))
        except httpx.TimeoutException as exc:
            raise PrometheusError(
                f"Prometheus at {where} did not answer within {self.settings.timeout_s:g}s "
                "(SRE_AGENT_PROMETHEUS_TIMEOUT_S); try a shorter time range, a larger step or "
                "a narrower selector"
            ) from exc
        except httpx.HTTPError as exc:
            raise PrometheusError(
                f"cannot reach Prometheus at {where}: {type(exc).__name__}: {exc}"
            ) from exc
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and body.get("status") == "error":
            raise PrometheusError(
                f"Prometheus rejected the request ({body.get('errorType', 'error')}): "
                f"{body.get('error', '')}"
            )
        if isinstance(body, dict) and body.get("status") == "success":
            return body.get("data")
        hint = ""
        if response.status_code in (401, 403):
            hint = "; check the credentials in PROMETHEUS_HEADERS"
        elif response.status_code == 404:
            hint = "; is PROMETHEUS_URL the Prometheus base URL (without /api/v1)?"
        raise PrometheusError(
            f"Prometheus at {where} answered HTTP {response.status_code} to {path} "
            f"without a Prometheus API body: {response.text[:200]!r}{hint}"
        )


def display_url(url: str) -> str:
    """The URL without user:password@, safe to show in messages."""
    return re.sub(r"(https?://)[^/@]*@", r"\1", url)


# ------------------------------------------------------------------------------- times


def parse_duration_s(text: str) -> float | None:
    """`5m`, `1h30m`, `90s` (Prometheus' duration syntax) in seconds, or None."""
    match = _DURATION.fullmatch(text.strip())
    if not text.strip() or match is None:
        return None
    return float(
        sum(int(g) * unit for g, unit in zip(match.groups(), _DURATION_UNITS_S, strict=True) if g)
    )


def resolve_time(text: str | None, now: float, argument: str) -> float:
    """An absolute unix time from RFC 3339, unix seconds, `now`, `-1h`, `now-30m` or `+5m`."""
    if text is None or text.strip() in ("", "now"):
        return now
    value = text.strip()
    if _NUMBER.fullmatch(value):
        return float(value)
    relative = _RELATIVE.fullmatch(value)
    if relative:
        seconds = parse_duration_s(relative.group(2))
        if seconds is not None:
            return now - seconds if relative.group(1) == "-" else now + seconds
    try:
        moment = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        moment = None
    if moment is not None:
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.timestamp()
    raise PrometheusError(
        f"cannot read {argument}={text!r}: use RFC 3339 (2024-05-01T12:00:00Z), unix seconds, "
        "'now', or a time relative to now such as -1h, -15m or now-2h30m"
    )


def resolve_step(text: str | None, start: float, end: float, max_points: int) -> float:
    """The step in seconds: as given (`30s`, `1m`, `15`), or chosen for about `max_points`."""
    if text is None or not text.strip():
        wanted = (end - start) / max_points
        for nice in _NICE_STEPS_S:
            if nice >= wanted:
                return float(nice)
        return float(math.ceil(wanted / 3600) * 3600)
    value = text.strip()
    seconds = float(value) if _NUMBER.fullmatch(value) else parse_duration_s(value)
    if seconds is None or not seconds > 0:
        raise PrometheusError(
            f"cannot read step={text!r}: use a duration such as 30s, 1m or 5m (or seconds)"
        )
    return seconds


def rfc3339(seconds: float) -> str:
    """`2024-05-01T12:00:00Z` (milliseconds only when there are some)."""
    moment = datetime.fromtimestamp(seconds, UTC)
    if moment.microsecond:
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def unix(seconds: float) -> str:
    """A unix time as the API parameter Prometheus reads exactly (milliseconds at most)."""
    return f"{seconds:.3f}".rstrip("0").rstrip(".")
