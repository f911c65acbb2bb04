"""Which JSON shape a payload is: for the CLI's `--alert FILE`, pasted JSON, the HTTP endpoint."""

from __future__ import annotations

import json
from collections.abc import Mapping
from enum import StrEnum

from agent.intake._fields import AlertParseError, child, kind
from agent.intake.alertmanager import parse_alertmanager_alert, parse_alertmanager_webhook
from agent.intake.generic import parse_generic
from agent.intake.grafana import parse_grafana_webhook
from agent.intake.result import IntakeResult, collect

MAX_JSON_BYTES = 4 * 1024 * 1024


class PayloadKind(StrEnum):
    ALERTMANAGER_WEBHOOK = "alertmanager"
    GRAFANA_WEBHOOK = "grafana"
    ALERT_OBJECT = "alert"  # one Alertmanager alert object, or a list of them
    GENERIC = "generic"


def payload_kind(data: object) -> PayloadKind:
    """Tell the shapes apart by the keys each source always sends.

    Grafana: `orgId`, version "1", or `state` beside `alerts` or legacy `ruleName`.
    Alertmanager webhook: version "4" or `alerts`.
    One Alertmanager alert: `labels` with `startsAt`, `endsAt` or `generatorURL`, and no `title`
    (which only generic JSON has). A list is a list of alert objects (the Alertmanager API's
    shape). Anything else is generic JSON.
    """
    if isinstance(data, list):
        return PayloadKind.ALERT_OBJECT
    if not isinstance(data, Mapping):
        raise AlertParseError(
            "payload",
            f"expected a JSON object (an Alertmanager or Grafana webhook, one alert, or "
            f"{{title, labels, ...}}), got {kind(data)}",
        )
    version = data.get("version")
    # `state` alone is too common a word for generic JSON; Grafana sends it beside `alerts`
    # (unified alerting) or `ruleName`/`evalMatches` (legacy).
    grafana_state = "state" in data and any(
        k in data for k in ("alerts", "ruleName", "evalMatches")
    )
    if "orgId" in data or grafana_state or version == "1":
        return PayloadKind.GRAFANA_WEBHOOK
    if version == "4" or "alerts" in data:
        return PayloadKind.ALERTMANAGER_WEBHOOK
    alert_keys = ("startsAt", "endsAt", "generatorURL")
    if "labels" in data and "title" not in data and any(key in data for key in alert_keys):
        return PayloadKind.ALERT_OBJECT
    return PayloadKind.GENERIC


def parse_payload(data: object) -> IntakeResult:
    """Any supported JSON alert shape, detected by `payload_kind`."""
    shape = payload_kind(data)
    if shape is PayloadKind.GRAFANA_WEBHOOK:
        return parse_grafana_webhook(data)
    if shape is PayloadKind.ALERTMANAGER_WEBHOOK:
        return parse_alertmanager_webhook(data)
    if shape is PayloadKind.ALERT_OBJECT:
        if not isinstance(data, list):
            return collect("alertmanager", [parse_alertmanager_alert(data, where="payload")])
        if not data:
            raise AlertParseError("payload", "empty list; expected at least one alert object")
        alerts = [parse_alertmanager_alert(item, where=child("", i)) for i, item in enumerate(data)]
        return collect("alertmanager", alerts)
    return collect("generic", [parse_generic(data)])


def parse_json(raw: str | bytes) -> IntakeResult:
    """JSON text (a file, a paste, a request body) in any supported shape."""
    if len(raw) > MAX_JSON_BYTES:
        raise AlertParseError(
            "payload", f"too large ({len(raw)} bytes); at most {MAX_JSON_BYTES} are accepted"
        )
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as exc:
        raise AlertParseError("payload", f"not UTF-8 text (byte {exc.start})") from None
    if not text.strip():
        raise AlertParseError("payload", "empty; expected a JSON alert payload")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise AlertParseError(
            "payload", f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    return parse_payload(data)
