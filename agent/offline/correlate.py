"""Findings that need two results side by side: a missing key confirmed by the ConfigMap's keys,
a dependency named in logs that is really down, memory against the limit, a regression that
began right after a rollout, a lowered CPU limit behind throttling. Each rule is one function
over the board of findings; what it derives cites the result that settled it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from agent.offline.findings import Finding
from agent.offline.links import CLUSTER_DNS_PODS, Links, service_ref, workload_names
from agent.offline.reading import quoted
from agent.offline.scene import Scene, human_bytes, parse_time, quantity, technology_of
from agent.report import Category, Evidence

# A regression "follows" a rollout when it starts within this many minutes after it.
REGRESSION_AFTER_ROLLOUT_MIN = 30.0
ROLLOUT_BEFORE_REGRESSION_SLACK_MIN = 3.0
_CRASH_KINDS = ("error_exit", "crash_looping", "clean_exit_restarted", "crash_loop_listed")
_DNS_PODS = CLUSTER_DNS_PODS


@dataclass
class Board:
    scene: Scene
    findings: list[Finding]
    links: Links
    by_kind: dict[str, list[Finding]] = field(default_factory=lambda: defaultdict(list))

    def __post_init__(self) -> None:
        for finding in self.findings:
            self.by_kind[finding.kind].append(finding)

    def add(self, findings: list[Finding]) -> None:
        for finding in findings:
            self.findings.append(finding)
            self.by_kind[finding.kind].append(finding)

    def kinds(self, *kinds: str) -> list[Finding]:
        return [f for kind in kinds for f in self.by_kind.get(kind, [])]

    def about(self, key: str, name: str) -> list[Finding]:
        return [f for f in self.findings if f.facts.get(key) == name]


def derive(
    basis: Finding,
    kind: str,
    statement: str,
    category: Category | None,
    strength: float,
    *,
    symptom: bool = False,
    **facts: Any,
) -> Finding:
    """A finding concluded from `basis` (and others), citing `basis`'s call."""
    merged = {**basis.facts, **{k: v for k, v in facts.items() if v is not None}}
    return Finding(
        kind=kind,
        statement=statement,
        category=category,
        strength=strength,
        symptom=symptom,
        evidence=Evidence(
            statement=statement, tool=basis.evidence.tool, arguments=basis.evidence.arguments
        ),
        facts=merged,
    )


# --- configuration ---------------------------------------------------------------------------


def missing_key_confirmed(board: Board) -> list[Finding]:
    derived: list[Finding] = []
    for missing in board.kinds("container_config_error", "missing_config_key"):
        key, configmap = missing.about("key"), missing.about("configmap") or _ref_name(missing)
        if not key or not configmap:
            continue
        for keys in board.kinds("configmap_keys"):
            if keys.about("configmap") != configmap:
                continue
            present = keys.facts.get("keys") or []
            if key in present:
                derived.append(
                    derive(
                        keys,
                        "config_key_present_now",
                        f"ConfigMap {configmap} has key {key} now: a retry may succeed",
                        None,
                        0.0,
                    )
                )
            else:
                derived.append(
                    derive(
                        keys,
                        "config_key_confirmed_missing",
                        f"ConfigMap {keys.about('namespace')}/{configmap} has keys "
                        f"{quoted(present, 8) or '(none)'} but not {key}",
                        Category.BAD_CONFIG,
                        1.0,
                        key=key,
                        configmap=configmap,
                        variable=missing.about("variable"),
                    )
                )
    return derived


def rollout_added_reference(board: Board) -> list[Finding]:
    """The rollout that introduced a reference to a key, ConfigMap or Secret that is missing."""
    derived: list[Finding] = []
    missing = board.kinds("container_config_error", "missing_config_key", "missing_config_object")
    for rollout in board.kinds("recent_rollout"):
        for change in rollout.facts.get("config_changes") or []:
            after = str(change.get("after") or "")
            for problem in missing:
                names = [
                    name
                    for k in ("key", "configmap", "secret", "name")
                    if (name := problem.about(k)) is not None
                ]
                if names and all(n in after or n in str(change.get("field")) for n in names[:1]):
                    derived.append(
                        derive(
                            rollout,
                            "rollout_added_missing_reference",
                            f"The rollout of {rollout.about('deployment')} to revision "
                            f"{rollout.facts.get('to_revision')} added {change.get('field')} "
                            f"({after}), which cannot be resolved",
                            Category.BAD_CONFIG,
                            0.95,
                            change=change,
                        )
                    )
                    break
    return derived


def _ref_name(finding: Finding) -> str | None:
    ref = finding.about("ref")
    return ref.rsplit("/", 1)[-1] if ref else None


# --- dependencies ----------------------------------------------------------------------------


def dependencies(board: Board) -> list[Finding]:
    """Hosts that failing logs name, checked against what the tools showed about them."""
    derived: list[Finding] = []
    seen: set[tuple[str, str]] = set()
    for log in board.kinds(
        "log_connection_failed", "log_upstream_errors", "log_dns_failure", "log_auth_failed"
    ):
        if not board.links.relevance(log) >= 1.0:
            continue
        namespace = log.about("namespace") or board.scene.namespace or "default"
        for entry in log.facts.get("hosts") or []:
            host = str(entry.get("host", ""))
            port = entry.get("port")
            ref = _resolve(board, host, namespace)
            if ref is None:
                derived.extend(_outside_dependency(board, log, host, port))
                continue
            if ref in seen:
                continue
            seen.add(ref)
            derived.extend(_dependency_state(board, log, host, port, ref))
    return derived


def _exporter_down(board: Board, port: Any, namespace: str | None) -> Finding | None:
    """An exporter in the same namespace that cannot reach the same kind of dependency."""
    technology = technology_of(port)
    for finding in board.kinds("exporter_down"):
        same_namespace = finding.about("namespace") in (namespace, None)
        if same_namespace and (technology is None or finding.facts.get("technology") == technology):
            return finding
    return None


def _outside_dependency(board: Board, log: Finding, host: str, port: Any) -> list[Finding]:
    """A dependency outside the cluster (an external name or address): only its exporter's
    metrics and the clients' errors show its state."""
    down = _exporter_down(board, port, log.about("namespace"))
    if down is None:
        return []
    target = f"{host}:{port}" if port else host
    return [
        derive(
            down,
            "dependency_down",
            f"{_source(log)} cannot reach {target}, and {down.statement}",
            Category.DEPENDENCY_FAILURE,
            0.9,
            host=host,
            port=port,
            dependency=host,
            line=log.facts.get("line"),
            pod=log.about("pod"),
            namespace=log.about("namespace"),
            container=log.about("container"),
        )
    ]


def _resolve(board: Board, host: str, namespace: str) -> tuple[str, str] | None:
    ref = service_ref(host, namespace)
    if ref is not None:
        return ref
    for listing in board.kinds("services_listed"):
        for service in listing.facts.get("services") or []:
            if service.get("cluster_ip") == host:
                return str(service.get("name")), str(service.get("namespace"))
    return None


def _dependency_state(
    board: Board, log: Finding, host: str, port: Any, ref: tuple[str, str]
) -> list[Finding]:
    service, namespace = ref
    target = f"{host}:{port}" if port else host
    changed = _config_change_naming(board, host, service)
    for state in board.kinds("service_without_endpoints"):
        if (state.about("service"), state.about("namespace")) == ref:
            if changed is not None:
                return [_config_points_at(changed, log, target, state.statement)]
            cause = _dependency_cause(board, service, namespace)
            because = f"; {cause.statement}" if cause else ""
            return [
                derive(
                    state,
                    "dependency_down",
                    f"{_source(log)} cannot reach {target}: {state.statement}{because}",
                    Category.DEPENDENCY_FAILURE,
                    0.9,
                    host=host,
                    port=port,
                    dependency=service,
                    dependency_namespace=namespace,
                    dependency_cause=cause.statement if cause else None,
                    dependency_category=cause.category.value if cause and cause.category else None,
                    line=log.facts.get("line"),
                )
            ]
    for state in board.kinds("service_external"):
        if (state.about("service"), state.about("namespace")) == ref:
            down = _exporter_down(board, port, namespace)
            seen_down = f"; {down.statement}" if down else ""
            return [
                derive(
                    down or state,
                    "dependency_down",
                    f"{_source(log)} cannot reach {target} ({state.about('service')}, a service "
                    f"outside the cluster){seen_down}",
                    Category.DEPENDENCY_FAILURE,
                    0.9 if down else 0.7,
                    host=host,
                    port=port,
                    address=log.facts.get("address"),
                    dependency=service,
                    dependency_namespace=namespace,
                    line=log.facts.get("line"),
                    pod=log.about("pod"),
                    namespace=log.about("namespace"),
                    container=log.about("container"),
                )
            ]
    for state in board.kinds("service_has_endpoints"):
        if (state.about("service"), state.about("namespace")) == ref:
            ports = state.facts.get("ports") or []
            if port and ports and int(port) not in ports:
                return [
                    derive(
                        state,
                        "dependency_wrong_port",
                        f"{_source(log)} connects to {target}, but Service {namespace}/{service} "
                        f"listens on {', '.join(str(p) for p in ports)}",
                        Category.BAD_CONFIG,
                        0.8,
                        host=host,
                        port=port,
                        dependency=service,
                        line=log.facts.get("line"),
                    )
                ]
            cause = _dependency_cause(board, service, namespace)
            if cause is not None:
                return [_dependency_failing(cause, log, target, service, namespace, host, port)]
            return [
                derive(
                    state,
                    "dependency_up",
                    f"{host} looks up: {state.statement}",
                    None,
                    0.0,
                    host=host,
                    dependency=service,
                )
            ]
    cause = _dependency_cause(board, service, namespace)
    if cause is not None:
        if changed is not None:
            return [_config_points_at(changed, log, target, cause.statement)]
        return [_dependency_failing(cause, log, target, service, namespace, host, port)]
    for missing in board.kinds("not_found"):
        tool = str(missing.facts.get("tool", ""))
        if tool.endswith("get_service") and missing.about("name") == service:
            if changed is not None:
                return [
                    _config_points_at(
                        changed, log, target, f"Service {namespace}/{service} does not exist"
                    )
                ]
            return [
                derive(
                    missing,
                    "dependency_missing",
                    f"{_source(log)} cannot reach {target}: Service {namespace}/{service} does "
                    "not exist",
                    Category.DEPENDENCY_FAILURE,
                    0.8,
                    host=host,
                    port=port,
                    dependency=service,
                    dependency_namespace=namespace,
                    line=log.facts.get("line"),
                )
            ]
    return []


def _dependency_cause(board: Board, service: str, namespace: str) -> Finding | None:
    """The strongest problem among the dependency's own pods, if the tools showed one."""
    problems = [
        f
        for f in board.findings
        if f.about("namespace") in (namespace, None)
        and (pod := f.about("pod")) is not None
        and (pod == service or pod.startswith(service + "-"))
        and (f.symptom or (f.category not in (None, Category.NO_ISSUE) and f.strength >= 0.5))
        and not f.kind.startswith("log_")
    ]
    if not problems:
        return None
    return max(problems, key=lambda f: (f.category is not None, f.strength))


def _dependency_failing(
    cause: Finding, log: Finding, target: str, service: str, namespace: str, host: str, port: Any
) -> Finding:
    return derive(
        cause,
        "dependency_down",
        f"{_source(log)} cannot reach {target}: {cause.statement}",
        Category.DEPENDENCY_FAILURE,
        0.9,
        host=host,
        port=port,
        dependency=service,
        dependency_namespace=namespace,
        dependency_cause=cause.statement,
        dependency_category=cause.category.value if cause.category else None,
        line=log.facts.get("line"),
        pod=log.about("pod"),
        namespace=log.about("namespace"),
    )


def _config_change_naming(
    board: Board, host: str, service: str
) -> tuple[Finding, dict[str, Any]] | None:
    for rollout in board.kinds("recent_rollout"):
        for change in rollout.facts.get("config_changes") or []:
            after = str(change.get("after") or "").lower()
            if after and (host in after or f"//{service}" in after or after.startswith(service)):
                return rollout, change
    return None


def _config_points_at(
    changed: tuple[Finding, dict[str, Any]], log: Finding, target: str, state: str
) -> Finding:
    rollout, change = changed
    return derive(
        rollout,
        "rollout_config_points_at_bad_host",
        f"The rollout of {rollout.about('deployment')} to revision "
        f"{rollout.facts.get('to_revision')} changed {change.get('field')} to "
        f"{change.get('after')}; {_source(log)} now fails to reach {target} ({state})",
        Category.BAD_CONFIG,
        0.85,
        change=change,
        host=target,
        line=log.facts.get("line"),
    )


def errors_follow_dependency(board: Board) -> list[Finding]:
    """The service's own errors rose when its calls to a dependency started failing: the
    dependency is the cause. Its client metrics say so most directly; its logs do too."""
    jumps = [f for f in board.kinds("error_rate_jump", "error_rate_high", "latency_jump")]
    if not jumps:
        return []
    jump = jumps[0]
    began = parse_time(jump.facts.get("changed_at"))
    up_hosts = {f.about("host") for f in board.kinds("dependency_up", "dependency_calls_ok")}
    derived: list[Finding] = []
    for failing in board.kinds("dependency_errors"):
        host = failing.about("host")
        started = parse_time(failing.facts.get("changed_at"))
        aligned = began is None or started is None or abs((began - started).total_seconds()) <= 600
        if not host or not aligned:
            continue
        derived.append(
            derive(
                failing,
                "errors_follow_dependency",
                f"{_clause(jump.statement)}, together with failing calls to {host}: "
                f"{failing.statement}",
                Category.DEPENDENCY_FAILURE,
                0.85,
                dependency=host,
                line=_line_naming(board, host),
                service_errors=jump.statement,
                dependency_errors=failing.statement,
            )
        )
    if derived:
        return derived[:1]
    for log in board.kinds("log_upstream_errors", "log_connection_failed"):
        host = log.about("host")
        if not host or host in up_hosts or board.links.relevance(log) < 1.0:
            continue
        if log.facts.get("previous") or int(log.facts.get("count") or 0) < 2:
            continue
        return [
            derive(
                log,
                "errors_follow_dependency",
                f"{_clause(jump.statement)}, while the service's logs show calls to {host} "
                f"failing {log.facts.get('count')} times",
                Category.DEPENDENCY_FAILURE,
                0.65,
                dependency=host,
                service_errors=jump.statement,
                dependency_errors=(
                    f"its logs show calls to {host} failing {log.facts.get('count')} times"
                ),
            )
        ]
    return []


def _line_naming(board: Board, host: str) -> str | None:
    for log in board.kinds("log_upstream_errors", "log_connection_failed", "log_dns_failure"):
        if log.about("host") == host or host in str(log.facts.get("line", "")):
            return str(log.facts.get("line"))
    return None


def _clause(text: str) -> str:
    return " ".join(text.split()).rstrip(" .")


def exits_on_dependency_error(board: Board) -> list[Finding]:
    """A container that exits right after its logs fail to reach a dependency exits because of
    it, unless that dependency was seen up."""
    derived: list[Finding] = []
    failing_logs = board.kinds("log_connection_failed", "log_dns_failure", "log_upstream_errors")
    up_hosts = {f.about("host") for f in board.kinds("dependency_up")}
    for crash in board.kinds("error_exit"):
        if board.links.relevance(crash) < 1.0:
            continue
        for log in failing_logs:
            same = log.about("pod") == crash.about("pod") and log.facts.get("previous")
            if not same or log.about("host") in up_hosts:
                continue
            host = log.about("host")
            port = log.facts.get("port")
            target = f"{host}:{port}" if host and port else (host or "a dependency")
            derived.append(
                derive(
                    log,
                    "exits_on_dependency_error",
                    f"{_container(crash)} exits (code {crash.facts.get('exit_code')}) right after "
                    f'failing to reach {target}: "{log.facts.get("line")}"',
                    Category.DEPENDENCY_FAILURE,
                    0.62,
                    dependency=host,
                    exit_code=crash.facts.get("exit_code"),
                )
            )
            break
    return derived


def _container(finding: Finding) -> str:
    pod, container = finding.about("pod"), finding.about("container")
    return f"Container {container} of pod {pod}" if container else f"Pod {pod}"


def cluster_dns(board: Board) -> list[Finding]:
    dns_logs = [f for f in board.kinds("log_dns_failure") if board.links.relevance(f) >= 1.0]
    if not dns_logs:
        return []
    dns_pods = [
        f
        for f in board.findings
        if (pod := f.about("pod")) and any(pod.startswith(p) for p in _DNS_PODS)
    ]
    broken = [
        f
        for f in dns_pods
        if (f.symptom or f.category not in (None, Category.NO_ISSUE))
        and not f.kind.startswith("log")
    ]
    log = dns_logs[0]
    if broken:
        worst = max(broken, key=lambda f: f.strength)
        fatal = next((f.facts.get("line") for f in dns_pods if f.kind == "log_crash"), None)
        return [
            derive(
                worst,
                "cluster_dns_down",
                f"Cluster DNS is failing ({worst.statement}), and {_source(log)} cannot resolve "
                f"{log.about('host') or 'names'}",
                Category.DNS_FAILURE,
                1.0,
                host=log.about("host"),
                line=log.facts.get("line"),
                dns_pod=worst.about("pod"),
                dns_problem=worst.statement,
                dns_log=fatal,
                pod=log.about("pod"),
                namespace=log.about("namespace"),
                container=log.about("container"),
            )
        ]
    healthy = [f for f in dns_pods if f.kind in ("pods_healthy", "pod_healthy", "pods_running")]
    healthy += [
        f
        for f in board.kinds("pods_healthy", "pods_running")
        if any(str(p).startswith(_DNS_PODS) for p in f.facts.get("pods") or [])
    ]
    if healthy:
        return [
            derive(
                healthy[0], "cluster_dns_ok", "Cluster DNS pods are running and ready", None, 0.0
            )
        ]
    return []


def _source(finding: Finding) -> str:
    pod, container = finding.about("pod"), finding.about("container")
    return f"{pod}" + (f" ({container})" if container else "") if pod else "the service"


# --- resources -------------------------------------------------------------------------------


def memory_against_limit(board: Board) -> list[Finding]:
    derived: list[Finding] = []
    limits = _limits(board, "memory")
    for usage in board.kinds("memory_usage"):
        limit = limits.get(
            (usage.about("pod") or "", usage.about("container") or "")
        ) or limits.get((usage.about("pod") or "", ""))
        peak = usage.facts.get("peak")
        if not limit or not isinstance(peak, int | float) or limit <= 0:
            continue
        ratio = peak / limit
        drops = int(usage.facts.get("drops") or 0)
        who = f"{usage.about('pod')}" + (
            f"/{usage.about('container')}" if usage.about("container") else ""
        )
        if ratio >= 0.95:
            derived.append(
                derive(
                    usage,
                    "memory_at_limit",
                    f"Memory of {who} reaches its {human_bytes(limit)} limit "
                    f"(peak {human_bytes(peak)})"
                    + (f" and drops {drops} times when killed" if drops else ""),
                    Category.OOM_KILLED,
                    0.75 if drops else 0.6,
                    limit_bytes=limit,
                    ratio=round(ratio, 2),
                )
            )
        elif ratio >= 0.85:
            derived.append(
                derive(
                    usage,
                    "memory_near_limit",
                    f"Memory of {who} is at {ratio:.0%} of its {human_bytes(limit)} limit",
                    Category.OOM_KILLED,
                    0.4,
                    limit_bytes=limit,
                    ratio=round(ratio, 2),
                )
            )
    return derived


def cpu_against_limit(board: Board) -> list[Finding]:
    derived: list[Finding] = []
    limits = _limits(board, "cpu")
    for usage in board.kinds("cpu_usage"):
        limit = limits.get(
            (usage.about("pod") or "", usage.about("container") or "")
        ) or limits.get((usage.about("pod") or "", ""))
        used = usage.facts.get("cpu_used")
        if not limit or not isinstance(used, int | float):
            continue
        if used >= 0.85 * limit:
            derived.append(
                derive(
                    usage,
                    "cpu_at_limit",
                    f"{usage.about('pod')} uses {used:.2f} cores against a CPU limit of {limit:g}",
                    Category.CPU_THROTTLING,
                    0.55,
                    cpu_limit_cores=limit,
                )
            )
    return derived


def _limits(board: Board, resource: str) -> dict[tuple[str, str], float]:
    """(pod, container) -> limit, from get_pod containers and limit metrics."""
    limits: dict[tuple[str, str], float] = {}
    for finding in board.findings:
        pod = finding.about("pod") or ""
        container = finding.about("container") or ""
        value = quantity(finding.facts.get(f"{resource}_limit"))
        if finding.kind == "resource_limit" and finding.facts.get("resource") == resource:
            value = finding.facts.get("limit_value")
        if value and pod:
            limits.setdefault((pod, container), float(value))
            limits.setdefault((pod, ""), float(value))
    return limits


# --- change ----------------------------------------------------------------------------------


def regression_after_rollout(board: Board) -> list[Finding]:
    derived: list[Finding] = []
    for rollout in _linked_rollouts(board):
        changed_at = parse_time(rollout.facts.get("changed_at"))
        if changed_at is None:
            continue
        following: list[tuple[float, Finding]] = []
        for jump in board.kinds("error_rate_jump", "latency_jump"):
            began = parse_time(jump.facts.get("changed_at"))
            if began is None:
                continue
            after = (began - changed_at).total_seconds() / 60
            if -ROLLOUT_BEFORE_REGRESSION_SLACK_MIN <= after <= REGRESSION_AFTER_ROLLOUT_MIN:
                following.append((after, jump))
        if not following:
            continue
        # Quote the service-level curve; a per-pod breakdown says where it comes from.
        after, jump = min(following, key=lambda item: bool(item[1].facts.get("breakdown")))
        from_new = next(
            (pods for _, j in following if (pods := _breakdown_points_at(j, rollout))), ""
        )
        image = "image" in (rollout.facts.get("change_kinds") or [])
        strength = 0.95 if from_new else (0.75 if image else 0.6)
        what = "Errors" if jump.kind == "error_rate_jump" else "Latency"
        statement = (
            f"{what} rose {max(0.0, after):.0f}m after {rollout.about('deployment')} rolled out "
            f"revision {rollout.facts.get('to_revision')} ({_changes(rollout)})"
        )
        if from_new:
            statement += f"; they come from the new revision's pods ({from_new})"
        derived.append(
            derive(
                rollout,
                "regression_after_rollout",
                statement,
                Category.BAD_DEPLOY,
                strength,
                regression=jump.statement,
                measure=jump.facts.get("measure"),
                from_new_pods=from_new or None,
            )
        )
    return derived


def _breakdown_points_at(jump: Finding, rollout: Finding) -> str:
    """Pods of the new ReplicaSet carry the regression and the others do not."""
    breakdown = jump.facts.get("breakdown") or []
    new_rs = rollout.about("to_replicaset")
    if not breakdown or not new_rs:
        return ""
    new = [b for b in breakdown if str(b.get("pod", "")).startswith(new_rs + "-")]
    old = [b for b in breakdown if b not in new and b.get("pod")]
    if not new:
        versions = {str(b.get("version")) for b in breakdown if b.get("version")}
        image = str(rollout.facts.get("image_change", {}).get("after") or "")
        new = [b for b in breakdown if b.get("version") and str(b["version"]) in image]
        old = [b for b in breakdown if b not in new and b.get("version")]
        if not new or len(versions) < 2:
            return ""
    worst_old = max((float(b.get("recent") or 0) for b in old), default=0.0)
    best_new = min(float(b.get("recent") or 0) for b in new)
    if best_new > 0 and best_new >= 2 * worst_old:
        return quoted(str(b.get("pod") or b.get("version")) for b in new)
    return ""


def new_revision_crashes(board: Board) -> list[Finding]:
    """Pods of the newest ReplicaSet crash while the previous revision's pods run."""
    derived: list[Finding] = []
    for rollout in _linked_rollouts(board):
        new_rs = rollout.about("to_replicaset")
        if not new_rs:
            continue
        crashes = [
            f
            for f in board.kinds(*_CRASH_KINDS)
            if str(f.about("pod") or "").startswith(new_rs + "-")
        ]
        if not crashes:
            continue
        kinds = set(rollout.facts.get("change_kinds") or [])
        crash = max(crashes, key=lambda f: f.strength)
        config_only = "config" in kinds and "image" not in kinds
        derived.append(
            derive(
                rollout,
                "new_revision_crashes",
                f"Pods of the new revision {rollout.facts.get('to_revision')} of "
                f"{rollout.about('deployment')} crash ({crash.statement}); the rollout changed "
                f"{_changes(rollout)}",
                Category.BAD_CONFIG if config_only else Category.BAD_DEPLOY,
                0.65 if config_only else 0.7,
                crash=crash.statement,
                exit_code=crash.facts.get("exit_code"),
                container=crash.about("container"),
            )
        )
    return derived


def resource_change_in_rollout(board: Board) -> list[Finding]:
    derived: list[Finding] = []
    for rollout in _linked_rollouts(board):
        cpu = rollout.facts.get("cpu_change") or {}
        if cpu.get("direction") == "lowered":
            slow = board.kinds("cpu_throttled", "latency_jump", "cpu_at_limit")
            if slow:
                derived.append(
                    derive(
                        rollout,
                        "rollout_lowered_cpu_limit",
                        f"The rollout of {rollout.about('deployment')} to revision "
                        f"{rollout.facts.get('to_revision')} lowered the CPU limit of "
                        f"{cpu.get('container') or 'the container'} from {cpu.get('before')} to "
                        f"{cpu.get('after')}; since then: {slow[0].statement}",
                        Category.CPU_THROTTLING,
                        0.9,
                    )
                )
        memory = rollout.facts.get("memory_change") or {}
        if memory.get("direction") == "lowered" and board.kinds(
            "oom_killed", "oom_killed_listed", "memory_at_limit"
        ):
            derived.append(
                derive(
                    rollout,
                    "rollout_lowered_memory_limit",
                    f"The rollout of {rollout.about('deployment')} to revision "
                    f"{rollout.facts.get('to_revision')} lowered the memory limit of "
                    f"{memory.get('container') or 'the container'} from {memory.get('before')} to "
                    f"{memory.get('after')}",
                    Category.OOM_KILLED,
                    0.7,
                )
            )
        probe = rollout.facts.get("probe_change") or {}
        failing = board.kinds("probe_failing", "liveness_kill", "sigkill")
        if probe and failing:
            derived.append(
                derive(
                    rollout,
                    "rollout_changed_probe",
                    f"The rollout of {rollout.about('deployment')} changed {probe.get('field')} "
                    f"from {probe.get('before')} to {probe.get('after')}; since then: "
                    f"{failing[0].statement}",
                    Category.PROBE_FAILURE,
                    0.85,
                )
            )
    return derived


def _linked_rollouts(board: Board) -> list[Finding]:
    return [r for r in board.kinds("recent_rollout") if board.links.relevance(r) >= 1.0]


def _changes(rollout: Finding) -> str:
    changes = rollout.facts.get("changes") or []
    parts = []
    for change in changes[:3]:
        before, after = change.get("before"), change.get("after")
        if before is None:
            parts.append(f"{change.get('field')} added ({after})")
        elif after is None:
            parts.append(f"{change.get('field')} removed")
        else:
            parts.append(f"{change.get('field')} {before} -> {after}")
    return "; ".join(parts) or "no visible template change"


# --- probes, throttling, pods that moved on ---------------------------------------------------


def liveness_restarts(board: Board) -> list[Finding]:
    kills = board.kinds("liveness_kill")
    sigkills = board.kinds("sigkill")
    failing = [
        f for f in board.kinds("probe_failing") if f.facts.get("probe") in ("liveness", "startup")
    ]
    if not (kills or (sigkills and failing)):
        return []
    basis = (kills or failing)[0]
    detail = failing[0].statement if failing else basis.statement
    return [
        derive(
            basis,
            "liveness_restarts",
            "The kubelet restarts the container because its "
            f"{basis.facts.get('probe') or 'liveness'} "
            f"probe fails while the process runs: {detail}",
            Category.PROBE_FAILURE,
            0.9,
        )
    ]


def latency_with_throttling(board: Board) -> list[Finding]:
    latency = board.kinds("latency_jump")
    throttled = [f for f in board.kinds("cpu_throttled") if board.links.relevance(f) >= 0.6]
    if not latency or not throttled:
        return []
    worst = max(throttled, key=lambda f: f.strength)
    began = parse_time(latency[0].facts.get("changed_at"))
    rose = parse_time(worst.facts.get("changed_at"))
    aligned = began is None or rose is None or abs((began - rose).total_seconds()) <= 1800
    if not aligned:
        return []
    return [
        derive(
            worst,
            "latency_from_throttling",
            f"{latency[0].statement}, while {worst.statement}",
            Category.CPU_THROTTLING,
            0.85,
        )
    ]


def replaced_pod(board: Board) -> list[Finding]:
    """The alert's pod is gone and its workload's pods are healthy now: a stale alert."""
    gone = board.kinds("target_pod_gone") or [
        f
        for f in board.kinds("not_found")
        if str(f.facts.get("tool", "")).endswith("get_pod")
        and f.about("name") == board.scene.target.pod
    ]
    pod = board.scene.target.pod
    if not gone or not pod:
        return []
    prefixes = workload_names(pod)
    healthy = [
        name
        for f in board.kinds("pods_healthy", "pods_running")
        for name in f.facts.get("pods") or []
        if any(str(name).startswith(p + "-") for p in prefixes)
    ]
    failing = [
        f
        for f in board.findings
        if f.symptom and any(str(f.about("pod") or "").startswith(p + "-") for p in prefixes)
    ]
    if not healthy or failing:
        return []
    return [
        derive(
            gone[0],
            "pod_replaced",
            f"Pod {pod} named in the alert no longer exists; its workload's pods "
            f"{quoted(healthy)} are running and ready",
            Category.NO_ISSUE,
            0.8,
            pods=healthy,
        )
    ]


def eviction_on_pressure_node(board: Board) -> list[Finding]:
    derived: list[Finding] = []
    for evicted in board.kinds("evicted", "evicted_disk"):
        node = evicted.about("node")
        pressure = [f for f in board.kinds("node_disk_pressure") if f.about("node") == node]
        if node and pressure:
            derived.append(
                derive(
                    pressure[0],
                    "evicted_by_disk_pressure",
                    f"{evicted.statement}; node {node} is under disk pressure",
                    Category.DISK_PRESSURE,
                    1.0,
                )
            )
    return derived


CORRELATIONS: tuple[Callable[[Board], list[Finding]], ...] = (
    missing_key_confirmed,
    rollout_added_reference,
    dependencies,
    exits_on_dependency_error,
    errors_follow_dependency,
    cluster_dns,
    memory_against_limit,
    cpu_against_limit,
    regression_after_rollout,
    new_revision_crashes,
    resource_change_in_rollout,
    liveness_restarts,
    latency_with_throttling,
    replaced_pod,
    eviction_on_pressure_node,
)


def correlate(scene: Scene, findings: Iterable[Finding], links: Links) -> list[Finding]:
    """Every rule in order; later rules see what earlier ones concluded."""
    board = Board(scene=scene, findings=list(findings), links=links)
    derived: list[Finding] = []
    for rule in CORRELATIONS:
        concluded = rule(board)
        derived.extend(concluded)
        board.add(concluded)
    return derived


def when(finding: Finding) -> datetime | None:
    return parse_time(finding.facts.get("changed_at"))
