"""Free text (what a person types after `/investigate`) as an alert, with the Kubernetes hints
that are plainly written in it and nothing guessed beyond that.

Picked out: `pod NAME`, `in namespace NS`, `in the NS namespace`, `NS/POD` (when POD looks like a
Deployment's pod), `-n NS`, `--namespace NS`, `ns: NS`, `kind/NAME` (kubectl forms such as
`deployment/checkout`, `pvc/data-0`), `deploy NAME`, `node NAME`, `pvc NAME`, `key=value` label
pairs, and the alert name of an Alertmanager `[FIRING:1] AlertName ...` line. A hint written two
different ways is ambiguous and left out. Names must be valid Kubernetes names (lowercase); a
bare word after a kind (`deployment replicas`) is taken only when it is not ordinary English.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator

from agent.alert import Alert, AlertStatus, Severity
from agent.intake._fields import AlertParseError

MAX_TEXT_CHARS = 20_000
TITLE_CHARS = 150

# Label names as kube-prometheus-stack spells them, for each way people name the kind.
_KIND_LABELS: dict[str, str] = {
    "namespace": "namespace",
    "namespaces": "namespace",
    "ns": "namespace",
    "pod": "pod",
    "pods": "pod",
    "po": "pod",
    "deployment": "deployment",
    "deployments": "deployment",
    "deploy": "deployment",
    "deployment.apps": "deployment",
    "statefulset": "statefulset",
    "statefulsets": "statefulset",
    "sts": "statefulset",
    "daemonset": "daemonset",
    "daemonsets": "daemonset",
    "ds": "daemonset",
    "node": "node",
    "nodes": "node",
    "pvc": "persistentvolumeclaim",
    "pvcs": "persistentvolumeclaim",
    "persistentvolumeclaim": "persistentvolumeclaim",
    "persistentvolumeclaims": "persistentvolumeclaim",
    "svc": "service",
    "service": "service",
    "services": "service",
    "job": "job_name",
    "jobs": "job_name",
    "job.batch": "job_name",
    "container": "container",
}
# `kind NAME` in prose: only the kinds whose word is rarely anything but the kind.
_SPOKEN_KINDS = (
    "pod",
    "deployment",
    "deploy",
    "statefulset",
    "daemonset",
    "node",
    "pvc",
    "persistentvolumeclaim",
    "svc",
    "job",
    "container",
)
# `key: value` is read only for these keys; `Error: connection refused` is not a label.
_COLON_KEYS = (
    "namespace",
    "ns",
    "pod",
    "deployment",
    "deploy",
    "statefulset",
    "sts",
    "daemonset",
    "ds",
    "node",
    "pvc",
    "persistentvolumeclaim",
    "service",
    "svc",
    "container",
    "cluster",
    "alertname",
    "severity",
)
# `key=value` keys that are short for a label.
_KEY_ALIASES = {
    "ns": "namespace",
    "deploy": "deployment",
    "sts": "statefulset",
    "ds": "daemonset",
    "pvc": "persistentvolumeclaim",
    "svc": "service",
}
_NAMESPACE_LIKE = frozenset({"namespace", "container"})  # DNS-1123 labels (no dots)
_KUBE_LABELS = frozenset(_KIND_LABELS.values())

_DNS_LABEL = re.compile(r"[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?")
_DNS_SUBDOMAIN = re.compile(
    r"(?=.{1,253}$)[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*"
)
_NAME = r"[A-Za-z0-9][A-Za-z0-9._-]*"
# The scheme is bounded so a long run of word characters cannot make this quadratic.
_URL = re.compile(r"(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]{0,31}://\S+")
_FIRING_LINE = re.compile(
    r"^[ \t>*_`]*\[(?P<status>FIRING|RESOLVED)(?::\d+)?\][ \t]*(?P<name>\S+)", re.M | re.I
)
_ALERT_NAME = re.compile(r"[A-Z][A-Za-z0-9_:]*[a-z][A-Za-z0-9_:]*")
_PAIR_VALUE = r"(?P<value>\"(?:[^\"\\\n]|\\.)*\"|'[^'\n]*'|[^\s,;{}()\[\]\"'<>]+)"
# `key=value` anywhere; with spaces around `=` only as a list item on its own line, the way
# Alertmanager's and Grafana's default message templates print labels (` - alertname = X`).
_PAIR = re.compile(r"(?<![\w.\-/!<>=~])(?P<key>[A-Za-z_][A-Za-z0-9_]*)=(?![=~])" + _PAIR_VALUE)
_LINE_PAIR = re.compile(
    r"^[ \t]*(?:[-*\u2022][ \t]*)?(?P<key>[A-Za-z_][A-Za-z0-9_]*)[ \t]*=(?![=~])[ \t]*"
    + _PAIR_VALUE
    + r"[ \t]*$",
    re.M,
)
_COLON = re.compile(
    r"(?<![\w.\-/])(?P<key>(?i:"
    + "|".join(_COLON_KEYS)
    + r"))[ \t]*:[ \t]*(?P<value>"
    + _NAME
    + r")(?P<after>/?)"
)
_SPOKEN = re.compile(
    r"(?<![\w.\-/])(?P<kind>(?i:"
    + "|".join(_SPOKEN_KINDS)
    + r"))[ \t]+(?P<value>"
    + _NAME
    + r")(?P<after>/?)"
)
_IN_NAMESPACE = re.compile(
    r"(?<![\w.\-/])(?i:in|from|for)[ \t]+(?i:namespace|ns)[ \t]+(?P<value>"
    + _NAME
    + r")(?P<after>/?)"
)
_THE_NAMESPACE = re.compile(
    r"(?<![\w.\-/])(?i:in[ \t]+the)[ \t]+(?P<value>" + _NAME + r")[ \t]+(?i:namespace)\b"
)
_FLAG = re.compile(r"(?<!\S)(?:-n|--namespace)(?:[ \t]+|=)(?P<value>" + _NAME + r")(?P<after>/?)")
_SLASH = re.compile(
    r"(?<![\w.\-/])(?P<kind>(?i:"
    + "|".join(
        sorted((re.escape(k) for k in _KIND_LABELS if k != "container"), key=len, reverse=True)
    )
    + r"))/(?P<value>"
    + _NAME
    + r")(?P<after>/?)"
)
# A Deployment's pod: NAME-<pod-template-hash>-<suffix>. Only this shape makes `ns/name` plain.
_NS_POD = re.compile(
    r"(?<![\w.\-/:])(?P<ns>[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?)/"
    r"(?P<pod>[a-z0-9](?:[-a-z0-9]*[a-z0-9])?-[a-z0-9]{5,10}-[a-z0-9]{5})(?![\w/-])(?!\.\w)"
)

# Words that follow a kind in ordinary sentences ("the deployment rollout is stuck"); a bare
# word like these is never taken as a name.
_NOT_NAME_WORDS = """
    a an the this that these those it its is are was were be been being has have had do does
    did not no nor in on at of for to from with without by and or but so as if then than
    there here now still again also just too very all any some each every my our your their
    keeps keep kept seems seem looks look appears got gets get can cannot could should would
    will may might must since after before when while which who what where why how
    down up out stuck failing failed fails crash crashes crashing crashed restarting restarts
    restart restarted pending ready notready unhealthy healthy running broken dead gone missing
    killed evicted oom oomkilled throttled throttling full slow flapping unavailable unreachable
    rollout rollback rollouts replicas replica strategy spec status history revision revisions
    image images memory cpu disk pressure logs log events event limits limit requests request
    quota quotas size capacity usage name names labels label selector template config
    configuration probe probes health port ports endpoint endpoints condition conditions count
    metrics metric errors error failures failure latency traffic load version update upgrade
    scale scaling autoscaler hpa owner ip address pool group role controller object resource
    resources volume volumes storage mount claim file files filesystem network dns cert
    certificate secret secrets configmap env variable variables timeout timeouts state phase
    reason message output info details description summary alert alerts issue issues problem
    problems incident outage change changes diff deploy deployment deployments pod pods node
    nodes namespace namespaces cluster clusters service services container containers job jobs
    pvc pvcs manifest yaml spec today yesterday tonight new old previous current latest first
    last one two three several many few more less most same other another
"""
_NOT_NAMES = frozenset(_NOT_NAME_WORDS.split())


def parse_text(text: object, *, source: str = "text") -> Alert:
    """A person's description of a problem as an alert (title = its first line)."""
    if not isinstance(text, str):
        raise AlertParseError("text", f"expected a string, got {type(text).__name__}")
    body = text.strip()
    if not body:
        raise AlertParseError(
            "text",
            "empty; describe the problem, e.g. `pod checkout-6c9f7b-x2k4q in namespace shop "
            "is crash looping`",
        )
    if len(body) > MAX_TEXT_CHARS:
        raise AlertParseError(
            "text", f"too long ({len(body)} characters); paste at most {MAX_TEXT_CHARS}"
        )
    first_line = next(line.strip() for line in body.splitlines() if line.strip())
    labels = extract_labels(body)
    firing_line = _FIRING_LINE.search(body)
    resolved = firing_line is not None and firing_line["status"].upper() == "RESOLVED"
    normalized = " ".join(body.casefold().split())
    return Alert(
        source=source,
        dedup_key="text:" + hashlib.sha256(normalized.encode()).hexdigest()[:16],
        status=AlertStatus.RESOLVED if resolved else AlertStatus.FIRING,
        title=_shorten(first_line, TITLE_CHARS),
        severity=Severity.parse(labels.get("severity") or labels.get("priority")),
        labels=labels,
        annotations={"description": body},
        raw=text,
    )


def extract_labels(text: str) -> dict[str, str]:
    """The labels and Kubernetes hints plainly written in `text` (kube-prometheus-stack names).

    A label found with two different values is ambiguous and left out.
    """
    scrubbed = _URL.sub(" ", text)  # query strings and paths are not hints
    found: dict[str, list[str]] = {}
    for label, value in _candidates(scrubbed):
        found.setdefault(label, []).append(value)
    return {label: values[0] for label, values in found.items() if len(set(values)) == 1}


def _candidates(text: str) -> Iterator[tuple[str, str]]:
    for match in (*_PAIR.finditer(text), *_LINE_PAIR.finditer(text)):
        label = _KEY_ALIASES.get(match["key"], match["key"])
        pair_value = _unquote(match["value"])
        if label in _KUBE_LABELS:
            if _is_kube_name(label, pair_value):
                yield label, pair_value
        elif pair_value and not label.startswith("__"):
            yield label, pair_value
    for match in _COLON.finditer(text):
        key = match["key"].lower()
        label = _KIND_LABELS.get(key, _KEY_ALIASES.get(key, key))
        name = _name_at(match)
        if name and (label not in _KUBE_LABELS or _is_kube_name(label, name)):
            yield label, name
    for match in _SPOKEN.finditer(text):
        label = _KIND_LABELS[match["kind"].lower()]
        name = _name_at(match)
        if name and _is_kube_name(label, name) and _plain_in_prose(label, name):
            yield label, name
    for pattern in (_IN_NAMESPACE, _THE_NAMESPACE, _FLAG):
        for match in pattern.finditer(text):
            name = _name_at(match)
            if name and _is_kube_name("namespace", name) and name not in _NOT_NAMES:
                yield "namespace", name
    for match in _SLASH.finditer(text):
        label = _KIND_LABELS[match["kind"].lower()]
        name = _name_at(match)
        if name and _is_kube_name(label, name):
            yield label, name
    for match in _NS_POD.finditer(text):
        if match["ns"] not in _KIND_LABELS:
            yield "namespace", match["ns"]
            yield "pod", match["pod"]
    firing = _FIRING_LINE.search(text)
    if firing is not None and _ALERT_NAME.fullmatch(firing["name"]):
        yield "alertname", firing["name"]


def _name_at(match: re.Match[str]) -> str | None:
    """The name a pattern captured, or None when it continues as a path (`a/b`)."""
    if match.groupdict().get("after"):
        return None
    value = match["value"].rstrip(".")  # a sentence may end right after the name
    return value or None


def _is_kube_name(label: str, value: str) -> bool:
    if label == "cluster":
        return bool(value)
    pattern = _DNS_LABEL if label in _NAMESPACE_LIKE else _DNS_SUBDOMAIN
    return pattern.fullmatch(value) is not None


def _plain_in_prose(label: str, value: str) -> bool:
    """Whether a word after a kind in prose is a name rather than English."""
    generated = "-" in value or any(ch.isdigit() for ch in value)
    if label == "pod":
        return generated  # pods carry generated suffixes; "pod is crashing" names no pod
    if generated:
        return True
    if value in _NOT_NAMES:
        return False
    return not (
        (value.endswith("ing") and len(value) >= 5) or (value.endswith("ed") and len(value) >= 6)
    )


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1]
    return value.rstrip(".:!?")


def _shorten(line: str, limit: int) -> str:
    if len(line) <= limit:
        return line
    cut = line[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip() + "…"
