"""The `kubernetes` MCP server: read-only tools over the Kubernetes API, each a typed function
whose docstring is its description and whose result model (`models.py`) is its output schema."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Annotated, Any

from mcp.server.fastmcp import FastMCP
from mcp.server.fastmcp.exceptions import ToolError
from mcp.types import CallToolResult, ToolAnnotations

from ..structured import structured_result
from . import views
from .client import KubernetesReader, KubernetesSettings
from .kubectl import age, format_labels, format_selector
from .models import (
    ConfigMapDetail,
    DeploymentDetail,
    DeploymentList,
    EventList,
    EventRow,
    NamespaceList,
    NamespaceRow,
    NodeDetail,
    NodeList,
    ObjectRef,
    PodDetail,
    PodList,
    PodLogs,
    PVCDetail,
    PVCList,
    ResourceQuotaList,
    ServiceDetail,
    ServiceList,
    Truncated,
)

READ_ONLY = ToolAnnotations(
    readOnlyHint=True, destructiveHint=False, idempotentHint=True, openWorldHint=True
)
PAGE_SIZE = 500
SCAN_LIMIT = 2000  # objects read per list call at most; beyond that, ask for a narrower query
MAX_ROWS = 500
LIST_CAP = 200
DETAIL_EVENTS = 20
MAX_REVISIONS = 10
NODE_PODS = 100
SERVICE_ENDPOINTS = 50
LOG_MAX_LINES = 2000
LOG_MAX_CHARS = 20_000
LOG_LINE_CHARS = 1000
GREP_SCAN_LINES = 5000

Obj = dict[str, Any]

# involvedObject.kind must be spelled exactly; accept what people type.
_KINDS = {
    "pod": "Pod",
    "po": "Pod",
    "deployment": "Deployment",
    "deploy": "Deployment",
    "replicaset": "ReplicaSet",
    "rs": "ReplicaSet",
    "statefulset": "StatefulSet",
    "sts": "StatefulSet",
    "daemonset": "DaemonSet",
    "ds": "DaemonSet",
    "job": "Job",
    "cronjob": "CronJob",
    "node": "Node",
    "no": "Node",
    "service": "Service",
    "svc": "Service",
    "endpoints": "Endpoints",
    "pvc": "PersistentVolumeClaim",
    "persistentvolumeclaim": "PersistentVolumeClaim",
    "pv": "PersistentVolume",
    "persistentvolume": "PersistentVolume",
    "hpa": "HorizontalPodAutoscaler",
    "horizontalpodautoscaler": "HorizontalPodAutoscaler",
    "namespace": "Namespace",
    "ns": "Namespace",
    "configmap": "ConfigMap",
    "cm": "ConfigMap",
    "resourcequota": "ResourceQuota",
}


def _where(namespace: str | None) -> str:
    return f"namespace {namespace}" if namespace else "all namespaces"


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))


class _Tools:
    """The tools' bodies; `build_server` registers them."""

    def __init__(self, reader: KubernetesReader) -> None:
        self.reader = reader

    async def list_all(
        self, api: str, method: str, *args: Any, what: str, **kwargs: Any
    ) -> tuple[list[Obj], bool]:
        """Every item of a list call, page by page, up to SCAN_LIMIT; True if more remain."""
        items: list[Obj] = []
        token: str | None = None
        while True:
            page = await self.reader.read(
                api, method, *args, what=what, limit=PAGE_SIZE, _continue=token, **kwargs
            )
            items.extend(page.get("items") or [])
            token = (page.get("metadata") or {}).get("continue")
            if not token or len(items) >= SCAN_LIMIT:
                return items, bool(token)

    async def optional(self, coroutine: Any) -> Any:
        """A supplementary read (events, owners): its failure must not fail the tool."""
        try:
            return await coroutine
        except ToolError:
            return None

    async def events_for(self, namespace: str | None, kind: str, name: str) -> list[EventRow]:
        selector = f"involvedObject.kind={kind},involvedObject.name={name}"
        if namespace:
            found = await self.optional(
                self.list_all(
                    "CoreV1Api",
                    "list_namespaced_event",
                    namespace,
                    what=f"events of {kind} {namespace}/{name}",
                    field_selector=selector,
                )
            )
        else:
            found = await self.optional(
                self.list_all(
                    "CoreV1Api",
                    "list_event_for_all_namespaces",
                    what=f"events of {kind} {name}",
                    field_selector=selector,
                )
            )
        return views.event_rows(found[0] if found else [], _epoch())

    async def controller_of(self, pod: Obj) -> ObjectRef | None:
        """The pod's top controller: the Deployment of its ReplicaSet, the CronJob of its Job."""
        owner = views.owner_of(pod)
        namespace = pod["metadata"].get("namespace", "")
        lookups = {"ReplicaSet": "read_namespaced_replica_set", "Job": "read_namespaced_job"}
        if owner is None or owner.kind not in lookups:
            return owner
        api = "AppsV1Api" if owner.kind == "ReplicaSet" else "BatchV1Api"
        parent = await self.optional(
            self.reader.read(
                api,
                lookups[owner.kind],
                owner.name,
                namespace,
                what=f"{owner.kind} {namespace}/{owner.name}",
            )
        )
        return (views.owner_of(parent) if parent else None) or owner

    # -- tools ---------------------------------------------------------------------------

    async def list_namespaces(self) -> NamespaceList:
        items, more = await self.list_all("CoreV1Api", "list_namespace", what="namespaces")
        now = _epoch()
        rows = [
            NamespaceRow(
                name=str(ns["metadata"].get("name", "")),
                phase=str((ns.get("status") or {}).get("phase", "Active")),
                age=age(ns["metadata"].get("creationTimestamp"), now),
            )
            for ns in items
        ]
        shown, truncated = views.cap(rows, LIST_CAP, "namespaces", "there are many namespaces")
        return NamespaceList(namespaces=shown, truncated=truncated or _more(more, "namespaces"))

    async def list_pods(
        self,
        namespace: str | None,
        label_selector: str | None,
        field_selector: str | None,
        limit: int,
    ) -> PodList:
        filters = {"label_selector": label_selector, "field_selector": field_selector}
        filters = {k: v for k, v in filters.items() if v}
        if namespace:
            items, more = await self.list_all(
                "CoreV1Api",
                "list_namespaced_pod",
                namespace,
                what=f"pods in {_where(namespace)}",
                **filters,
            )
        else:
            items, more = await self.list_all(
                "CoreV1Api", "list_pod_for_all_namespaces", what="pods in all namespaces", **filters
            )
        now = _epoch()
        rows = [views.pod_row(pod, now) for pod in items]
        rows.sort(key=lambda r: (views.pod_attention(r), r.namespace, r.name))
        shown, truncated = views.cap(
            rows,
            _clamp(limit, 1, MAX_ROWS),
            "pods",
            "narrow with namespace, label_selector (app=checkout) or field_selector"
            " (status.phase=Pending, spec.nodeName=NODE); pods with problems are listed first",
        )
        return PodList(pods=shown, total=len(rows), truncated=truncated or _more(more, "pods"))

    async def get_pod(self, name: str, namespace: str) -> PodDetail:
        pod = await self.reader.read(
            "CoreV1Api", "read_namespaced_pod", name, namespace, what=f"pod {namespace}/{name}"
        )
        events, controller = await asyncio.gather(
            self.events_for(namespace, "Pod", name), self.controller_of(pod)
        )
        return views.pod_detail(pod, events, controller, _epoch(), max_events=DETAIL_EVENTS)

    async def pod_logs(
        self,
        name: str,
        namespace: str,
        container: str | None,
        previous: bool,
        tail_lines: int,
        since_seconds: int | None,
        grep: str | None,
    ) -> PodLogs:
        pattern = None
        if grep:
            try:
                pattern = re.compile(grep, re.IGNORECASE)
            except re.error as exc:
                raise ToolError(f"grep {grep!r} is not a valid regular expression: {exc}") from None
        tail = _clamp(tail_lines, 1, LOG_MAX_LINES)
        note = None
        if not container:
            pod = await self.reader.read(
                "CoreV1Api", "read_namespaced_pod", name, namespace, what=f"pod {namespace}/{name}"
            )
            names = [c.get("name", "") for c in (pod.get("spec") or {}).get("containers") or []]
            annotations = pod["metadata"].get("annotations") or {}
            container = annotations.get("kubectl.kubernetes.io/default-container") or names[0]
            if len(names) > 1:
                others = ", ".join(n for n in names if n != container)
                note = f"container defaulted to {container}; the pod also has: {others}"
        fetch = GREP_SCAN_LINES if pattern else tail + 1
        run = "previous run of " if previous else ""
        text = await self.reader.read_text(
            "CoreV1Api",
            "read_namespaced_pod_log",
            name,
            namespace,
            what=f"logs of the {run}container {container} in pod {namespace}/{name}",
            container=container,
            previous=previous,
            tail_lines=fetch,
            **({"since_seconds": since_seconds} if since_seconds else {}),
        )
        lines = text.splitlines()
        earlier_unread = len(lines) >= fetch
        if pattern:
            lines = [line for line in lines if pattern.search(line)]
        omitted = max(0, len(lines) - tail)
        lines = [
            line if len(line) <= LOG_LINE_CHARS else line[:LOG_LINE_CHARS] + " [line cut]"
            for line in lines[-tail:]
        ]
        while len(lines) > 1 and sum(len(line) + 1 for line in lines) > LOG_MAX_CHARS:
            lines.pop(0)
            omitted += 1
        truncated = None
        if omitted or earlier_unread:
            scope = f"the last {GREP_SCAN_LINES} lines were searched; " if pattern else ""
            truncated = Truncated(
                what="lines",
                omitted=None if earlier_unread and not pattern else omitted,
                hint=f"{scope}earlier lines exist: use grep, since_seconds or a larger tail_lines",
            )
        return PodLogs(
            pod=name,
            namespace=namespace,
            container=container,
            previous=previous,
            grep=grep or None,
            line_count=len(lines),
            text="\n".join(lines),
            note=note,
            truncated=truncated,
        )

    async def list_events(
        self,
        namespace: str | None,
        involved_object: str | None,
        kind: str | None,
        warnings_only: bool,
        limit: int,
    ) -> EventList:
        selectors = []
        if involved_object:
            kind_part, _, name_part = involved_object.rpartition("/")
            kind = kind or kind_part or None
            selectors.append(f"involvedObject.name={name_part}")
        if kind:
            selectors.append(f"involvedObject.kind={_KINDS.get(kind.lower(), kind)}")
        if warnings_only:
            selectors.append("type=Warning")
        filters = {"field_selector": ",".join(selectors)} if selectors else {}
        if namespace:
            items, more = await self.list_all(
                "CoreV1Api",
                "list_namespaced_event",
                namespace,
                what=f"events in {_where(namespace)}",
                **filters,
            )
        else:
            items, more = await self.list_all(
                "CoreV1Api",
                "list_event_for_all_namespaces",
                what="events in all namespaces",
                **filters,
            )
        rows = views.event_rows(items, _epoch())
        shown, truncated = views.cap(
            rows,
            _clamp(limit, 1, MAX_ROWS),
            "events",
            "narrow with namespace, involved_object, kind or warnings_only=true (newest first)",
        )
        return EventList(
            events=shown, total=len(rows), truncated=truncated or _more(more, "events")
        )

    async def list_deployments(self, namespace: str | None) -> DeploymentList:
        if namespace:
            items, more = await self.list_all(
                "AppsV1Api",
                "list_namespaced_deployment",
                namespace,
                what=f"deployments in {_where(namespace)}",
            )
        else:
            items, more = await self.list_all(
                "AppsV1Api",
                "list_deployment_for_all_namespaces",
                what="deployments in all namespaces",
            )
        now = _epoch()
        rows = [views.deployment_row(d, now) for d in items]
        rows.sort(
            key=lambda r: (r.available >= r.desired and not r.unavailable, r.namespace, r.name)
        )
        shown, truncated = views.cap(
            rows,
            LIST_CAP,
            "deployments",
            "pass a namespace; deployments short of replicas come first",
        )
        return DeploymentList(deployments=shown, truncated=truncated or _more(more, "deployments"))

    async def get_deployment(self, name: str, namespace: str) -> DeploymentDetail:
        deployment = await self.reader.read(
            "AppsV1Api",
            "read_namespaced_deployment",
            name,
            namespace,
            what=f"deployment {namespace}/{name}",
        )
        selector = format_selector((deployment.get("spec") or {}).get("selector"))
        found = await self.optional(
            self.list_all(
                "AppsV1Api",
                "list_namespaced_replica_set",
                namespace,
                what=f"replicasets of deployment {namespace}/{name}",
                **({"label_selector": selector} if selector != "<none>" else {}),
            )
        )
        replicasets = views.owned_replicasets(deployment, found[0] if found else [])
        lookups = [self.events_for(namespace, "Deployment", name)] + [
            self.events_for(namespace, "ReplicaSet", rs["metadata"]["name"])
            for rs in replicasets[:2]
        ]
        events = [row for rows in await asyncio.gather(*lookups) for row in rows]
        events.sort(key=lambda e: e.last_seen or "", reverse=True)
        return views.deployment_detail(
            deployment,
            replicasets,
            events,
            _epoch(),
            max_events=DETAIL_EVENTS,
            max_revisions=MAX_REVISIONS,
        )

    async def list_nodes(self) -> NodeList:
        items, more = await self.list_all("CoreV1Api", "list_node", what="nodes")
        now = _epoch()
        rows = [views.node_row(node, now) for node in items]
        rows.sort(key=lambda r: (not (r.problems or r.unschedulable), r.name))
        shown, truncated = views.cap(
            rows, LIST_CAP, "nodes", "nodes with problems are listed first"
        )
        return NodeList(nodes=shown, truncated=truncated or _more(more, "nodes"))

    async def get_node(self, name: str) -> NodeDetail:
        node = await self.reader.read("CoreV1Api", "read_node", name, what=f"node {name}")
        pods, events = await asyncio.gather(
            self.optional(
                self.list_all(
                    "CoreV1Api",
                    "list_pod_for_all_namespaces",
                    what=f"pods on node {name}",
                    field_selector=f"spec.nodeName={name}",
                )
            ),
            self.events_for(None, "Node", name),
        )
        return views.node_detail(
            node,
            pods[0] if pods else [],
            events,
            _epoch(),
            max_pods=NODE_PODS,
            max_events=DETAIL_EVENTS,
        )

    async def list_pvcs(self, namespace: str | None) -> PVCList:
        if namespace:
            items, more = await self.list_all(
                "CoreV1Api",
                "list_namespaced_persistent_volume_claim",
                namespace,
                what=f"persistentvolumeclaims in {_where(namespace)}",
            )
        else:
            items, more = await self.list_all(
                "CoreV1Api",
                "list_persistent_volume_claim_for_all_namespaces",
                what="persistentvolumeclaims in all namespaces",
            )
        now = _epoch()
        rows = [views.pvc_row(pvc, now) for pvc in items]
        rows.sort(key=lambda r: (r.phase == "Bound", r.namespace, r.name))
        shown, truncated = views.cap(
            rows, LIST_CAP, "pvcs", "pass a namespace; unbound claims come first"
        )
        return PVCList(pvcs=shown, truncated=truncated or _more(more, "pvcs"))

    async def get_pvc(self, name: str, namespace: str) -> PVCDetail:
        pvc = await self.reader.read(
            "CoreV1Api",
            "read_namespaced_persistent_volume_claim",
            name,
            namespace,
            what=f"persistentvolumeclaim {namespace}/{name}",
        )
        pods, events = await asyncio.gather(
            self.optional(
                self.list_all(
                    "CoreV1Api", "list_namespaced_pod", namespace, what=f"pods in {namespace}"
                )
            ),
            self.events_for(namespace, "PersistentVolumeClaim", name),
        )
        users = views.pods_using_claim(pods[0] if pods else [], name)
        return views.pvc_detail(pvc, users, events, _epoch(), max_events=DETAIL_EVENTS)

    async def list_resource_quotas(self, namespace: str | None) -> ResourceQuotaList:
        if namespace:
            items, more = await self.list_all(
                "CoreV1Api",
                "list_namespaced_resource_quota",
                namespace,
                what=f"resourcequotas in {_where(namespace)}",
            )
        else:
            items, more = await self.list_all(
                "CoreV1Api",
                "list_resource_quota_for_all_namespaces",
                what="resourcequotas in all namespaces",
            )
        quotas = [views.quota_summary(q) for q in items]
        shown, truncated = views.cap(quotas, LIST_CAP, "quotas", "pass a namespace")
        return ResourceQuotaList(quotas=shown, truncated=truncated or _more(more, "quotas"))

    async def list_services(self, namespace: str | None) -> ServiceList:
        if namespace:
            items, more = await self.list_all(
                "CoreV1Api",
                "list_namespaced_service",
                namespace,
                what=f"services in {_where(namespace)}",
            )
        else:
            items, more = await self.list_all(
                "CoreV1Api", "list_service_for_all_namespaces", what="services in all namespaces"
            )
        now = _epoch()
        rows = [views.service_row(s, now) for s in items]
        shown, truncated = views.cap(rows, LIST_CAP, "services", "pass a namespace")
        return ServiceList(services=shown, truncated=truncated or _more(more, "services"))

    async def get_service(self, name: str, namespace: str) -> ServiceDetail:
        service = await self.reader.read(
            "CoreV1Api",
            "read_namespaced_service",
            name,
            namespace,
            what=f"service {namespace}/{name}",
        )
        selector = (service.get("spec") or {}).get("selector") or {}

        async def matching() -> int | None:
            if not selector:
                return None
            label_selector = format_labels(selector)
            found = await self.optional(
                self.list_all(
                    "CoreV1Api",
                    "list_namespaced_pod",
                    namespace,
                    what=f"pods of service {namespace}/{name}",
                    label_selector=label_selector,
                )
            )
            return len(found[0]) if found else None

        endpoints, pods, events = await asyncio.gather(
            self.optional(
                self.reader.read(
                    "CoreV1Api",
                    "read_namespaced_endpoints",
                    name,
                    namespace,
                    what=f"endpoints {namespace}/{name}",
                )
            ),
            matching(),
            self.events_for(namespace, "Service", name),
        )
        return views.service_detail(
            service,
            endpoints,
            pods,
            events,
            _epoch(),
            max_endpoints=SERVICE_ENDPOINTS,
            max_events=DETAIL_EVENTS,
        )

    async def get_configmap(self, name: str, namespace: str) -> ConfigMapDetail:
        configmap = await self.reader.read(
            "CoreV1Api",
            "read_namespaced_config_map",
            name,
            namespace,
            what=f"configmap {namespace}/{name}",
        )
        return views.configmap_detail(configmap, _epoch())


def _epoch() -> float:
    return time.time()


def _more(more: bool, what: str) -> Truncated | None:
    if not more:
        return None
    return Truncated(
        what=what,
        hint=f"only the first {SCAN_LIMIT} {what} were read; narrow the query"
        " (namespace, selectors)",
    )


def build_server(env: Mapping[str, str]) -> FastMCP:
    """The `kubernetes` MCP server, configured only from `env`."""
    reader = KubernetesReader(KubernetesSettings.from_env(env))
    tools = _Tools(reader)

    @asynccontextmanager
    async def lifespan(server: FastMCP) -> AsyncIterator[None]:
        try:
            yield
        finally:
            reader.close()

    mcp = FastMCP("kubernetes", lifespan=lifespan)

    @mcp.tool(annotations=READ_ONLY)
    async def list_namespaces() -> Annotated[CallToolResult, NamespaceList]:
        """List namespaces with their phase and age."""
        return structured_result(await tools.list_namespaces())

    @mcp.tool(annotations=READ_ONLY)
    async def list_pods(
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        limit: int = 50,
    ) -> Annotated[CallToolResult, PodList]:
        """List pods (all namespaces unless `namespace` is given), pods with problems first.
        Each row: name, namespace, phase, status (kubectl's STATUS: CrashLoopBackOff, OOMKilled,
        ImagePullBackOff, Pending, ...), ready ("1/2"), restarts, last_termination_reason and
        last_exit_code, age, node. label_selector: `app=checkout`; field_selector:
        `status.phase=Pending` or `spec.nodeName=NODE`. At most `limit` rows (max 500)."""
        return structured_result(
            await tools.list_pods(namespace, label_selector, field_selector, limit)
        )

    @mcp.tool(annotations=READ_ONLY)
    async def get_pod(name: str, namespace: str) -> Annotated[CallToolResult, PodDetail]:
        """Describe one pod like `kubectl describe pod`: phase, status, node, owner and top
        controller (the Deployment behind a ReplicaSet), conditions (PodScheduled carries the
        scheduler's message), each container's image, ready, restart_count, state (waiting
        reason/message, running since, terminated reason/exit code), last_termination, probes,
        requests/limits, env refs to ConfigMaps/Secrets (names and keys, never values), volumes,
        and the pod's recent events (newest first)."""
        return structured_result(await tools.get_pod(name, namespace))

    @mcp.tool(annotations=READ_ONLY)
    async def pod_logs(
        name: str,
        namespace: str,
        container: str | None = None,
        previous: bool = False,
        tail_lines: int = 200,
        since_seconds: int | None = None,
        grep: str | None = None,
    ) -> Annotated[CallToolResult, PodLogs]:
        """Read a container's log (the last `tail_lines`, max 2000). `previous=true` reads the
        run before the last restart (what a crashed container printed before it died).
        Without `container` the pod's default (first) container is used. `grep` is a
        case-insensitive regular expression applied to the last 5000 lines; the last
        `tail_lines` matches are returned."""
        return structured_result(
            await tools.pod_logs(
                name, namespace, container, previous, tail_lines, since_seconds, grep
            )
        )

    @mcp.tool(annotations=READ_ONLY)
    async def list_events(
        namespace: str | None = None,
        involved_object: str | None = None,
        kind: str | None = None,
        warnings_only: bool = False,
        limit: int = 50,
    ) -> Annotated[CallToolResult, EventList]:
        """List events, newest first: type, reason, message, count, first/last seen, and the
        object they are about. `involved_object` is a name or `Kind/name` (`Pod/checkout-x`,
        `deployment/checkout`); `kind` filters on the object kind; `warnings_only` keeps
        Warning events. At most `limit` rows (max 500)."""
        return structured_result(
            await tools.list_events(namespace, involved_object, kind, warnings_only, limit)
        )

    @mcp.tool(annotations=READ_ONLY)
    async def list_deployments(
        namespace: str | None = None,
    ) -> Annotated[CallToolResult, DeploymentList]:
        """List deployments with ready/desired, updated and available replicas and images;
        those short of replicas first."""
        return structured_result(await tools.list_deployments(namespace))

    @mcp.tool(annotations=READ_ONLY)
    async def get_deployment(
        name: str, namespace: str
    ) -> Annotated[CallToolResult, DeploymentDetail]:
        """Describe a deployment: replicas (desired/ready/updated/available), conditions,
        strategy, containers (image, resources, probes, env refs), the rollout history
        (ReplicaSets by revision: images, created, replicas, change-cause), what changed
        between the two newest revisions (`last_change`: images, resources, env, args, ...),
        and recent events of the deployment and its newest ReplicaSets (FailedCreate when a
        quota rejects pods)."""
        return structured_result(await tools.get_deployment(name, namespace))

    @mcp.tool(annotations=READ_ONLY)
    async def list_nodes() -> Annotated[CallToolResult, NodeList]:
        """List nodes: status (Ready/NotReady, SchedulingDisabled), roles, version, problem
        conditions (e.g. `MemoryPressure=True`, `Ready=Unknown`) and taints; problems first."""
        return structured_result(await tools.list_nodes())

    @mcp.tool(annotations=READ_ONLY)
    async def get_node(name: str) -> Annotated[CallToolResult, NodeDetail]:
        """Describe a node: conditions, taints, unschedulable, capacity and allocatable, the
        requests/limits its pods allocate (with percents), the pods on it, and its events."""
        return structured_result(await tools.get_node(name))

    @mcp.tool(annotations=READ_ONLY)
    async def list_pvcs(namespace: str | None = None) -> Annotated[CallToolResult, PVCList]:
        """List persistent volume claims: phase, volume, requested size and capacity, access
        modes, storage class; unbound first."""
        return structured_result(await tools.list_pvcs(namespace))

    @mcp.tool(annotations=READ_ONLY)
    async def get_pvc(name: str, namespace: str) -> Annotated[CallToolResult, PVCDetail]:
        """Describe a persistent volume claim: phase, storage class, requested size, volume,
        provisioner, the pods using it, and its events (ProvisioningFailed explains a Pending
        claim)."""
        return structured_result(await tools.get_pvc(name, namespace))

    @mcp.tool(annotations=READ_ONLY)
    async def list_resource_quotas(
        namespace: str | None = None,
    ) -> Annotated[CallToolResult, ResourceQuotaList]:
        """List resource quotas: for each resource, hard limit vs used, percent, and whether it
        is exhausted (new pods needing it are rejected)."""
        return structured_result(await tools.list_resource_quotas(namespace))

    @mcp.tool(annotations=READ_ONLY)
    async def list_services(namespace: str | None = None) -> Annotated[CallToolResult, ServiceList]:
        """List services: type, cluster IP, external IP, ports, selector."""
        return structured_result(await tools.list_services(namespace))

    @mcp.tool(annotations=READ_ONLY)
    async def get_service(name: str, namespace: str) -> Annotated[CallToolResult, ServiceDetail]:
        """Describe a service: ports and target ports, selector, how many pods the selector
        matches, ready and not-ready endpoints (`ip:port (pod)`), and its events."""
        return structured_result(await tools.get_service(name, namespace))

    @mcp.tool(annotations=READ_ONLY)
    async def get_configmap(
        name: str, namespace: str
    ) -> Annotated[CallToolResult, ConfigMapDetail]:
        """Show a ConfigMap's keys and values (long values cut). Secrets are never read."""
        return structured_result(await tools.get_configmap(name, namespace))

    return mcp
