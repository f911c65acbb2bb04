"""The runbook format: which alerts a runbook matches, which tools it allows, the diagnostic
steps it plans for an alert (templated from labels and Kubernetes hints), and its prose."""

from __future__ import annotations

import re
from collections.abc import Iterable
from fnmatch import fnmatchcase
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator

from agent.alert import Alert, KubernetesTarget

# `{{ name }}` and nothing else: no filters, no expressions, no attribute access.
PLACEHOLDER = re.compile(r"\{\{\s*(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_ANY_PLACEHOLDER = re.compile(r"\{\{(?P<inside>.*?)\}\}", re.S)
# A value spliced into a longer string (a PromQL query) must not be able to end the quoted
# string it sits in; such a value is refused and the step skipped.
_UNSAFE_INSIDE_TEXT = re.compile(r"[\"'`\\\r\n]")

HINT_NAMES: tuple[str, ...] = tuple(KubernetesTarget.model_fields)
TOOL_NAME = r"[A-Za-z0-9][A-Za-z0-9_.\-]*"


@lru_cache(maxsize=512)
def compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _check_regex(pattern: str) -> str:
    try:
        compiled(pattern)
    except re.error as exc:
        raise ValueError(f"not a valid regular expression ({exc})") from None
    return pattern


class RunbookMatch(BaseModel):
    """Which alerts a runbook is for. Every value is a regular expression that must match the
    whole value (as in Alertmanager's `=~` matchers): `KubePodCrashLooping` matches exactly that
    name, `KubePod(CrashLooping|NotReady)` either. Write `\\.` for a literal dot. `alertname` is
    matched against `Alert.name`, which is the title for alerts without one (free text). A
    label the alert does not carry counts as the empty string. Given keys must all match; no
    keys match every alert."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    alertname: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)

    @field_validator("alertname")
    @classmethod
    def _alertname_is_a_regex(cls, value: str | None) -> str | None:
        return None if value is None else _check_regex(value)

    @field_validator("labels")
    @classmethod
    def _labels_are_regexes(cls, value: dict[str, str]) -> dict[str, str]:
        for name, pattern in value.items():
            try:
                _check_regex(pattern)
            except ValueError as exc:
                raise ValueError(f"{name}: {exc}") from None
        return value

    @property
    def specificity(self) -> int:
        """How many matchers: the more, the more specific."""
        return (self.alertname is not None) + len(self.labels)

    def matches(self, alert: Alert) -> bool:
        if self.alertname is not None and not compiled(self.alertname).fullmatch(alert.name):
            return False
        return all(
            compiled(pattern).fullmatch(alert.labels.get(name, "")) is not None
            for name, pattern in self.labels.items()
        )


class RunbookStep(BaseModel):
    """One diagnostic step: a tool call whose string arguments may hold `{{ name }}`."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    tool: str = Field(pattern=rf"^{TOOL_NAME}$")
    args: dict[str, JsonValue] = Field(default_factory=dict)
    why: str = Field(min_length=1, description="what this step shows, in a few words")

    @field_validator("args")
    @classmethod
    def _only_plain_placeholders(cls, value: dict[str, JsonValue]) -> dict[str, JsonValue]:
        for text in _strings(value):
            for found in _ANY_PLACEHOLDER.finditer(text):
                if not PLACEHOLDER.fullmatch(found[0]):
                    raise ValueError(
                        f"{found[0]!r}: only {{{{ name }}}} placeholders are allowed "
                        "(a label or hint name; no filters or expressions)"
                    )
        return value

    def placeholders(self) -> list[str]:
        """The names this step needs, in order of first use."""
        names = (m["name"] for text in _strings(self.args) for m in PLACEHOLDER.finditer(text))
        return list(dict.fromkeys(names))


class PlannedStep(BaseModel):
    """A step made concrete for one alert, or skipped: `missing` names the values the alert
    lacks, `unsafe` the values refused because they would change the text around them."""

    model_config = ConfigDict(frozen=True)

    tool: str
    args: dict[str, Any]
    why: str
    missing: tuple[str, ...] = ()
    unsafe: tuple[str, ...] = ()

    @property
    def skipped(self) -> bool:
        return bool(self.missing or self.unsafe)

    @property
    def skip_reason(self) -> str | None:
        """`needs pod, namespace, which the alert does not carry`, for the report."""
        reasons = []
        if self.missing:
            reasons.append(f"needs {', '.join(self.missing)}, which the alert does not carry")
        if self.unsafe:
            reasons.append(
                f"the alert's {', '.join(self.unsafe)} contains quotes or line breaks that "
                "cannot go inside this step's text"
            )
        return "; ".join(reasons) or None


class RunbookSpec(BaseModel):
    """The YAML front matter of a runbook file; unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,99}$", description="unique")
    description: str = Field(min_length=1, description="one line")
    match: RunbookMatch
    priority: int = Field(default=0, description="higher wins when several match")
    tools: list[str] = Field(
        default_factory=lambda: ["*"], description="globs over tool names this runbook allows"
    )
    steps: list[RunbookStep] = Field(default_factory=list)

    @field_validator("tools")
    @classmethod
    def _tools_are_globs(cls, value: list[str]) -> list[str]:
        for glob in value:
            if not glob.strip():
                raise ValueError("a tool glob cannot be empty")
        return value


class Runbook(RunbookSpec):
    """A loaded runbook: its front matter, the Markdown body (guidance for an LLM), and where it
    came from."""

    body: str = ""
    source: str = Field(default="", description="the file it was read from")

    @property
    def specificity(self) -> int:
        return self.match.specificity

    def matches(self, alert: Alert) -> bool:
        return self.match.matches(alert)

    def allows(self, tool: str) -> bool:
        return any(fnmatchcase(tool, glob) for glob in self.tools)

    def allowed(self, tool_names: Iterable[str]) -> list[str]:
        """The tools among `tool_names` (in their order) that this runbook allows."""
        return [name for name in tool_names if self.allows(name)]

    def steps_for(self, alert: Alert) -> list[PlannedStep]:
        """Every step, in order, with placeholders filled from the alert.

        Values come from the alert's labels first, then its Kubernetes hints (so `{{ namespace }}`
        also works for an `exported_namespace` label; `{{ job }}` is the Prometheus `job` label,
        `{{ job_name }}` a Kubernetes Job). They are inserted once, as data, and never read again
        as a template. A step that needs a value the alert lacks is returned with `missing` set.
        """
        values = template_values(alert)
        return [_plan(step, values) for step in self.steps]


def template_values(alert: Alert) -> dict[str, str]:
    """What `{{ name }}` can refer to for this alert."""
    values = {name: value for name, value in alert.labels.items() if value.strip()}
    for hint, value in alert.kubernetes.model_dump().items():
        if value:
            values.setdefault(hint, value)
    return values


def _plan(step: RunbookStep, values: dict[str, str]) -> PlannedStep:
    missing: list[str] = []
    unsafe: list[str] = []

    def render(value: Any) -> Any:
        if isinstance(value, str):
            return _fill(value, values, missing, unsafe)
        if isinstance(value, list):
            return [render(item) for item in value]
        if isinstance(value, dict):
            return {key: render(item) for key, item in value.items()}
        return value

    args = {key: render(value) for key, value in step.args.items()}
    return PlannedStep(
        tool=step.tool,
        args=args,
        why=step.why,
        missing=tuple(dict.fromkeys(missing)),
        unsafe=tuple(dict.fromkeys(unsafe)),
    )


def _fill(text: str, values: dict[str, str], missing: list[str], unsafe: list[str]) -> str:
    whole = PLACEHOLDER.fullmatch(text.strip()) is not None

    def substitute(found: re.Match[str]) -> str:
        name = found["name"]
        if name not in values:
            missing.append(name)
            return found[0]
        value = values[name]
        if not whole and _UNSAFE_INSIDE_TEXT.search(value):
            unsafe.append(name)
            return found[0]
        return value

    # One pass: what is inserted is never scanned for placeholders again.
    return PLACEHOLDER.sub(substitute, text)


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
