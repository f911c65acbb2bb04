"""What the kubernetes tools return: compact, typed facts an SRE (or an analyzer) reads first.

Conventions, the same in every model:
- Fields that are null are left out of the JSON; read them with `.get()`.
- Times are RFC 3339 strings as the API gives them (`created`, `last_seen`, `started_at`, ...);
  `age` / `*_ago` fields are the same times as kubectl prints them (`40s`, `3m12s`, `3d`).
- Quantities stay in Kubernetes notation (`512Mi`, `250m`).
- A cut list or log says so in `truncated`: `{"what": "pods", "omitted": 120, "hint": "..."}`
  (`omitted` is null when the count is unknown, e.g. log lines before `tail_lines`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class Truncated(_Model):
    """What was cut from a result, how much, and how to ask for less."""

    what: str
    omitted: int | None = None
    hint: str


class Condition(_Model):
    """One status condition (pod, node, deployment, PVC). For a pod that cannot be scheduled,
    `PodScheduled` is False with reason `Unschedulable` and the scheduler's message."""

    type: str
    status: str
    reason: str | None = None
    message: str | None = None
    last_transition: str | None = None
    last_heartbeat: str | None = None


class ObjectRef(_Model):
    kind: str
    name: str


class EventRow(_Model):
    """One Event: `reason` is the machine word (BackOff, Unhealthy, FailedScheduling,
    FailedMount, FailedCreate, ProvisioningFailed, Failed, OOMKilling, ...), `message` the text."""

    namespace: str | None = None
    object_kind: str
    object_name: str
    field_path: str | None = None  # e.g. `spec.containers{app}`: which container it is about
    type: str  # Normal | Warning
    reason: str
    message: str
    count: int
    first_seen: str | None = None
    last_seen: str | None = None
    last_seen_ago: str | None = None
    source: str | None = None  # reporting component and host, e.g. `kubelet, node-1`


class ContainerState(_Model):
    """A container's state, or its last termination. `state` is waiting (reason e.g.
    CrashLoopBackOff, ImagePullBackOff, ErrImagePull, CreateContainerConfigError,
    ContainerCreating), running, or terminated (reason e.g. OOMKilled, Error, Completed, with
    `exit_code`: 137 is SIGKILL, typically the OOM killer; 143 SIGTERM; 1 an application error)."""

    state: Literal["waiting", "running", "terminated", "unknown"]
    reason: str | None = None
    message: str | None = None
    exit_code: int | None = None
    signal: int | None = None
    started_at: str | None = None
    finished_at: str | None = None


class Probe(_Model):
    """A liveness/readiness/startup probe. `handler` reads like kubectl describe:
    `http-get :8080/healthz`, `tcp-socket :5432`, `exec cat /tmp/ready`, `grpc :9090`."""

    handler: str
    initial_delay_s: int = 0
    timeout_s: int = 1
    period_s: int = 10
    success_threshold: int = 1
    failure_threshold: int = 3


class EnvRef(_Model):
    """Where an environment variable comes from, never its value. `variable` is null for
    `envFrom` (every key of the ConfigMap/Secret, with `prefix`)."""

    variable: str | None = None
    kind: Literal["ConfigMap", "Secret", "Field", "ResourceField"]
    name: str | None = None  # ConfigMap/Secret name, field path or resource
    key: str | None = None
    optional: bool = False
    prefix: str | None = None


class ContainerSpec(_Model):
    """A container as specified (pod template or pod spec). `env` has literal values, with
    values of secret-looking names (PASSWORD, TOKEN, KEY, ...) replaced by `<redacted>`."""

    name: str
    image: str
    command: list[str] | None = None
    args: list[str] | None = None
    ports: list[str] = Field(default_factory=list)  # `8080/TCP (http)`
    requests: dict[str, str] = Field(default_factory=dict)
    limits: dict[str, str] = Field(default_factory=dict)
    liveness_probe: Probe | None = None
    readiness_probe: Probe | None = None
    startup_probe: Probe | None = None
    env: dict[str, str] = Field(default_factory=dict)
    env_refs: list[EnvRef] = Field(default_factory=list)
    volume_mounts: list[str] = Field(default_factory=list)  # `/etc/app from config (ro)`


class ContainerDetail(ContainerSpec):
    """A pod's container: its spec plus status."""

    init: bool = False
    ready: bool = False
    started: bool | None = None
    restart_count: int = 0
    state: ContainerState
    last_termination: ContainerState | None = None


class VolumeSummary(_Model):
    """A pod volume and what backs it: `kind` is configMap, secret, persistentVolumeClaim,
    emptyDir, hostPath, projected, ...; `source` the ConfigMap/Secret/claim name."""

    name: str
    kind: str
    source: str | None = None
    optional: bool | None = None


class PodRow(_Model):
    """One pod as `kubectl get pods -o wide` shows it, plus its last termination."""

    name: str
    namespace: str
    phase: str
    status: str  # kubectl's STATUS: Running, CrashLoopBackOff, OOMKilled, Pending, Init:0/1, ...
    ready: str  # "1/2"
    restarts: int
    last_restart_ago: str | None = None
    last_termination_reason: str | None = None  # e.g. OOMKilled, from the most restarted container
    last_exit_code: int | None = None
    age: str
    node: str | None = None


class PodList(_Model):
    """Pods, those with problems (not Running/Completed, not ready, restarted) first."""

    pods: list[PodRow]
    total: int
    truncated: Truncated | None = None


class PodDetail(_Model):
    """A pod as `kubectl describe pod` shows it. `owner` is the direct controller
    (e.g. ReplicaSet), `controller` the top one (e.g. the Deployment owning that ReplicaSet)."""

    name: str
    namespace: str
    phase: str
    status: str
    ready: str
    restarts: int
    reason: str | None = None  # pod-level, e.g. Evicted
    message: str | None = None  # e.g. "The node was low on resource: ephemeral-storage."
    node: str | None = None
    pod_ip: str | None = None
    qos_class: str | None = None
    created: str | None = None
    age: str
    started: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    owner: ObjectRef | None = None
    controller: ObjectRef | None = None
    service_account: str | None = None
    node_selector: dict[str, str] = Field(default_factory=dict)
    tolerations: list[str] = Field(default_factory=list)
    conditions: list[Condition] = Field(default_factory=list)
    init_containers: list[ContainerDetail] = Field(default_factory=list)
    containers: list[ContainerDetail] = Field(default_factory=list)
    volumes: list[VolumeSummary] = Field(default_factory=list)
    events: list[EventRow] = Field(default_factory=list)  # newest first
    truncated: Truncated | None = None


class PodLogs(_Model):
    """A container's log text (newest lines last). With `grep`, only matching lines."""

    pod: str
    namespace: str
    container: str
    previous: bool
    grep: str | None = None
    line_count: int
    text: str
    note: str | None = None  # e.g. which container was chosen when none was named
    truncated: Truncated | None = None


class EventList(_Model):
    """Events, newest first."""

    events: list[EventRow]
    total: int
    truncated: Truncated | None = None


class NamespaceRow(_Model):
    name: str
    phase: str
    age: str


class NamespaceList(_Model):
    namespaces: list[NamespaceRow]
    truncated: Truncated | None = None


class DeploymentRow(_Model):
    name: str
    namespace: str
    ready: str  # "2/3"
    desired: int
    updated: int
    available: int
    unavailable: int
    age: str
    images: list[str]


class DeploymentList(_Model):
    """Deployments, those not fully available first."""

    deployments: list[DeploymentRow]
    truncated: Truncated | None = None


class ReplicaCounts(_Model):
    desired: int
    current: int
    ready: int
    updated: int
    available: int
    unavailable: int


class RevisionSummary(_Model):
    """One ReplicaSet of a Deployment: a rollout revision."""

    revision: int | None = None
    replicaset: str
    created: str | None = None
    age: str
    images: list[str]
    desired: int
    ready: int
    change_cause: str | None = None  # the kubernetes.io/change-cause annotation


class FieldChange(_Model):
    """One difference between two pod templates; `field` reads like
    `containers[app].image`, `containers[app].env.DB_HOST`, `containers[app].limits.memory`,
    `volumes.config`, `annotations.kubectl.kubernetes.io/restartedAt`. null = absent."""

    field: str
    before: str | None = None
    after: str | None = None


class RolloutChange(_Model):
    """What changed from the previous revision to the newest one."""

    from_revision: int | None = None
    to_revision: int | None = None
    from_replicaset: str
    to_replicaset: str
    changed_at: str | None = None  # when the newest ReplicaSet was created
    changed_ago: str | None = None
    changes: list[FieldChange]


class DeploymentDetail(_Model):
    """A Deployment with its rollout history (`rollout_history`, newest first) and what the
    last rollout changed (`last_change`). `events` include its ReplicaSets' events (e.g.
    FailedCreate when a ResourceQuota rejects pods)."""

    name: str
    namespace: str
    created: str | None = None
    age: str
    revision: int | None = None
    generation: int | None = None
    observed_generation: int | None = None
    paused: bool = False
    selector: str
    replicas: ReplicaCounts
    strategy: str
    conditions: list[Condition] = Field(default_factory=list)
    containers: list[ContainerSpec] = Field(default_factory=list)
    init_containers: list[ContainerSpec] = Field(default_factory=list)
    volumes: list[VolumeSummary] = Field(default_factory=list)
    rollout_history: list[RevisionSummary] = Field(default_factory=list)
    last_change: RolloutChange | None = None
    events: list[EventRow] = Field(default_factory=list)
    truncated: Truncated | None = None


class NodeRow(_Model):
    name: str
    status: str  # Ready | NotReady | Unknown, with ",SchedulingDisabled" when cordoned
    roles: str
    age: str
    version: str | None = None
    unschedulable: bool = False
    problems: list[str] = Field(default_factory=list)  # e.g. ["Ready=Unknown", "DiskPressure=True"]
    taints: list[str] = Field(default_factory=list)


class NodeList(_Model):
    """Nodes, those with problems first."""

    nodes: list[NodeRow]
    truncated: Truncated | None = None


class ResourceAllocation(_Model):
    """Requests and limits of the node's pods against what it can allocate, as
    `kubectl describe node` totals them; percents of allocatable."""

    resource: str
    allocatable: str | None = None
    requests: str
    requests_percent: int | None = None
    limits: str
    limits_percent: int | None = None


class NodePodRow(_Model):
    namespace: str
    name: str
    status: str
    ready: str
    restarts: int
    cpu_requests: str | None = None
    memory_requests: str | None = None
    memory_limits: str | None = None


class NodeDetail(_Model):
    """A node as `kubectl describe node` shows it: conditions, taints, capacity, what its
    pods request, and the pods on it."""

    name: str
    status: str
    roles: str
    unschedulable: bool = False
    created: str | None = None
    age: str
    kubelet_version: str | None = None
    os_image: str | None = None
    container_runtime: str | None = None
    internal_ip: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    taints: list[str] = Field(default_factory=list)  # `key=value:NoSchedule`
    conditions: list[Condition] = Field(default_factory=list)
    capacity: dict[str, str] = Field(default_factory=dict)
    allocatable: dict[str, str] = Field(default_factory=dict)
    allocated: list[ResourceAllocation] = Field(default_factory=list)
    pods: list[NodePodRow] = Field(default_factory=list)
    events: list[EventRow] = Field(default_factory=list)
    truncated: Truncated | None = None


class PVCRow(_Model):
    name: str
    namespace: str
    phase: str  # Pending | Bound | Lost
    volume: str | None = None
    requested: str | None = None
    capacity: str | None = None
    access_modes: list[str] = Field(default_factory=list)
    storage_class: str | None = None
    age: str


class PVCList(_Model):
    pvcs: list[PVCRow]
    truncated: Truncated | None = None


class PVCDetail(_Model):
    """A PersistentVolumeClaim; a Pending one's `events` carry the reason (ProvisioningFailed,
    e.g. `storageclass.storage.k8s.io "fast" not found`, or WaitForFirstConsumer)."""

    name: str
    namespace: str
    phase: str
    storage_class: str | None = None
    requested: str | None = None
    capacity: str | None = None
    access_modes: list[str] = Field(default_factory=list)
    volume: str | None = None
    volume_mode: str | None = None
    provisioner: str | None = None
    selected_node: str | None = None
    created: str | None = None
    age: str
    conditions: list[Condition] = Field(default_factory=list)
    used_by: list[str] = Field(default_factory=list)  # pods mounting it
    events: list[EventRow] = Field(default_factory=list)
    truncated: Truncated | None = None


class QuotaUsage(_Model):
    resource: str  # e.g. pods, requests.cpu, limits.memory
    hard: str
    used: str
    used_percent: int | None = None
    exhausted: bool  # used >= hard: new pods asking for it are rejected (FailedCreate)


class ResourceQuotaSummary(_Model):
    name: str
    namespace: str
    resources: list[QuotaUsage]


class ResourceQuotaList(_Model):
    quotas: list[ResourceQuotaSummary]
    truncated: Truncated | None = None


class ServiceRow(_Model):
    name: str
    namespace: str
    type: str
    cluster_ip: str | None = None
    external_ip: str | None = None
    ports: list[str]  # `80/TCP`, `443:30443/TCP`
    selector: str
    age: str


class ServiceList(_Model):
    services: list[ServiceRow]
    truncated: Truncated | None = None


class ServicePort(_Model):
    name: str | None = None
    port: int
    target_port: str
    protocol: str
    node_port: int | None = None


class ServiceDetail(_Model):
    """A Service and who answers it: `ready_endpoints` / `not_ready_endpoints` as
    `ip:port (pod)`; `matching_pods` counts pods its selector matches (0 = selector typo)."""

    name: str
    namespace: str
    type: str
    cluster_ip: str | None = None
    external_ips: list[str] = Field(default_factory=list)
    ports: list[ServicePort] = Field(default_factory=list)
    selector: dict[str, str] = Field(default_factory=dict)
    matching_pods: int | None = None
    ready_endpoints: list[str] = Field(default_factory=list)
    not_ready_endpoints: list[str] = Field(default_factory=list)
    age: str
    events: list[EventRow] = Field(default_factory=list)
    truncated: Truncated | None = None


class ConfigMapDetail(_Model):
    """A ConfigMap's keys and (capped) values. Secrets are never read."""

    name: str
    namespace: str
    created: str | None = None
    age: str
    keys: list[str]
    data: dict[str, str]
    binary_keys: list[str] = Field(default_factory=list)
    truncated: Truncated | None = None
