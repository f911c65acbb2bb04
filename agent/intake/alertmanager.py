"""Alertmanager webhook (version 4) payloads and single Alertmanager alert objects."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from agent.alert import Alert, AlertLinks, Severity
from agent.intake._fields import (
    AlertParseError,
    alert_list,
    as_object,
    child,
    count,
    optional_string,
    status,
    string_map,
    timestamp,
    web_link,
)
from agent.intake.result import IntakeResult, collect

_FNV64_OFFSET = 14695981039346656037
_FNV64_PRIME = 1099511628211
_SEPARATOR = b"\xff"


def alertmanager_fingerprint(labels: Mapping[str, str]) -> str:
    """The fingerprint Alertmanager itself gives this label set (FNV-1a 64 over sorted pairs).

    Alerts that arrive without one (scenario files, generic JSON) then share a dedup key with
    the same alert arriving later through the webhook.
    """
    value = _FNV64_OFFSET
    for name in sorted(labels):
        for part in (name.encode(), _SEPARATOR, labels[name].encode(), _SEPARATOR):
            for byte in part:
                value = ((value ^ byte) * _FNV64_PRIME) & 0xFFFFFFFFFFFFFFFF
    return f"{value:016x}"


def silence_link(external_url: str | None, labels: Mapping[str, str]) -> str | None:
    """Alertmanager's "new silence" page pre-filled with matchers for exactly these labels."""
    base = web_link(external_url)
    if base is None or not labels:
        return None
    matchers = ",".join(f"{name}={_quoted(labels[name])}" for name in sorted(labels))
    return f"{base.rstrip('/')}/#/silences/new?filter={quote('{' + matchers + '}', safe='')}"


def _quoted(value: str) -> str:
    # Alertmanager matcher values are double-quoted with Go string escapes.
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def parse_alertmanager_webhook(data: object) -> IntakeResult:
    """Every firing alert of an Alertmanager webhook, one per fingerprint; resolved ones counted."""
    payload = as_object(data, "payload")
    version = payload.get("version")
    if version is not None and version != "4":
        raise AlertParseError(
            "version", f'expected "4" (Alertmanager webhook), got {json.dumps(version)}'
        )
    items = alert_list(payload, "an Alertmanager webhook")
    external_url = optional_string(payload, "externalURL", "")
    truncated = count(payload, "truncatedAlerts", "")
    alerts = [
        read_alert(
            as_object(item, child("alerts", i)),
            child("alerts", i),
            source="alertmanager",
            external_url=external_url,
        )
        for i, item in enumerate(items)
    ]
    return collect("alertmanager", alerts, truncated=truncated)


def parse_alertmanager_alert(
    data: object,
    *,
    external_url: str | None = None,
    source: str = "alertmanager",
    where: str = "alert",
) -> Alert:
    """One Alertmanager alert object (`labels`, `annotations`, `startsAt`, ...), as scenario files
    and the Alertmanager API carry them. `status` defaults to firing."""
    return read_alert(as_object(data, where), where, source=source, external_url=external_url)


def read_alert(
    obj: Mapping[str, Any],
    where: str,
    *,
    source: str,
    external_url: str | None,
    links: Mapping[str, str | None] | None = None,
    extra_annotations: Mapping[str, str] | None = None,
) -> Alert:
    """The fields Alertmanager and Grafana alerts share. `links` override the derived ones."""
    if obj.get("labels") is None:
        raise AlertParseError(child(where, "labels"), "missing; every alert has labels")
    labels = string_map(obj, "labels", where)
    annotations = string_map(obj, "annotations", where)
    for key, value in (extra_annotations or {}).items():
        annotations.setdefault(key, value)
    alert_status = status(obj, "status", where)
    starts_at = timestamp(obj, "startsAt", where)
    timestamp(obj, "endsAt", where)  # checked so a broken payload is caught; not kept
    generator = optional_string(obj, "generatorURL", where)
    given_fingerprint = optional_string(obj, "fingerprint", where)
    dedup_key = (given_fingerprint or "").strip() or alertmanager_fingerprint(labels)

    derived: dict[str, str | None] = {
        "generator": web_link(generator),
        "runbook": web_link(annotations.get("runbook_url") or annotations.get("runbook")),
        "dashboard": web_link(
            annotations.get("dashboard_url")
            or annotations.get("grafana_url")
            or annotations.get("dashboard")
        ),
        "silence": silence_link(external_url, labels),
        "source": web_link(external_url),
    }
    for link, url in (links or {}).items():
        if url:
            derived[link] = url

    name = labels.get("alertname", "").strip()
    title = name or annotations.get("summary", "").strip() or f"{source} alert {dedup_key}"
    return Alert(
        source=source,
        dedup_key=dedup_key,
        status=alert_status,
        title=title,
        severity=Severity.parse(labels.get("severity") or labels.get("priority")),
        labels=labels,
        annotations=annotations,
        starts_at=starts_at,
        links=AlertLinks(**derived),
        raw=dict(obj),
    )
