"""How kubectl sums objects up (pod STATUS, READY, RESTARTS, node STATUS, ages, selectors), read
from the API's JSON. Pure functions shared by the MCP server and the sandbox's Table printer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

Obj = dict[str, Any]


def meta_of(obj: Obj) -> Obj:
    """An object's `metadata`, `{}` when absent."""
    meta: Obj = obj.get("metadata") or {}
    return meta


def spec_of(obj: Obj) -> Obj:
    """An object's `spec`, `{}` when absent."""
    spec: Obj = obj.get("spec") or {}
    return spec


def status_of(obj: Obj) -> Obj:
    """An object's `status`, `{}` when absent."""
    status: Obj = obj.get("status") or {}
    return status


def parse_time(value: object) -> datetime | None:
    """An RFC 3339 time from the API (`2024-05-01T10:00:00Z`), or None if absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def epoch(value: object) -> float | None:
    """Epoch seconds of an RFC 3339 time, None if absent or unreadable."""
    return _epoch(value) if isinstance(value, str) else None


@lru_cache(maxsize=4096)
def _epoch(value: str) -> float | None:
    # Tables print the same creation and restart times on every request: parse each once.
    parsed = parse_time(value)
    return parsed.timestamp() if parsed is not None else None


def human_duration(seconds: float) -> str:
    """A duration the way kubectl prints ages: `45s`, `3m12s`, `25m`, `5h8m`, `3d4h`, `400d`."""
    whole = int(seconds)
    if whole < -1:
        return "<invalid>"
    if whole < 0:
        return "0s"
    if whole < 120:
        return f"{whole}s"
    minutes = whole // 60
    if minutes < 10:
        rest = whole % 60
        return f"{minutes}m{rest}s" if rest else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = whole // 3600
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h{rest}m" if rest else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{hours // 24}d{rest}h" if rest else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        years, days = divmod(hours // 24, 365)
        return f"{years}y{days}d" if days else f"{years}y"
    return f"{hours // 24 // 365}y"


def age(timestamp: object, now: float) -> str:
    """Time since `timestamp` as kubectl prints it, `<unknown>` when there is none."""
    moment = epoch(timestamp)
    return "<unknown>" if moment is None else human_duration(now - moment)


@dataclass(frozen=True)
class PodSummary:
    """The READY, STATUS and RESTARTS columns of `kubectl get pods`."""

    ready_containers: int
    total_containers: int
    status: str
    restarts: int
    last_restart: float | None  # epoch seconds of the newest last-termination, if any

    @property
    def ready(self) -> str:
        return f"{self.ready_containers}/{self.total_containers}"

    def restarts_text(self, now: float) -> str:
        if self.last_restart is None:
            return str(self.restarts)
        return f"{self.restarts} ({human_duration(now - self.last_restart)} ago)"


def _terminated_word(terminated: dict[str, Any], prefix: str = "") -> str:
    if terminated.get("reason"):
        return prefix + str(terminated["reason"])
    if terminated.get("signal"):
        return f"{prefix}Signal:{terminated['signal']}"
    return f"{prefix}ExitCode:{terminated.get('exitCode', 0)}"


def pod_summary(pod: dict[str, Any]) -> PodSummary:
    """kubectl's reading of a pod: the waiting or terminated reason of a container wins over the
    phase, init containers show as `Init:...`, a pod being deleted is `Terminating`."""
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    metadata = pod.get("metadata") or {}
    word = str(status.get("reason") or status.get("phase") or "Unknown")
    restarts = 0
    ready = 0
    last_restart: float | None = None

    init_statuses = status.get("initContainerStatuses") or []
    init_specs = spec.get("initContainers") or []
    sidecars = {c.get("name") for c in init_specs if c.get("restartPolicy") == "Always"}
    initializing = False
    for index, container in enumerate(init_statuses):
        restarts += int(container.get("restartCount") or 0)
        state = container.get("state") or {}
        terminated, waiting = state.get("terminated"), state.get("waiting")
        if terminated is not None and terminated.get("exitCode", 0) == 0:
            continue
        if container.get("name") in sidecars and container.get("started"):
            continue
        if terminated is not None:
            word = _terminated_word(terminated, "Init:")
        elif waiting and waiting.get("reason") and waiting.get("reason") != "PodInitializing":
            word = f"Init:{waiting['reason']}"
        else:
            word = f"Init:{index}/{len(init_specs)}"
        initializing = True
        break

    if not initializing or _condition_true(status, "Initialized"):
        restarts = 0
        has_running = False
        for container in reversed(status.get("containerStatuses") or []):
            restarts += int(container.get("restartCount") or 0)
            last_terminated = (container.get("lastState") or {}).get("terminated")
            if last_terminated:
                finished = epoch(last_terminated.get("finishedAt"))
                if finished is not None and (last_restart is None or finished > last_restart):
                    last_restart = finished
            state = container.get("state") or {}
            waiting, terminated = state.get("waiting"), state.get("terminated")
            if waiting and waiting.get("reason"):
                word = str(waiting["reason"])
            elif terminated:
                word = _terminated_word(terminated)
            elif container.get("ready") and state.get("running") is not None:
                has_running = True
                ready += 1
        if word == "Completed" and has_running:
            word = "Running" if _condition_true(status, "Ready") else "NotReady"

    if metadata.get("deletionTimestamp"):
        word = "Unknown" if status.get("reason") == "NodeLost" else "Terminating"

    return PodSummary(
        ready_containers=ready,
        total_containers=len(spec.get("containers") or []),
        status=word,
        restarts=restarts,
        last_restart=last_restart,
    )


def _condition_true(status: dict[str, Any], condition_type: str) -> bool:
    return any(
        c.get("type") == condition_type and c.get("status") == "True"
        for c in status.get("conditions") or []
    )


def node_status(node: dict[str, Any]) -> str:
    """`Ready`, `NotReady`, `Unknown`, with `,SchedulingDisabled` when cordoned."""
    words = []
    for condition in (node.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            words.append("Ready" if condition.get("status") == "True" else "NotReady")
    if not words:
        words.append("Unknown")
    if (node.get("spec") or {}).get("unschedulable"):
        words.append("SchedulingDisabled")
    return ",".join(words)


def node_roles(node: dict[str, Any]) -> str:
    labels = (node.get("metadata") or {}).get("labels") or {}
    roles = sorted(
        {key.split("/", 1)[1] for key in labels if key.startswith("node-role.kubernetes.io/")}
        | ({labels["kubernetes.io/role"]} if labels.get("kubernetes.io/role") else set())
    )
    return ",".join(role for role in roles if role) or "<none>"


def format_selector(selector: dict[str, Any] | None) -> str:
    """A LabelSelector as kubectl writes it: `app=checkout,tier in (web,api)`."""
    if not selector:
        return "<none>"
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In":
            parts.append(f"{key} in ({','.join(sorted(values))})")
        elif op == "NotIn":
            parts.append(f"{key} notin ({','.join(sorted(values))})")
        elif op == "Exists":
            parts.append(str(key))
        elif op == "DoesNotExist":
            parts.append(f"!{key}")
    return ",".join(parts) or "<none>"


def format_labels(labels: dict[str, str] | None) -> str:
    """A label map as a selector string, `app=web,tier=front` (empty when there are none)."""
    return ",".join(f"{k}={v}" for k, v in sorted((labels or {}).items()))


def service_ports(service: dict[str, Any]) -> list[str]:
    """A Service's PORT(S) column: `80/TCP`, `8080:30080/TCP` for a node port."""
    ports = []
    for port in (service.get("spec") or {}).get("ports") or []:
        protocol = port.get("protocol", "TCP")
        node_port = f":{port['nodePort']}" if port.get("nodePort") else ""
        ports.append(f"{port.get('port')}{node_port}/{protocol}")
    return ports


def service_external_ip(service: dict[str, Any]) -> str | None:
    """A Service's EXTERNAL-IP column, None when it has none (`<pending>` for a LoadBalancer
    still waiting for its address)."""
    spec, status = service.get("spec") or {}, service.get("status") or {}
    if spec.get("type") == "LoadBalancer":
        ingress = (status.get("loadBalancer") or {}).get("ingress") or []
        return ",".join(i.get("ip") or i.get("hostname") or "" for i in ingress) or "<pending>"
    if spec.get("type") == "ExternalName":
        name = spec.get("externalName")
        return str(name) if name else None
    return ",".join(spec.get("externalIPs") or []) or None


def event_source(event: dict[str, Any]) -> str | None:
    """Who reported an event and where: `kubelet, node-1`."""
    source = event.get("source") or {}
    component = source.get("component") or event.get("reportingComponent") or ""
    host = source.get("host") or event.get("reportingInstance") or ""
    return ", ".join(part for part in (component, host) if part) or None
