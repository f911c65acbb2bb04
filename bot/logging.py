"""Logs of `sre-agent serve`: one JSON object per line, with the investigation a line is about,
and every record passed through secret redaction before any handler writes it.

Loggers: `sre_agent.app` (the service), `sre_agent.llm`, `sre_agent.mcp`, `sre_agent.slack` and
`sre_agent.http` (requests and intake). Other commands keep plain text on stderr.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, TextIO

from agent.service import current_investigation
from mcp_bridge.redaction import marker, redact, redact_value

LOGGERS = ("sre_agent.app", "sre_agent.llm", "sre_agent.mcp", "sre_agent.slack", "sre_agent.http")

# Attributes every LogRecord has; anything else on a record came from `extra=` and is logged.
RECORD_ATTRIBUTES = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys() | {"message", "asctime"}
)
# Libraries whose DEBUG lines would carry request bodies or headers: kept at WARNING.
_MIN_SECRET = 6
_CACHED_TEXT = 256
_CACHE_ENTRIES = 4096
_CHATTY = ("aiohttp.access", "httpx", "httpcore", "openai", "slack_sdk", "slack_bolt", "asyncio")


class RedactingFilter(logging.Filter):
    """Removes secrets from the message, the arguments, the traceback and the extra fields, and
    adds the current investigation id (when the record has none).

    It sits on the handler, so records from every logger pass through it, and it rewrites the
    record in place, so whatever formats it later (a handler added by a library too) sees only
    the redacted text.
    """

    def __init__(self, known_secrets: Iterable[str] = ()) -> None:
        super().__init__()
        # Configured secrets (tokens, passwords in URLs) are removed by value as well: the
        # patterns know common token formats, not whatever string an operator chose.
        self._known = sorted({s for s in known_secrets if len(s) >= _MIN_SECRET}, key=len)[::-1]
        # Log lines repeat short strings (paths, methods, messages); redaction is a pure
        # function, so their redacted forms are remembered.
        self._seen: dict[str, str] = {}
        self._secret_keys: dict[str, bool] = {}

    def _scrub(self, text: str) -> str:
        cacheable = len(text) <= _CACHED_TEXT
        if cacheable and (done := self._seen.get(text)) is not None:
            return done
        clean = text
        for secret in self._known:
            if secret in clean:
                clean = clean.replace(secret, marker("configured_secret"))
        clean = redact(clean)
        if cacheable:
            if len(self._seen) >= _CACHE_ENTRIES:
                self._seen.clear()
            self._seen[text] = clean
        return clean

    def _is_secret_key(self, key: str) -> bool:
        """Whether the redactor masks a value under this name (`password`, `api_key`...)."""
        known = self._secret_keys.get(key)
        if known is None:
            probe = "probe-value-0123"
            known = redact_value({key: probe})[key] != probe
            if len(self._secret_keys) < _CACHE_ENTRIES:
                self._secret_keys[key] = known
        return known

    def _clean(self, key: str, value: Any) -> Any:
        """An extra field, redacted: masked whole under a secret name, else its text scrubbed
        (containers through the redactor, which also knows Kubernetes Secrets and env lists)."""
        if isinstance(value, str) and not self._is_secret_key(key):
            return self._scrub(value)
        if (isinstance(value, bool | int | float) or value is None) and not self._is_secret_key(
            key
        ):
            return value
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return [self._scrub(item) for item in value]
        return self._known_removed(redact_value({key: _plain(value)})[key])

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "_sre_agent_redacted", False):
            record.msg = self._scrub(record.getMessage())
            record.args = None
            if record.exc_info:
                record.exc_text = self._scrub(logging.Formatter().formatException(record.exc_info))
                record.exc_info = None
            if record.stack_info:
                record.stack_info = self._scrub(record.stack_info)
            for key, value in _extras(record).items():
                setattr(record, key, self._clean(key, value))
            record._sre_agent_redacted = True
        if getattr(record, "investigation_id", None) is None:
            record.investigation_id = current_investigation.get()
        return True

    def _known_removed(self, value: Any) -> Any:
        if isinstance(value, str):
            for secret in self._known:
                if secret in value:
                    value = value.replace(secret, marker("configured_secret"))
            return value
        if isinstance(value, dict):
            return {key: self._known_removed(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self._known_removed(item) for item in value]
        return value


class JsonFormatter(logging.Formatter):
    """`{"time", "level", "logger", "message", "investigation_id", ...extra fields}`."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "investigation_id": getattr(record, "investigation_id", None),
        }
        for key, value in _extras(record).items():
            line.setdefault(key, value)
        if record.exc_text:
            line["error"] = record.exc_text
        elif record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """`2025-06-01 12:00:00 info sre_agent.http [inv_...] message key=value`."""

    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%d %H:%M:%S")
        investigation = getattr(record, "investigation_id", None)
        parts = [when, record.levelname.lower(), record.name]
        if investigation:
            parts.append(f"[{investigation}]")
        parts.append(record.getMessage())
        parts.extend(f"{key}={value}" for key, value in _extras(record).items())
        text = " ".join(parts)
        if record.exc_text:
            text += "\n" + record.exc_text
        return text


def configure_logging(
    level: str = "INFO",
    *,
    format: str = "json",
    stream: TextIO | None = None,
    known_secrets: Iterable[str] = (),
) -> logging.Handler:
    """Send every record to `stream` (stderr) as JSON lines (or text), redacted, at `level` for
    sre-agent's loggers. Replaces handlers an earlier call installed. Returns the handler.

    `known_secrets`: values to remove wherever they appear (the configured tokens)."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter() if format == "json" else TextFormatter())
    handler.addFilter(RedactingFilter(known_secrets))
    handler._sre_agent = True  # type: ignore[attr-defined]  # marks the handler as ours
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_sre_agent", False)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    numeric = logging.getLevelName(level.upper())
    # The MCP bridge names its loggers after its modules (servers' stderr is mcp_bridge.server.*).
    for name in ("sre_agent", *LOGGERS, "mcp_bridge"):
        logging.getLogger(name).setLevel(numeric)
    for name in _CHATTY:
        logging.getLogger(name).setLevel(max(logging.WARNING, numeric))
    return handler


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {
        key: value
        for key, value in vars(record).items()
        if key not in RECORD_ATTRIBUTES and not key.startswith("_") and key != "investigation_id"
    }


def _plain(value: Any) -> Any:
    """A JSON-like copy of an extra field (anything else becomes its text)."""
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(item) for item in value]
    return str(value)
