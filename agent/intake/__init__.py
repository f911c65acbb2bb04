"""Alert intake: every source's payload becomes `agent.alert.Alert`s, or one `AlertParseError`
whose message says what was wrong and where (`alerts[2].labels: expected an object`)."""

from agent.intake._fields import AlertParseError
from agent.intake.alertmanager import (
    alertmanager_fingerprint,
    parse_alertmanager_alert,
    parse_alertmanager_webhook,
    silence_link,
)
from agent.intake.generic import parse_generic
from agent.intake.grafana import parse_grafana_webhook
from agent.intake.payload import PayloadKind, parse_json, parse_payload, payload_kind
from agent.intake.result import IntakeResult
from agent.intake.text import extract_labels, parse_text

__all__ = [
    "AlertParseError",
    "IntakeResult",
    "PayloadKind",
    "alertmanager_fingerprint",
    "extract_labels",
    "parse_alertmanager_alert",
    "parse_alertmanager_webhook",
    "parse_generic",
    "parse_grafana_webhook",
    "parse_json",
    "parse_payload",
    "parse_text",
    "payload_kind",
    "silence_link",
]
