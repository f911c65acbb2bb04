"""Server-side printing: the `meta.k8s.io/v1` Table the API returns when kubectl asks for one,
with the columns kubectl shows (priority 1 columns appear with `-o wide`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from mcp_bridge.servers.kubernetes.kubectl import (
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


@dataclass(frozen=True)
class Column:
    name: str
    type: str = "string"
    format: str = ""
    priority: int = 0
    description: str = ""

    def definition(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "format": self.format,
            "description": self.description or self.name,
            "priority": self.priority,
        }


NAME = Column("Name", format="name", description="Name must be unique within a namespace.")
AGE = Column("Age", description="CreationTimestamp is the time this object was created.")


@dataclass(frozen=True)
class Printer:
    columns: tuple[Column, ...]
    cells: Callable[[Obj, float], list[Any]]


def _created(obj: Obj, now: float) -> str:
    return age(meta_of(obj).get("creationTimestamp"), now)


def _none(value: object) -> object:
    return value if value not in (None, "", []) else "<none>"


def _containers_and_images(template_spec: Obj) -> list[str]:
    containers = template_spec.get("containers") or []
    return [
        ",".join(str(c.get("name", "")) for c in containers),
        ",".join(str(c.get("image", "")) for c in containers),
    ]


def _template_spec(obj: Obj) -> Obj:
    template: Obj = spec_of(obj).get("template") or {}
    return template.get("spec") or {}


CONTAINERS = Column("Containers", priority=1)
IMAGES = Column("Images", priority=1)
SELECTOR = Column("Selector", priority=1)


def _pod_cells(pod: Obj, now: float) -> list[Any]:
    summary = pod_summary(pod)
    spec, status = spec_of(pod), status_of(pod)
    gates = spec.get("readinessGates") or []
    if gates:
        conditions = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
        passed = sum(1 for g in gates if conditions.get(g.get("conditionType")) == "True")
        readiness = f"{passed}/{len(gates)}"
    else:
        readiness = "<none>"
    return [
        meta_of(pod).get("name"),
        summary.ready,
        summary.status,
        summary.restarts_text(now),
        _created(pod, now),
        _none(status.get("podIP")),
        _none(spec.get("nodeName")),
        _none(status.get("nominatedNodeName")),
        readiness,
    ]


def _event_cells(event: Obj, now: float) -> list[Any]:
    first = event.get("firstTimestamp") or event.get("eventTime")
    last = event.get("lastTimestamp") or first
    count = event.get("count") or 1
    series = event.get("series")
    if series:
        last = series.get("lastObservedTime") or last
        count = series.get("count") or count
    involved = event.get("involvedObject") or {}
    kind = str(involved.get("kind", "")).lower()
    target = f"{kind}/{involved['name']}" if involved.get("name") else kind
    return [
        age(last, now),
        event.get("type", ""),
        event.get("reason", ""),
        target,
        involved.get("fieldPath", ""),
        event_source(event) or "<none>",
        str(event.get("message", "")).strip(),
        age(first, now),
        int(count),
        meta_of(event).get("name"),
    ]


def _node_cells(node: Obj, now: float) -> list[Any]:
    status = status_of(node)
    addresses = status.get("addresses") or []

    def address(kind: str) -> object:
        return _none(next((a.get("address") for a in addresses if a.get("type") == kind), None))

    info = status.get("nodeInfo") or {}
    return [
        meta_of(node).get("name"),
        node_status(node),
        node_roles(node),
        _created(node, now),
        info.get("kubeletVersion", ""),
        address("InternalIP"),
        address("ExternalIP"),
        _none(info.get("osImage")),
        _none(info.get("kernelVersion")),
        _none(info.get("containerRuntimeVersion")),
    ]


def _deployment_cells(obj: Obj, now: float) -> list[Any]:
    spec, status = spec_of(obj), status_of(obj)
    desired = spec.get("replicas", 1)
    return [
        meta_of(obj).get("name"),
        f"{status.get('readyReplicas', 0)}/{desired}",
        int(status.get("updatedReplicas", 0)),
        int(status.get("availableReplicas", 0)),
        _created(obj, now),
        *_containers_and_images(_template_spec(obj)),
        format_selector(spec.get("selector")),
    ]


def _replicaset_cells(obj: Obj, now: float) -> list[Any]:
    spec, status = spec_of(obj), status_of(obj)
    return [
        meta_of(obj).get("name"),
        int(spec.get("replicas", 1)),
        int(status.get("replicas", 0)),
        int(status.get("readyReplicas", 0)),
        _created(obj, now),
        *_containers_and_images(_template_spec(obj)),
        format_selector(spec.get("selector")),
    ]


def _statefulset_cells(obj: Obj, now: float) -> list[Any]:
    spec, status = spec_of(obj), status_of(obj)
    return [
        meta_of(obj).get("name"),
        f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 1)}",
        _created(obj, now),
        *_containers_and_images(_template_spec(obj)),
    ]


def _daemonset_cells(obj: Obj, now: float) -> list[Any]:
    spec, status = spec_of(obj), status_of(obj)
    node_selector = _template_spec(obj).get("nodeSelector") or {}
    return [
        meta_of(obj).get("name"),
        int(status.get("desiredNumberScheduled", 0)),
        int(status.get("currentNumberScheduled", 0)),
        int(status.get("numberReady", 0)),
        int(status.get("updatedNumberScheduled", 0)),
        int(status.get("numberAvailable", 0)),
        format_labels(node_selector) or "<none>",
        _created(obj, now),
        *_containers_and_images(_template_spec(obj)),
        format_selector(spec.get("selector")),
    ]


def _job_cells(obj: Obj, now: float) -> list[Any]:
    spec, status = spec_of(obj), status_of(obj)
    conditions = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
    if conditions.get("Complete") == "True":
        state = "Complete"
    elif conditions.get("Failed") == "True":
        state = "Failed"
    elif spec.get("suspend"):
        state = "Suspended"
    else:
        state = "Running"
    started, finished = epoch(status.get("startTime")), epoch(status.get("completionTime"))
    duration = "" if started is None else human_duration((finished or now) - started)
    return [
        meta_of(obj).get("name"),
        state,
        f"{status.get('succeeded', 0)}/{spec.get('completions', 1)}",
        duration,
        _created(obj, now),
        *_containers_and_images(_template_spec(obj)),
        format_selector(spec.get("selector")),
    ]


def _cronjob_cells(obj: Obj, now: float) -> list[Any]:
    spec, status = spec_of(obj), status_of(obj)
    job_spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    template_spec = (job_spec.get("template") or {}).get("spec") or {}
    last = status.get("lastScheduleTime")
    return [
        meta_of(obj).get("name"),
        spec.get("schedule", ""),
        _none(spec.get("timeZone")),
        str(bool(spec.get("suspend", False))),
        len(status.get("active") or []),
        age(last, now) if last else "<none>",
        _created(obj, now),
        *_containers_and_images(template_spec),
        format_selector(job_spec.get("selector")),
    ]


def _service_cells(obj: Obj, now: float) -> list[Any]:
    spec = spec_of(obj)
    return [
        meta_of(obj).get("name"),
        spec.get("type", "ClusterIP"),
        _none(spec.get("clusterIP")),
        service_external_ip(obj) or "<none>",
        ",".join(service_ports(obj)) or "<none>",
        _created(obj, now),
        format_labels(spec.get("selector")) or "<none>",
    ]


def _endpoints_cells(obj: Obj, now: float) -> list[Any]:
    pairs = []
    for subset in obj.get("subsets") or []:
        for address in subset.get("addresses") or []:
            for port in subset.get("ports") or [{}]:
                ip = address.get("ip", "")
                pairs.append(f"{ip}:{port['port']}" if "port" in port else ip)
    shown = ",".join(pairs[:3])
    if len(pairs) > 3:
        shown += f" + {len(pairs) - 3} more..."
    return [meta_of(obj).get("name"), shown or "<none>", _created(obj, now)]


_ACCESS_MODES = {
    "ReadWriteOnce": "RWO",
    "ReadOnlyMany": "ROX",
    "ReadWriteMany": "RWX",
    "ReadWriteOncePod": "RWOP",
}


def _access_modes(modes: Iterable[str]) -> str:
    return ",".join(_ACCESS_MODES.get(m, m) for m in modes)


def _pvc_cells(obj: Obj, now: float) -> list[Any]:
    spec, status = spec_of(obj), status_of(obj)
    bound = status.get("phase") == "Bound"
    capacity = (status.get("capacity") or {}).get("storage", "") if bound else ""
    return [
        meta_of(obj).get("name"),
        status.get("phase", "Pending"),
        spec.get("volumeName", ""),
        capacity,
        _access_modes(status.get("accessModes") or []) if bound else "",
        spec.get("storageClassName") or "<unset>",
        spec.get("volumeAttributesClassName") or "<unset>",
        _created(obj, now),
        spec.get("volumeMode", "Filesystem"),
    ]


def _pv_cells(obj: Obj, now: float) -> list[Any]:
    spec, status = spec_of(obj), status_of(obj)
    claim = spec.get("claimRef") or {}
    return [
        meta_of(obj).get("name"),
        (spec.get("capacity") or {}).get("storage", ""),
        _access_modes(spec.get("accessModes") or []),
        spec.get("persistentVolumeReclaimPolicy", "Retain"),
        status.get("phase", "Available"),
        f"{claim.get('namespace')}/{claim.get('name')}" if claim else "",
        spec.get("storageClassName", ""),
        spec.get("volumeAttributesClassName") or "<unset>",
        status.get("reason", ""),
        _created(obj, now),
        spec.get("volumeMode", "Filesystem"),
    ]


def _quota_cells(obj: Obj, now: float) -> list[Any]:
    status = status_of(obj)
    hard, used = status.get("hard") or {}, status.get("used") or {}
    requests: list[str] = []
    limits: list[str] = []
    for resource in sorted(hard):
        text = f"{resource}: {used.get(resource, '0')}/{hard[resource]}"
        (limits if resource.startswith("limits.") else requests).append(text)
    return [meta_of(obj).get("name"), _created(obj, now), ", ".join(requests), ", ".join(limits)]


def _hpa_cells(obj: Obj, now: float) -> list[Any]:
    spec, status = spec_of(obj), status_of(obj)
    ref = spec.get("scaleTargetRef") or {}
    targets = []
    current = {
        (m.get("resource") or {}).get("name"): (m.get("resource") or {}).get("current") or {}
        for m in status.get("currentMetrics") or []
        if m.get("type") == "Resource"
    }
    for metric in spec.get("metrics") or []:
        if metric.get("type") != "Resource":
            targets.append("<unknown>")
            continue
        resource = metric.get("resource") or {}
        target = (resource.get("target") or {}).get("averageUtilization")
        now_value = current.get(resource.get("name"), {}).get("averageUtilization")
        shown = f"{now_value}%" if now_value is not None else "<unknown>"
        targets.append(f"{resource.get('name')}: {shown}/{target}%")
    return [
        meta_of(obj).get("name"),
        f"{ref.get('kind')}/{ref.get('name')}",
        ", ".join(targets) or "<none>",
        spec.get("minReplicas", 1),
        spec.get("maxReplicas", 0),
        status.get("currentReplicas", 0),
        _created(obj, now),
    ]


def _simple(*cells: Callable[[Obj], Any]) -> Callable[[Obj, float], list[Any]]:
    def build(obj: Obj, now: float) -> list[Any]:
        return [meta_of(obj).get("name"), *(cell(obj) for cell in cells), _created(obj, now)]

    return build


PRINTERS: dict[str, Printer] = {
    "Pod": Printer(
        (
            NAME,
            Column("Ready"),
            Column("Status"),
            Column("Restarts"),
            AGE,
            Column("IP", priority=1),
            Column("Node", priority=1),
            Column("Nominated Node", priority=1),
            Column("Readiness Gates", priority=1),
        ),
        _pod_cells,
    ),
    "Event": Printer(
        (
            Column("Last Seen"),
            Column("Type"),
            Column("Reason"),
            Column("Object"),
            Column("Subobject", priority=1),
            Column("Source", priority=1),
            Column("Message"),
            Column("First Seen", priority=1),
            Column("Count", "integer", priority=1),
            Column("Name", priority=1),
        ),
        _event_cells,
    ),
    "Node": Printer(
        (
            NAME,
            Column("Status"),
            Column("Roles"),
            AGE,
            Column("Version"),
            Column("Internal-IP", priority=1),
            Column("External-IP", priority=1),
            Column("OS-Image", priority=1),
            Column("Kernel-Version", priority=1),
            Column("Container-Runtime", priority=1),
        ),
        _node_cells,
    ),
    "Namespace": Printer(
        (NAME, Column("Status"), AGE),
        _simple(lambda o: status_of(o).get("phase", "Active")),
    ),
    "Deployment": Printer(
        (
            NAME,
            Column("Ready"),
            Column("Up-to-date", "integer"),
            Column("Available", "integer"),
            AGE,
            CONTAINERS,
            IMAGES,
            SELECTOR,
        ),
        _deployment_cells,
    ),
    "ReplicaSet": Printer(
        (
            NAME,
            Column("Desired", "integer"),
            Column("Current", "integer"),
            Column("Ready", "integer"),
            AGE,
            CONTAINERS,
            IMAGES,
            SELECTOR,
        ),
        _replicaset_cells,
    ),
    "StatefulSet": Printer((NAME, Column("Ready"), AGE, CONTAINERS, IMAGES), _statefulset_cells),
    "DaemonSet": Printer(
        (
            NAME,
            Column("Desired", "integer"),
            Column("Current", "integer"),
            Column("Ready", "integer"),
            Column("Up-to-date", "integer"),
            Column("Available", "integer"),
            Column("Node Selector"),
            AGE,
            CONTAINERS,
            IMAGES,
            SELECTOR,
        ),
        _daemonset_cells,
    ),
    "Job": Printer(
        (
            NAME,
            Column("Status"),
            Column("Completions"),
            Column("Duration"),
            AGE,
            CONTAINERS,
            IMAGES,
            SELECTOR,
        ),
        _job_cells,
    ),
    "CronJob": Printer(
        (
            NAME,
            Column("Schedule"),
            Column("Timezone"),
            Column("Suspend"),
            Column("Active", "integer"),
            Column("Last Schedule"),
            AGE,
            CONTAINERS,
            IMAGES,
            SELECTOR,
        ),
        _cronjob_cells,
    ),
    "Service": Printer(
        (
            NAME,
            Column("Type"),
            Column("Cluster-IP"),
            Column("External-IP"),
            Column("Port(s)"),
            AGE,
            Column("Selector", priority=1),
        ),
        _service_cells,
    ),
    "Endpoints": Printer((NAME, Column("Endpoints"), AGE), _endpoints_cells),
    "ConfigMap": Printer(
        (NAME, Column("Data", "integer"), AGE),
        _simple(lambda o: len(o.get("data") or {}) + len(o.get("binaryData") or {})),
    ),
    "PersistentVolumeClaim": Printer(
        (
            NAME,
            Column("Status"),
            Column("Volume"),
            Column("Capacity"),
            Column("Access Modes"),
            Column("StorageClass"),
            Column("VolumeAttributesClass"),
            AGE,
            Column("VolumeMode", priority=1),
        ),
        _pvc_cells,
    ),
    "PersistentVolume": Printer(
        (
            NAME,
            Column("Capacity"),
            Column("Access Modes"),
            Column("Reclaim Policy"),
            Column("Status"),
            Column("Claim"),
            Column("StorageClass"),
            Column("VolumeAttributesClass"),
            Column("Reason"),
            AGE,
            Column("VolumeMode", priority=1),
        ),
        _pv_cells,
    ),
    "ResourceQuota": Printer(
        (NAME, AGE, Column("Request"), Column("Limit")),
        _quota_cells,
    ),
    "ServiceAccount": Printer(
        (NAME, Column("Secrets", "integer"), AGE),
        _simple(lambda o: len(o.get("secrets") or [])),
    ),
    "StorageClass": Printer(
        (
            NAME,
            Column("Provisioner"),
            Column("ReclaimPolicy"),
            Column("VolumeBindingMode"),
            Column("AllowVolumeExpansion"),
            AGE,
        ),
        _simple(
            lambda o: o.get("provisioner", ""),
            lambda o: o.get("reclaimPolicy", "Delete"),
            lambda o: o.get("volumeBindingMode", "Immediate"),
            lambda o: str(bool(o.get("allowVolumeExpansion", False))).lower(),
        ),
    ),
    "Lease": Printer(
        (NAME, Column("Holder"), AGE),
        _simple(lambda o: spec_of(o).get("holderIdentity", "")),
    ),
    "HorizontalPodAutoscaler": Printer(
        (
            NAME,
            Column("Reference"),
            Column("Targets"),
            Column("MinPods", "integer"),
            Column("MaxPods", "integer"),
            Column("Replicas", "integer"),
            AGE,
        ),
        _hpa_cells,
    ),
}

# What the API server prints for a kind without its own columns.
DEFAULT_PRINTER = Printer((NAME, AGE), _simple())


def printer_for(kind: str) -> Printer:
    return PRINTERS.get(kind, DEFAULT_PRINTER)
