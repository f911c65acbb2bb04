"""Container logs read as findings: dependency errors (connection refused, timeouts, DNS), bad
configuration, expired certificates, memory and disk exhaustion, crash signatures, and the hosts
the errors name.

Logs are untrusted and may be large: only the last `MAX_LOG_LINES` lines are read, each cut to
`MAX_LINE_CHARS`, and every pattern is a plain alternation or a bounded character class (no
nested repetition), so a line costs linear time whatever it holds.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from agent.offline.findings import Finding
from agent.offline.reading import found, mapping, text
from agent.report import Category
from agent.tooling import ToolOutcome

MAX_LOG_LINES = 2000
MAX_LINE_CHARS = 1000
MAX_LOG_CHARS = 1_000_000


@dataclass(frozen=True)
class LogRule:
    kind: str
    pattern: re.Pattern[str]
    category: Category | None
    strength: float
    shows: str
    # Broad phrasings count only on lines that also read as an error.
    needs_error_word: bool = False
    names_hosts: bool = False
    # `pattern` lowercased and compiled without IGNORECASE: on ASCII text lowercased, the same
    # matches ~7x faster (Python's IGNORECASE alternations are slow).
    folded: re.Pattern[str] | None = None


def _rule(
    kind: str,
    pattern: str,
    category: Category | None,
    strength: float,
    shows: str,
    *,
    needs_error_word: bool = False,
    names_hosts: bool = False,
) -> LogRule:
    return LogRule(
        kind,
        re.compile(pattern, re.IGNORECASE),
        category,
        strength,
        shows,
        needs_error_word,
        names_hosts,
        re.compile(pattern.lower()),
    )


LOG_RULES: tuple[LogRule, ...] = (
    _rule(
        "log_cert_expired",
        r"certificate has expired|certificate expired|CERT_HAS_EXPIRED|certificate is not yet valid"
        r"|certificate verify failed: certificate has expired|NotAfter:",
        Category.CERT_EXPIRY,
        0.85,
        "an expired or not yet valid TLS certificate",
        names_hosts=True,
    ),
    _rule(
        "log_dns_failure",
        r"no such host|Name or service not known|Temporary failure in name resolution"
        r"|could not translate host name|getaddrinfo (?:ENOTFOUND|EAI_AGAIN)|UnknownHostException"
        r"|NXDOMAIN|SERVFAIL|server misbehaving|nodename nor servname|Name does not resolve"
        r"|failed to resolve|DNS resolution failed|lookup [\w.-]{1,253} on "
        r"[\d.:\[\]a-f]{1,60}:53\b",
        Category.DNS_FAILURE,
        0.45,
        "host names that do not resolve",
        names_hosts=True,
    ),
    _rule(
        "log_connection_failed",
        r"connection refused|ECONNREFUSED|could not connect to server|Can't connect to"
        r"|Connection reset by peer|ECONNRESET|no route to host|EHOSTUNREACH|i/o timeout"
        r"|connection timed out|connect timed out|ETIMEDOUT|timed out connecting"
        r"|Communications link failure|Unable to acquire JDBC Connection|failed to connect"
        r"|unable to connect|cannot connect|Connection closed by foreign host|broken pipe"
        r"|context deadline exceeded|dial tcp|Unable to open connection|connect ECONN"
        r"|is the server running|MaxRetriesExceeded|Max retries exceeded|ServiceUnavailable"
        r"|connection (?:to|with) [\w.:\[\]/-]{1,260} (?:was )?(?:refused|reset|timed out)",
        Category.DEPENDENCY_FAILURE,
        0.5,
        "failing connections to a dependency",
        names_hosts=True,
    ),
    _rule(
        "log_upstream_errors",
        r"upstream connect error|503 Service Unavailable|502 Bad Gateway|504 Gateway Timeout"
        r"|status(?: code)?[ =:]{1,3}50[234]\b|upstream request timeout|no healthy upstream",
        Category.DEPENDENCY_FAILURE,
        0.4,
        "errors from an upstream service",
        names_hosts=True,
    ),
    _rule(
        "log_auth_failed",
        r"password authentication failed|Access denied for user|authentication failed"
        r"|NOAUTH|WRONGPASS|invalid credentials|invalid password|401 Unauthorized"
        r"|SASL authentication|login failed|AuthenticationFailed",
        Category.BAD_CONFIG,
        0.6,
        "credentials rejected by a dependency",
        names_hosts=True,
    ),
    _rule(
        "log_config_error",
        r"missing required|required (?:env|environment|config|configuration|setting|variable|key)"
        r"|environment variable|env var|is not set|not set in|must be set|is required"
        r"|KeyError: |config(?:uration)? file|invalid config|invalid configuration"
        r"|failed to (?:parse|load|read) (?:config|configuration|settings)|unknown flag"
        r"|flag provided but not defined|unrecognized arguments|unrecognized option|no such option"
        r"|unknown option|invalid value for|invalid argument|ValidationError|could not parse"
        r"|cannot unmarshal|yaml: |mapping values are not allowed|undefined variable"
        r"|ConfigException|ConfigurationError|ImproperlyConfigured|BeanCreationException"
        r"|Could not resolve placeholder|missing key|no such key",
        Category.BAD_CONFIG,
        0.7,
        "missing or invalid configuration",
        needs_error_word=True,
    ),
    _rule(
        "log_missing_file",
        r"no such file or directory|ENOENT|FileNotFoundError|FileNotFoundException"
        r"|cannot open|could not open|does not exist",
        Category.BAD_CONFIG,
        0.55,
        "a file the process needs is missing",
        needs_error_word=True,
    ),
    _rule(
        "log_out_of_memory",
        r"(?<![A-Za-z])OutOfMemoryError|out of memory|Cannot allocate memory"
        r"|(?<![A-Za-z])MemoryError"
        r"|JavaScript heap out of memory|runtime: out of memory|std::bad_alloc|OOM command not "
        r"allowed",
        Category.OOM_KILLED,
        0.55,
        "the process running out of memory",
    ),
    _rule(
        "log_disk_full",
        r"No space left on device|ENOSPC|disk full|disk is full|Disk quota exceeded"
        r"|not enough space|insufficient disk space",
        Category.DISK_PRESSURE,
        0.7,
        "a full disk",
    ),
    _rule(
        "log_permission_denied",
        r"permission denied|EACCES|Operation not permitted|read-only file system",
        Category.BAD_CONFIG,
        0.45,
        "denied file or operation permissions",
        needs_error_word=True,
    ),
    _rule(
        "log_crash",
        r"panic:|Traceback \(most recent call last\)|Exception in thread|UnhandledPromiseRejection"
        r"|Unhandled exception|uncaught exception|Segmentation fault|SIGSEGV|NullPointerException"
        r"|fatal error:|FATAL|CRITICAL|core dumped|Exited with|exiting with|shutting down due to"
        r"|Application run failed|terminate called",
        Category.CRASH_LOOP_APP_ERROR,
        0.3,
        "the application failing by itself",
    ),
)

# The line that names what failed: `ValueError: ...`, `panic: ...`, `FATAL ...`.
_EXCEPTION_LINE = re.compile(
    r"\b[A-Z]\w{0,80}(?:Error|Exception)\b:|^panic:|\bpanic: |FATAL|fatal error:|Caused by:"
)
_ERROR_WORD = re.compile(
    r"error|fatal|fail|exception|panic|critical|crit\b|\bERR\b|invalid|missing|unable|cannot"
    r"|can't|could not|refused|denied|not found|not set|required|abort|exit",
    re.IGNORECASE,
)

# Where a failing line names the other end, most specific first; each pattern is bounded. A
# host must not follow `:`, `/` or a word character, so `node:net:1611` in a stack frame or a
# path is not taken for `net` on port 1611.
_HOST_PATTERNS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        r"lookup (?P<host>[a-z0-9][\w.-]{0,252})(?: on [\d.:\[\]a-f]{1,60})?: ",
        r"dial tcp (?P<host>[a-z0-9][\w.-]{0,252}):(?P<port>\d{1,5})",
        r"could not translate host name \"(?P<host>[\w.-]{1,253})\"",
        r"server at \"(?P<host>[\w.-]{1,253})\"(?: \([\w.:]{1,60}\))?, port (?P<port>\d{1,5})",
        r"(?:getaddrinfo (?:ENOTFOUND|EAI_AGAIN)|UnknownHostException:?"
        r"|connect (?:ECONNREFUSED|ETIMEDOUT|EHOSTUNREACH|ECONNRESET|ENETUNREACH)) "
        r"(?P<host>[a-z0-9][\w.-]{0,252})(?::(?P<port>\d{1,5}))?",
        r"\b(?:[a-z][a-z0-9+.-]{0,19})://(?:[^@\s/]{1,200}@)?(?P<host>[a-z0-9][\w.-]{0,252})"
        r"(?::(?P<port>\d{1,5}))?",
        r"(?:host|hostname|server|addr|address|endpoint|upstream)[\"']?(?:\s?[=:]\s?[\"']?"
        r"|\s[\"'])(?P<host>[a-z0-9][\w.-]{0,252})(?:[:\s,\"']{1,3}(?:port[\"']?[=:\s]{1,3})?"
        r"(?P<port>\d{2,5}))?\b",
        r"(?<![:/\w.-])(?P<host>[a-z][a-z0-9-]{0,62}(?:\.[a-z0-9-]{1,63}){0,8}):(?P<port>\d{2,5})\b",
        r"(?<![\w.])(?P<host>\d{1,3}(?:\.\d{1,3}){3}):(?P<port>\d{2,5})\b",
        r"(?:connect(?:ing)? to|connection to|reach|resolve|resolving) "
        r"[\"'`]?(?P<host>[a-z][\w.-]{0,252})[\"'`]?",
    )
)
# Words that follow "host", "server", "connect to" in prose but are not hosts.
_NOT_HOSTS = frozenset(
    {"localhost", "host", "server", "the", "http", "https", "tcp", "udp", "port", "database",
     "db", "upstream", "a", "an", "to", "for", "from", "with", "no", "and", "or", "is", "on",
     "in", "at", "by", "of", "error", "failed", "connection", "address", "endpoint", "timeout",
     "remote", "service", "backend", "127.0.0.1", "::1", "0.0.0.0"}  # noqa: S104 - never bound
)  # fmt: skip
_TIMESTAMP_LIKE = re.compile(r"^\d{1,2}$|^\d{4}-\d{2}-\d{2}|^[tT]\d")
_IP = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")
# How many lines before a failure may name the host its address belongs to ("connecting to
# db.internal:5432" ... "connect ETIMEDOUT 10.0.0.7:5432").
_CONTEXT_LINES = 5
# Config errors often name the variable or key they miss.
_CONFIG_NAMES: tuple[re.Pattern[str], ...] = (
    re.compile(r"KeyError: ['\"](?P<name>[\w.-]{1,120})['\"]"),
    re.compile(
        r"(?:environment variable|env var|variable|setting|config key|key|option|placeholder"
        r"|property|flag)"
        r"[\s:'\"`$({]{1,4}(?P<name>[A-Za-z_][\w.-]{1,120})",
        re.IGNORECASE,
    ),
    re.compile(
        r"\b(?P<name>[A-Z][A-Z0-9_]{2,120})\b[\s'\"`:=]{0,3}(?i:is )?(?i:not set|missing|required"
        r"|must be set|undefined|empty|unset|invalid|not a valid|expected|must be)"
    ),
)
_GENERIC_NAMES = frozenset({"is", "not", "the", "a", "value", "required", "missing", "set", "in"})


def log_findings(outcome: ToolOutcome) -> list[Finding]:
    """`pod_logs` (PodLogs)."""
    logs = mapping(outcome.structured)
    body = logs.get("text") if logs else None
    if not isinstance(body, str):
        body = outcome.text if not logs else ""
    raw = [line[:MAX_LINE_CHARS] for line in body[-MAX_LOG_CHARS:].splitlines()[-MAX_LOG_LINES:]]
    pod = text(logs.get("pod"), 253) or str(outcome.arguments.get("name") or "")
    namespace = text(logs.get("namespace"), 63) or str(outcome.arguments.get("namespace") or "")
    container = text(logs.get("container"), 63) or str(outcome.arguments.get("container") or "")
    previous = bool(logs.get("previous", outcome.arguments.get("previous")))
    source = f"{namespace}/{pod}" + (f" ({container})" if container else "")
    run = "previous run" if previous else "current run"
    base = {"namespace": namespace, "pod": pod, "container": container, "previous": previous}
    if not any(line.strip() for line in raw):
        return [
            found(
                outcome,
                "logs_empty",
                f"Logs of {source}, {run}, are empty: the process printed nothing before it "
                "stopped (often it never started: command, args or image)",
                None,
                0.0,
                **base,
            )
        ]
    entries = readable_entries(raw)
    # One search over all entries rules most rules out before the per-entry pass: no rule
    # pattern is anchored or looks behind for a line start, so a match in any entry is a match
    # here (a match across two entries only costs the per-entry pass).
    joined = "\n".join(entries)
    folded = joined.lower() if joined.isascii() else None
    findings: list[Finding] = []
    for rule in LOG_RULES:
        if folded is not None and rule.folded is not None:
            if not rule.folded.search(folded):
                continue
        elif not rule.pattern.search(joined):
            continue
        matches = [
            index
            for index, entry in enumerate(entries)
            if rule.pattern.search(entry)
            and (not rule.needs_error_word or _ERROR_WORD.search(entry))
        ]
        if not matches:
            continue
        facts: dict[str, Any] = {**base, "count": len(matches)}
        hosts = _hosts(entries, matches) if rule.names_hosts else []
        telling = [i for i in matches if hosts and _names(entries[i], hosts[0])] or matches
        if rule.kind == "log_crash":
            telling = [i for i, e in enumerate(entries) if _EXCEPTION_LINE.search(e)] or telling
        last = " ".join(entries[telling[-1]].split())[:300]
        facts["line"] = last
        if hosts:
            facts["hosts"] = hosts
            facts["host"] = hosts[0]["host"]
            for key in ("port", "address"):
                if hosts[0].get(key):
                    facts[key] = hosts[0][key]
        if rule.category is Category.BAD_CONFIG:
            names = _config_names([entries[i] for i in matches])
            if names:
                facts["names"] = names
        target = (
            f" ({facts['host']}{':' + str(facts['port']) if facts.get('port') else ''})"
            if facts.get("host")
            else ""
        )
        times = "once" if len(matches) == 1 else f"{len(matches)} times"
        strength = min(1.0, rule.strength + (0.05 if len(matches) >= 3 else 0.0))
        findings.append(
            found(
                outcome,
                rule.kind,
                f'Logs of {source}, {run}, show {rule.shows}{target} {times}; last: "{last}"',
                rule.category,
                strength,
                **facts,
            )
        )
    return findings


# A line that continues the one before it (an indented detail, not a stack frame).
_CONTINUATION = re.compile(r"^\s{1,12}(?!at |File |\.\.\.|\^|-{3})\S")
_MAX_CONTINUED = 3
# JSON log fields that carry no meaning for a diagnosis.
_JSON_NOISE = frozenset(
    {"time", "ts", "timestamp", "@timestamp", "pid", "hostname", "v", "caller", "stack",
     "stacktrace", "logger", "thread", "trace_id", "span_id", "level", "severity"}
)  # fmt: skip


def readable_entries(lines: list[str]) -> list[str]:
    """Log lines as a person reads them: a JSON line becomes `level msg key=value ...`, and an
    indented detail line is joined to the line it belongs to (`invalid configuration:` then
    `  REDIS_URL: Invalid url`)."""
    entries: list[str] = []
    continued = 0
    for line in lines:
        if entries and continued < _MAX_CONTINUED and _CONTINUATION.match(line):
            entries[-1] = f"{entries[-1]} {line.strip()}"
            continued += 1
            continue
        continued = 0
        entries.append(_readable(line))
    return entries


def _readable(line: str) -> str:
    stripped = line.strip()
    if not (stripped.startswith("{") and stripped.endswith("}")):
        return line
    try:
        record = json.loads(stripped)
    except ValueError:
        return line
    if not isinstance(record, dict):
        return line
    level = record.get("level") or record.get("severity")
    parts = [str(level)] if isinstance(level, str) else []
    for key in ("msg", "message", "error", "err", "exception"):
        value = record.get(key)
        if isinstance(value, dict):
            value = value.get("message") or value.get("msg") or value.get("type")
        if isinstance(value, str | int | float) and str(value):
            parts.append(str(value))
    for key, value in record.items():
        if key in _JSON_NOISE or key in ("msg", "message", "error", "err", "exception"):
            continue
        if isinstance(value, str | int | float | bool) and len(str(value)) <= 200:
            parts.append(f"{key}={value}")
    return " ".join(parts)[:MAX_LINE_CHARS] or line


def _names(entry: str, host: dict[str, Any]) -> bool:
    lowered = entry.lower()
    return any(str(host.get(k, "")).lower() in lowered for k in ("host", "address") if host.get(k))


def _candidates(entry: str) -> list[tuple[str, str]]:
    """(host, port) pairs an entry names, most specific pattern first."""
    found_: list[tuple[str, str]] = []
    for pattern in _HOST_PATTERNS:
        for match in pattern.finditer(entry):
            host = match.group("host").strip(".").lower()
            port = match.groupdict().get("port") or ""
            if host in _NOT_HOSTS or _TIMESTAMP_LIKE.search(host) or len(host) < 2:
                continue
            if port == "53" or (port.isdigit() and int(port) >= 32768):
                continue  # the resolver, or a client's own ephemeral port
            if (host, port) not in found_:
                found_.append((host, port))
    return found_


def _hosts(entries: list[str], matches: list[int]) -> list[dict[str, Any]]:
    """Hosts (and ports) the failing entries name, most often named first. An address that a
    line just before names by host name is reported under that name."""
    counts: Counter[tuple[str, str]] = Counter()
    addresses: dict[tuple[str, str], str] = {}
    for index in matches[-200:]:
        candidates = _candidates(entries[index])
        if not candidates:
            continue
        # A name with a port beats an address with a port, which beats a bare word ("cannot
        # connect to postgres" names the technology, "10.0.0.7:5432" the endpoint).
        ranked = sorted(
            candidates, key=lambda c: (not c[1], bool(_IP.match(c[0])), candidates.index(c))
        )
        host, port = ranked[0]
        if _IP.match(host) and port:
            for before in range(index - 1, max(-1, index - 1 - _CONTEXT_LINES), -1):
                nearby = [
                    c for c in _candidates(entries[before]) if not _IP.match(c[0]) and c[1] == port
                ]
                if nearby:
                    addresses[nearby[0]] = host
                    host = nearby[0][0]
                    break
        counts[(host, port)] += 1
    merged: dict[str, dict[str, Any]] = {}
    for (host, port), count in counts.most_common():
        entry = merged.setdefault(host, {"host": host, "count": 0})
        entry["count"] += count
        if port and "port" not in entry:
            entry["port"] = int(port)
        if (host, port) in addresses:
            entry["address"] = addresses[(host, port)]
    return sorted(merged.values(), key=lambda e: -int(e["count"]))[:5]


def _config_names(lines: list[str]) -> list[str]:
    names: list[str] = []
    for line in lines[-50:]:
        for pattern in _CONFIG_NAMES:
            for match in pattern.finditer(line):
                name = match.group("name").strip(".-")
                if name.lower() in _GENERIC_NAMES or len(name) < 2:
                    continue
                if name not in names:
                    names.append(name)
    return names[:5]
