"""Which Slack messages are alerts, and the alert each one carries.

Recognized: Alertmanager's Slack receiver (an attachment titled `[FIRING:n] ...`, empty text),
Grafana (`[FIRING:n]`, legacy `[Alerting]`, label lines ` - key = value`), Datadog (`[Triggered
on {tag:value}] ...`, `[Warn]`), and plain text carrying an alert: a `[FIRING:n] AlertName` line,
`key=value` labels (with `alertname`, or a Kubernetes name beside another label), or pasted JSON
in any shape `agent.intake` reads. Resolved notifications are recognized as resolved and left
alone. Anything else in an alert channel is chatter.

When a person asks explicitly (`/investigate`, a mention, a direct message), any text is taken:
free text becomes an alert through `agent.intake.parse_text`.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from agent.alert import Alert, AlertLinks, AlertStatus, Severity
from agent.intake import AlertParseError, parse_json, parse_text
from agent.intake.text import MAX_TEXT_CHARS
from bot.slack.incoming import SlackMessage

_MARKER = re.compile(
    r"^[ \t>]*(?:\[P\d\][ \t]*)?\[(?P<word>FIRING|RESOLVED|Alerting|OK|No[ _]Data|Pending|"
    r"Triggered|Re-Triggered|Warn|Re-Warn|Recovered|Re-Recovered)(?::[ \t]*\d+)?"
    r"(?P<scope>[^\]\n]*)\][ \t]*(?P<rest>[^\n]*)$",
    re.IGNORECASE | re.MULTILINE,
)
_FIRING_WORDS = {"firing", "alerting", "triggered", "re-triggered", "warn", "re-warn", "no data"}
_RESOLVED_WORDS = {"resolved", "ok", "recovered", "re-recovered", "pending"}
_PRIORITY = re.compile(r"\[(P\d)\]", re.IGNORECASE)

# Slack's markup: <@U1|name>, <!here>, <#C1|name>, <https://x|label>, <https://x>.
_SLACK_TOKEN = re.compile(r"<([^<>\s][^<>]*)>")
_FORMATTING = re.compile(r"[*`~]")
_JSON_START = re.compile(r"\{|\[\s*[{\]]")
_FENCED = re.compile(r"^\s*```[a-zA-Z]*\s*\n?(?P<body>.*?)\n?\s*```\s*$", re.DOTALL)

_PAIR = re.compile(
    r"(?<![\w.\-/])([A-Za-z_][A-Za-z0-9_]*)[ \t]*=[ \t]*(?![=~])(\"[^\"\n]*\"|[^\s,;\"]+)"
)
_KUBE_KEYS = frozenset(
    {"namespace", "pod", "deployment", "statefulset", "daemonset", "node", "container",
     "persistentvolumeclaim", "service", "job_name"}
)  # fmt: skip

# Datadog tags and the labels kube-prometheus-stack uses for the same things.
_DATADOG_TAGS = {
    "kube_namespace": "namespace",
    "pod_name": "pod",
    "kube_deployment": "deployment",
    "kube_container_name": "container",
    "kube_cluster_name": "cluster",
    "kube_stateful_set": "statefulset",
    "kube_daemon_set": "daemonset",
    "kube_job": "job_name",
    "kube_service": "service",
    "persistentvolumeclaim": "persistentvolumeclaim",
}
_DATADOG_TAG = re.compile(
    r"(?<![\w.\-])(" + "|".join(_DATADOG_TAGS) + r"):([a-z0-9][a-z0-9.\-]*[a-z0-9]|[a-z0-9])"
)
_LINKS = re.compile(
    r"(?im)^[ \t\-*•]*(?P<kind>source|silence|dashboard|panel|runbook(?:_url)?)[ \t]*[:=][ \t]*"
    r"<?(?P<url>https?://[^\s|>]+)"
)
_SEVERITY_WORDS = re.compile(
    r"\b(critical|crit|warning|page|high|low|info|error|fatal|sev[0-9]|p[0-5])\b", re.IGNORECASE
)


@dataclass(frozen=True)
class Recognition:
    """What a message is: a firing alert (with the alert), a resolved one, or neither."""

    alert: Alert | None = None
    resolved: bool = False
    sender: str = "text"
    others: int = 0  # further firing alerts in the same paste, not investigated
    reason: str = ""

    @property
    def firing(self) -> bool:
        return self.alert is not None and not self.resolved


def recognize(message: SlackMessage, *, forced: bool = False) -> Recognition:
    """The alert in `message`. `forced` (a person asked): any text is an alert."""
    pasted = _pasted_json(message.text)
    if pasted is not None:
        return _from_json(pasted, forced=forced, fallback=message)
    plain = readable_text(message)
    if not plain.strip():
        return Recognition(reason="no text")
    bare = _FORMATTING.sub("", plain)
    sender = _sender(message, bare)
    marker = _MARKER.search(bare)
    if marker is not None:
        word = " ".join(marker["word"].lower().replace("_", " ").split())
        alert = _build(message, plain, bare, sender=sender, headline=marker["rest"])
        if word in _RESOLVED_WORDS:
            return Recognition(alert=alert, resolved=True, sender=sender, reason=word)
        return Recognition(alert=alert, sender=sender)
    if _carries_labels(bare):
        return Recognition(
            alert=_build(message, plain, bare, sender=sender, headline=None), sender=sender
        )
    if not forced:
        return Recognition(sender=sender, reason="no alert markers or labels")
    try:
        alert = parse_text(plain[:MAX_TEXT_CHARS], source="slack")
    except AlertParseError as exc:
        return Recognition(reason=str(exc))
    return Recognition(alert=_with_slack_links(alert, message), sender="text")


def readable_text(message: SlackMessage) -> str:
    """Everything a person reads in the message, as plain text: the text, then each
    attachment's pretext, title, text and fields (Alertmanager puts it all there)."""
    parts: list[str] = []
    for attachment in message.attachments:
        for key in ("pretext", "title", "text"):
            value = attachment.get(key)
            if isinstance(value, str) and value.strip():
                parts.append(value)
        for item in attachment.get("fields") or ():
            if isinstance(item, Mapping):
                parts.append(f"{item.get('title', '')}: {item.get('value', '')}")
        if not any(attachment.get(k) for k in ("title", "text")) and attachment.get("fallback"):
            parts.append(str(attachment["fallback"]))
    text_parts = [message.text] if message.text.strip() else list(_block_texts(message.blocks))
    return _unslack("\n".join([*text_parts, *parts]).strip())


def _unslack(text: str) -> str:
    """Slack markup to plain text: mentions and links become what they show."""

    def token(match: re.Match[str]) -> str:
        inner = match.group(1)
        target, _, label = inner.partition("|")
        if target.startswith(("@", "#")):
            return (("@" if target[0] == "@" else "#") + label) if label else target
        if target.startswith("!"):
            return label or "@" + target[1:].split("^")[0]
        if label and label != target:
            return f"{label} ({target})"
        return target

    return html.unescape(_SLACK_TOKEN.sub(token, text))


def _block_texts(blocks: Iterable[Mapping[str, Any]]) -> Iterable[str]:
    for block in blocks:
        text = block.get("text")
        if isinstance(text, Mapping) and isinstance(text.get("text"), str):
            yield text["text"]
        for element in block.get("elements") or ():
            if isinstance(element, Mapping):
                yield from _rich_text(element)


def _rich_text(element: Mapping[str, Any]) -> Iterable[str]:
    if isinstance(element.get("text"), str):
        yield element["text"]
    elif isinstance(element.get("text"), Mapping):
        yield str(element["text"].get("text", ""))
    for child in element.get("elements") or ():
        if isinstance(child, Mapping):
            yield from _rich_text(child)


def _pasted_json(text: str) -> str | None:
    candidate = html.unescape(text.strip())
    fenced = _FENCED.match(candidate)
    if fenced is not None:
        candidate = fenced["body"].strip()
    return candidate if _JSON_START.match(candidate) else None


def _from_json(raw: str, *, forced: bool, fallback: SlackMessage) -> Recognition:
    try:
        result = parse_json(raw)
    except AlertParseError as exc:
        if forced:
            raise
        return Recognition(sender="json", reason=f"JSON that is not an alert: {exc}")
    if not result.alerts:
        return Recognition(resolved=result.resolved > 0, sender="json", reason=result.describe())
    first = result.alerts[0]
    return Recognition(
        alert=_with_slack_links(first, fallback), sender="json", others=len(result.alerts) - 1
    )


def _carries_labels(bare: str) -> bool:
    keys = {m.group(1) for m in _PAIR.finditer(bare)}
    if "alertname" in keys:
        return True
    return len(keys) >= 2 and bool(keys & _KUBE_KEYS)


def _sender(message: SlackMessage, bare: str) -> str:
    names = " ".join(
        str(v)
        for v in (
            message.username,
            *(a.get("footer") for a in message.attachments),
            *(a.get("author_name") for a in message.attachments),
            *(a.get("title_link") for a in message.attachments),
        )
        if v
    ).lower()
    for sender in ("alertmanager", "grafana", "datadog"):
        if sender in names:
            return sender
    marker = _MARKER.search(bare)
    if marker is not None:
        word = marker["word"].lower()
        if word in ("alerting", "ok", "no data", "no_data", "pending"):
            return "grafana"
        if word in ("triggered", "re-triggered", "warn", "re-warn", "recovered", "re-recovered"):
            return "datadog"
        return "alertmanager"
    return "text"


def _build(
    message: SlackMessage, plain: str, bare: str, *, sender: str, headline: str | None
) -> Alert:
    base = parse_text(bare[:MAX_TEXT_CHARS], source=f"slack:{sender}")
    labels = dict(base.labels)
    for tag, label in _DATADOG_TAGS.items():
        values = {m.group(2) for m in _DATADOG_TAG.finditer(bare) if m.group(1) == tag}
        if len(values) == 1 and label not in labels:
            labels[label] = values.pop()
    title = " ".join(_PRIORITY.sub("", headline or "").split()) or base.title
    name = labels.get("alertname")
    if name and not title.startswith(name):
        title = f"{name} — {title}" if headline else name
    severity = _severity(message, labels, bare, headline)
    annotations = {"description": plain[:MAX_TEXT_CHARS]}
    links = _links(message, plain)
    if links.runbook:
        annotations["runbook_url"] = links.runbook
    key_source = "\n".join(
        [sender, re.sub(r"\s+", " ", title.lower()), *sorted(f"{k}={v}" for k, v in labels.items())]
    )
    return base.model_copy(
        update={
            "title": title[:150],
            "labels": labels,
            "severity": severity,
            "annotations": annotations,
            "links": links,
            "dedup_key": "slack:" + hashlib.sha256(key_source.encode()).hexdigest()[:16],
            "status": AlertStatus.FIRING,
            "raw": {"channel": message.channel, "ts": message.ts, "text": message.text},
        }
    )


def _severity(
    message: SlackMessage, labels: Mapping[str, str], bare: str, headline: str | None
) -> Severity:
    given = labels.get("severity") or labels.get("priority")
    if given:
        return Severity.parse(given)
    priority = _PRIORITY.search(bare.split("\n", 1)[0])
    if priority is not None:
        return Severity.parse(priority.group(1))
    # Alertmanager's default title lists the common label values: `(app shop critical)`.
    if headline and "(" in headline:
        found = _SEVERITY_WORDS.search(headline[headline.index("(") :])
        if found is not None:
            return Severity.parse(found.group(1))
    del message
    return Severity.WARNING


def _links(message: SlackMessage, plain: str) -> AlertLinks:
    found: dict[str, str] = {}
    for match in _LINKS.finditer(plain):
        kind = match["kind"].lower()
        slot = {"source": "generator", "panel": "dashboard"}.get(kind, kind)
        slot = "runbook" if slot.startswith("runbook") else slot
        found.setdefault(slot, match["url"])
    for attachment in message.attachments:
        title_link = attachment.get("title_link")
        if isinstance(title_link, str) and title_link.startswith(("http://", "https://")):
            found.setdefault("source", title_link)
            break
    return AlertLinks(**found)


def _with_slack_links(alert: Alert, message: SlackMessage) -> Alert:
    if alert.links.source or not message.attachments:
        return alert
    links = _links(message, "")
    if not links.source:
        return alert
    return alert.model_copy(
        update={"links": alert.links.model_copy(update={"source": links.source})}
    )
