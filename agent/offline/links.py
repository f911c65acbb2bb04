"""Which objects are part of this incident: the alert's target, and what the evidence ties to it
(the pod's node and Deployment, its ReplicaSets' pods, the dependencies its logs name). A
finding about a linked object counts in full; one about a bystander (another namespace's pod, a
node the target does not run on) counts less, so a loud neighbour does not become the cause."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from agent.offline.findings import Finding
from agent.offline.scene import Scene

OBJECT_FACTS = (
    "pod",
    "deployment",
    "replicaset",
    "statefulset",
    "daemonset",
    "job",
    "node",
    "pvc",
    "service",
)
# A pod name is its workload's name plus one (StatefulSet, Job) or two (Deployment) suffixes.
_POD_SUFFIX = re.compile(r"-[a-z0-9]{1,10}$")
_TLDS = frozenset(
    {"com", "net", "org", "io", "dev", "cloud", "co", "ai", "app", "internal", "amazonaws",
     "azure", "googleapis", "example", "local", "us", "eu", "uk", "de"}
)  # fmt: skip

# Cluster DNS runs as these pods; DNS errors in a target's logs make them part of the incident.
CLUSTER_DNS_PODS = ("coredns", "kube-dns")
UNLINKED_SAME_NAMESPACE = 0.6
UNLINKED_ELSEWHERE = 0.4
LOG_HOST_KINDS = frozenset(
    {"log_connection_failed", "log_dns_failure", "log_upstream_errors", "log_auth_failed",
     "log_cert_expired"}
)  # fmt: skip


@dataclass
class Links:
    scene: Scene
    objects: set[tuple[str, str]] = field(default_factory=set)
    prefixes: set[str] = field(default_factory=set)
    dependencies: set[tuple[str, str]] = field(default_factory=set)

    @classmethod
    def build(cls, scene: Scene, findings: Iterable[Finding]) -> Links:
        links = cls(scene)
        target = scene.target
        for key in OBJECT_FACTS:
            value = getattr(target, "persistentvolumeclaim" if key == "pvc" else key, None)
            if value:
                links.objects.add((key, value))
        for key in ("deployment", "statefulset", "daemonset", "service", "job"):
            value = getattr(target, key, None)
            if value:
                links.prefixes.add(value)
        for label in ("horizontalpodautoscaler", "app", "app_kubernetes_io_name", "workload"):
            if value := scene.alert.labels.get(label):
                links.prefixes.add(value)
        if target.pod:
            links.prefixes.update(workload_names(target.pod))
        found = list(findings)
        for _ in range(3):  # links found through links (pod -> deployment -> its pods)
            before = (len(links.objects), len(links.prefixes), len(links.dependencies))
            for finding in found:
                links._absorb(finding)
            if before == (len(links.objects), len(links.prefixes), len(links.dependencies)):
                break
        return links

    @property
    def has_target(self) -> bool:
        return bool(self.objects or self.prefixes)

    def is_linked(self, key: str, name: str) -> bool:
        if (key, name) in self.objects:
            return True
        if key in ("pod", "replicaset", "deployment", "statefulset", "service", "job", "pvc"):
            return any(name == p or name.startswith(p + "-") for p in self.prefixes)
        return False

    def relevance(self, finding: Finding) -> float:
        if not self.has_target:
            return 1.0
        named = _objects(finding)
        if not named:
            return 1.0
        if self._linked(named):
            return 1.0
        namespace = finding.about("namespace")
        if namespace is None or self.scene.namespace is None or namespace == self.scene.namespace:
            if all(key == "node" for key, _ in named):
                return UNLINKED_ELSEWHERE + 0.1
            return UNLINKED_SAME_NAMESPACE
        return UNLINKED_ELSEWHERE

    def _linked(self, named: list[tuple[str, str]]) -> bool:
        """Whether a finding is about the incident: its main object (the first named: a pod
        before its node) is linked, or it happened on the node the alert is about. Sharing a
        node with the target does not make a pod part of the incident."""
        key, name = named[0]
        if self.is_linked(key, name):
            return True
        if all(k == "pod" for k, _ in named) and len(named) > 1:  # a list of pods
            return any(self.is_linked(k, n) for k, n in named)
        node = self.scene.target.node
        return bool(node) and ("node", node) in named

    def _absorb(self, finding: Finding) -> None:
        named = _objects(finding)
        if not named or not self._linked(named):
            return
        for key, name in named:
            self.objects.add((key, name))
            if key in ("deployment", "replicaset", "statefulset", "daemonset", "job"):
                self.prefixes.add(name)
        for claim in finding.facts.get("claims") or []:
            if isinstance(claim, str):
                self.objects.add(("pvc", claim))
        if finding.kind == "log_dns_failure":
            self.prefixes.update(CLUSTER_DNS_PODS)
        if finding.kind in LOG_HOST_KINDS:
            namespace = finding.about("namespace") or self.scene.namespace or "default"
            for entry in finding.facts.get("hosts") or []:
                ref = service_ref(str(entry.get("host", "")), namespace)
                if ref is not None:
                    self.dependencies.add(ref)
                    self.objects.add(("service", ref[0]))
                    self.prefixes.add(ref[0])


def _objects(finding: Finding) -> list[tuple[str, str]]:
    """The objects a finding names, its main object first (OBJECT_FACTS order)."""
    named = [(key, str(finding.facts[key])) for key in OBJECT_FACTS if finding.facts.get(key)]
    listed = [("pod", pod) for pod in finding.facts.get("pods") or [] if isinstance(pod, str)]
    return [*named, *listed] if named else listed


def workload_names(pod: str) -> list[str]:
    """Names the pod's workload may have: `web-6c9f7b8d4-x2k4q` -> web-6c9f7b8d4, web."""
    names: list[str] = []
    current = pod
    for _ in range(2):
        shorter = _POD_SUFFIX.sub("", current)
        if shorter == current or not shorter:
            break
        names.append(shorter)
        current = shorter
    return names


def service_ref(host: str, namespace: str) -> tuple[str, str] | None:
    """The in-cluster Service a host name points at, as (service, namespace), or None for an
    external name or an address. `db`, `db.data`, `db.data.svc`, `db.data.svc.cluster.local`."""
    host = host.strip().strip(".").lower()
    if not host or re.fullmatch(r"[\d.]+|[\da-f:]+", host):
        return None
    labels = host.split(".")
    if "svc" in labels:
        index = labels.index("svc")
        if index >= 2:
            return labels[index - 2], labels[index - 1]
        return (labels[0], namespace) if index == 1 else None
    if len(labels) == 1:
        return labels[0], namespace
    if len(labels) == 2 and labels[1] not in _TLDS:
        return labels[0], labels[1]
    return None
