"""From the Kubernetes API's JSON to the tools' models: pure functions, no I/O, so each reading
(pod status, probes, env references, rollout diffs, node allocation, quotas) is tested alone."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from .kubectl import (
    Obj,
    age,
    epoch,
    event_source,
    format_labels,
    format_selector,
    human_duration,
    meta_of,
    node_roles,
    node_status,
    pod_summary,
    service_external_ip,
    service_ports,
    spec_of,
    status_of,
)
from .models import (
    Condition,
    ConfigMapDetail,
    ContainerDetail,
    ContainerSpec,
    ContainerState,
    DeploymentDetail,
    DeploymentRow,
    EnvRef,
    EventRow,
    FieldChange,
    NodeDetail,
    NodePodRow,
    NodeRow,
    ObjectRef,
    PodDetail,
    PodRow,
    Probe,
    PVCDetail,
    PVCRow,
    QuotaUsage,
    ReplicaCounts,
    ResourceAllocation,
    ResourceQuotaSummary,
    RevisionSummary,
    RolloutChange,
    ServiceDetail,
    ServicePort,
    ServiceRow,
    Truncated,
    VolumeSummary,
)

T = TypeVar("T")

# Literal env values of names like these are not shown (the bridge redacts too; belt and braces).
_SECRET_NAME = re.compile(r"PASS|SECRET|TOKEN|KEY|CREDENTIAL|PRIVATE|AUTH|CERT|DSN", re.IGNORECASE)
REDACTED = "<redacted>"
CONFIGMAP_VALUE_CHARS = 2000
CONFIGMAP_TOTAL_CHARS = 12000


def _int(value: object, default: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return default
    try:
        return int(value)
    except ValueError:
        return default


def cap(items: Sequence[T], limit: int, what: str, hint: str) -> tuple[list[T], Truncated | None]:
    """The first `limit` items, and what was cut with a hint on narrowing the query."""
    if len(items) <= limit:
        return list(items), None
    return list(items[:limit]), Truncated(what=what, omitted=len(items) - limit, hint=hint)


# -- quantities ------------------------------------------------------------------------------

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"n": "1e-9", "u": "1e-6", "m": "1e-3", "k": "1e3", "M": "1e6", "G": "1e9", "T": "1e12"}
_QUANTITY = re.compile(r"([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)([A-Za-z]*)")


def parse_quantity(text: object) -> Decimal | None:
    """A Kubernetes quantity (`250m`, `512Mi`, `1.5G`, `1e9`) as a number, None if unreadable."""
    match = _QUANTITY.fullmatch(str(text).strip()) if text is not None else None
    if match is None:
        return None
    number, suffix = match.groups()
    try:
        value = Decimal(number)
    except InvalidOperation:
        return None
    if suffix in _BINARY:
        return value * _BINARY[suffix]
    if suffix in _DECIMAL:
        return value * Decimal(_DECIMAL[suffix])
    return value if suffix == "" else None


def format_quantity(resource: str, value: Decimal) -> str:
    """cpu as cores or millicores (`2`, `1250m`), memory-like as the largest exact binary unit."""
    if resource.endswith("cpu"):
        millis = int((value * 1000).to_integral_value())
        return str(millis // 1000) if millis % 1000 == 0 else f"{millis}m"
    whole = int(value)
    if whole != value:
        return str(value.normalize())
    for suffix in ("Ei", "Pi", "Ti", "Gi", "Mi", "Ki"):
        if whole and whole % _BINARY[suffix] == 0:
            return f"{whole // _BINARY[suffix]}{suffix}"
    return str(whole)


# -- events ----------------------------------------------------------------------------------


def event_time(event: Obj) -> float:
    series = event.get("series") or {}
    for value in (
        series.get("lastObservedTime"),
        event.get("lastTimestamp"),
        event.get("eventTime"),
        event.get("firstTimestamp"),
        meta_of(event).get("creationTimestamp"),
    ):
        moment = epoch(value)
        if moment is not None:
            return moment
    return 0.0


def event_row(event: Obj, now: float) -> EventRow:
    involved = event.get("involvedObject") or {}
    series = event.get("series") or {}
    last = series.get("lastObservedTime") or event.get("lastTimestamp") or event.get("eventTime")
    return EventRow(
        namespace=meta_of(event).get("namespace") or None,
        object_kind=str(involved.get("kind", "")),
        object_name=str(involved.get("name", "")),
        field_path=involved.get("fieldPath") or None,
        type=str(event.get("type") or "Normal"),
        reason=str(event.get("reason") or ""),
        message=str(event.get("message") or "").strip(),
        count=_int(series.get("count") or event.get("count"), 1) or 1,
        first_seen=event.get("firstTimestamp") or event.get("eventTime"),
        last_seen=last or event.get("firstTimestamp"),
        last_seen_ago=age(last or event.get("firstTimestamp"), now) if last else None,
        source=event_source(event),
    )


def event_rows(events: Iterable[Obj], now: float) -> list[EventRow]:
    """Events newest first."""
    return [event_row(e, now) for e in sorted(events, key=event_time, reverse=True)]


# -- containers ------------------------------------------------------------------------------


def conditions(items: Iterable[Obj] | None) -> list[Condition]:
    return [
        Condition(
            type=str(c.get("type", "")),
            status=str(c.get("status", "")),
            reason=c.get("reason") or None,
            message=c.get("message") or None,
            last_transition=c.get("lastTransitionTime"),
            last_heartbeat=c.get("lastHeartbeatTime"),
        )
        for c in items or []
    ]


def _probe(probe: Obj | None) -> Probe | None:
    if not probe:
        return None
    if "httpGet" in probe:
        http = probe["httpGet"]
        scheme = "https-get" if http.get("scheme") == "HTTPS" else "http-get"
        handler = f"{scheme} :{http.get('port')}{http.get('path', '/')}"
    elif "tcpSocket" in probe:
        handler = f"tcp-socket :{probe['tcpSocket'].get('port')}"
    elif "exec" in probe:
        handler = "exec " + shlex.join(str(a) for a in probe["exec"].get("command") or [])
    elif "grpc" in probe:
        handler = f"grpc :{probe['grpc'].get('port')}"
    else:
        handler = "unknown"
    return Probe(
        handler=handler,
        initial_delay_s=_int(probe.get("initialDelaySeconds"), 0),
        timeout_s=_int(probe.get("timeoutSeconds"), 1),
        period_s=_int(probe.get("periodSeconds"), 10),
        success_threshold=_int(probe.get("successThreshold"), 1),
        failure_threshold=_int(probe.get("failureThreshold"), 3),
    )


def _env_ref(variable: str | None, source: Obj) -> EnvRef | None:
    if "configMapKeyRef" in source:
        ref = source["configMapKeyRef"]
        return EnvRef(
            variable=variable,
            kind="ConfigMap",
            name=ref.get("name"),
            key=ref.get("key"),
            optional=bool(ref.get("optional")),
        )
    if "secretKeyRef" in source:
        ref = source["secretKeyRef"]
        return EnvRef(
            variable=variable,
            kind="Secret",
            name=ref.get("name"),
            key=ref.get("key"),
            optional=bool(ref.get("optional")),
        )
    if "fieldRef" in source:
        return EnvRef(variable=variable, kind="Field", name=source["fieldRef"].get("fieldPath"))
    if "resourceFieldRef" in source:
        return EnvRef(
            variable=variable, kind="ResourceField", name=source["resourceFieldRef"].get("resource")
        )
    return None


def _env(container: Obj) -> tuple[dict[str, str], list[EnvRef]]:
    literal: dict[str, str] = {}
    refs: list[EnvRef] = []
    for item in container.get("env") or []:
        name = str(item.get("name", ""))
        if "valueFrom" in item:
            ref = _env_ref(name, item["valueFrom"] or {})
            if ref is not None:
                refs.append(ref)
        else:
            value = str(item.get("value", ""))
            literal[name] = REDACTED if value and _SECRET_NAME.search(name) else value
    for source in container.get("envFrom") or []:
        prefix = source.get("prefix") or None
        for field, kind in (("configMapRef", "ConfigMap"), ("secretRef", "Secret")):
            if field in source:
                ref = source[field]
                refs.append(
                    EnvRef(
                        kind=kind,
                        name=ref.get("name"),
                        optional=bool(ref.get("optional")),
                        prefix=prefix,
                    )
                )
    return literal, refs


def _ports(container: Obj) -> list[str]:
    ports = []
    for port in container.get("ports") or []:
        text = f"{port.get('containerPort')}/{port.get('protocol', 'TCP')}"
        ports.append(f"{text} ({port['name']})" if port.get("name") else text)
    return ports


def container_spec_fields(container: Obj) -> dict[str, Any]:
    resources = container.get("resources") or {}
    env, env_refs = _env(container)
    mounts = [
        f"{m.get('mountPath')} from {m.get('name')}" + (" (ro)" if m.get("readOnly") else "")
        for m in container.get("volumeMounts") or []
        if "kube-api-access" not in str(m.get("name", ""))
    ]
    return {
        "name": str(container.get("name", "")),
        "image": str(container.get("image", "")),
        "command": container.get("command") or None,
        "args": container.get("args") or None,
        "ports": _ports(container),
        "requests": {k: str(v) for k, v in (resources.get("requests") or {}).items()},
        "limits": {k: str(v) for k, v in (resources.get("limits") or {}).items()},
        "liveness_probe": _probe(container.get("livenessProbe")),
        "readiness_probe": _probe(container.get("readinessProbe")),
        "startup_probe": _probe(container.get("startupProbe")),
        "env": env,
        "env_refs": env_refs,
        "volume_mounts": mounts,
    }


def container_spec(container: Obj) -> ContainerSpec:
    return ContainerSpec(**container_spec_fields(container))


def container_state(state: Obj | None) -> ContainerState | None:
    if not state:
        return None
    for name in ("waiting", "running", "terminated"):
        if name in state and state[name] is not None:
            detail = state[name] or {}
            return ContainerState(
                state=name,
                reason=detail.get("reason") or None,
                message=(detail.get("message") or "").strip() or None,
                exit_code=detail.get("exitCode"),
                signal=detail.get("signal") or None,
                started_at=detail.get("startedAt"),
                finished_at=detail.get("finishedAt"),
            )
    return None


def container_detail(container: Obj, status: Obj | None, *, init: bool = False) -> ContainerDetail:
    status = status or {}
    return ContainerDetail(
        **container_spec_fields(container),
        init=init,
        ready=bool(status.get("ready")),
        started=status.get("started"),
        restart_count=_int(status.get("restartCount")),
        state=container_state(status.get("state")) or ContainerState(state="unknown"),
        last_termination=container_state(status.get("lastState")),
    )


def volumes(pod_spec: Obj) -> list[VolumeSummary]:
    found = []
    for volume in pod_spec.get("volumes") or []:
        name = str(volume.get("name", ""))
        if name.startswith("kube-api-access-"):
            continue  # the service account token every pod gets
        kind = next((k for k in volume if k != "name"), "unknown")
        source = volume.get(kind) or {}
        reference = source.get("name") or source.get("secretName") or source.get("claimName")
        reference = reference or source.get("path")
        found.append(
            VolumeSummary(
                name=name,
                kind=kind,
                source=str(reference) if reference else None,
                optional=source.get("optional"),
            )
        )
    return found


# -- pods ------------------------------------------------------------------------------------


def _last_termination(pod: Obj) -> tuple[str | None, int | None]:
    """The last termination of the most restarted container (or the current one if it has
    terminated without restarting): what a person looks at first."""
    statuses = sorted(
        status_of(pod).get("containerStatuses") or [],
        key=lambda s: _int(s.get("restartCount")),
        reverse=True,
    )
    for container in statuses:
        for holder in ("lastState", "state"):
            terminated = (container.get(holder) or {}).get("terminated")
            if terminated:
                return terminated.get("reason") or None, terminated.get("exitCode")
    return None, None


def pod_row(pod: Obj, now: float) -> PodRow:
    summary = pod_summary(pod)
    reason, exit_code = _last_termination(pod)
    return PodRow(
        name=str(meta_of(pod).get("name", "")),
        namespace=str(meta_of(pod).get("namespace", "")),
        phase=str(status_of(pod).get("phase") or "Unknown"),
        status=summary.status,
        ready=summary.ready,
        restarts=summary.restarts,
        last_restart_ago=(
            human_duration(now - summary.last_restart) if summary.last_restart else None
        ),
        last_termination_reason=reason,
        last_exit_code=exit_code,
        age=age(meta_of(pod).get("creationTimestamp"), now),
        node=spec_of(pod).get("nodeName") or None,
    )


def pod_attention(row: PodRow) -> int:
    """0 for a pod that is down (not Running, or not ready), 1 for one that restarted, 2 for a
    healthy or completed one: the order a person reads a pod list in."""
    ready, total = row.ready.split("/")
    if row.status == "Completed":
        return 2
    if row.status != "Running" or ready != total:
        return 0
    return 1 if row.restarts > 0 else 2


def owner_of(obj: Obj) -> ObjectRef | None:
    refs = meta_of(obj).get("ownerReferences") or []
    chosen = next((r for r in refs if r.get("controller")), refs[0] if refs else None)
    if not chosen:
        return None
    return ObjectRef(kind=str(chosen.get("kind", "")), name=str(chosen.get("name", "")))


def _toleration(item: Obj) -> str:
    key = item.get("key") or ""
    text = f"{key}={item['value']}" if item.get("value") else key
    if item.get("operator") == "Exists" and not key:
        text = "<all>"
    if item.get("effect"):
        text += f":{item['effect']}"
    if item.get("tolerationSeconds") is not None:
        text += f" for {item['tolerationSeconds']}s"
    return text


def pod_detail(
    pod: Obj,
    events: list[EventRow],
    controller: ObjectRef | None,
    now: float,
    *,
    max_events: int,
) -> PodDetail:
    meta, spec, status = meta_of(pod), spec_of(pod), status_of(pod)
    summary = pod_summary(pod)
    statuses = {s.get("name"): s for s in status.get("containerStatuses") or []}
    init_statuses = {s.get("name"): s for s in status.get("initContainerStatuses") or []}
    shown_events, truncated = cap(
        events, max_events, "events", "list_events(involved_object=...) shows them all"
    )
    return PodDetail(
        name=str(meta.get("name", "")),
        namespace=str(meta.get("namespace", "")),
        phase=str(status.get("phase") or "Unknown"),
        status=summary.status,
        ready=summary.ready,
        restarts=summary.restarts,
        reason=status.get("reason") or None,
        message=status.get("message") or None,
        node=spec.get("nodeName") or None,
        pod_ip=status.get("podIP") or None,
        qos_class=status.get("qosClass") or None,
        created=meta.get("creationTimestamp"),
        age=age(meta.get("creationTimestamp"), now),
        started=status.get("startTime"),
        labels=meta.get("labels") or {},
        owner=owner_of(pod),
        controller=controller,
        service_account=spec.get("serviceAccountName") or None,
        node_selector=spec.get("nodeSelector") or {},
        tolerations=[_toleration(t) for t in spec.get("tolerations") or []],
        conditions=conditions(status.get("conditions")),
        init_containers=[
            container_detail(c, init_statuses.get(c.get("name")), init=True)
            for c in spec.get("initContainers") or []
        ],
        containers=[
            container_detail(c, statuses.get(c.get("name"))) for c in spec.get("containers") or []
        ],
        volumes=volumes(spec),
        events=shown_events,
        truncated=truncated,
    )


# -- deployments and rollouts ----------------------------------------------------------------


def deployment_row(deployment: Obj, now: float) -> DeploymentRow:
    spec, status = spec_of(deployment), status_of(deployment)
    desired = _int(spec.get("replicas"), 1)
    containers = ((spec.get("template") or {}).get("spec") or {}).get("containers") or []
    return DeploymentRow(
        name=str(meta_of(deployment).get("name", "")),
        namespace=str(meta_of(deployment).get("namespace", "")),
        ready=f"{_int(status.get('readyReplicas'))}/{desired}",
        desired=desired,
        updated=_int(status.get("updatedReplicas")),
        available=_int(status.get("availableReplicas")),
        unavailable=_int(status.get("unavailableReplicas")),
        age=age(meta_of(deployment).get("creationTimestamp"), now),
        images=[str(c.get("image", "")) for c in containers],
    )


def revision_of(obj: Obj) -> int | None:
    value = (meta_of(obj).get("annotations") or {}).get("deployment.kubernetes.io/revision")
    return _int(value, 0) or None


def _strategy(spec: Obj) -> str:
    strategy = spec.get("strategy") or {}
    kind = strategy.get("type", "RollingUpdate")
    rolling = strategy.get("rollingUpdate") or {}
    if kind != "RollingUpdate":
        return str(kind)
    return (
        f"RollingUpdate maxSurge={rolling.get('maxSurge', '25%')}"
        f" maxUnavailable={rolling.get('maxUnavailable', '25%')}"
    )


def _template_facts(template: Obj) -> dict[str, str]:
    """A pod template flattened to `field -> value` for comparing two revisions."""
    facts: dict[str, str] = {}
    spec = template.get("spec") or {}
    annotations = (template.get("metadata") or {}).get("annotations") or {}
    for key, value in annotations.items():
        facts[f"annotations.{key}"] = str(value)
    for group in ("initContainers", "containers"):
        for container in spec.get(group) or []:
            prefix = f"{group}[{container.get('name')}]"
            fields = container_spec_fields(container)
            facts[f"{prefix}.image"] = fields["image"]
            if fields["command"]:
                facts[f"{prefix}.command"] = shlex.join(str(a) for a in fields["command"])
            if fields["args"]:
                facts[f"{prefix}.args"] = shlex.join(str(a) for a in fields["args"])
            for kind in ("requests", "limits"):
                for resource, value in fields[kind].items():
                    facts[f"{prefix}.{kind}.{resource}"] = value
            for name, value in fields["env"].items():
                facts[f"{prefix}.env.{name}"] = value
            for ref in fields["env_refs"]:
                if ref.variable:
                    facts[f"{prefix}.env.{ref.variable}"] = (
                        f"from {ref.kind} {ref.name} key {ref.key}"
                    )
                else:
                    facts[f"{prefix}.envFrom.{ref.kind}/{ref.name}"] = "all keys"
            for probe in ("liveness_probe", "readiness_probe", "startup_probe"):
                if fields[probe] is not None:
                    facts[f"{prefix}.{probe}"] = _probe_text(fields[probe])
            if fields["ports"]:
                facts[f"{prefix}.ports"] = ", ".join(fields["ports"])
    for volume in volumes(spec):
        facts[f"volumes.{volume.name}"] = f"{volume.kind} {volume.source or ''}".strip()
    for key, value in (spec.get("nodeSelector") or {}).items():
        facts[f"nodeSelector.{key}"] = str(value)
    if spec.get("serviceAccountName"):
        facts["serviceAccountName"] = str(spec["serviceAccountName"])
    return facts


def _probe_text(probe: Probe) -> str:
    return (
        f"{probe.handler} delay={probe.initial_delay_s}s timeout={probe.timeout_s}s"
        f" period={probe.period_s}s #failure={probe.failure_threshold}"
    )


def rollout_change(older: Obj, newer: Obj, now: float) -> RolloutChange:
    before = _template_facts(spec_of(older).get("template") or {})
    after = _template_facts(spec_of(newer).get("template") or {})
    changes = [
        FieldChange(field=field, before=before.get(field), after=after.get(field))
        for field in sorted(before.keys() | after.keys())
        if field != "annotations.pod-template-hash" and before.get(field) != after.get(field)
    ]
    created = meta_of(newer).get("creationTimestamp")
    return RolloutChange(
        from_revision=revision_of(older),
        to_revision=revision_of(newer),
        from_replicaset=str(meta_of(older).get("name", "")),
        to_replicaset=str(meta_of(newer).get("name", "")),
        changed_at=created,
        changed_ago=age(created, now) if created else None,
        changes=changes,
    )


def owned_replicasets(deployment: Obj, replicasets: Iterable[Obj]) -> list[Obj]:
    """The Deployment's ReplicaSets, newest revision first."""
    uid = meta_of(deployment).get("uid")
    owned = [
        rs
        for rs in replicasets
        if any(ref.get("uid") == uid for ref in meta_of(rs).get("ownerReferences") or [])
    ]
    return sorted(
        owned,
        key=lambda rs: (revision_of(rs) or 0, epoch(meta_of(rs).get("creationTimestamp")) or 0.0),
        reverse=True,
    )


def deployment_detail(
    deployment: Obj,
    replicasets: list[Obj],
    events: list[EventRow],
    now: float,
    *,
    max_events: int,
    max_revisions: int,
) -> DeploymentDetail:
    meta, spec, status = meta_of(deployment), spec_of(deployment), status_of(deployment)
    template_spec = (spec.get("template") or {}).get("spec") or {}
    history = [
        RevisionSummary(
            revision=revision_of(rs),
            replicaset=str(meta_of(rs).get("name", "")),
            created=meta_of(rs).get("creationTimestamp"),
            age=age(meta_of(rs).get("creationTimestamp"), now),
            images=[
                str(c.get("image", ""))
                for c in ((spec_of(rs).get("template") or {}).get("spec") or {}).get("containers")
                or []
            ],
            desired=_int(spec_of(rs).get("replicas")),
            ready=_int(status_of(rs).get("readyReplicas")),
            change_cause=(meta_of(rs).get("annotations") or {}).get("kubernetes.io/change-cause"),
        )
        for rs in replicasets[:max_revisions]
    ]
    shown_events, truncated = cap(
        events, max_events, "events", "list_events(involved_object=...) shows them all"
    )
    desired = _int(spec.get("replicas"), 1)
    return DeploymentDetail(
        name=str(meta.get("name", "")),
        namespace=str(meta.get("namespace", "")),
        created=meta.get("creationTimestamp"),
        age=age(meta.get("creationTimestamp"), now),
        revision=revision_of(deployment),
        generation=meta.get("generation"),
        observed_generation=status.get("observedGeneration"),
        paused=bool(spec.get("paused")),
        selector=format_selector(spec.get("selector")),
        replicas=ReplicaCounts(
            desired=desired,
            current=_int(status.get("replicas")),
            ready=_int(status.get("readyReplicas")),
            updated=_int(status.get("updatedReplicas")),
            available=_int(status.get("availableReplicas")),
            unavailable=_int(status.get("unavailableReplicas")),
        ),
        strategy=_strategy(spec),
        conditions=conditions(status.get("conditions")),
        containers=[container_spec(c) for c in template_spec.get("containers") or []],
        init_containers=[container_spec(c) for c in template_spec.get("initContainers") or []],
        volumes=volumes(template_spec),
        rollout_history=history,
        last_change=rollout_change(replicasets[1], replicasets[0], now)
        if len(replicasets) >= 2
        else None,
        events=shown_events,
        truncated=truncated,
    )


# -- nodes -----------------------------------------------------------------------------------


def _node_problems(node: Obj) -> list[str]:
    problems = []
    for condition in status_of(node).get("conditions") or []:
        kind, state = condition.get("type"), condition.get("status")
        bad = state != "True" if kind == "Ready" else state == "True"
        if bad:
            problems.append(f"{kind}={state}")
    return problems


def _taint(taint: Obj) -> str:
    key = str(taint.get("key", ""))
    text = f"{key}={taint['value']}" if taint.get("value") else key
    return f"{text}:{taint.get('effect', '')}"


def node_row(node: Obj, now: float) -> NodeRow:
    return NodeRow(
        name=str(meta_of(node).get("name", "")),
        status=node_status(node),
        roles=node_roles(node),
        age=age(meta_of(node).get("creationTimestamp"), now),
        version=(status_of(node).get("nodeInfo") or {}).get("kubeletVersion"),
        unschedulable=bool(spec_of(node).get("unschedulable")),
        problems=_node_problems(node),
        taints=[_taint(t) for t in spec_of(node).get("taints") or []],
    )


def _pod_resources(pod: Obj) -> dict[str, Decimal]:
    """Requests and limits of a pod as the scheduler counts them: the sum over containers, or
    the largest init container if that is more."""
    totals: dict[str, Decimal] = {}
    spec = spec_of(pod)
    for container in spec.get("containers") or []:
        resources = container.get("resources") or {}
        for kind in ("requests", "limits"):
            for resource, value in (resources.get(kind) or {}).items():
                amount = parse_quantity(value)
                if amount is not None:
                    key = f"{kind}.{resource}"
                    totals[key] = totals.get(key, Decimal(0)) + amount
    for container in spec.get("initContainers") or []:
        resources = container.get("resources") or {}
        for kind in ("requests", "limits"):
            for resource, value in (resources.get(kind) or {}).items():
                amount = parse_quantity(value)
                key = f"{kind}.{resource}"
                if amount is not None and amount > totals.get(key, Decimal(0)):
                    totals[key] = amount
    return totals


def _percent(part: Decimal, whole: Decimal | None) -> int | None:
    if not whole:
        return None
    return int(part * 100 / whole)


def node_detail(
    node: Obj,
    pods: list[Obj],
    events: list[EventRow],
    now: float,
    *,
    max_pods: int,
    max_events: int,
) -> NodeDetail:
    meta, spec, status = meta_of(node), spec_of(node), status_of(node)
    info = status.get("nodeInfo") or {}
    allocatable = {k: str(v) for k, v in (status.get("allocatable") or {}).items()}
    running = [p for p in pods if status_of(p).get("phase") not in ("Succeeded", "Failed")]
    totals: dict[str, Decimal] = {}
    for pod in running:
        for key, amount in _pod_resources(pod).items():
            totals[key] = totals.get(key, Decimal(0)) + amount
    allocated = []
    for resource in ("cpu", "memory", "ephemeral-storage"):
        requests = totals.get(f"requests.{resource}", Decimal(0))
        limits = totals.get(f"limits.{resource}", Decimal(0))
        whole = parse_quantity(allocatable.get(resource))
        allocated.append(
            ResourceAllocation(
                resource=resource,
                allocatable=allocatable.get(resource),
                requests=format_quantity(resource, requests),
                requests_percent=_percent(requests, whole),
                limits=format_quantity(resource, limits),
                limits_percent=_percent(limits, whole),
            )
        )
    pod_rows = []
    for pod in running:
        summary = pod_summary(pod)
        resources = _pod_resources(pod)
        cpu, memory = resources.get("requests.cpu"), resources.get("requests.memory")
        memory_limit = resources.get("limits.memory")
        pod_rows.append(
            NodePodRow(
                namespace=str(meta_of(pod).get("namespace", "")),
                name=str(meta_of(pod).get("name", "")),
                status=summary.status,
                ready=summary.ready,
                restarts=summary.restarts,
                cpu_requests=format_quantity("cpu", cpu) if cpu is not None else None,
                memory_requests=format_quantity("memory", memory) if memory is not None else None,
                memory_limits=format_quantity("memory", memory_limit)
                if memory_limit is not None
                else None,
            )
        )
    shown_pods, pods_cut = cap(
        pod_rows, max_pods, "pods", "list_pods(field_selector='spec.nodeName=<node>') lists them"
    )
    shown_events, events_cut = cap(
        events, max_events, "events", "list_events(involved_object='Node/<node>') shows them all"
    )
    addresses = status.get("addresses") or []
    return NodeDetail(
        name=str(meta.get("name", "")),
        status=node_status(node),
        roles=node_roles(node),
        unschedulable=bool(spec.get("unschedulable")),
        created=meta.get("creationTimestamp"),
        age=age(meta.get("creationTimestamp"), now),
        kubelet_version=info.get("kubeletVersion"),
        os_image=info.get("osImage"),
        container_runtime=info.get("containerRuntimeVersion"),
        internal_ip=next(
            (a.get("address") for a in addresses if a.get("type") == "InternalIP"), None
        ),
        labels=meta.get("labels") or {},
        taints=[_taint(t) for t in spec.get("taints") or []],
        conditions=conditions(status.get("conditions")),
        capacity={k: str(v) for k, v in (status.get("capacity") or {}).items()},
        allocatable=allocatable,
        allocated=allocated,
        pods=shown_pods,
        events=shown_events,
        truncated=pods_cut or events_cut,
    )


# -- storage, quotas, services, config -------------------------------------------------------


def pvc_row(pvc: Obj, now: float) -> PVCRow:
    spec, status = spec_of(pvc), status_of(pvc)
    return PVCRow(
        name=str(meta_of(pvc).get("name", "")),
        namespace=str(meta_of(pvc).get("namespace", "")),
        phase=str(status.get("phase") or "Pending"),
        volume=spec.get("volumeName") or None,
        requested=((spec.get("resources") or {}).get("requests") or {}).get("storage"),
        capacity=(status.get("capacity") or {}).get("storage"),
        access_modes=list(spec.get("accessModes") or []),
        storage_class=spec.get("storageClassName"),
        age=age(meta_of(pvc).get("creationTimestamp"), now),
    )


def pvc_detail(
    pvc: Obj, users: list[str], events: list[EventRow], now: float, *, max_events: int
) -> PVCDetail:
    row = pvc_row(pvc, now)
    annotations = meta_of(pvc).get("annotations") or {}
    shown_events, truncated = cap(
        events, max_events, "events", "list_events(involved_object=...) shows them all"
    )
    return PVCDetail(
        name=row.name,
        namespace=row.namespace,
        phase=row.phase,
        storage_class=row.storage_class,
        requested=row.requested,
        capacity=row.capacity,
        access_modes=row.access_modes,
        volume=row.volume,
        volume_mode=spec_of(pvc).get("volumeMode"),
        provisioner=annotations.get("volume.kubernetes.io/storage-provisioner")
        or annotations.get("volume.beta.kubernetes.io/storage-provisioner"),
        selected_node=annotations.get("volume.kubernetes.io/selected-node"),
        created=meta_of(pvc).get("creationTimestamp"),
        age=row.age,
        conditions=conditions(status_of(pvc).get("conditions")),
        used_by=users,
        events=shown_events,
        truncated=truncated,
    )


def pods_using_claim(pods: Iterable[Obj], claim: str) -> list[str]:
    return [
        str(meta_of(pod).get("name", ""))
        for pod in pods
        if any(
            (v.get("persistentVolumeClaim") or {}).get("claimName") == claim
            for v in spec_of(pod).get("volumes") or []
        )
    ]


def quota_summary(quota: Obj) -> ResourceQuotaSummary:
    status = status_of(quota)
    hard, used = status.get("hard") or spec_of(quota).get("hard") or {}, status.get("used") or {}
    resources = []
    for resource in sorted(hard):
        limit, usage = parse_quantity(hard[resource]), parse_quantity(used.get(resource, "0"))
        resources.append(
            QuotaUsage(
                resource=resource,
                hard=str(hard[resource]),
                used=str(used.get(resource, "0")),
                used_percent=_percent(usage, limit) if usage is not None else None,
                exhausted=limit is not None and usage is not None and usage >= limit,
            )
        )
    return ResourceQuotaSummary(
        name=str(meta_of(quota).get("name", "")),
        namespace=str(meta_of(quota).get("namespace", "")),
        resources=resources,
    )


def service_row(service: Obj, now: float) -> ServiceRow:
    spec = spec_of(service)
    selector = spec.get("selector") or {}
    return ServiceRow(
        name=str(meta_of(service).get("name", "")),
        namespace=str(meta_of(service).get("namespace", "")),
        type=str(spec.get("type", "ClusterIP")),
        cluster_ip=spec.get("clusterIP") or None,
        external_ip=service_external_ip(service),
        ports=service_ports(service),
        selector=format_labels(selector) or "<none>",
        age=age(meta_of(service).get("creationTimestamp"), now),
    )


def _endpoint_addresses(endpoints: Obj | None, field: str) -> list[str]:
    found = []
    for subset in (endpoints or {}).get("subsets") or []:
        ports = [p.get("port") for p in subset.get("ports") or []] or [None]
        for address in subset.get(field) or []:
            pod = (address.get("targetRef") or {}).get("name")
            for port in ports:
                text = f"{address.get('ip')}:{port}" if port else str(address.get("ip"))
                found.append(f"{text} ({pod})" if pod else text)
    return found


def service_detail(
    service: Obj,
    endpoints: Obj | None,
    matching_pods: int | None,
    events: list[EventRow],
    now: float,
    *,
    max_endpoints: int,
    max_events: int,
) -> ServiceDetail:
    spec = spec_of(service)
    ready = _endpoint_addresses(endpoints, "addresses")
    not_ready = _endpoint_addresses(endpoints, "notReadyAddresses")
    shown_ready, ready_cut = cap(ready, max_endpoints, "ready_endpoints", "fewer pods behind it")
    shown_not_ready, not_ready_cut = cap(
        not_ready, max_endpoints, "not_ready_endpoints", "list_pods(label_selector=...) for pods"
    )
    shown_events, events_cut = cap(
        events, max_events, "events", "list_events(involved_object=...) shows them all"
    )
    return ServiceDetail(
        name=str(meta_of(service).get("name", "")),
        namespace=str(meta_of(service).get("namespace", "")),
        type=str(spec.get("type", "ClusterIP")),
        cluster_ip=spec.get("clusterIP") or None,
        external_ips=list(spec.get("externalIPs") or []),
        ports=[
            ServicePort(
                name=p.get("name"),
                port=_int(p.get("port")),
                target_port=str(p.get("targetPort", p.get("port"))),
                protocol=str(p.get("protocol", "TCP")),
                node_port=p.get("nodePort"),
            )
            for p in spec.get("ports") or []
        ],
        selector=spec.get("selector") or {},
        matching_pods=matching_pods,
        ready_endpoints=shown_ready,
        not_ready_endpoints=shown_not_ready,
        age=age(meta_of(service).get("creationTimestamp"), now),
        events=shown_events,
        truncated=ready_cut or not_ready_cut or events_cut,
    )


def configmap_detail(configmap: Obj, now: float) -> ConfigMapDetail:
    data = configmap.get("data") or {}
    shown: dict[str, str] = {}
    budget, cut_values, omitted = CONFIGMAP_TOTAL_CHARS, 0, 0
    for key in sorted(data):
        value = str(data[key])
        if budget <= 0:
            omitted += 1
            continue
        if len(value) > CONFIGMAP_VALUE_CHARS:
            value = (
                value[:CONFIGMAP_VALUE_CHARS]
                + f"... [{len(value) - CONFIGMAP_VALUE_CHARS} more chars]"
            )
            cut_values += 1
        shown[key] = value[: max(budget, 0)]
        budget -= len(value)
    truncated = None
    if omitted or cut_values:
        truncated = Truncated(
            what="data",
            omitted=omitted,
            hint=f"{cut_values} long values were cut and {omitted} keys left out; every key is in"
            " `keys`",
        )
    return ConfigMapDetail(
        name=str(meta_of(configmap).get("name", "")),
        namespace=str(meta_of(configmap).get("namespace", "")),
        created=meta_of(configmap).get("creationTimestamp"),
        age=age(meta_of(configmap).get("creationTimestamp"), now),
        keys=sorted(data),
        data=shown,
        binary_keys=sorted(configmap.get("binaryData") or {}),
        truncated=truncated,
    )
