"""Grafana unified-alerting webhook payloads (version "1")."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from agent.intake._fields import (
    AlertParseError,
    alert_list,
    as_object,
    child,
    count,
    kind,
    optional_string,
    web_link,
)
from agent.intake.alertmanager import read_alert
from agent.intake.result import IntakeResult, collect


def parse_grafana_webhook(data: object) -> IntakeResult:
    """Every firing alert of a Grafana webhook, one per fingerprint; resolved ones counted.

    Grafana's `silenceURL`, `dashboardURL`/`panelURL` become links; the evaluated value
    (`valueString`, or `values` as `B=44.2, C=1`) becomes the `value` annotation unless the rule
    already has one.
    """
    payload = as_object(data, "payload")
    version = payload.get("version")
    if version is not None and version != "1":
        raise AlertParseError(
            "version", f'expected "1" (Grafana webhook), got {json.dumps(version)}'
        )
    if "alerts" not in payload and ("evalMatches" in payload or "ruleName" in payload):
        raise AlertParseError(
            "alerts",
            "missing; this is a legacy Grafana alert (ruleName/evalMatches), which is not "
            "supported: send it through a unified-alerting webhook contact point",
        )
    items = alert_list(payload, "a Grafana webhook")
    org_id = payload.get("orgId")
    if org_id is not None and (isinstance(org_id, bool) or not isinstance(org_id, int)):
        raise AlertParseError("orgId", f"expected a number, got {kind(org_id)}")
    external_url = optional_string(payload, "externalURL", "")
    truncated = count(payload, "truncatedAlerts", "")

    alerts = []
    for i, item in enumerate(items):
        where = child("alerts", i)
        obj = as_object(item, where)
        panel = optional_string(obj, "panelURL", where)
        dashboard = optional_string(obj, "dashboardURL", where)
        value = _value_text(obj, where)
        alerts.append(
            read_alert(
                obj,
                where,
                source="grafana",
                external_url=None,  # Grafana sends its own silenceURL; no Alertmanager UI here
                links={
                    "silence": web_link(optional_string(obj, "silenceURL", where)),
                    "dashboard": web_link(panel) or web_link(dashboard),
                    "source": web_link(external_url),
                },
                extra_annotations={"value": value} if value else None,
            )
        )
    return collect("grafana", alerts, truncated=truncated)


def _value_text(obj: Mapping[str, Any], where: str) -> str | None:
    value_string = optional_string(obj, "valueString", where)
    values = _values(obj, where)
    if value_string and value_string.strip():
        return value_string.strip()
    return ", ".join(f"{ref}={number:g}" for ref, number in values.items()) or None


def _values(obj: Mapping[str, Any], where: str) -> dict[str, float]:
    """`values`: each query or expression's evaluated number, by its ref id (A, B, C...)."""
    raw = obj.get("values")
    if raw is None:
        return {}
    path = child(where, "values")
    values: dict[str, float] = {}
    for ref, number in as_object(raw, path).items():
        if number is None:  # no data for this ref
            continue
        if isinstance(number, bool) or not isinstance(number, int | float):
            raise AlertParseError(child(path, ref), f"expected a number, got {kind(number)}")
        values[ref] = number
    return values
