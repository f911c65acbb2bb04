"""The served cluster: scenario objects with times resolved and the fields a real API server always
sets filled in (uid, resourceVersion, creationTimestamp, namespaces, references), indexed once."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from mcp_bridge.servers.kubernetes.kubectl import epoch

from .resources import RESOURCES_BY_KIND
from .timeoffsets import format_time, resolve_times

# uids are derived from kind/namespace/name, so a scenario serves the same uids on every run.
_UID_NAMESPACE = uuid.UUID("5b1d3c9e-8f2a-4e61-9b7d-0c4a2f6e8d13")
_FIRST_RESOURCE_VERSION = 481_200
BUILTIN_NAMESPACES = ("default", "kube-node-lease", "kube-public", "kube-system")
# When a scenario leaves creationTimestamp out, an object was made an hour ago; the cluster itself
# is at least a month old.
DEFAULT_AGE_S = 3600.0
CLUSTER_AGE_S = 30 * 86400.0
# The kubelet renews its node's Lease every 10 s; a node is NotReady 40 s after the last renewal.
_LEASE_DURATION_S = 40


_UidOf = Callable[[str, str, str], str]


def object_uid(kind: str, namespace: str, name: str) -> str:
    return str(uuid.uuid5(_UID_NAMESPACE, f"{kind}/{namespace}/{name}"))


@dataclass(frozen=True)
class StoredObject:
    """One object as served: the full body, and its JSON as a list item (without kind and
    apiVersion, as list items come from the real API)."""

    body: dict[str, Any]
    namespace: str
    name: str
    labels: dict[str, str]
    item_json: str
    full_json: str


class ClusterStore:
    """Objects by kind, sorted by namespace then name (the real API's etcd key order)."""

    def __init__(self, objects: Iterable[dict[str, Any]]) -> None:
        self._by_kind: dict[str, list[StoredObject]] = {}
        self._index: dict[tuple[str, str, str], StoredObject] = {}
        highest = 0
        for body in objects:
            meta = body["metadata"]
            item = {k: v for k, v in body.items() if k not in ("kind", "apiVersion")}
            stored = StoredObject(
                body=body,
                namespace=meta.get("namespace", ""),
                name=meta["name"],
                labels=meta.get("labels") or {},
                item_json=json.dumps(item, separators=(",", ":")),
                full_json=json.dumps(body, separators=(",", ":")),
            )
            self._by_kind.setdefault(body["kind"], []).append(stored)
            self._index[(body["kind"], stored.namespace, stored.name)] = stored
            highest = max(highest, int(meta["resourceVersion"]))
        for stored_list in self._by_kind.values():
            stored_list.sort(key=lambda s: (s.namespace, s.name))
        self.resource_version = str(highest + 1)

    def list(self, kind: str, namespace: str | None = None) -> list[StoredObject]:
        objects = self._by_kind.get(kind, [])
        if namespace is None:
            return objects
        return [o for o in objects if o.namespace == namespace]

    def get(self, kind: str, namespace: str, name: str) -> StoredObject | None:
        return self._index.get((kind, namespace, name))


def complete_cluster(objects: Iterable[dict[str, Any]], now: float) -> list[dict[str, Any]]:
    """Scenario objects as a real API server would return them at `now`: offsets resolved, Events
    named and timed, namespaces present, uid/resourceVersion/creationTimestamp set, and the uids
    in ownerReferences and involvedObject filled from the objects they point at."""
    bodies = [resolve_times(copy.deepcopy(obj), now) for obj in objects]
    for index, body in enumerate(bodies):
        if body["kind"] == "Event":
            _complete_event(body, index, now)

    # What the sandbox adds was there from the cluster's start: the oldest object's birth.
    born = min(
        [now - CLUSTER_AGE_S]
        + [t for b in bodies if (t := epoch(b["metadata"].get("creationTimestamp"))) is not None]
    )
    leases = {b["metadata"]["name"] for b in bodies if b["kind"] == "Lease"}
    for node in [b for b in bodies if b["kind"] == "Node"]:
        if node["metadata"]["name"] not in leases:
            bodies.append(_node_lease(node, born, now))
    namespaces = {b["metadata"]["name"] for b in bodies if b["kind"] == "Namespace"}
    wanted = set(BUILTIN_NAMESPACES) | {
        b["metadata"]["namespace"] for b in bodies if b["metadata"].get("namespace")
    }
    for name in sorted(wanted - namespaces):
        bodies.append(_namespace(name, born))

    uids: dict[tuple[str, str, str], str] = {}
    for index, body in enumerate(bodies):
        meta = body["metadata"]
        key = (body["kind"], meta.get("namespace", ""), meta["name"])
        meta.setdefault("uid", object_uid(*key))
        meta.setdefault("resourceVersion", str(_FIRST_RESOURCE_VERSION + 17 * index))
        meta.setdefault("creationTimestamp", format_time(now - DEFAULT_AGE_S))
        uids[key] = meta["uid"]

    def uid_of(kind: str, namespace: str, name: str) -> str:
        return uids.get((kind, namespace, name)) or object_uid(kind, namespace, name)

    for body in bodies:
        namespace = body["metadata"].get("namespace", "")
        for ref in body["metadata"].get("ownerReferences") or []:
            _fill_reference(ref, namespace, uid_of)
        if body["kind"] == "Event":
            _fill_reference(body["involvedObject"], namespace, uid_of)
    return bodies


def _fill_reference(ref: dict[str, Any], namespace: str, uid_of: _UidOf) -> None:
    """Fill apiVersion and uid of an ownerReference (same namespace as the owner) or an Event's
    involvedObject (which names its namespace)."""
    kind = str(ref.get("kind", ""))
    resource = RESOURCES_BY_KIND.get(kind)
    if resource is not None:
        ref.setdefault("apiVersion", resource.api_version)
    if "uid" in ref or "name" not in ref:
        return
    scoped = resource is None or resource.namespaced
    ref["uid"] = uid_of(kind, str(ref.get("namespace", namespace)) if scoped else "", ref["name"])


def _complete_event(event: dict[str, Any], index: int, now: float) -> None:
    meta = event.setdefault("metadata", {})
    involved = event["involvedObject"]
    meta.setdefault("namespace", involved.get("namespace") or "default")
    resource = RESOURCES_BY_KIND.get(str(involved.get("kind")))
    if resource is not None and resource.namespaced:
        involved.setdefault("namespace", meta["namespace"])
    first = event.get("firstTimestamp") or event.get("lastTimestamp")
    if first is None and not event.get("eventTime"):
        first = format_time(now)
    if first is not None:
        event.setdefault("firstTimestamp", first)
        event.setdefault("lastTimestamp", first)
    event.setdefault("count", 1)
    meta.setdefault("creationTimestamp", event.get("firstTimestamp") or format_time(now))
    # The event recorder names events `<object>.<hex nanoseconds>`.
    meta.setdefault("name", f"{involved['name']}.{int(now * 1e9) + index:x}")


def _node_lease(node: dict[str, Any], born: float, now: float) -> dict[str, Any]:
    """The kube-node-lease Lease `kubectl describe node` reads, renewed at the node's last
    heartbeat (a NotReady node's heartbeat is old, so is its lease)."""
    name = node["metadata"]["name"]
    conditions = (node.get("status") or {}).get("conditions") or []
    heartbeats = [epoch(c.get("lastHeartbeatTime")) for c in conditions if c.get("type") == "Ready"]
    renewed = next((t for t in heartbeats if t is not None), now - 7)
    created = epoch(node["metadata"].get("creationTimestamp")) or born
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {
            "name": name,
            "namespace": "kube-node-lease",
            "creationTimestamp": format_time(created),
            "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": name}],
        },
        "spec": {
            "holderIdentity": name,
            "leaseDurationSeconds": _LEASE_DURATION_S,
            "renewTime": format_time(renewed, micro=True),
        },
    }


def _namespace(name: str, born: float) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": name,
            "creationTimestamp": format_time(born),
            "labels": {"kubernetes.io/metadata.name": name},
        },
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    }
