"""The kinds the sandbox's Kubernetes API serves: one table row per resource (group, version,
plural, scope, short names, field selectors), read by the loader, discovery and the router."""

from __future__ import annotations

from dataclasses import dataclass

# Every resource accepts these in a fieldSelector, as the real API server does.
COMMON_FIELD_LABELS = ("metadata.name", "metadata.namespace")


@dataclass(frozen=True)
class Resource:
    """One served resource type, as discovery describes it."""

    kind: str
    plural: str
    group: str  # "" is the core group, served under /api/v1
    version: str
    namespaced: bool
    model: str  # the official Python client's model class, whose schema scenario objects follow
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    # Extra fields the real API server accepts in a fieldSelector for this resource.
    field_labels: tuple[str, ...] = ()
    # Secrets are listed by discovery but every read is Forbidden, as for a read-only bot.
    readable: bool = True

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def qualified_plural(self) -> str:
        """How the API names the resource in messages: `pods`, `deployments.apps`."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def supports_field(self, field: str) -> bool:
        return field in COMMON_FIELD_LABELS or field in self.field_labels


RESOURCES: tuple[Resource, ...] = (
    Resource(
        "Namespace", "namespaces", "", "v1", False, "V1Namespace", ("ns",), (), ("status.phase",)
    ),
    Resource("Node", "nodes", "", "v1", False, "V1Node", ("no",), (), ("spec.unschedulable",)),
    Resource(
        "Pod",
        "pods",
        "",
        "v1",
        True,
        "V1Pod",
        ("po",),
        ("all",),
        (
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.nominatedNodeName",
        ),
    ),
    Resource(
        "Event",
        "events",
        "",
        "v1",
        True,
        "CoreV1Event",
        ("ev",),
        (),
        (
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        ),
    ),
    Resource("Service", "services", "", "v1", True, "V1Service", ("svc",), ("all",)),
    Resource("Endpoints", "endpoints", "", "v1", True, "V1Endpoints", ("ep",)),
    Resource("ConfigMap", "configmaps", "", "v1", True, "V1ConfigMap", ("cm",)),
    Resource("Secret", "secrets", "", "v1", True, "V1Secret", (), (), ("type",), readable=False),
    Resource(
        "PersistentVolumeClaim",
        "persistentvolumeclaims",
        "",
        "v1",
        True,
        "V1PersistentVolumeClaim",
        ("pvc",),
    ),
    Resource(
        "PersistentVolume", "persistentvolumes", "", "v1", False, "V1PersistentVolume", ("pv",)
    ),
    Resource("ResourceQuota", "resourcequotas", "", "v1", True, "V1ResourceQuota", ("quota",)),
    Resource("LimitRange", "limitranges", "", "v1", True, "V1LimitRange", ("limits",)),
    Resource("ServiceAccount", "serviceaccounts", "", "v1", True, "V1ServiceAccount", ("sa",)),
    Resource(
        "Deployment", "deployments", "apps", "v1", True, "V1Deployment", ("deploy",), ("all",)
    ),
    Resource(
        "ReplicaSet",
        "replicasets",
        "apps",
        "v1",
        True,
        "V1ReplicaSet",
        ("rs",),
        ("all",),
        ("status.replicas",),
    ),
    Resource(
        "StatefulSet", "statefulsets", "apps", "v1", True, "V1StatefulSet", ("sts",), ("all",)
    ),
    Resource("DaemonSet", "daemonsets", "apps", "v1", True, "V1DaemonSet", ("ds",), ("all",)),
    Resource("Job", "jobs", "batch", "v1", True, "V1Job", (), ("all",), ("status.successful",)),
    Resource("CronJob", "cronjobs", "batch", "v1", True, "V1CronJob", ("cj",), ("all",)),
    Resource(
        "StorageClass", "storageclasses", "storage.k8s.io", "v1", False, "V1StorageClass", ("sc",)
    ),
    Resource("Lease", "leases", "coordination.k8s.io", "v1", True, "V1Lease"),
    Resource(
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        "autoscaling",
        "v2",
        True,
        "V2HorizontalPodAutoscaler",
        ("hpa",),
        ("all",),
    ),
)

RESOURCES_BY_KIND: dict[str, Resource] = {r.kind: r for r in RESOURCES}


def group_versions() -> dict[str, list[Resource]]:
    """Resources per API group version ("v1", "apps/v1", ...), in registry order."""
    grouped: dict[str, list[Resource]] = {}
    for resource in RESOURCES:
        grouped.setdefault(resource.api_version, []).append(resource)
    return grouped
