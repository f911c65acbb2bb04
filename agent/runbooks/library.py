"""Loading runbooks (built-in package data plus extra directories), choosing one for an alert,
and linting them. One bad file never stops the others: its problems are collected instead.

Loading reads files: in async code call `RunbookLibrary.load` through `asyncio.to_thread`.
"""

from __future__ import annotations

import difflib
import importlib.resources
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from agent.alert import Alert
from agent.runbooks.model import HINT_NAMES, Runbook, RunbookMatch, RunbookSpec, RunbookStep

DEFAULT_RUNBOOK = "default"
# A body past this many words is a warning: it goes into every prompt for matching alerts.
BODY_WORDS_WARNING = 450

# Label names alerts are known to carry (kube-prometheus-stack, node-exporter, common HTTP
# metrics, cert-manager's `name` of a Certificate, x509-certificate-exporter's `secret_*`). A
# placeholder outside these and the runbook's own match labels gets a warning.
KNOWN_LABELS = frozenset(
    {
        *HINT_NAMES,
        "alertname",
        "severity",
        "priority",
        "instance",
        "job",
        "job_name",
        "endpoint",
        "replicaset",
        "horizontalpodautoscaler",
        "cronjob",
        "condition",
        "status",
        "reason",
        "phase",
        "uid",
        "owner_kind",
        "owner_name",
        "created_by_kind",
        "created_by_name",
        "workload",
        "workload_type",
        "image",
        "resource",
        "unit",
        "exported_namespace",
        "exported_pod",
        "exported_service",
        "exported_job",
        "device",
        "mountpoint",
        "fstype",
        "method",
        "code",
        "handler",
        "route",
        "path",
        "host",
        "ingress",
        "verb",
        "component",
        "eviction_signal",
        "name",
        "secret_name",
        "secret_namespace",
    }
)

_FRONT_MATTER_KEYS = tuple(RunbookSpec.model_fields)
_GLOB_CHARACTERS = frozenset("*?[")


class LintProblem(BaseModel):
    """One thing wrong with a runbook file: `file: field: message`."""

    model_config = ConfigDict(frozen=True)

    file: str
    field: str
    message: str
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        marker = "warning: " if self.severity == "warning" else ""
        return f"{self.file}: {self.field}: {marker}{self.message}"


_FALLBACK_DEFAULT = Runbook(
    name=DEFAULT_RUNBOOK,
    description="general triage when no specific runbook matches",
    match=RunbookMatch(),
    priority=-100,
    tools=["*"],
    steps=[],
    body=(
        "No runbook matched this alert. Start from what the alert names (namespace, pod, "
        "workload, node), look at its current state and recent events, then at the metrics "
        "behind the alert. Say plainly what was checked when the cause stays unknown."
    ),
    source="(built into sre-agent)",
)


@dataclass(frozen=True)
class _Layer:
    """Runbook files from one place; earlier layers override later ones by name."""

    files: list[tuple[str, str]]  # (path to show, text)
    problems: list[LintProblem]


class RunbookLibrary:
    """The runbooks in effect: one per name, the earliest directory winning over built-ins."""

    def __init__(self, runbooks: Iterable[Runbook], problems: Iterable[LintProblem] = ()) -> None:
        """`runbooks` in precedence order: a later one with a taken name is kept as shadowed."""
        by_name: dict[str, Runbook] = {}
        hidden: list[Runbook] = []
        for runbook in runbooks:
            if runbook.name in by_name:
                hidden.append(runbook)
            else:
                by_name[runbook.name] = runbook
        by_name.setdefault(DEFAULT_RUNBOOK, _FALLBACK_DEFAULT)
        self.runbooks: list[Runbook] = sorted(by_name.values(), key=lambda r: r.name)
        self.shadowed: list[Runbook] = hidden
        self.problems: list[LintProblem] = list(problems)
        self._by_name = by_name

    @classmethod
    def load(cls, dirs: Sequence[str | Path] = (), *, builtin: bool = True) -> RunbookLibrary:
        """Runbooks from `dirs` (in order) and then the built-in `runbooks` package."""
        layers = [_directory_layer(Path(d)) for d in dirs]
        if builtin:
            layers.append(_builtin_layer())
        loaded: list[Runbook] = []
        problems: list[LintProblem] = []
        for layer in layers:
            problems.extend(layer.problems)
            seen: dict[str, str] = {}
            for path, text in layer.files:
                runbook, found = parse_runbook(text, path)
                problems.extend(found)
                if runbook is None:
                    continue
                if runbook.name in seen:
                    problems.append(
                        LintProblem(
                            file=path,
                            field="name",
                            message=f"{runbook.name} is also defined in {seen[runbook.name]}; "
                            "names must be unique (this file is ignored)",
                        )
                    )
                    continue
                seen[runbook.name] = path
                loaded.append(runbook)
        return cls(loaded, problems)

    @property
    def from_files(self) -> list[Runbook]:
        """Every runbook read from a file, the overridden ones too."""
        return [rb for rb in [*self.runbooks, *self.shadowed] if rb is not _FALLBACK_DEFAULT]

    @property
    def default(self) -> Runbook:
        return self._by_name[DEFAULT_RUNBOOK]

    def get(self, name: str) -> Runbook | None:
        return self._by_name.get(name)

    def candidates(self, alert: Alert) -> list[Runbook]:
        """Every runbook that matches, best first: highest priority, then the most matchers,
        then name."""
        matching = [runbook for runbook in self.runbooks if runbook.matches(alert)]
        return sorted(matching, key=lambda r: (-r.priority, -r.specificity, r.name))

    def match(self, alert: Alert) -> Runbook:
        """The runbook for this alert; `default` when nothing more specific matches."""
        best = self.candidates(alert)
        return best[0] if best else self.default

    def lint(
        self,
        known_tools: Iterable[str] | None = None,
        *,
        tool_arguments: Mapping[str, Mapping[str, bool]] | None = None,
    ) -> list[LintProblem]:
        """Load problems plus checks of every runbook read (overridden ones too).

        With `known_tools`, tool globs and step tools that name none of them are errors, for
        the servers those names cover (a `datadog_*` glob is not checked against a list of
        kubernetes_* and prometheus_* tools). With `tool_arguments` (tool -> argument ->
        required), step arguments are checked too.
        """
        problems = list(self.problems)
        known = list(known_tools) if known_tools is not None else None
        for runbook in self.from_files:
            problems.extend(check_runbook(runbook, known, tool_arguments))
        return problems


def check_runbook(
    runbook: Runbook,
    known_tools: Collection[str] | None = None,
    tool_arguments: Mapping[str, Mapping[str, bool]] | None = None,
) -> list[LintProblem]:
    """What is wrong with a runbook that loaded: steps its own `tools` refuse, placeholders no
    alert is known to carry, unknown tools or arguments, a body too long for a prompt."""
    problems: list[LintProblem] = []

    def report(field: str, message: str, severity: Literal["error", "warning"] = "error") -> None:
        problems.append(
            LintProblem(file=runbook.source, field=field, message=message, severity=severity)
        )

    known_names = KNOWN_LABELS | set(runbook.match.labels)
    known = frozenset(known_tools) if known_tools is not None else None
    servers = {_server(tool) for tool in known or ()}

    def checkable(name: str) -> bool:
        # Only names of servers whose whole catalogue we were given can be judged.
        return known is not None and (_has_glob(_server(name)) or _server(name) in servers)

    for i, glob in enumerate(runbook.tools):
        if checkable(glob) and not any(fnmatchcase(tool, glob) for tool in known or ()):
            report(f"tools[{i}]", f"{glob!r} matches none of the known tools")
    for i, step in enumerate(runbook.steps):
        if not runbook.allows(step.tool):
            report(
                f"steps[{i}].tool",
                f"{step.tool} is not allowed by this runbook's tools ({', '.join(runbook.tools)})",
            )
        if known is not None and checkable(step.tool) and step.tool not in known:
            close = difflib.get_close_matches(step.tool, sorted(known), n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            report(f"steps[{i}].tool", f"unknown tool {step.tool}{hint}")
        if tool_arguments is not None and step.tool in tool_arguments:
            problems.extend(_check_arguments(runbook, i, step.args, tool_arguments[step.tool]))
        for name in step.placeholders():
            if name not in known_names:
                report(
                    f"steps[{i}].args",
                    f"{{{{ {name} }}}} is not a label or hint alerts are known to carry "
                    "(the step is skipped for alerts without it)",
                    "warning",
                )
    words = len(runbook.body.split())
    if not words:
        report("body", "empty; explain how to read the evidence and the usual causes", "warning")
    elif words > BODY_WORDS_WARNING:
        report(
            "body",
            f"{words} words; keep it under {BODY_WORDS_WARNING} (it goes into the prompt)",
            "warning",
        )
    return problems


def _check_arguments(
    runbook: Runbook, index: int, args: Mapping[str, Any], signature: Mapping[str, bool]
) -> list[LintProblem]:
    tool = runbook.steps[index].tool
    takes = ", ".join(signature) or "no arguments"
    problems = [
        LintProblem(
            file=runbook.source,
            field=f"steps[{index}].args.{name}",
            message=f"{tool} has no argument {name} (it takes {takes})",
        )
        for name in args
        if name not in signature
    ]
    needed = [name for name, required in signature.items() if required and name not in args]
    if needed:
        problems.append(
            LintProblem(
                file=runbook.source,
                field=f"steps[{index}].args",
                message=f"{tool} needs {', '.join(needed)}",
            )
        )
    return problems


def _server(tool: str) -> str:
    return tool.split("_", 1)[0]


def _has_glob(text: str) -> bool:
    return any(ch in _GLOB_CHARACTERS for ch in text)


# --- reading files ------------------------------------------------------------------------


def parse_runbook(text: str, source: str) -> tuple[Runbook | None, list[LintProblem]]:
    """One runbook file: `---`, YAML front matter, `---`, Markdown body.

    Returns the runbook (None when it cannot be used) and the problems found.
    """

    def problem(field: str, message: str) -> tuple[None, list[LintProblem]]:
        return None, [LintProblem(file=source, field=field, message=message)]

    lines = text.removeprefix("\ufeff").splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        return problem(
            "front matter",
            "missing; a runbook starts with a line `---`, then YAML, then another `---`",
        )
    end = next((i for i in range(1, len(lines)) if lines[i].strip() in ("---", "...")), None)
    if end is None:
        return problem("front matter", "not closed; add a line `---` after the YAML")
    front_matter = lines[1:end]
    try:
        data = yaml.load("".join(front_matter), Loader=_FrontMatterLoader)  # noqa: S506 - a SafeLoader subclass that only adds a duplicate-key check
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        if exc.context_mark is not None and (mark is None or mark.line >= len(front_matter)):
            # Noticed only at the end (an unclosed bracket or quote): show where it opened.
            mark = exc.context_mark
        where = f"line {mark.line + 2}" if mark is not None else "front matter"
        what = " ".join(part for part in (exc.context, exc.problem) if part)
        return problem(where, f"invalid YAML: {what}")
    except yaml.YAMLError as exc:
        return problem("front matter", f"invalid YAML: {exc}")
    if data is None:
        return problem("front matter", "empty; it needs at least name, description and match")
    if not isinstance(data, dict):
        return problem("front matter", f"expected keys and values, got {type(data).__name__}")
    try:
        spec = RunbookSpec.model_validate(data)
    except ValidationError as exc:
        return None, [_describe(error, source) for error in exc.errors()]
    body = "".join(lines[end + 1 :]).strip()
    return Runbook(**dict(spec), body=body, source=source), []


def _describe(error: Any, source: str) -> LintProblem:
    loc = [part for part in error["loc"] if part not in ("function-after",)]
    field = ""
    for part in loc:
        field += f"[{part}]" if isinstance(part, int) else (f".{part}" if field else str(part))
    field = field or "front matter"
    kind = error["type"]
    if kind == "extra_forbidden":
        parent_keys = _keys_at(loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), parent_keys, n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        message = f"unknown key{hint}"
        if parent_keys:
            message += f" (known: {', '.join(parent_keys)})"
    elif kind == "missing":
        message = "required"
    else:
        message = str(error["msg"]).removeprefix("Value error, ")
    return LintProblem(file=source, field=field, message=message)


def _keys_at(loc: Sequence[Any]) -> list[str]:
    """The keys allowed at a place in the front matter, for "did you mean" hints."""
    if not loc:
        return list(_FRONT_MATTER_KEYS)
    if loc[0] == "match" and len(loc) == 1:
        return list(RunbookMatch.model_fields)
    if loc[0] == "steps" and len(loc) == 2:
        return list(RunbookStep.model_fields)
    return []


class _FrontMatterLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys instead of keeping the last one silently."""


def _mapping_without_duplicates(loader: yaml.SafeLoader, node: yaml.MappingNode) -> Any:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if not isinstance(key, str | int | float | bool):
            continue  # unhashable keys are refused by construct_mapping itself
        if key in seen:
            raise yaml.constructor.ConstructorError(
                "while reading a mapping",
                node.start_mark,
                f"found duplicate key {key!r}",
                key_node.start_mark,
            )
        seen.add(key)
    return loader.construct_mapping(node)


_FrontMatterLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates
)


def _builtin_layer() -> _Layer:
    root = importlib.resources.files("runbooks")
    files = [
        (str(entry), entry.read_text(encoding="utf-8"))
        for entry in sorted(root.iterdir(), key=lambda e: e.name)
        if _is_runbook_file(entry.name) and entry.is_file()
    ]
    return _Layer(files=files, problems=[])


def _directory_layer(directory: Path) -> _Layer:
    if not directory.is_dir():
        problem = LintProblem(
            file=str(directory), field="directory", message="does not exist or is not a directory"
        )
        return _Layer(files=[], problems=[problem])
    files: list[tuple[str, str]] = []
    problems: list[LintProblem] = []
    for path in sorted(directory.glob("*.md")):
        if not _is_runbook_file(path.name) or not path.is_file():
            continue
        try:
            files.append((str(path), path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(LintProblem(file=str(path), field="file", message=f"unreadable: {exc}"))
    return _Layer(files=files, problems=problems)


def _is_runbook_file(name: str) -> bool:
    """Markdown files, except a README that documents the directory."""
    return name.endswith(".md") and name.lower() != "readme.md"
