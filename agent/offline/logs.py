"""Container logs read as findings: dependency errors (connection refused, timeouts, DNS), bad
configuration, expired certificates, memory and disk exhaustion, crash signatures, and the hosts
the errors name.

Logs are untrusted and may be large: only the last `MAX_LOG_LINES` lines are read, each cut to
`MAX_LINE_CHARS`, and every pattern is a plain alternation or a bounded character class (no
nested repetition), so a line costs linear time whatever it holds.
"""

from __future__ import annotations

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
        r"|is the server running|MaxRetriesExceeded|Max retries exceeded|ServiceUnavailable",
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
        r"(?<![A-Za-z])OutOfMemoryError|out of memory|Cannot allocate memory|(?<![A-Za-z])MemoryError"
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

# Where a failing line names the other end. Tried in order; each is bounded.
_HOST_PATTERNS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        r"lookup (?P<host>[a-z0-9][\w.-]{0,252})(?: on [\d.:\[\]a-f]{1,60})?: ",
        r"dial tcp (?P<host>[a-z0-9][\w.-]{0,252}):(?P<port>\d{1,5})",
        r"could not translate host name \"(?P<host>[\w.-]{1,253})\"",
        r"server at \"(?P<host>[\w.-]{1,253})\"(?: \([\w.:]{1,60}\))?, port (?P<port>\d{1,5})",
        r"(?:getaddrinfo (?:ENOTFOUND|EAI_AGAIN)|UnknownHostException:?|connect ECONNREFUSED) "
        r"(?P<host>[a-z0-9][\w.-]{0,252})(?::(?P<port>\d{1,5}))?",
        r"\b(?:[a-z][a-z0-9+.-]{0,19})://(?:[^@\s/]{1,200}@)?(?P<host>[a-z0-9][\w.-]{0,252})(?::(?P<port>\d{1,5}))?",
        r"(?:host|hostname|server|addr|address|endpoint|upstream)(?:\s?[=:]\s?[\"']?"
        r"|\s[\"'])(?P<host>[a-z][\w.-]{0,252})(?:[:\s,\"']{1,3}(?:port[=:\s]{1,3})?(?P<port>\d{2,5}))?\b",
        r"\b(?P<host>[a-z][a-z0-9-]{0,62}(?:\.[a-z0-9-]{1,63}){0,8}):(?P<port>\d{2,5})\b",
        r"\b(?P<host>\d{1,3}(?:\.\d{1,3}){3}):(?P<port>\d{2,5})\b",
        r"(?:connect(?:ing)? to|connection to|reach|resolve|resolving) "
        r"[\"'`]?(?P<host>[a-z][\w.-]{0,252})[\"'`]?",
    )
)
_NOT_HOSTS = frozenset(
    {"0.0.0.0", "localhost",  # noqa: S104 - an address to skip in logs, not one to bind "127.0.0.1", "::1", "host", "server", "the", "http", "https",
     "tcp", "udp", "port", "database", "db", "upstream", "a", "an", "to", "for", "from",
     "with", "no", "and", "or", "is", "on", "in", "at", "by", "of", "error", "failed",
     "connection", "address", "endpoint", "timeout", "remote", "service", "backend"}
)  # fmt: skip
_TIMESTAMP_LIKE = re.compile(r"^\d{1,2}$|^\d{4}-\d{2}-\d{2}|^[tT]\d")
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
        r"\b(?P<name>[A-Z][A-Z0-9_]{2,120})\b[\s'\"`]{0,2}(?:is )?(?:not set|missing|required"
        r"|must be set|undefined|empty|unset)"
    ),
)
_GENERIC_NAMES = frozenset({"is", "not", "the", "a", "value", "required", "missing", "set", "in"})


def log_findings(outcome: ToolOutcome) -> list[Finding]:
    """`pod_logs` (PodLogs)."""
    logs = mapping(outcome.structured)
    body = logs.get("text") if logs else None
    if not isinstance(body, str):
        body = outcome.text if not logs else ""
    lines = [line[:MAX_LINE_CHARS] for line in body[-MAX_LOG_CHARS:].splitlines()[-MAX_LOG_LINES:]]
    pod = text(logs.get("pod"), 253) or str(outcome.arguments.get("name") or "")
    namespace = text(logs.get("namespace"), 63) or str(outcome.arguments.get("namespace") or "")
    container = text(logs.get("container"), 63) or str(outcome.arguments.get("container") or "")
    previous = bool(logs.get("previous", outcome.arguments.get("previous")))
    source = f"{namespace}/{pod}" + (f" ({container})" if container else "")
    run = "previous run" if previous else "current run"
    base = {"namespace": namespace, "pod": pod, "container": container, "previous": previous}
    if not any(line.strip() for line in lines):
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
    findings: list[Finding] = []
    for rule in LOG_RULES:
        matches = [
            line
            for line in lines
            if rule.pattern.search(line) and (not rule.needs_error_word or _ERROR_WORD.search(line))
        ]
        if not matches:
            continue
        facts: dict[str, Any] = {**base, "count": len(matches)}
        hosts = _hosts(matches) if rule.names_hosts else []
        telling = [m for m in matches if any(h["host"] in m.lower() for h in hosts[:1])] or matches
        if rule.kind == "log_crash":
            telling = [line for line in lines if _EXCEPTION_LINE.search(line)] or telling
        last = " ".join(telling[-1].split())[:300]
        facts["line"] = last
        if rule.names_hosts and hosts:
            facts["hosts"] = hosts
            facts["host"] = hosts[0]["host"]
            if hosts[0].get("port"):
                facts["port"] = hosts[0]["port"]
        if rule.category is Category.BAD_CONFIG:
            names = _config_names(matches)
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


def _hosts(lines: list[str]) -> list[dict[str, Any]]:
    """Hosts (and ports) the lines name, most often named first."""
    counts: Counter[tuple[str, str]] = Counter()
    for line in lines[-200:]:
        for pattern in _HOST_PATTERNS:
            match = pattern.search(line)
            if match is None:
                continue
            host = match.group("host").strip(".").lower()
            port = match.groupdict().get("port") or ""
            if host in _NOT_HOSTS or _TIMESTAMP_LIKE.search(host) or len(host) < 2 or port == "53":
                continue
            counts[(host, port)] += 1
            break
    merged: dict[str, dict[str, Any]] = {}
    for (host, port), count in counts.most_common():
        entry = merged.setdefault(host, {"host": host, "count": 0})
        entry["count"] += count
        if port and "port" not in entry:
            entry["port"] = int(port)
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
