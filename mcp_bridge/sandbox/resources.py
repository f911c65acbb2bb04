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
    Resource("Namespace", "namespaces", "", "v1", False, ("ns",), (), ("status.phase",)),
    Resource("Node", "nodes", "", "v1", False, ("no",), (), ("spec.unschedulable",)),
    Resource(
        "Pod",
        "pods",
        "",
        "v1",
        True,
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
    Resource("Service", "services", "", "v1", True, ("svc",), ("all",)),
    Resource("Endpoints", "endpoints", "", "v1", True, ("ep",)),
    Resource("ConfigMap", "configmaps", "", "v1", True, ("cm",)),
    Resource("Secret", "secrets", "", "v1", True, (), (), ("type",), readable=False),
    Resource("PersistentVolumeClaim", "persistentvolumeclaims", "", "v1", True, ("pvc",)),
    Resource("PersistentVolume", "persistentvolumes", "", "v1", False, ("pv",)),
    Resource("ResourceQuota", "resourcequotas", "", "v1", True, ("quota",)),
    Resource("LimitRange", "limitranges", "", "v1", True, ("limits",)),
    Resource("ServiceAccount", "serviceaccounts", "", "v1", True, ("sa",)),
    Resource("Deployment", "deployments", "apps", "v1", True, ("deploy",), ("all",)),
    Resource(
        "ReplicaSet", "replicasets", "apps", "v1", True, ("rs",), ("all",), ("status.replicas",)
    ),
    Resource("StatefulSet", "statefulsets", "apps", "v1", True, ("sts",), ("all",)),
    Resource("DaemonSet", "daemonsets", "apps", "v1", True, ("ds",), ("all",)),
    Resource("Job", "jobs", "batch", "v1", True, (), ("all",), ("status.successful",)),
    Resource("CronJob", "cronjobs", "batch", "v1", True, ("cj",), ("all",)),
    Resource("StorageClass", "storageclasses", "storage.k8s.io", "v1", False, ("sc",)),
    Resource("Lease", "leases", "coordination.k8s.io", "v1", True),
    Resource(
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        "autoscaling",
        "v2",
        True,
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
