"""Scenario files: the model (`extra="forbid"` at every level the format defines) and the loader,
whose errors name the file, the line, the path inside it and what was expected."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, NotRequired

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, with_config
from pydantic import model_validator as _model_validator
from pydantic_core import PydanticCustomError
from typing_extensions import TypedDict

from .objectschema import schema_problem
from .resources import RESOURCES_BY_KIND
from .timeoffsets import time_problem, time_problems

BUILTIN_DIR = Path(__file__).parent / "scenarios"

# Prometheus' own rule for label names.
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_LOG_KEY = re.compile(
    r"(?P<ns>[^/\s]+)/(?P<pod>[^/\s]+)/(?P<container>[^/:\s]+)(?P<previous>:previous)?"
)
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")

# Per series, after filling in scrape_interval points: a day at 5 s.
_MAX_POINTS = 20_000

Path_ = tuple[str | int, ...]


class ScenarioError(ValueError):
    """A scenario that cannot be served. The message names the file, the place in it (line and
    path, e.g. `cluster[3].metadata.name`) and what was expected; `problems` lists every one."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or [message]


class _Problem(Exception):
    """One thing wrong at a path below the value a validator is checking."""

    def __init__(self, subpath: Path_, what: str) -> None:
        super().__init__(what)
        self.subpath = subpath
        self.what = what


def _custom(problem: _Problem) -> PydanticCustomError:
    return PydanticCustomError(
        "scenario", "{what}", {"what": problem.what, "subpath": problem.subpath}
    )


@with_config(ConfigDict(extra="forbid"))
class AlertObject(TypedDict):
    """One alert as Alertmanager's webhook (version 4) carries it. Only `labels` is required;
    the sandbox fills the rest (`startsAt` defaults to `0s`, i.e. it starts firing now)."""

    labels: dict[str, str]
    annotations: NotRequired[dict[str, str]]
    startsAt: NotRequired[str]
    endsAt: NotRequired[str]
    generatorURL: NotRequired[str]
    fingerprint: NotRequired[str]
    status: NotRequired[Literal["firing", "resolved"]]


class MetricSeries(BaseModel):
    """One Prometheus series: its labels (with `__name__`) and `[seconds_from_present, value]`
    points. With `scrape_interval` the sandbox draws straight lines between the written points,
    sampled every `scrape_interval` seconds as a scrape would; without it, only those points.
    With `values_are_times` each value is a moment too, in seconds from the present, served as
    Unix time (`certmanager_certificate_expiration_timestamp_seconds`, `*_start_time_seconds`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    labels: dict[str, str]
    values: list[tuple[float, float]]
    scrape_interval: float | None = Field(default=None, ge=1)
    values_are_times: bool = False

    @_model_validator(mode="after")
    def _interpolation_stays_small(self) -> MetricSeries:
        if self.scrape_interval is not None:
            span = self.values[-1][0] - self.values[0][0]
            if span / self.scrape_interval > _MAX_POINTS:
                raise _custom(
                    _Problem(
                        ("scrape_interval",),
                        f"{span:g} s every {self.scrape_interval:g} s is more than {_MAX_POINTS}"
                        " points; use a longer scrape_interval",
                    )
                )
        return self

    @field_validator("labels")
    @classmethod
    def _labels_are_prometheus_labels(cls, labels: dict[str, str]) -> dict[str, str]:
        if "__name__" not in labels:
            raise _custom(
                _Problem(("__name__",), "every series needs a __name__ label (the metric name)")
            )
        for name in labels:
            if not _LABEL_NAME.fullmatch(name):
                raise _custom(
                    _Problem((name,), "expected a label name matching [a-zA-Z_][a-zA-Z0-9_]*")
                )
        return labels

    @field_validator("values", mode="before")
    @classmethod
    def _points_go_forward_up_to_now(cls, values: object) -> object:
        if not isinstance(values, list) or not values:
            raise _custom(
                _Problem((), "expected a non-empty list of [seconds_from_present, value] points")
            )
        previous: float | None = None
        for index, point in enumerate(values):
            if (
                not isinstance(point, list | tuple)
                or len(point) != 2
                or not all(_is_number(x) for x in point)
            ):
                raise _custom(
                    _Problem(
                        (index,), f"expected [seconds_from_present, value] numbers, got {point!r}"
                    )
                )
            seconds = float(point[0])
            if seconds > 0:
                raise _custom(
                    _Problem(
                        (index, 0),
                        f"a point {seconds:g} s in the future; metric times are seconds relative"
                        " to the present (-600 is ten minutes ago), so use 0 or less",
                    )
                )
            if previous is not None and seconds <= previous:
                raise _custom(
                    _Problem((index, 0), f"times must increase; {seconds:g} follows {previous:g}")
                )
            previous = seconds
        return values


class Expectation(BaseModel):
    """The answer key, read only by the evaluator."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    category: str = Field(pattern=r"^[a-z_]+$")
    root_cause_keywords: list[str] = Field(default_factory=list)


class Scenario(BaseModel):
    """One incident world: the alert, the cluster as the API returns it, logs, metrics and the
    answer key. Times may be offsets from the present; `run_sandbox` resolves them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    description: str
    alert: AlertObject
    cluster: list[dict[str, Any]] = Field(default_factory=list)
    logs: dict[str, str] = Field(default_factory=dict)
    metrics: list[MetricSeries] = Field(default_factory=list)
    expect: Expectation | None = None

    @field_validator("alert")
    @classmethod
    def _alert_is_an_alert(cls, alert: AlertObject) -> AlertObject:
        if "alertname" not in alert["labels"]:
            raise _custom(_Problem(("labels", "alertname"), "every alert needs an alertname label"))
        for key in ("startsAt", "endsAt"):
            problem = time_problem(alert.get(key))
            if problem:
                raise _custom(_Problem((key,), problem))
        return alert

    @field_validator("cluster")
    @classmethod
    def _objects_are_kubernetes_objects(cls, objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
        seen: dict[tuple[str, str, str], int] = {}
        for index, obj in enumerate(objects):
            try:
                _check_object(obj)
            except _Problem as problem:
                raise _custom(_Problem((index, *problem.subpath), problem.what)) from None
            metadata = obj.get("metadata") or {}
            if "name" in metadata:
                key = (obj["kind"], str(metadata.get("namespace", "")), metadata["name"])
                if key in seen:
                    raise _custom(
                        _Problem(
                            (index, "metadata", "name"),
                            f"a second {key[0]} named {_qualified(key[1], key[2])}"
                            f" (the first is cluster[{seen[key]}])",
                        )
                    )
                seen[key] = index
        return objects

    @field_validator("logs")
    @classmethod
    def _log_keys_name_containers(cls, logs: dict[str, str]) -> dict[str, str]:
        for key in logs:
            if not _LOG_KEY.fullmatch(key):
                raise _custom(
                    _Problem(
                        (key,),
                        'expected a key "namespace/pod/container" or'
                        ' "namespace/pod/container:previous"',
                    )
                )
        return logs

    @_model_validator(mode="after")
    def _logs_belong_to_pods(self) -> Scenario:
        containers: dict[tuple[str, str], set[str]] = {}
        for obj in self.cluster:
            if obj["kind"] == "Pod":
                meta, spec = obj["metadata"], obj.get("spec") or {}
                names = {
                    c["name"]
                    for c in [*spec.get("containers", []), *spec.get("initContainers", [])]
                }
                containers[(meta["namespace"], meta["name"])] = names
        for key in self.logs:
            match = _LOG_KEY.fullmatch(key)
            assert match is not None  # the field validator checked the shape
            pod = (match["ns"], match["pod"])
            if pod not in containers:
                raise _custom(_Problem(("logs", key), f"no Pod {_qualified(*pod)} in cluster"))
            if match["container"] not in containers[pod]:
                raise _custom(
                    _Problem(
                        ("logs", key),
                        f"Pod {_qualified(*pod)} has no container {match['container']!r}"
                        f" (it has: {', '.join(sorted(containers[pod]))})",
                    )
                )
        return self


def _qualified(namespace: str, name: str) -> str:
    return f"{namespace}/{name}" if namespace else name


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_object(obj: object) -> None:
    """Raise `_Problem` for the first thing that keeps `obj` from being served."""
    if not isinstance(obj, dict):
        raise _Problem((), f"expected a Kubernetes object (a mapping), got {obj!r}")
    kind = obj.get("kind")
    if not isinstance(kind, str):
        raise _Problem(("kind",), "expected a kind such as Pod or Deployment")
    resource = RESOURCES_BY_KIND.get(kind)
    if resource is None:
        known = ", ".join(sorted(RESOURCES_BY_KIND))
        raise _Problem(("kind",), f"the sandbox does not serve {kind!r}; it serves: {known}")
    if obj.get("apiVersion") != resource.api_version:
        raise _Problem(
            ("apiVersion",),
            f"a {kind} is served as apiVersion {resource.api_version},"
            f" got {obj.get('apiVersion')!r}",
        )
    is_event = kind == "Event"
    # An Event may leave out its metadata: the sandbox names it as the event recorder would.
    metadata = obj.get("metadata", {} if is_event else None)
    if not isinstance(metadata, dict):
        raise _Problem(("metadata",), "expected a mapping with at least name")
    name = metadata.get("name")
    if not (is_event and name is None) and (not isinstance(name, str) or not name):
        raise _Problem(("metadata", "name"), f"expected a non-empty name, got {name!r}")
    namespace = metadata.get("namespace")
    namespace_missing = not isinstance(namespace, str) or not namespace
    if resource.namespaced and not (is_event and namespace is None) and namespace_missing:
        raise _Problem(
            ("metadata", "namespace"),
            f"a {kind} is namespaced: expected a namespace name, got {namespace!r}",
        )
    if not resource.namespaced and namespace is not None:
        raise _Problem(("metadata", "namespace"), f"a {kind} is cluster-scoped: remove namespace")
    found = schema_problem(obj, resource.model)
    if found is not None:
        raise _Problem(*found)
    if kind == "Pod":
        _check_pod_containers(obj)
    if is_event:
        involved = obj.get("involvedObject")
        if not isinstance(involved, dict) or not involved.get("kind") or not involved.get("name"):
            raise _Problem(("involvedObject",), "expected a mapping with kind and name")
    bad_times = time_problems(obj)
    if bad_times:
        raise _Problem(*bad_times[0])


def _check_pod_containers(pod: dict[str, Any]) -> None:
    spec = pod.get("spec")
    if not isinstance(spec, dict):
        raise _Problem(("spec",), "expected a Pod spec with containers")
    for field in ("containers", "initContainers"):
        containers = spec.get(field, [] if field == "initContainers" else None)
        if not isinstance(containers, list) or (field == "containers" and not containers):
            raise _Problem(("spec", field), "expected a list of containers, each with a name")
        for index, container in enumerate(containers):
            if not isinstance(container, dict) or not isinstance(container.get("name"), str):
                raise _Problem(("spec", field, index, "name"), "expected a container name")


# ---------------------------------------------------------------------------------------------
# Loading


class _ScenarioYamlLoader(yaml.SafeLoader):
    """Safe YAML that keeps times as the strings written and refuses duplicate keys."""


# Unquoted `2024-05-01T10:00:00Z` would otherwise become a datetime; the API serves strings.
_ScenarioYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
# YAML 1.1 reads `2.6e8` as a string (it wants `2.6e+8`); scenario authors mean the number.
_ScenarioYamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)


class _DuplicateKey(Exception):
    def __init__(self, key: object, line: int) -> None:
        super().__init__(key)
        self.key = key
        self.line = line


def _construct_mapping_without_duplicates(
    loader: _ScenarioYamlLoader, node: yaml.MappingNode
) -> dict[Any, Any]:
    seen: set[object] = set()
    # Keys merged in with `<<: *anchor` may be overridden; only keys written twice are an error.
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=True)
        if isinstance(key, str | int | float | bool) and key in seen:
            raise _DuplicateKey(key, key_node.start_mark.line + 1)
        seen.add(key)
    loader.flatten_mapping(node)
    return loader.construct_mapping(node, deep=True)


_ScenarioYamlLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping_without_duplicates
)


def builtin_scenarios() -> list[str]:
    """Names of the scenarios that ship with the sandbox."""
    return sorted(path.stem for path in BUILTIN_DIR.glob("*.yaml"))


def load_scenario(name_or_path: str | Path) -> Scenario:
    """A built-in scenario by name (`checkout-oom`) or a scenario YAML file by path."""
    path = _scenario_path(name_or_path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(
            f"{path}: cannot read the scenario file: {exc.strerror or exc}"
        ) from exc
    return parse_scenario_yaml(text, source=str(path))


def _scenario_path(name_or_path: str | Path) -> Path:
    if isinstance(name_or_path, Path):
        return name_or_path
    text = str(name_or_path)
    if "/" in text or text.endswith((".yaml", ".yml")) or Path(text).is_file():
        return Path(text)
    builtin = BUILTIN_DIR / f"{text}.yaml"
    if not builtin.is_file():
        raise ScenarioError(
            f"no built-in scenario named {text!r} (built-in: {', '.join(builtin_scenarios())});"
            " pass the path of a scenario YAML file instead"
        )
    return builtin


def parse_scenario_yaml(text: str, *, source: str = "<scenario>") -> Scenario:
    """Parse scenario YAML text; `source` names it in error messages."""
    loader = _ScenarioYamlLoader(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except _DuplicateKey as exc:
        raise ScenarioError(
            f"{source}:{exc.line}: duplicate key {exc.key!r}; each key may appear once"
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        reason = " ".join(str(part) for part in (exc.context, exc.problem) if part)
        raise ScenarioError(f"{where}: not valid YAML: {reason}") from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{source}: not valid YAML: {exc}") from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise ScenarioError(
            f"{source}: expected a mapping with name, description, alert and cluster,"
            f" got {type(data).__name__ if data is not None else 'an empty document'}"
        )
    return parse_scenario(data, source=source, _yaml_root=root)


def parse_scenario(
    data: Mapping[str, Any], *, source: str = "<scenario>", _yaml_root: yaml.Node | None = None
) -> Scenario:
    """Validate an in-memory scenario (as YAML would load it); errors become `ScenarioError`."""
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        problems = [_describe(error, source, _yaml_root) for error in exc.errors()]
        message = problems[0]
        if len(problems) > 1:
            message += f" (and {len(problems) - 1} more problem{'s' * (len(problems) > 2)})"
        raise ScenarioError(message, problems) from None


def _describe(error: Any, source: str, root: yaml.Node | None) -> str:
    loc: Path_ = tuple(error["loc"])
    kind = error["type"]
    if kind == "scenario":
        loc = (*loc, *error["ctx"]["subpath"])
        what = error["ctx"]["what"]
    elif kind == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1])
        what = f"unknown key {loc[-1]!r}" + (
            f"; expected one of: {', '.join(allowed)}" if allowed else ""
        )
    elif kind == "missing":
        what = f"required key {loc[-1]!r} is missing"
        loc = loc[:-1]
    else:
        what = (
            error["msg"].replace("Input should be", "expected") + f", got {_show(error['input'])}"
        )
    line = _line_of(root, loc) if root is not None else None
    where = f"{source}:{line}" if line is not None else source
    return f"{where}: {render_path(loc) or '(top level)'}: {what}"


def _allowed_keys(loc: Path_) -> list[str]:
    models: dict[Path_, list[str]] = {
        (): list(Scenario.model_fields),
        ("alert",): list(AlertObject.__annotations__),
        ("expect",): list(Expectation.model_fields),
    }
    if len(loc) == 2 and loc[0] == "metrics":
        return list(MetricSeries.model_fields)
    return models.get(loc, [])


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def render_path(loc: Path_) -> str:
    """`("cluster", 3, "metadata", "name")` -> `cluster[3].metadata.name`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.fullmatch(part):
            out += f".{part}" if out else part
        else:
            out += f'["{part}"]'
    return out


def _line_of(root: yaml.Node, loc: Path_) -> int | None:
    """The 1-based line of the deepest YAML node along `loc` (for a missing key: its parent)."""
    node = root
    for depth, part in enumerate(loc):
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if str(key_node.value) == str(part):
                    child = key_node if depth == len(loc) - 1 else value_node
                    break
        elif (
            isinstance(node, yaml.SequenceNode)
            and isinstance(part, int)
            and 0 <= part < len(node.value)
        ):
            child = node.value[part]
        if child is None:
            break
        node = child
    return node.start_mark.line + 1
