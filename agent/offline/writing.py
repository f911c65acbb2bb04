"""The report in words: a root cause that names the actual thing (container, limit, exit code,
key and ConfigMap, dependency host, image, node, PVC, quota), remediation commands with the real
names filled in, and what to check next. One writer per category."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from agent.offline.findings import Finding
from agent.offline.scene import Scene, dependency_noun, human_bytes, human_duration, quantity
from agent.offline.verdict import Verdict
from agent.report import Category, Confidence, Diagnosis, Evidence

_C = Category

# Context kinds that are worth a sentence in the report when they concern the target.
RULED_OUT_KINDS = frozenset(
    {"old_rollout", "single_revision", "dependency_up", "nodes_ready", "node_healthy", "quotas_ok",
     "no_quotas", "cpu_not_throttled", "latency_flat", "error_rate_flat", "traffic_steady",
     "cluster_dns_ok", "service_has_endpoints", "pvc_bound", "cert_valid", "targets_up",
     "no_other_alerts", "config_key_present_now"}
)  # fmt: skip
_ERROR_KINDS = ("api_unreachable", "tool_error", "not_found")
# Context worth stating when no cause is established: it is what a person would look at next.
_UNKNOWN_CONTEXT = (
    "traffic_increase", "hpa_at_max", "traffic_drop", "recent_rollout", "other_alerts"
)  # fmt: skip


@dataclass
class Draft:
    summary: str
    root_cause: str
    remediation: list[str] = field(default_factory=list)
    next_checks: list[str] = field(default_factory=list)
    # Findings that carry the story, shown first in the evidence.
    cited: list[Finding] = field(default_factory=list)


@dataclass(frozen=True)
class Story:
    scene: Scene
    verdict: Verdict
    findings: list[Finding]

    def best(self, *kinds: str, pool: Iterable[Finding] | None = None) -> Finding | None:
        candidates = [f for f in (pool if pool is not None else self.findings) if f.kind in kinds]
        if not candidates:
            return None
        order = {kind: index for index, kind in enumerate(kinds)}
        return max(candidates, key=lambda f: (f.strength, -order[f.kind]))

    def lead(self) -> Finding | None:
        return self.verdict.support[0] if self.verdict.support else None

    def context(self, *kinds: str) -> Finding | None:
        """A context finding about the target (relevance 1), the first of `kinds` present."""
        for kind in kinds:
            for finding in self.findings:
                if finding.kind == kind and finding.facts.get("relevance", 1.0) >= 1.0:
                    return finding
        return None


def write(
    scene: Scene, verdict: Verdict, findings: list[Finding], *, not_checked: list[str]
) -> Diagnosis:
    story = Story(scene, verdict, findings)
    draft = WRITERS.get(verdict.category, _unknown)(story)
    if verdict.category not in (_C.NO_ISSUE, _C.UNKNOWN) and verdict.confidence.value == "medium":
        draft.next_checks.insert(
            0, "The mechanism is inferred, not directly observed: confirm it with the checks below."
        )
    if verdict.confidence is not Confidence.HIGH:
        draft.next_checks.extend(f"Not checked: {item}" for item in not_checked[:3])
    return Diagnosis(
        summary=_one_line(draft.summary, 200),
        category=verdict.category,
        root_cause=_sentences(draft.root_cause),
        confidence=verdict.confidence,
        evidence=_evidence(story, draft),
        remediation=_unique(draft.remediation)[:6],
        next_checks=_unique(draft.next_checks)[:6],
    )


# --- shared pieces ---------------------------------------------------------------------------


def _ns(finding: Finding | None, scene: Scene) -> str:
    return (finding.about("namespace") if finding else None) or scene.namespace or "<namespace>"


def _workload(finding: Finding | None, scene: Scene) -> str:
    """`deployment/checkout` for kubectl, from the finding or the alert."""
    for key in ("deployment", "statefulset", "daemonset"):
        value = (finding.about(key) if finding else None) or getattr(scene.target, key, None)
        if value:
            return f"{key}/{value}"
    pod = (finding.about("pod") if finding else None) or scene.target.pod
    if pod:
        return f"deployment/<owner of {pod}>"
    return "deployment/<name>"


def _container_label(finding: Finding) -> str:
    container, pod = finding.about("container"), finding.about("pod")
    namespace = finding.about("namespace")
    where = f"{namespace}/{pod}" if namespace and pod else (pod or "the pod")
    return f"container {container} of pod {where}" if container else f"pod {where}"


def _rollout_sentence(rollout: Finding | None) -> str:
    if rollout is None:
        return ""
    before = rollout.facts.get("minutes_before_alert")
    when = (
        f" {before:.0f} minutes before the alert"
        if isinstance(before, int | float) and before >= 0
        else ""
    )
    return (
        f"Deployment {rollout.about('deployment')} rolled out revision "
        f"{rollout.facts.get('to_revision')}{when}."
    )


def _first_line_of(finding: Finding | None) -> str:
    line = finding.facts.get("line") if finding else None
    return f' Its logs say: "{_one_line(str(line), 160)}".' if line else ""


def _verify(namespace: str, workload: str) -> str:
    return (
        f"Verify: kubectl -n {namespace} rollout status {workload} && kubectl -n {namespace} "
        "get pods -o wide"
    )


# --- writers ---------------------------------------------------------------------------------


def _oom(story: Story) -> Draft:
    scene = story.scene
    killed = (
        story.best(
            "oom_killed",
            "oom_killed_listed",
            "node_oom",
            "evicted_memory",
            "memory_at_limit",
            "log_out_of_memory",
            "node_memory_pressure",
            "node_memory_pressure_metric",
            "memory_near_limit",
        )
        or story.lead()
    )
    assert killed is not None
    memory = story.best("memory_at_limit", "memory_near_limit")
    lowered = story.best("rollout_lowered_memory_limit")
    traffic = story.context("traffic_increase")
    namespace, workload = _ns(killed, scene), _workload(killed, scene)
    limit = killed.about("memory_limit") or (
        human_bytes(memory.facts["limit_bytes"])
        if memory and memory.facts.get("limit_bytes")
        else None
    )
    container = killed.about("container") or "<container>"
    if killed.kind in ("oom_killed", "oom_killed_listed"):
        code = killed.facts.get("exit_code")
        code_text = f" (exit code {code})" if code is not None else ""
        if limit:
            cause = (
                f"The {_container_label(killed)} is OOMKilled{code_text}: it exceeds its "
                f"memory limit of {limit}"
            )
        else:
            cause = (
                f"The {_container_label(killed)} is OOMKilled{code_text} with no memory limit "
                "set: the node ran out of memory"
            )
        if memory:
            cause += ", its working set climbing to the limit before each kill"
        cause += "."
    elif killed.kind in (
        "node_oom",
        "evicted_memory",
        "node_memory_pressure",
        "node_memory_pressure_metric",
    ):
        cause = f"The node runs out of memory: {killed.statement}."
    else:
        cause = f"{killed.statement}: the container is at its memory limit" + (
            f" of {limit}." if limit else "."
        )
    if lowered:
        cause += f" {lowered.statement}."
    elif traffic:
        cause += f" {traffic.statement}, which raised memory use."
    new_limit = _raised(limit, 1.5) if limit else "1Gi"
    remediation = []
    if lowered:
        remediation.append(f"kubectl -n {namespace} rollout undo {workload}")
    remediation += [
        f"kubectl -n {namespace} set resources {workload} -c {container} "
        f"--limits=memory={new_limit}",
        _verify(namespace, workload),
        "Then watch the working set against the new limit: "
        f'container_memory_working_set_bytes{{namespace="{namespace}", container="{container}"}}',
    ]
    # The summary names what is known (the command templates above may keep `<container>`).
    pod = killed.about("pod")
    who = killed.about("container") or (f"pod {namespace}/{pod}" if pod else workload)
    node = killed.about("node")
    summary = (
        f"{who} OOMKilled at its {limit} memory limit"
        if limit
        else f"{who} killed for lack of memory" + (f" on node {node}" if node else "")
    )
    return Draft(
        summary=summary,
        root_cause=cause,
        remediation=remediation,
        next_checks=[
            "Tell a leak from load: does memory grow with traffic or steadily over hours?",
            "Check the runtime's own memory settings (JVM -Xmx/MaxRAMPercentage, GOMEMLIMIT) "
            "against the limit.",
        ],
        cited=[f for f in (killed, memory, lowered, traffic) if f],
    )


def _bad_config(story: Story) -> Draft:
    scene = story.scene
    lead = story.lead()
    assert lead is not None
    config = story.best("container_config_error", "missing_config_key", "missing_config_object")
    confirmed = story.best("config_key_confirmed_missing")
    added = story.best("rollout_added_missing_reference")
    rollout = story.context("recent_rollout")
    namespace = _ns(config or lead, scene)
    workload = _workload(config or lead, scene)
    remediation: list[str] = []
    cited = [f for f in (config, confirmed, added) if f]
    if config is not None:
        key, variable = config.about("key"), config.about("variable")
        source = config.about("source") or "ConfigMap"
        holder = (
            config.about("configmap") or config.about("secret") or _ref_tail(config.about("ref"))
        )
        if key and holder:
            var = f"environment variable {variable} reads" if variable else "it references"
            cause = (
                f"The {_container_label(config)} cannot start (CreateContainerConfigError): {var} "
                f"key {key} from {source} {namespace}/{holder}, which has no key {key}"
            )
            if confirmed and confirmed.facts.get("keys") is not None:
                keys = ", ".join(str(k) for k in (confirmed.facts.get("keys") or [])[:6])
                cause += f" (it has {keys})" if keys else ""
            cause += "."
            kind = "configmap" if source == "ConfigMap" else "secret"
            remediation.append(
                f"kubectl -n {namespace} patch {kind} {holder} --type merge -p "
                f'\'{{"data":{{"{key}":"<value>"}}}}\''
                if kind == "configmap"
                else (
                    f"kubectl -n {namespace} create secret generic {holder} "
                    f"--from-literal={key}=<value> --dry-run=client -o yaml | kubectl apply -f "
                    "-  (keeps other keys only if you add them too)"
                )
            )
        elif holder:
            cause = (
                f"The {_container_label(config)} cannot start: {source} {namespace}/{holder} "
                "does not exist."
            )
            remediation.append(
                f"kubectl -n {namespace} create "
                f"{'configmap' if source == 'ConfigMap' else 'secret generic'} {holder} "
                "--from-literal=<key>=<value>"
            )
        else:
            cause = f"{config.statement}."
        if added:
            cause += (
                f" {added.statement}; the old pods keep running while the new ones never start."
            )
            remediation.insert(0, f"kubectl -n {namespace} rollout undo {_workload(added, scene)}")
        elif rollout:
            cause += f" {_rollout_sentence(rollout)}"
    else:
        cause = _config_cause(story, lead)
        cited.append(lead)
        if _restart_only(rollout):
            cause += (
                f" {_rollout_sentence(rollout)} It changed nothing in the pod template "
                "(a `rollout restart`), so the new pods read the current contents of their "
                "ConfigMaps and Secrets."
            )
        elif rollout and lead.kind not in ("rollout_config_points_at_bad_host",):
            cause += f" {_rollout_sentence(rollout)}"
        if lead.kind in ("rollout_config_points_at_bad_host", "new_revision_crashes") or (
            rollout and not _restart_only(rollout)
        ):
            remediation.append(f"kubectl -n {namespace} rollout undo {workload}")
        names = lead.facts.get("names") or []
        config_source = next(
            (
                f
                for f in story.findings
                if f.kind == "configmap_keys" and names and names[0] in (f.facts.get("data") or {})
            ),
            None,
        )
        if config_source is not None:
            remediation.append(
                f"kubectl -n {config_source.about('namespace')} patch configmap "
                f"{config_source.about('configmap')} "
                f'--type merge -p \'{{"data":{{"{names[0]}":"<correct value>"}}}}\''
            )
            remediation.append(f"kubectl -n {namespace} rollout restart {workload}")
        elif names:
            remediation.append(
                f"kubectl -n {namespace} set env {workload} {names[0]}=<correct value>"
            )
        remediation.append(
            f"kubectl -n {namespace} get {workload} -o yaml  # check env, args, command and "
            "mounted config"
        )
    remediation.append(_verify(namespace, workload))
    summary = f"{_subject(config or lead)}: configuration error"
    if config is not None and config.about("key"):
        summary = (
            f"missing key {config.about('key')} in {config.about('source') or 'ConfigMap'} "
            f"{config.about('configmap') or config.about('secret') or ''}"
        ).strip()
    return Draft(
        summary=summary,
        root_cause=cause,
        remediation=remediation,
        next_checks=[
            "Check the other environments' config for the same key before rolling forward again."
        ],
        cited=cited,
    )


def _config_cause(story: Story, lead: Finding) -> str:
    if lead.kind.startswith("log_"):
        crash = story.best(
            "error_exit", "clean_exit_restarted", "crash_looping", "crash_loop_listed"
        )
        exits = (
            f" exits with code {crash.facts.get('exit_code')}"
            if crash and crash.facts.get("exit_code") is not None
            else " fails"
        )
        names = lead.facts.get("names") or []
        named = f" ({', '.join(str(n) for n in names[:3])})" if names else ""
        cause = (
            f"The {_container_label(lead)}{exits} because of missing or invalid "
            f"configuration{named}: "
            f'"{_one_line(str(lead.facts.get("line", "")), 180)}".'
        )
        for name in names[:2]:
            source = _configured_value(story, str(name))
            if source:
                cause += f" {source}."
        return cause
    if lead.kind in ("command_cannot_run", "container_cannot_start"):
        return f"{lead.statement}: the command, args or image entrypoint are wrong."
    return f"{lead.statement}."


def _configured_value(story: Story, name: str) -> str | None:
    """`ConfigMap ns/x sets REDIS_URL=...`, when a ConfigMap that was read holds the name."""
    for finding in story.findings:
        data = finding.facts.get("data") or {}
        if finding.kind == "configmap_keys" and name in data:
            return (
                f"ConfigMap {finding.about('namespace')}/{finding.about('configmap')} sets "
                f"{name}={_one_line(str(data[name]), 120)}"
            )
    return None


def _restart_only(rollout: Finding | None) -> bool:
    return rollout is not None and rollout.facts.get("change_kinds") == ["restart"]


def _image_pull(story: Story) -> Draft:
    scene = story.scene
    pull = story.best("image_pull", "image_pull_listed") or story.lead()
    assert pull is not None
    rollout = story.context("recent_rollout")
    namespace, workload = _ns(pull, scene), _workload(pull, scene)
    image = (
        pull.about("image") or _image_in(pull.facts.get("message") or pull.statement) or "<image>"
    )
    messages = [
        str(f.facts.get("message") or f.statement)
        for f in story.findings
        if f.kind in ("image_pull", "image_pull_listed")
    ]
    reasons = [_pull_reason(m) for m in messages]
    why = next(
        (r for r in reasons if r in _PULL_REASONS), reasons[0] if reasons else "the pull fails"
    )
    cause = f"The {_container_label(pull)} cannot pull image {image}: {why}."
    image_change = (rollout.facts.get("image_change") if rollout else None) or {}
    if image_change:
        cause += (
            f" The rollout to revision {rollout.facts.get('to_revision') if rollout else '?'} "
            f"changed the image from {image_change.get('before')} to {image_change.get('after')}."
        )
    container = pull.about("container") or "<container>"
    remediation = [
        f"kubectl -n {namespace} rollout undo {workload}"
        if image_change
        else f"kubectl -n {namespace} set image {workload} {container}=<an image:tag that exists>",
        f"Check the tag exists and this cluster may pull it: crane manifest {image}  (or "
        f"docker manifest inspect {image})",
        f"kubectl -n {namespace} get {workload} -o "
        f"jsonpath='{{.spec.template.spec.imagePullSecrets}}'  # registry credentials",
        _verify(namespace, workload),
    ]
    return Draft(
        summary=f"cannot pull image {image}",
        root_cause=cause,
        remediation=remediation,
        next_checks=["Check the registry's status and rate limits if several images fail to pull."],
        cited=[f for f in (pull, rollout) if f],
    )


_PULL_REASONS = (
    "the image or tag does not exist in the registry",
    "the registry refuses access (credentials or imagePullSecrets)",
    "the registry cannot be reached or is failing",
    "the image name is invalid",
)


def _pull_reason(message: str) -> str:
    lowered = message.lower()
    if "not found" in lowered or "manifest unknown" in lowered or "unknown manifest" in lowered:
        return _PULL_REASONS[0]
    if any(
        w in lowered
        for w in ("unauthorized", "denied", "authentication", "forbidden", "401", "403")
    ):
        return _PULL_REASONS[1]
    if any(
        w in lowered
        for w in (
            "no such host",
            "timeout",
            "connection refused",
            "i/o",
            "unavailable",
            "tls",
            "503",
            "500",
        )
    ):
        return _PULL_REASONS[2]
    if "invalidimagename" in lowered or "invalid reference" in lowered:
        return _PULL_REASONS[3]
    return _one_line(message, 200) or "the pull fails"


def _image_in(text: str) -> str | None:
    match = re.search(r"image \"([^\"]{1,300})\"", text)
    return match.group(1) if match else None


def _unschedulable(story: Story) -> Draft:
    scene = story.scene
    lead = story.best("unschedulable") or story.lead()
    assert lead is not None
    namespace, workload = _ns(lead, scene), _workload(lead, scene)
    message = str(lead.facts.get("message") or lead.statement)
    requests = lead.facts.get("requests") or {}
    asked = ", ".join(f"{k} {v}" for k, v in requests.items())
    subject = lead.about("pod") or lead.about("object_name") or "the pod"
    cause = f"Pod {namespace}/{subject} cannot be scheduled: {_scheduler_reason(message)}"
    cause += f" (the scheduler says: {_one_line(message, 200)})."
    if asked:
        cause += f" It requests {asked}."
    full = story.best("node_full")
    if full:
        cause += f" {full.statement}."
    remediation = []
    lowered = message.lower()
    if "insufficient" in lowered:
        remediation += [
            f"kubectl -n {namespace} set resources {workload} "
            "--requests=cpu=<less>,memory=<less>  # if the requests are larger than needed",
            "Add capacity: scale the node group (cluster autoscaler / cloud console) so a node "
            "has room for the requests",
        ]
    if "taint" in lowered:
        remediation.append(
            "kubectl get nodes -o custom-columns=NAME:.metadata.name,TAINTS:.spec.taints  # "
            "then add a toleration or remove the taint"
        )
    if "affinity" in lowered or "selector" in lowered:
        remediation.append(
            f"kubectl -n {namespace} get {workload} -o "
            f"jsonpath='{{.spec.template.spec.nodeSelector}}{{.spec.template.spec.affinity}}'  "
            "# fix the selector or label a node"
        )
    remediation.append("kubectl describe nodes | grep -A6 'Allocated resources'")
    remediation.append(f"Verify: kubectl -n {namespace} get pods -o wide  # the pod leaves Pending")
    return Draft(
        summary=f"{subject} cannot be scheduled",
        root_cause=cause,
        remediation=remediation,
        next_checks=["Check the cluster autoscaler's events if it should have added a node."],
        cited=[f for f in (lead, full) if f],
    )


def _scheduler_reason(message: str) -> str:
    lowered = message.lower()
    reasons = []
    for resource in ("cpu", "memory", "ephemeral-storage", "pods", "nvidia.com/gpu"):
        if f"insufficient {resource}" in lowered:
            reasons.append(f"no node has enough free {resource} for its requests")
    if "untolerated taint" in lowered or "had taint" in lowered:
        reasons.append("nodes carry taints the pod does not tolerate")
    if (
        "node affinity" in lowered
        or "node selector" in lowered
        or "didn't match pod's node" in lowered
    ):
        reasons.append("no node matches its node selector or affinity")
    if "anti-affinity" in lowered or "pod affinity" in lowered:
        reasons.append("its pod (anti-)affinity rules cannot be met")
    if "unschedulable" in lowered and "node(s) were unschedulable" in lowered:
        reasons.append("nodes are cordoned")
    if "too many pods" in lowered:
        reasons.append("nodes are at their pod limit")
    return "; ".join(reasons) or "no node fits it"


def _probe(story: Story) -> Draft:
    scene = story.scene
    lead = story.lead()
    assert lead is not None
    failing = story.best("probe_failing", "liveness_kill")
    container_finding = story.best("sigkill", "container_not_ready", "crash_looping", "pod_context")
    probe_kind = (failing.facts.get("probe") if failing else None) or (
        "liveness" if story.best("sigkill", "liveness_kill") else "readiness"
    )
    facts_from = container_finding or lead
    namespace, workload = _ns(facts_from, scene), _workload(facts_from, scene)
    container = (
        (failing.about("container") if failing else None)
        or facts_from.about("container")
        or "<container>"
    )
    probes = _probes_of(story, container)
    probe = probes.get(probe_kind, {})
    handler = probe.get("handler")
    settings = ""
    if probe:
        settings = (
            f" ({handler}, timeout {probe.get('timeout_s')}s, initial delay "
            f"{probe.get('initial_delay_s')}s, failure threshold {probe.get('failure_threshold')})"
        )
    detail = _one_line(str(failing.facts.get("message") if failing else lead.statement), 200)
    cause = (
        f"The {probe_kind} probe of container {container}{settings} fails while the process is "
        f"running: {detail}."
    )
    if probe_kind in ("liveness", "startup") and story.best("sigkill", "liveness_kill"):
        cause += (
            " The kubelet kills and restarts the container (exit 137) each time the probe fails."
        )
    changed = story.best("rollout_changed_probe")
    if changed:
        cause += f" {changed.statement}."
    field_name = {
        "liveness": "livenessProbe",
        "readiness": "readinessProbe",
        "startup": "startupProbe",
    }[probe_kind]
    patch = (
        f"kubectl -n {namespace} patch {workload} -p "
        f'\'{{"spec":{{"template":{{"spec":{{"containers":[{{"name":"{container}","{field_name}":'
        f'{{"timeoutSeconds":5,"initialDelaySeconds":30}}}}]}}}}}}}}\''
    )
    remediation = []
    if changed:
        remediation.append(f"kubectl -n {namespace} rollout undo {workload}")
    remediation += [
        f"Check the probe target answers inside the pod: kubectl -n {namespace} exec "
        f"{scene.target.pod or '<pod>'} -c {container} -- wget -qO- http://127.0.0.1:<port><path>",
        patch + "  # or fix the path/port the probe uses",
        _verify(namespace, workload),
    ]
    return Draft(
        summary=f"{probe_kind} probe of {container} fails",
        root_cause=cause,
        remediation=remediation,
        next_checks=[
            "Compare the probe's path and port with what the app serves, and its timeout with "
            "the app's response time under load."
        ],
        cited=[f for f in (lead, failing, changed) if f],
    )


def _probes_of(story: Story, container: str) -> dict[str, dict[str, Any]]:
    for finding in story.findings:
        probes = finding.facts.get("probes")
        if probes and (finding.about("container") == container or container == "<container>"):
            return dict(probes)
    return {}


def _bad_deploy(story: Story) -> Draft:
    scene = story.scene
    lead = (
        story.best("regression_after_rollout", "new_revision_crashes", "recent_rollout")
        or story.lead()
    )
    assert lead is not None
    rollout = story.best("recent_rollout") or lead
    namespace, workload = _ns(rollout, scene), _workload(rollout, scene)
    from_revision = rollout.facts.get("from_revision")
    image = rollout.facts.get("image_change") or {}
    change = (
        f"image {image.get('before')} -> {image.get('after')}" if image else _changes_text(rollout)
    )
    cause = (
        f"The rollout of deployment {rollout.about('deployment')} to revision "
        f"{rollout.facts.get('to_revision')} ({change}) introduced a regression: "
    )
    if lead.kind == "regression_after_rollout":
        cause += (
            f"{lead.facts.get('regression') or lead.statement}, starting right after the rollout"
        )
        if lead.facts.get("from_new_pods"):
            cause += f", and only the new revision's pods ({lead.facts['from_new_pods']}) show it"
        cause += "."
    elif lead.kind == "new_revision_crashes":
        cause += f"its pods crash ({lead.facts.get('crash')}) while the previous revision ran fine."
    else:
        cause += f"{lead.statement}."
    cause += " Nothing more specific (configuration, dependency, resources) explains it."
    undo = f"kubectl -n {namespace} rollout undo {workload}" + (
        f" --to-revision={from_revision}" if from_revision else ""
    )
    return Draft(
        summary=(
            f"regression from rollout of {rollout.about('deployment')} revision "
            f"{rollout.facts.get('to_revision')}"
        ),
        root_cause=cause,
        remediation=[
            undo,
            _verify(namespace, workload),
            "Then confirm the error rate and latency return to their levels before the rollout.",
            f"kubectl -n {namespace} rollout history {workload}  # find what changed, fix "
            "forward from there",
        ],
        next_checks=["Read the new version's changelog for the endpoints that regressed."],
        cited=[f for f in (lead, rollout) if f],
    )


def _changes_text(rollout: Finding) -> str:
    changes = rollout.facts.get("changes") or []
    return (
        "; ".join(
            f"{c.get('field')} {c.get('before') or '(unset)'} -> {c.get('after') or '(unset)'}"
            for c in changes[:3]
        )
        or "no visible template change"
    )


def _dependency(story: Story) -> Draft:
    scene = story.scene
    lead = (
        story.best(
            "dependency_down",
            "dependency_missing",
            "errors_follow_dependency",
            "exits_on_dependency_error",
            "dependency_errors",
        )
        or story.lead()
    )
    assert lead is not None
    host = lead.about("host")
    port = lead.facts.get("port")
    noun = dependency_noun(port)
    target = (
        f"{host}:{port}"
        if host and port
        else (host or lead.about("dependency") or lead.about("service") or "a dependency")
    )
    dependency = lead.about("dependency") or lead.about("service")
    dep_namespace = (
        lead.about("dependency_namespace")
        or lead.about("namespace")
        or scene.namespace
        or "<namespace>"
    )
    crash = story.best(
        "error_exit", "crash_looping", "crash_loop_listed", "container_not_ready", "probe_failing"
    )
    symptom = (
        f"{_container_label(crash)} fails"
        if crash and crash.about("pod")
        else (lead.about("pod") or "The service") + " fails"
    )
    address = lead.about("address")
    shown = f"{target} ({address})" if address else target
    if lead.kind in ("dependency_down", "dependency_missing"):
        cause = (
            f"{symptom[0].upper() + symptom[1:]} because {noun} it needs, {shown}, is "
            f"down or unreachable: {_clause(_after_colon(lead.statement))}."
        )
    elif lead.kind == "exits_on_dependency_error":
        cause = (
            f"{symptom[0].upper() + symptom[1:]} because it cannot reach {noun} it needs, "
            f"{shown}, and exits when it fails to connect."
        )
        exporter = story.best("exporter_down")
        if exporter is not None:
            cause += f" {_clause(exporter.statement)}."
    elif lead.kind in ("errors_follow_dependency", "dependency_errors"):
        dependency = lead.about("dependency") or lead.about("host") or dependency
        service = scene.target.service or scene.target.deployment or "The service"
        own = lead.facts.get("service_errors")
        theirs = lead.facts.get("dependency_errors")
        if own and theirs:
            cause = (
                f"{service} fails because a dependency it calls, {dependency}, is failing: "
                f"{_clause(str(theirs))}; {_lower_first(_clause(str(own)))} at the same time."
            )
        else:
            cause = (
                f"{service} fails because a dependency it calls, {dependency}, is failing: "
                f"{_clause(lead.statement)}."
            )
    else:
        cause = (
            f"{symptom[0].upper() + symptom[1:]} because a dependency is failing: {lead.statement}."
        )
    line = lead.facts.get("line")
    if line:
        cause += f' Its logs say: "{_one_line(str(line), 150)}".'
    namespace, workload = _ns(crash or lead, scene), _workload(crash or lead, scene)
    remediation = []
    if dependency:
        remediation += [
            f"kubectl -n {dep_namespace} get pods,endpoints | grep {dependency}",
            f"kubectl -n {dep_namespace} describe service {dependency}",
        ]
        cause_pod = _pod_in(str(lead.facts.get("dependency_cause") or ""))
        if cause_pod:
            remediation.append(
                f"kubectl -n {dep_namespace} describe pod {cause_pod} && kubectl -n "
                f"{dep_namespace} logs {cause_pod} --previous"
            )
    remediation += [
        "Restore the dependency first; the dependent pods recover on their next restart.",
        f"kubectl -n {namespace} rollout restart {workload}  # only if they stay in back-off "
        "after the dependency is back",
    ]
    return Draft(
        summary=f"dependency {dependency or target} is down",
        root_cause=cause,
        remediation=remediation,
        next_checks=[
            "Add a startup wait or retry with back-off for the dependency, so a blip does not "
            "become a crash loop."
        ],
        cited=[f for f in (lead, crash) if f],
    )


def _pod_in(text: str) -> str | None:
    match = re.search(r"Pod [\w.-]{1,63}/([\w.-]{1,253})|pod [\w.-]{1,63}/([\w.-]{1,253})", text)
    if not match:
        return None
    return match.group(1) or match.group(2)


def _after_colon(statement: str) -> str:
    return statement.split(": ", 1)[1] if ": " in statement else statement


def _dns(story: Story) -> Draft:
    scene = story.scene
    lead = story.best("cluster_dns_down", "log_dns_failure") or story.lead()
    assert lead is not None
    host = lead.about("host") or "service names"
    namespace, workload = _ns(lead, scene), _workload(lead, scene)
    if lead.kind == "cluster_dns_down":
        cause = (
            f"Cluster DNS is down ({_clause(str(lead.facts.get('dns_problem')))}), so {host} "
            "does not "
            f"resolve from {_container_label(lead)}."
        )
        if lead.facts.get("dns_log"):
            cause += f' The DNS pods exit with: "{_one_line(str(lead.facts["dns_log"]), 160)}".'
        cause += _first_line_of(lead)
    else:
        cause = (
            f"Names do not resolve from {lead.about('pod') or 'the pods'} ({host}): "
            f"{lead.statement}."
        )
    return Draft(
        summary=f"DNS resolution of {host} fails",
        root_cause=cause,
        remediation=[
            "kubectl -n kube-system get pods -l k8s-app=kube-dns -o wide",
            "kubectl -n kube-system logs -l k8s-app=kube-dns --tail=50",
            "kubectl -n kube-system rollout restart deployment/coredns  # if its pods are stuck",
            f"kubectl -n {namespace} run dnscheck --rm -it --restart=Never "
            f"--image=busybox:1.36 -- nslookup {host}",
            _verify(namespace, workload),
        ],
        next_checks=[
            "Check CoreDNS's ConfigMap (kubectl -n kube-system get configmap coredns -o yaml) "
            "for a recent edit."
        ],
        cited=[lead],
    )


def _node(story: Story) -> Draft:
    lead = (
        story.best(
            "node_not_ready",
            "node_not_ready_metric",
            "node_network_unavailable",
            "node_pid_pressure",
            "pod_node_lost",
            "node_flapping",
            "node_not_ready_message",
            "sandbox_failed",
        )
        or story.lead()
    )
    assert lead is not None
    node = lead.about("node") or story.scene.target.node or "<node>"
    affected = [
        f for f in story.findings if f.about("node") == node and f.about("pod") and f.symptom
    ]
    cause = f"Node {node} is not ready: {_after_colon(lead.statement)}."
    if affected:
        cause += f" Pods on it are affected, e.g. {affected[0].statement}."
    return Draft(
        summary=f"node {node} is NotReady",
        root_cause=cause,
        remediation=[
            f"kubectl describe node {node}",
            f"kubectl get pods -A --field-selector spec.nodeName={node} -o wide",
            f"Check the kubelet and container runtime on {node} (systemctl status kubelet "
            "containerd; journalctl -u kubelet) or the instance in the cloud console",
            f"kubectl cordon {node} && kubectl drain {node} --ignore-daemonsets "
            "--delete-emptydir-data  # move workloads while it is repaired or replaced",
            f"Verify: kubectl get node {node}  # Ready again, or replaced",
        ],
        next_checks=["Check whether other nodes in the same zone or node group flap too."],
        cited=[f for f in (lead, *affected[:1]) if f],
    )


def _disk(story: Story) -> Draft:
    scene = story.scene
    lead = (
        story.best(
            "evicted_by_disk_pressure",
            "node_disk_pressure",
            "node_disk_pressure_metric",
            "evicted_disk",
            "evicted",
            "volume_full",
            "log_disk_full",
        )
        or story.lead()
    )
    assert lead is not None
    node = lead.about("node") or next(
        (
            f.about("node")
            for f in story.findings
            if f.kind in ("evicted", "evicted_disk", "node_disk_pressure") and f.about("node")
        ),
        None,
    )
    pvc = lead.about("pvc")
    namespace = _ns(lead, scene)
    if pvc:
        cause = f"Volume {pvc} is running out of space: {lead.statement}."
        remediation = [
            f"kubectl -n {namespace} patch pvc {pvc} -p "
            f'\'{{"spec":{{"resources":{{"requests":{{"storage":"<larger size>"}}}}}}}}\'  # '
            "needs allowVolumeExpansion",
            f"Free space inside the volume (old data, logs) from a pod that mounts {pvc}",
            f'Verify: kubelet_volume_stats_available_bytes{{namespace="{namespace}", '
            f'persistentvolumeclaim="{pvc}"}} rises',
        ]
    else:
        where = f"Node {node}" if node else "The node"
        pressure = story.best("node_disk_pressure", "node_disk_pressure_metric")
        evicted = story.best("evicted", "evicted_disk")
        cause = f"{where} ran short of disk (node disk or ephemeral storage)"
        if pressure is not None:
            cause += " and reports DiskPressure"
        if evicted is not None and evicted.about("pod"):
            owner = evicted.about("deployment") or evicted.about("statefulset")
            cause += (
                f"; the kubelet evicted pod {evicted.about('namespace')}/{evicted.about('pod')}"
                + (f" of {owner}" if owner else "")
                + f": {_eviction_reason(str(evicted.facts.get('message') or evicted.statement))}."
            )
        else:
            cause += f": {_clause(_after_colon(lead.statement))}."
        remediation = [
            f"kubectl describe node {node or '<node>'}  # DiskPressure condition and eviction "
            "events",
            f"kubectl get pods -A --field-selector spec.nodeName={node or '<node>'} -o wide",
            "On the node: crictl rmi --prune; find large emptyDir volumes and container logs",
            "Set ephemeral-storage requests and limits on the pods that write to local disk",
        ]
    return Draft(
        summary=f"disk pressure on {pvc or node or 'a node'}",
        root_cause=cause,
        remediation=remediation,
        next_checks=["Find what writes to local disk: logs, caches, emptyDir volumes."],
        cited=[lead],
    )


_EVICTION_USAGE = re.compile(
    r"low on resource: (?P<resource>[\w-]{1,40})\..{0,200}?Container (?P<container>[\w.-]{1,63}) "
    r"was using (?P<used>\d{1,20})(?P<unit>[KMG]i)?, request is (?P<request>[\w.]{1,20})"
)


def _eviction_reason(message: str) -> str:
    """The kubelet's eviction message, said plainly: which resource, which container, how much."""
    match = _EVICTION_USAGE.search(message)
    if match is None:
        return _clause(message)
    used = quantity(match["used"] + (match["unit"] or ""))
    amount = human_bytes(used) if used is not None else match["used"]
    request = "no request" if match["request"] == "0" else f"a request of {match['request']}"
    return (
        f"the node was low on {match['resource']} and container {match['container']} was using "
        f"{amount} of it with {request}"
    )


def _pvc(story: Story) -> Draft:
    scene = story.scene
    lead = (
        story.best(
            "storage_class_missing",
            "provisioning_failed",
            "pvc_not_bound",
            "pvc_unbound_blocks_scheduling",
            "waiting_for_provisioner",
            "volume_mount_failed",
        )
        or story.lead()
    )
    assert lead is not None
    pvc_finding = story.best("pvc_not_bound") or lead
    pvc = (
        pvc_finding.about("pvc")
        or lead.about("pvc")
        or scene.target.persistentvolumeclaim
        or "<pvc>"
    )
    namespace = _ns(pvc_finding, scene)
    storage_class = lead.about("storage_class") or pvc_finding.about("storage_class")
    provisioning = story.best("storage_class_missing", "provisioning_failed")
    cause = f"PVC {namespace}/{pvc} cannot be bound"
    if provisioning:
        cause += f": {_after_colon(provisioning.statement)}"
    elif storage_class:
        cause += f" (storage class {storage_class}): {_after_colon(lead.statement)}"
    else:
        cause += f": {_after_colon(lead.statement)}"
    cause += "."
    users = pvc_finding.facts.get("used_by") or []
    if users:
        cause += f" Pod {users[0]} that mounts it cannot start."
    return Draft(
        summary=f"PVC {pvc} stays Pending",
        root_cause=cause,
        remediation=[
            "kubectl get storageclass",
            f"kubectl -n {namespace} describe pvc {pvc}",
            f"Fix the claim's storageClassName (it cannot be edited): kubectl -n {namespace} "
            f"get pvc {pvc} -o yaml > {pvc}.yaml, set an existing class, then kubectl delete "
            f"-f {pvc}.yaml && kubectl apply -f {pvc}.yaml",
            f"Verify: kubectl -n {namespace} get pvc {pvc}  # Bound",
        ],
        next_checks=[
            "Check the CSI provisioner's pods and logs if the class exists but provisioning "
            "still fails."
        ],
        cited=[f for f in (lead, pvc_finding) if f],
    )


def _quota(story: Story) -> Draft:
    scene = story.scene
    lead = (
        story.best("quota_exceeded", "replica_failure", "limit_range_rejected", "quota_exhausted")
        or story.lead()
    )
    assert lead is not None
    usage = story.best("quota_exhausted")
    quota = lead.about("quota") or (usage.about("quota") if usage else None) or "<quota>"
    namespace = _ns(lead, scene)
    workload = _workload(lead, scene)
    message = lead.facts.get("message") or lead.statement
    if lead.kind == "limit_range_rejected":
        cause = (
            f"A LimitRange in namespace {namespace} rejects the pods of {workload}: "
            f"{_one_line(str(message), 220)}."
        )
        remediation = [
            f"kubectl -n {namespace} get limitrange -o yaml",
            f"kubectl -n {namespace} set resources {workload} --limits=<within the LimitRange>",
        ]
    else:
        cause = (
            f"ResourceQuota {quota} in namespace {namespace} rejects new pods of {workload}: "
            f"{_one_line(str(message), 220)}."
        )
        if usage and usage is not lead:
            cause += f" {usage.statement}."
        remediation = [
            f"kubectl -n {namespace} describe resourcequota {quota}",
            f"kubectl -n {namespace} edit resourcequota {quota}  # raise the hard limit, or",
            f"kubectl -n {namespace} set resources {workload} --requests=<smaller>  # lower "
            "what each pod asks for",
        ]
    remediation.append(_verify(namespace, workload))
    return Draft(
        summary=f"quota {quota} exhausted in {namespace}",
        root_cause=cause,
        remediation=remediation,
        next_checks=[
            "Check which workloads use the quota: kubectl describe resourcequota shows used vs "
            "hard."
        ],
        cited=[f for f in (lead, usage) if f],
    )


def _cert(story: Story) -> Draft:
    scene = story.scene
    lead = (
        story.best(
            "cert_expired",
            "cert_expiring",
            "log_cert_expired",
            "cert_not_ready",
            "cert_renewal_failed",
        )
        or story.lead()
    )
    assert lead is not None
    who = lead.about("certificate") or lead.about("host") or "the service"
    namespace = _ns(lead, scene)
    cause = f"A TLS certificate ({who}) has expired or is about to: {lead.statement}."
    summary = f"TLS certificate of {who} expired"
    if lead.kind == "log_cert_expired":
        cause = (
            f"TLS connections from {lead.about('pod') or 'the service'} fail because the "
            f"certificate of {who} has expired: "
            f'"{_one_line(str(lead.facts.get("line", "")), 160)}".'
        )
    elif lead.kind == "cert_expiring":
        left = human_duration(float(lead.facts.get("seconds_left", 0)))
        summary = f"TLS certificate of {who} expires in {left}"
    elif lead.kind in ("cert_not_ready", "cert_renewal_failed"):
        cause = f"{lead.statement}; it will expire unless the renewal succeeds."
        summary = f"Certificate {who} cannot be renewed"
    not_ready = story.best("cert_not_ready", "cert_renewal_failed")
    if not_ready is not None and not_ready is not lead:
        cause += f" Renewal is failing: {_clause(not_ready.statement)}."
    certificate = lead.about("cert_manager_certificate") or (
        not_ready.about("cert_manager_certificate") if not_ready else None
    )
    remediation = [
        f"kubectl -n {namespace} get certificates,secrets | grep -i tls  # cert-manager "
        "Certificates and TLS secrets",
        f"cmctl renew -n {namespace} <certificate>  # cert-manager; or replace the secret: "
        f"kubectl -n {namespace} create secret tls <name> --cert=cert.pem --key=key.pem "
        "--dry-run=client -o yaml | kubectl apply -f -",
    ]
    if certificate:
        remediation = [
            f"kubectl -n {namespace} describe certificate {certificate}  # the Ready condition "
            "and the failing CertificateRequest, Order or Challenge",
            f"Fix what the issuer reports, then: cmctl renew -n {namespace} {certificate}",
        ]
    host = _tls_host(who)
    if host:
        remediation.append(
            f"openssl s_client -connect {host} -servername {host.rsplit(':', 1)[0]} </dev/null "
            "| openssl x509 -noout -dates  # verify what the endpoint serves"
        )
    return Draft(
        summary=summary,
        root_cause=cause,
        remediation=remediation,
        next_checks=[
            "Check why automatic renewal did not happen (cert-manager logs, ACME challenges)."
        ],
        cited=[lead] + ([not_ready] if not_ready is not None and not_ready is not lead else []),
    )


def _tls_host(who: str) -> str | None:
    """`host:port` to point openssl at, from a probed URL or a host name (None otherwise)."""
    match = re.fullmatch(r"(?:https?://)?([A-Za-z0-9.-]+)(?::(\d+))?(?:/\S*)?", who)
    if match is None or "." not in match.group(1) or who.startswith("Secret "):
        return None
    return f"{match.group(1)}:{match.group(2) or 443}"


def _throttling(story: Story) -> Draft:
    scene = story.scene
    lead = (
        story.best(
            "rollout_lowered_cpu_limit", "latency_from_throttling", "cpu_throttled", "cpu_at_limit"
        )
        or story.lead()
    )
    assert lead is not None
    throttled = story.best("cpu_throttled")
    latency = story.best("latency_jump")
    lowered = story.best("rollout_lowered_cpu_limit")
    pod = (throttled.about("pod") if throttled else None) or lead.about("pod")
    container = (
        (throttled.about("container") if throttled else None)
        or lead.about("container")
        or _cpu_change_container(lowered)
        or _only_container(story)
        or "<container>"
    )
    limit = _cpu_limit(story, pod, container) or (
        (lowered.facts.get("cpu_change") or {}).get("after") if lowered else None
    )
    namespace = _ns(throttled or lead, scene)
    workload = _workload(lowered or throttled or lead, scene)
    who = f"container {container}" + (f" of pod {namespace}/{pod}" if pod else "")
    share = f" ({_after_colon(throttled.statement)})" if throttled else ""
    cause = f"The CPU limit{' of ' + str(limit) if limit else ''} throttles {who}{share}."
    if latency:
        cause += f" {latency.statement}."
    if lowered:
        change = lowered.facts.get("cpu_change") or {}
        cause += (
            f" The rollout to revision {lowered.facts.get('to_revision')} lowered the CPU "
            f"limit from {change.get('before')} to {change.get('after')}."
        )
    new_limit = _raised(str(limit), 2.0) if limit else "2"
    remediation = []
    if lowered:
        remediation.append(f"kubectl -n {namespace} rollout undo {workload}")
    remediation += [
        f"kubectl -n {namespace} set resources {workload} -c {container} --limits=cpu={new_limit}",
        _verify(namespace, workload),
        "Then check throttling falls: "
        f'sum(rate(container_cpu_cfs_throttled_periods_total{{namespace="{namespace}", '
        f'container="{container}"}}[5m])) / '
        f'sum(rate(container_cpu_cfs_periods_total{{namespace="{namespace}", '
        f'container="{container}"}}[5m]))',
    ]
    return Draft(
        summary=f"CPU limit throttles {container}",
        root_cause=cause,
        remediation=remediation,
        next_checks=[
            "Compare CPU requests with real use; consider removing the CPU limit and keeping "
            "the request."
        ],
        cited=[f for f in (lead, throttled, latency, lowered) if f],
    )


def _only_container(story: Story) -> str | None:
    """The container name when the target's workload has exactly one."""
    for finding in story.findings:
        containers = finding.facts.get("containers") or []
        if (
            finding.kind == "deployment_context"
            and len(containers) == 1
            and finding.facts.get("relevance", 1.0) >= 1.0
        ):
            return str(containers[0].get("name"))
    return None


def _cpu_change_container(lowered: Finding | None) -> str | None:
    if lowered is None:
        return None
    return (lowered.facts.get("cpu_change") or {}).get("container")


def _cpu_limit(story: Story, pod: str | None, container: str) -> str | None:
    for finding in story.findings:
        if (
            finding.facts.get("cpu_limit")
            and (finding.about("pod") == pod or pod is None)
            and finding.about("container") in (container, None)
        ):
            return str(finding.facts["cpu_limit"])
    for finding in story.findings:
        for spec in finding.facts.get("containers") or []:
            if spec.get("name") == container and (spec.get("limits") or {}).get("cpu"):
                return str(spec["limits"]["cpu"])
    return None


def _crash(story: Story) -> Draft:
    scene = story.scene
    crash = story.best("error_exit", "clean_exit_restarted", "crash_loop_listed") or story.lead()
    assert crash is not None
    log = story.best("log_crash", "log_config_error", "log_missing_file")
    namespace, workload = _ns(crash, scene), _workload(crash, scene)
    code = crash.facts.get("exit_code")
    looping = story.best("crash_looping", "crash_loop_listed", "crash_backoff") is not None
    cause = (
        f"The {_container_label(crash)} exits by itself"
        + (f" with exit code {code}" if code is not None else "")
        + (" and is restarted in a loop (CrashLoopBackOff)." if looping else ".")
    )
    if log:
        cause += (
            " Its last logs show the application failing: "
            f'"{_one_line(str(log.facts.get("line", "")), 160)}".'
        )
    cause += (
        " Nothing more specific (configuration, a dependency, memory, a recent rollout) "
        "explains it."
    )
    pod = crash.about("pod") or "<pod>"
    container = crash.about("container") or "<container>"
    return Draft(
        summary=f"{container} crashes with exit code {code}"
        if code is not None
        else f"{container} crash loop",
        root_cause=cause,
        remediation=[
            f"kubectl -n {namespace} logs {pod} -c {container} --previous --tail=200",
            f"kubectl -n {namespace} rollout history {workload}  # roll back with rollout undo "
            "if a change preceded it",
            "Fix the application error the logs show, then redeploy",
            _verify(namespace, workload),
        ],
        next_checks=[
            "Check whether the crash depends on input data (a bad message, a migration) rather "
            "than code."
        ],
        cited=[f for f in (crash, log) if f],
    )


def _no_issue(story: Story) -> Draft:
    scene = story.scene
    healthy = story.verdict.support
    if scene.resolved:
        cause = f"The alert {scene.alert.name} is resolved: it reflects no current problem."
        shown = []
    else:
        shown = healthy[:3]
        reasons = "; ".join(f.statement for f in shown) or "nothing failing was found"
        cause = f"The alert {scene.alert.name} reflects no current problem: {reasons}."
        weak = [c.value for c, s in story.verdict.considered if s >= 0.3][:2]
        if weak:
            cause += f" Weak signs of {', '.join(weak)} did not amount to a cause."
    remediation = [
        "No action needed now.",
        "If the alert fires for healthy states, tune its threshold or duration.",
    ]
    at_max = None if scene.resolved else story.context("hpa_at_max")
    if at_max is not None:
        # An autoscaler at its ceiling while the service copes is capacity planning.
        cause += f" {_clause(at_max.statement)}: a capacity limit to plan for, not a fault."
        shown = [at_max, *shown]
        hpa = at_max.about("horizontalpodautoscaler")
        remediation[1] = (
            f"Before the next peak, raise the ceiling: kubectl -n {_ns(at_max, scene)} patch hpa "
            f'{hpa} -p \'{{"spec":{{"maxReplicas":<more>}}}}\' (check the nodes have room)'
        )
    return Draft(
        summary=f"{scene.alert.name}: no current problem",
        root_cause=cause,
        remediation=remediation,
        next_checks=[
            "Watch for the alert firing again; if it flaps, look at its expression and `for:` "
            "duration."
        ],
        cited=shown,
    )


def _unknown(story: Story) -> Draft:
    scene = story.scene
    errors = [f for f in story.findings if f.kind in _ERROR_KINDS]
    failing = story.verdict.support[:2]
    parts: list[str] = []
    if failing:
        parts.append(f"{failing[0].statement}, but the evidence does not establish why")
    else:
        parts.append(f"The evidence does not establish a cause for {scene.alert.name}")
    unreachable = [f for f in errors if f.kind == "api_unreachable"]
    if unreachable:
        parts.append(
            "the tools could not reach their backends "
            f"({_one_line(str(unreachable[0].facts.get('error')), 160)})"
        )
    if scene.target.is_empty():
        lacked = "no labels at all" if not scene.alert.labels else "no Kubernetes object"
        parts.append(
            f"the alert carries {lacked} (namespace, pod, deployment, node or PVC), so only "
            "cluster-wide checks could run"
        )
    possible = [(c, s) for c, s in story.verdict.considered if s >= 0.25][:2]
    cause = "; ".join(parts) + "."
    context = [story.context(kind) for kind in _UNKNOWN_CONTEXT]
    for finding in [f for f in context if f is not None][:2]:
        cause += f" {_clause(finding.statement)}."
    if possible:
        cause += (
            " Possible but not shown: "
            + ", ".join(f"{c.value} ({s:.0%})" for c, s in possible)
            + "."
        )
    checked = sorted({str(f.evidence.tool) for f in story.findings if f.evidence.tool})
    if checked:
        cause += f" Checked: {', '.join(checked[:8])}."
    remediation = ["Nothing to change until the cause is known."]
    traffic = story.context("traffic_increase")
    if traffic is not None:
        namespace = _ns(traffic, scene)
        workload = _workload(story.context("deployment_context"), scene)
        remediation = [
            f"If the load is expected, add capacity: kubectl -n {namespace} scale {workload} "
            "--replicas=<more>  (or raise the HPA's maxReplicas)",
            "Check saturation per pod (CPU, connection pools, queues) to find the first "
            "resource that runs out.",
        ]
    if unreachable:
        remediation.insert(
            0,
            "Restore access to the tools' backends (cluster API, Prometheus), then investigate "
            "again",
        )
    return Draft(
        summary=f"{scene.alert.name}: cause not established",
        root_cause=cause,
        remediation=remediation,
        next_checks=[
            "Look at the alert's expression in Prometheus and at recent changes (deploys, "
            "config, infrastructure)."
        ],
        cited=[*failing, *errors[:2]],
    )


WRITERS: dict[Category, Callable[[Story], Draft]] = {
    _C.OOM_KILLED: _oom,
    _C.BAD_CONFIG: _bad_config,
    _C.IMAGE_PULL: _image_pull,
    _C.UNSCHEDULABLE: _unschedulable,
    _C.PROBE_FAILURE: _probe,
    _C.BAD_DEPLOY: _bad_deploy,
    _C.DEPENDENCY_FAILURE: _dependency,
    _C.DNS_FAILURE: _dns,
    _C.NODE_NOT_READY: _node,
    _C.DISK_PRESSURE: _disk,
    _C.PVC_PENDING: _pvc,
    _C.QUOTA_EXCEEDED: _quota,
    _C.CERT_EXPIRY: _cert,
    _C.CPU_THROTTLING: _throttling,
    _C.CRASH_LOOP_APP_ERROR: _crash,
    _C.NO_ISSUE: _no_issue,
    _C.UNKNOWN: _unknown,
}


# --- assembly --------------------------------------------------------------------------------


def _evidence(story: Story, draft: Draft) -> list[Evidence]:
    chosen: list[Finding] = []
    for finding in [*draft.cited, *story.verdict.support[:3]]:
        if finding not in chosen:
            chosen.append(finding)
    context = [
        f
        for f in story.findings
        if f.kind in RULED_OUT_KINDS and f.facts.get("relevance", 1.0) >= 1.0 and f not in chosen
    ]
    errors = [f for f in story.findings if f.kind in _ERROR_KINDS and f not in chosen]
    evidence = [_cite(f) for f in [*chosen[:5], *context[:3], *errors[:3]]]
    if not evidence:
        evidence = [Evidence(statement="No tool returned evidence about the alert's target.")]
    return evidence


def _cite(finding: Finding) -> Evidence:
    return Evidence(
        statement=_one_line(finding.statement, 400),
        tool=finding.evidence.tool,
        arguments=finding.evidence.arguments,
    )


def _subject(finding: Finding) -> str:
    return (
        finding.about("container")
        or finding.about("pod")
        or finding.about("deployment")
        or "the workload"
    )


def _ref_tail(ref: str | None) -> str | None:
    return ref.rsplit("/", 1)[-1] if ref else None


def _raised(limit: str | None, factor: float) -> str:
    value = quantity(limit)
    if value is None or limit is None:
        return "<higher>"
    if limit.endswith(("i", "k", "M", "G", "T")) or value > 1024:
        return human_bytes(value * factor).replace(".0", "")
    return f"{value * factor:g}"


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text


def _clause(text: str) -> str:
    """A statement to embed in a sentence: one line, no closing full stop."""
    return _one_line(text, 300).rstrip(" .")


def _one_line(text: str, limit: int) -> str:
    return _shortened(" ".join(text.split()), limit)


def _sentences(text: str) -> str:
    return _shortened(" ".join(text.split()), 900)


def _shortened(flat: str, limit: int) -> str:
    """At most `limit` characters, cut after a whole word with an ellipsis (which a caller's
    `rstrip(" .")` keeps, so the cut stays visible)."""
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.") + "…"


def _unique(lines: list[str]) -> list[str]:
    return list(dict.fromkeys(line for line in lines if line))
