"""Secret redaction: the one filter between tool output (or any untrusted text) and an LLM, Slack
or a log. Each secret is replaced by a marker naming its kind, e.g. `[REDACTED:github_token]`.

It prefers removing too much over too little, but leaves the identifiers an SRE needs alone: pod
names, image digests, commit shas, UUIDs, Secret *names* (`secretName: db-creds`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

MARKER_PREFIX = "[REDACTED:"


def marker(kind: str) -> str:
    """The text that replaces a secret of this kind."""
    return f"{MARKER_PREFIX}{kind}]"


_Replace = Callable[[re.Match[str]], str]


@dataclass(frozen=True)
class _Rule:
    pattern: re.Pattern[str]
    replace: _Replace
    # Lower-case substrings of which one must occur for the rule to be worth a pass.
    hints: tuple[str, ...] = ()


@dataclass(frozen=True)
class _LineRules:
    """Rules that are expensive over a whole text (case-insensitive, no literal to search for).

    `scan` finds candidate spots in the lower-cased text (`scan_any_case` in non-ASCII text,
    where lower-casing may move offsets); the rules then run only on those lines, plus
    `extra_lines` after each for two-line YAML forms.
    """

    scan: re.Pattern[str]
    scan_any_case: re.Pattern[str]
    rules: tuple[_Rule, ...]
    extra_lines: int = 0


def _line_rules(scan: str, *rules: _Rule, extra_lines: int = 0) -> _LineRules:
    return _LineRules(re.compile(scan), re.compile(scan, re.IGNORECASE), rules, extra_lines)


def _standalone(kind: str) -> _Replace:
    """Replace the whole match, unless it continues a longer word (`xghp_...` is not a token).

    Checking the character before in code, not with a leading `\\b`, keeps the pattern led by a
    literal, which the regex engine searches for fast (a leading `\\b` makes it ~50x slower).
    """
    text = marker(kind)

    def replace(match: re.Match[str]) -> str:
        start = match.start()
        if start and (match.string[start - 1].isalnum() or match.string[start - 1] == "_"):
            return match.group(0)
        return text

    return replace


def _whole(kind: str) -> _Replace:
    text = marker(kind)
    return lambda _match: text


def _after_group(kind: str, group: str = "keep") -> _Replace:
    return lambda match: match.group(group) + marker(kind)


# Key names whose value is a secret: password, db_password, GITHUB_TOKEN, clientSecret, x-api-key,
# aws_secret_access_key, spring.datasource.password. The name must END with the sensitive word,
# so `secretName`, `secretKeyRef`, `token_count`, `max_tokens` and `api-key-rotator` stay.
_SENSITIVE = (
    r"pass(?:word|wd|phrase)|pwd"
    r"|secret(?:[_.-]?access)?(?:[_.-]?key)?"
    r"|token|api[_.-]?key|apikey|private[_.-]?key|access[_.-]?key|credentials?"
)
_KEY = rf"[A-Za-z0-9_.-]*?(?:{_SENSITIVE})"
_SECRET_KEY_NAME = re.compile(rf"(?i){_KEY}")

# Values that are references or placeholders, not secrets.
_NOT_A_SECRET = re.compile(
    r"(?i)(?:\$\{[^}]*\}|\$[a-z_][a-z0-9_]*|true|false|null|none|nil|~|\*+|<[^>]*>|"
    + re.escape(MARKER_PREFIX)
    + r".*)"
)


def _key_kind(key: str) -> str:
    lowered = key.lower()
    if "pass" in lowered or lowered.endswith("pwd"):
        return "password"
    if "private" in lowered:
        return "private_key"
    if "api" in lowered and "key" in lowered:
        return "api_key"
    if "secret" in lowered:
        return "secret"
    if "token" in lowered:
        return "token"
    if "access" in lowered:
        return "access_key"
    return "credentials"


def _replace_value(match: re.Match[str]) -> str:
    """Replace the value group (`dq`, `sq`, `bare` or `value`) when it holds a real value."""
    for group in ("dq", "sq", "bare", "value"):
        if group in match.re.groupindex and match.group(group) is not None:
            break
    value = match.group(group)
    if not value or _NOT_A_SECRET.fullmatch(value):
        return match.group(0)
    offset = match.start()
    start, end = match.span(group)
    whole = match.group(0)
    return whole[: start - offset] + marker(_key_kind(match.group("key"))) + whole[end - offset :]


def _secret_yaml_block(match: re.Match[str]) -> str:
    """A `data:`/`stringData:` block of a Kubernetes Secret in YAML: keys stay, values go."""
    body = _YAML_ENTRY.sub(r'\g<1> "' + marker("kubernetes_secret") + '"', match.group("body"))
    return match.group("head") + body


def _secret_json_object(match: re.Match[str]) -> str:
    body = _JSON_STRING_VALUE.sub(
        r'\g<1>"' + marker("kubernetes_secret") + '"', match.group("body")
    )
    return match.group("head") + body + "}"


_YAML_ENTRY = re.compile(r"(?m)^([ \t]+[^:\s]+:)[ \t]*\S.*$")
_JSON_STRING_VALUE = re.compile(r'(:\s*)"(?:[^"\\]|\\.)*"')

_WHOLE_TEXT_RULES: tuple[_Rule, ...] = (
    # PEM private keys, also cut off (no END line) or JSON-escaped (`\n` as two characters).
    _Rule(
        re.compile(
            r"-----BEGIN[A-Z ]{0,30}PRIVATE KEY[A-Z ]{0,10}-----"
            r"(?:.*?-----END[A-Z ]{0,30}PRIVATE KEY[A-Z ]{0,10}-----|[A-Za-z0-9+/=\s\\:,-]*)",
            re.DOTALL,
        ),
        _whole("private_key"),
    ),
    # Kubernetes Secrets printed as YAML or JSON (kubectl get secret -o yaml|json).
    _Rule(
        re.compile(
            r"(?m)(?P<head>^(?P<indent>[ \t]*)(?:data|stringData):[ \t]*\n)"
            r"(?P<body>(?:(?P=indent)[ \t]+[^\n]*(?:\n|$))+)"
        ),
        _secret_yaml_block,
        ("kind: secret",),
    ),
    _Rule(
        re.compile(r'(?P<head>"(?:data|stringData)"\s*:\s*\{)(?P<body>[^{}]*)\}'),
        _secret_json_object,
        ('"kind":"secret"', '"kind": "secret"'),
    ),
    _Rule(
        re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"),
        _standalone("jwt"),
    ),
    _Rule(
        re.compile(r"A(?:KIA|SIA|BIA|CCA|GPA|IDA|IPA|NPA|NVA|PKA|ROA|SCA)[A-Z0-9]{16}\b"),
        _standalone("aws_access_key"),
    ),
    _Rule(
        re.compile(r"(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b"),
        _standalone("github_token"),
    ),
    _Rule(
        re.compile(r"https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9/_-]+"),
        _whole("slack_webhook"),
    ),
    _Rule(
        re.compile(r"(?:xox[abposre]-[A-Za-z0-9-]{10,}|xapp-\d-[A-Za-z0-9-]{10,})"),
        _standalone("slack_token"),
    ),
    _Rule(re.compile(r"sk-ant-[A-Za-z0-9_-]{20,}"), _standalone("anthropic_key")),
    _Rule(
        re.compile(r"sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{32,}"), _standalone("openai_key")
    ),
    _Rule(re.compile(r"AIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])"), _standalone("google_api_key")),
    # scheme://user:password@host: the user stays, the password goes.
    _Rule(
        re.compile(r"(?P<keep>://[^\s:/@\"'<>]*:)[^\s@/\"'<>]+(?=@)"),
        _after_group("url_password"),
    ),
)

_LINE_RULES: tuple[_LineRules, ...] = (
    _line_rules(
        r"authorization",
        _Rule(
            re.compile(
                r"(?i)(?P<keep>(?:proxy-)?authorization[\"']?\s*[:=]\s*[\"']?"
                r"(?:(?:bearer|basic|token|digest|negotiate|apikey|bot)\s+)?)"
                r"[^\s\"',;]+"
            ),
            _after_group("authorization"),
        ),
    ),
    _line_rules(
        r"bearer\s",
        # A token has a digit somewhere; "the bearer of bad news" is prose.
        _Rule(
            re.compile(
                r"(?i)(?P<keep>\bbearer\s+)(?=[A-Za-z0-9._~+/-]*\d)[A-Za-z0-9._~+/-]{16,}=*"
            ),
            _after_group("bearer_token"),
        ),
    ),
    _line_rules(
        _SENSITIVE,
        # Kubernetes env entries: {"name": "DB_PASSWORD", "value": "..."} and the YAML form.
        _Rule(
            re.compile(
                rf'(?i)"name"\s*:\s*"(?P<key>{_KEY})"\s*,\s*"value"\s*:\s*"'
                r'(?P<value>(?:[^"\\]|\\.)*)"'
            ),
            _replace_value,
        ),
        _Rule(
            re.compile(
                rf"(?i)name:[ \t]*[\"']?(?P<key>{_KEY})[\"']?[ \t]*\n[ \t]*(?:-[ \t]+)?"
                r"value:[ \t]*[\"']?(?P<value>[^\s\"']+)"
            ),
            _replace_value,
        ),
        # key=value, key: value, "key": "value", 'key' => 'value': logs, JSON, YAML, env files.
        _Rule(
            re.compile(
                rf"(?i)(?<![A-Za-z0-9_.-])[\"']?(?P<key>{_KEY})(?![A-Za-z0-9_-])[\"']?"
                r"[ \t]*(?:=>|[:=])[ \t]*"
                r"(?:\"(?P<dq>(?:[^\"\\\n]|\\.)*)\"|'(?P<sq>[^'\n]*)'"
                r"|(?P<bare>(?!\$\{)[^\s,;&\"'{}\[\]()]+))"
            ),
            _replace_value,
        ),
        extra_lines=1,
    ),
)


class Redactor:
    """Removes secrets from text and from JSON-like values.

    `extra` adds site-specific patterns as `{kind: regex}` (an internal token format, say);
    each match is replaced whole.
    """

    def __init__(self, extra: Mapping[str, str] | None = None) -> None:
        self._whole_text_rules = _WHOLE_TEXT_RULES + tuple(
            _Rule(re.compile(pattern), _whole(kind)) for kind, pattern in (extra or {}).items()
        )

    def text(self, text: str) -> str:
        """`text` with every secret replaced by `[REDACTED:<kind>]`."""
        if not text:
            return text
        lowered = text.lower()
        for rule in self._whole_text_rules:
            if rule.hints and not any(hint in lowered for hint in rule.hints):
                continue
            # `lowered` is not refreshed: a marker never creates a secret, so a stale hint can
            # only cost a pass, never skip one.
            text = rule.pattern.sub(rule.replace, text)
        for group in _LINE_RULES:
            text = _apply_on_lines(text, group)
        return text

    def value(self, obj: Any) -> Any:
        """A copy of a JSON-like value with secrets removed from every string, plus the values of
        secret-named keys, the `data` of Kubernetes Secrets and `{name: DB_PASSWORD, value: ...}`
        env entries. Keys stay, so the shape is still readable."""
        if isinstance(obj, str):
            return self.text(obj)
        if isinstance(obj, Mapping):
            return self._mapping(obj)
        if isinstance(obj, list | tuple):
            return [self.value(item) for item in obj]
        return obj

    def _mapping(self, obj: Mapping[Any, Any]) -> dict[Any, Any]:
        is_secret = obj.get("kind") == "Secret"
        env_name = obj.get("name")
        secret_env = (
            isinstance(env_name, str) and "value" in obj and _SECRET_KEY_NAME.fullmatch(env_name)
        )
        out: dict[Any, Any] = {}
        for key, item in obj.items():
            if is_secret and key in ("data", "stringData") and isinstance(item, Mapping):
                out[key] = {k: marker("kubernetes_secret") for k in item}
            elif secret_env and key == "value" and _is_secret_scalar(item):
                out[key] = marker(_key_kind(str(env_name)))
            elif (
                isinstance(key, str) and _is_secret_scalar(item) and _SECRET_KEY_NAME.fullmatch(key)
            ):
                out[key] = marker(_key_kind(key))
            else:
                out[key] = self.value(item)
        return out


def _is_secret_scalar(item: Any) -> bool:
    if isinstance(item, bool) or item is None:
        return False
    if isinstance(item, int | float):
        return True
    return isinstance(item, str) and bool(item) and not _NOT_A_SECRET.fullmatch(item)


def _apply_on_lines(text: str, group: _LineRules) -> str:
    if text.isascii():
        hits = group.scan.finditer(text.lower())
    else:
        hits = group.scan_any_case.finditer(text)
    spans: list[tuple[int, int]] = []
    for hit in hits:
        if spans and hit.start() < spans[-1][1]:
            continue
        start = text.rfind("\n", 0, hit.start()) + 1
        end = hit.end()
        for _ in range(group.extra_lines + 1):
            newline = text.find("\n", end)
            if newline < 0:
                end = len(text)
                break
            end = newline + 1
        if spans and start <= spans[-1][1]:
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
    if not spans:
        return text
    parts: list[str] = []
    position = 0
    for start, end in spans:
        chunk = text[start:end]
        for rule in group.rules:
            chunk = rule.pattern.sub(rule.replace, chunk)
        parts.append(text[position:start])
        parts.append(chunk)
        position = end
    parts.append(text[position:])
    return "".join(parts)


DEFAULT_REDACTOR = Redactor()


def redact(text: str) -> str:
    """`text` with secrets replaced by `[REDACTED:<kind>]` markers."""
    return DEFAULT_REDACTOR.text(text)


def redact_value(obj: Any) -> Any:
    """A JSON-like value with secrets removed, recursively (see `Redactor.value`)."""
    return DEFAULT_REDACTOR.value(obj)
