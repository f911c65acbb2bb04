"""Generic JSON alerts: `{title, severity, labels, annotations, status, fingerprint}`.

Only `title` or `labels.alertname` is required. Types are checked strictly (a number where a
string belongs is an error); absent fields take defaults. Other keys are kept in `raw`.
"""

from __future__ import annotations

from agent.alert import Alert, AlertLinks, Severity
from agent.intake._fields import (
    AlertParseError,
    as_object,
    optional_string,
    status,
    string_map,
    timestamp,
    web_link,
)
from agent.intake.alertmanager import alertmanager_fingerprint


def parse_generic(data: object, *, source: str = "generic") -> Alert:
    payload = as_object(data, "payload")
    labels = string_map(payload, "labels", "")
    annotations = string_map(payload, "annotations", "")
    title = (optional_string(payload, "title", "") or "").strip()
    name = labels.get("alertname", "").strip()
    if not title and not name:
        raise AlertParseError(
            "title", "missing; a generic alert needs a `title` or a `labels.alertname`"
        )
    severity = optional_string(payload, "severity", "")
    given_fingerprint = (optional_string(payload, "fingerprint", "") or "").strip()
    starts_key = "startsAt" if "startsAt" in payload else "starts_at"
    # Without a fingerprint the key is Alertmanager's for the same labels (the title standing
    # in for a missing alertname), so the alert dedups against its webhook twin.
    dedup_key = given_fingerprint or alertmanager_fingerprint(
        labels if name else {**labels, "alertname": title}
    )
    return Alert(
        source=source,
        dedup_key=dedup_key,
        status=status(payload, "status", ""),
        title=title or name,
        severity=Severity.parse(severity or labels.get("severity") or labels.get("priority")),
        labels=labels,
        annotations=annotations,
        starts_at=timestamp(payload, starts_key, ""),
        links=AlertLinks(
            runbook=web_link(annotations.get("runbook_url") or annotations.get("runbook")),
            dashboard=web_link(annotations.get("dashboard_url") or annotations.get("grafana_url")),
            generator=web_link(optional_string(payload, "generatorURL", "")),
        ),
        raw=dict(payload),
    )
