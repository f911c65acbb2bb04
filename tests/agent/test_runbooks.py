"""Runbooks: loading, choosing one for an alert, planning its steps, and linting files."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.alert import Alert
from agent.intake import parse_text
from agent.report import Category
from agent.runbooks import (
    CATALOGUE_TOOLS,
    DEFAULT_RUNBOOK,
    LintProblem,
    Runbook,
    RunbookLibrary,
    parse_runbook,
)


def alert(**labels: str) -> Alert:
    return Alert(
        source="test",
        dedup_key="k",
        title=labels.get("alertname", "something is wrong"),
        labels=labels,
    )


def write(directory: Path, filename: str, front_matter: str, body: str = "How to read it.") -> Path:
    path = directory / filename
    path.write_text(f"---\n{textwrap.dedent(front_matter).strip()}\n---\n{body}\n")
    return path


def runbook(front_matter: str, body: str = "How to read it.") -> Runbook:
    text = f"---\n{textwrap.dedent(front_matter).strip()}\n---\n{body}\n"
    loaded, problems = parse_runbook(text, "test.md")
    assert problems == []
    assert loaded is not None
    return loaded


def messages(problems: list[LintProblem]) -> list[str]:
    return [str(problem) for problem in problems]


# --- the built-in runbooks ----------------------------------------------------------------

BUILTIN_NAMES = {
    "KubePodCrashLooping",
    "KubePodNotReady",
    "KubeContainerWaiting",
    "KubeDeploymentReplicasMismatch",
    "KubeDeploymentRolloutStuck",
    "KubeJobFailed",
    "KubePersistentVolumeFillingUp",
    "KubePersistentVolumeClaimPending",
    "KubeNodeNotReady",
    "CPUThrottlingHigh",
    "HighErrorRate",
    "HighLatency",
    "TargetDown",
    "KubeHpaMaxedOut",
    "KubeNodeEviction",
    "CertificateExpiry",
    "default",
}


def test_builtin_runbooks_load_and_lint_clean_against_the_contract_tools() -> None:
    library = RunbookLibrary.load()
    assert {r.name for r in library.runbooks} == BUILTIN_NAMES
    assert all(r.source.endswith(f"{r.name}.md") for r in library.runbooks)
    assert messages(library.lint(CATALOGUE_TOOLS, tool_arguments=CATALOGUE_TOOLS)) == []


def test_builtin_runbooks_are_compact_and_speak_the_category_vocabulary() -> None:
    categories = {category.value for category in Category}
    for rb in RunbookLibrary.load().runbooks:
        assert len(rb.body.split()) <= 350, rb.name
        named = set(re.findall(r"`([a-z_]+)`", rb.body)) & categories
        if rb.name != DEFAULT_RUNBOOK:
            assert len(named) >= 2, f"{rb.name} names too few categories: {named}"
            assert rb.steps, rb.name
            assert "Do not conclude too fast" in rb.body, rb.name


@pytest.mark.parametrize(
    ("alertname", "expected"),
    [
        ("KubePodCrashLooping", "KubePodCrashLooping"),
        ("KubePodNotReady", "KubePodNotReady"),
        ("KubeContainerWaiting", "KubeContainerWaiting"),
        ("KubeDeploymentReplicasMismatch", "KubeDeploymentReplicasMismatch"),
        ("KubeDeploymentRolloutStuck", "KubeDeploymentRolloutStuck"),
        ("KubeJobFailed", "KubeJobFailed"),
        ("KubePersistentVolumeFillingUp", "KubePersistentVolumeFillingUp"),
        ("KubePersistentVolumeClaimPending", "KubePersistentVolumeClaimPending"),
        ("PVCPending", "KubePersistentVolumeClaimPending"),
        ("PersistentVolumeClaimNotBound", "KubePersistentVolumeClaimPending"),
        ("KubeNodeNotReady", "KubeNodeNotReady"),
        ("KubeNodeUnreachable", "KubeNodeNotReady"),
        ("CPUThrottlingHigh", "CPUThrottlingHigh"),
        ("HighErrorRate", "HighErrorRate"),
        ("CheckoutHTTPErrorRateHigh", "HighErrorRate"),
        ("Ingress5xxRatioHigh", "HighErrorRate"),
        ("HighLatency", "HighLatency"),
        ("CheckoutLatencyHigh", "HighLatency"),
        ("TargetDown", "TargetDown"),
        ("KubeHpaMaxedOut", "KubeHpaMaxedOut"),
        ("KubeHpaReplicasMismatch", "KubeHpaMaxedOut"),
        ("KubeNodeEviction", "KubeNodeEviction"),
        ("NodeFilesystemSpaceFillingUp", "KubeNodeEviction"),
        ("NodeFilesystemAlmostOutOfSpace", "KubeNodeEviction"),
        ("CertManagerCertExpirySoon", "CertificateExpiry"),
        ("CertManagerCertNotReady", "CertificateExpiry"),
        ("ProbeSSLCertExpiry", "CertificateExpiry"),
        ("BlackboxSslCertificateWillExpireSoon", "CertificateExpiry"),
        ("X509CertificateExpiration", "CertificateExpiry"),
        ("KubeClientCertificateExpiration", "CertificateExpiry"),
        ("CertManagerAbsent", "default"),
        ("KubePodCrashLoopingX", "default"),
        ("Watchdog", "default"),
    ],
)
def test_builtin_runbooks_follow_kube_prometheus_stack_alert_names(
    alertname: str, expected: str
) -> None:
    assert RunbookLibrary.load().match(alert(alertname=alertname)).name == expected


def test_crash_loop_steps_for_a_real_alert_gather_the_distinguishing_evidence() -> None:
    crash = alert(
        alertname="KubePodCrashLooping", namespace="prod", pod="payments-5c8d7f9b4-abcde",
        container="app",
    )  # fmt: skip
    steps = RunbookLibrary.load().match(crash).steps_for(crash)
    assert [s.tool for s in steps][:3] == [
        "kubernetes_get_pod",
        "kubernetes_pod_logs",
        "kubernetes_list_events",
    ]
    logs = steps[1]
    assert logs.args == {
        "name": "payments-5c8d7f9b4-abcde",
        "namespace": "prod",
        "container": "app",
        "previous": True,
        "tail_lines": 150,
    }
    rollout = next(s for s in steps if s.tool == "kubernetes_get_deployment")
    assert rollout.skipped
    assert rollout.missing == ("deployment",)
    memory = next(s for s in steps if s.tool == "prometheus_query_range")
    assert 'pod="payments-5c8d7f9b4-abcde"' in memory.args["query"]


# --- matching ------------------------------------------------------------------------------


def test_higher_priority_wins_over_more_matchers(tmp_path: Path) -> None:
    write(tmp_path, "a.md", "name: Broad\ndescription: d\nmatch: {alertname: X}\npriority: 5")
    write(
        tmp_path,
        "b.md",
        "name: Narrow\ndescription: d\nmatch: {alertname: X, labels: {team: shop}}",
    )
    library = RunbookLibrary.load([tmp_path], builtin=False)
    assert library.match(alert(alertname="X", team="shop")).name == "Broad"


def test_at_equal_priority_more_matchers_win_then_the_name(tmp_path: Path) -> None:
    write(tmp_path, "a.md", "name: Zeta\ndescription: d\nmatch: {alertname: X}")
    write(tmp_path, "b.md", "name: Alpha\ndescription: d\nmatch: {alertname: 'X|Y'}")
    write(
        tmp_path,
        "c.md",
        "name: Specific\ndescription: d\nmatch: {alertname: X, labels: {namespace: shop}}",
    )
    library = RunbookLibrary.load([tmp_path], builtin=False)
    assert library.match(alert(alertname="X", namespace="shop")).name == "Specific"
    assert library.match(alert(alertname="X", namespace="cart")).name == "Alpha"
    assert [r.name for r in library.candidates(alert(alertname="X"))] == [
        "Alpha",
        "Zeta",
        "default",
    ]


def test_matchers_are_regexes_that_must_match_the_whole_value() -> None:
    rb = runbook(
        """
        name: R
        description: d
        match:
          alertname: KubePod(CrashLooping|NotReady)
          labels: {severity: "critical|warning"}
        """
    )
    assert rb.matches(alert(alertname="KubePodNotReady", severity="warning"))
    assert not rb.matches(alert(alertname="KubePodNotReadyX", severity="warning"))
    assert not rb.matches(alert(alertname="XKubePodNotReady", severity="warning"))
    assert not rb.matches(alert(alertname="KubePodNotReady", severity="critical-ish"))
    assert not rb.matches(alert(alertname="KubePodNotReady"))  # absent label is ""


def test_a_plain_name_matches_only_itself() -> None:
    rb = runbook("name: R\ndescription: d\nmatch: {alertname: TargetDown}")
    assert rb.matches(alert(alertname="TargetDown"))
    assert not rb.matches(alert(alertname="TargetDownAgain"))


def test_a_label_matcher_can_accept_an_absent_label() -> None:
    rb = runbook("name: R\ndescription: d\nmatch: {labels: {team: '|shop'}}")
    assert rb.matches(alert(alertname="X"))
    assert rb.matches(alert(alertname="X", team="shop"))
    assert not rb.matches(alert(alertname="X", team="cart"))


def test_free_text_alert_is_matched_by_its_title_when_it_has_no_alertname() -> None:
    library = RunbookLibrary.load()
    assert library.match(parse_text("KubeNodeNotReady")).name == "KubeNodeNotReady"
    assert library.match(parse_text("node ip-10-0-1-5 is down")).name == "default"


def test_default_runbook_exists_even_with_no_runbooks_at_all(tmp_path: Path) -> None:
    library = RunbookLibrary.load([tmp_path], builtin=False)
    default = library.match(alert(alertname="Anything"))
    assert default.name == DEFAULT_RUNBOOK
    assert default.priority == -100
    assert library.lint() == []


def test_earlier_directories_override_built_ins_and_later_directories(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    write(first, "mine.md", "name: KubePodCrashLooping\ndescription: ours\nmatch: {}")
    write(second, "theirs.md", "name: KubePodCrashLooping\ndescription: theirs\nmatch: {}")
    library = RunbookLibrary.load([first, second])
    chosen = library.get("KubePodCrashLooping")
    assert chosen is not None
    assert chosen.description == "ours"
    assert [r.description for r in library.shadowed if r.name == "KubePodCrashLooping"] == [
        "theirs",
        "a container keeps exiting and the kubelet keeps restarting it",
    ]
    assert library.problems == []


# --- planning steps -----------------------------------------------------------------------

STEPS = """
name: R
description: d
match: {}
tools: ["kubernetes_*", "prometheus_*"]
steps:
  - tool: kubernetes_get_pod
    args: {name: "{{ pod }}", namespace: "{{namespace}}"}
    why: state
  - tool: kubernetes_get_deployment
    args: {name: "{{ deployment }}", namespace: "{{ namespace }}"}
    why: rollout
  - tool: prometheus_query
    args: {query: 'up{job="{{ job }}", pod="{{ pod }}"}'}
    why: scrape
  - tool: kubernetes_list_pods
    args: {namespace: "{{ namespace }}", limit: 20, label_selector: "job-name={{ job_name }}"}
    why: job pods
"""


def test_steps_are_filled_from_labels_and_hints_and_missing_values_skip_them() -> None:
    rb = runbook(STEPS)
    steps = rb.steps_for(alert(alertname="X", exported_namespace="shop", pod="c-1", job="api"))
    pod, deployment, query, job_pods = steps
    assert pod.args == {"name": "c-1", "namespace": "shop"}  # from the exported_namespace hint
    assert not pod.skipped
    assert deployment.skipped
    assert deployment.missing == ("deployment",)
    assert deployment.skip_reason == "needs deployment, which the alert does not carry"
    assert deployment.args["name"] == "{{ deployment }}"
    assert query.args == {"query": 'up{job="api", pod="c-1"}'}  # `job` is the scrape job label
    assert job_pods.missing == ("job_name",)
    assert job_pods.args["limit"] == 20


def test_kubernetes_job_hint_fills_job_name() -> None:
    steps = runbook(STEPS).steps_for(alert(alertname="X", namespace="b", job_name="backup-1"))
    assert steps[3].args["label_selector"] == "job-name=backup-1"


def test_values_are_inserted_as_data_and_never_read_again_as_a_template() -> None:
    sneaky = alert(alertname="X", pod="{{ namespace }}", namespace="shop")
    pod_step = runbook(STEPS).steps_for(sneaky)[0]
    assert pod_step.args == {"name": "{{ namespace }}", "namespace": "shop"}
    assert not pod_step.skipped


def test_a_value_that_could_break_out_of_a_query_string_skips_the_step() -> None:
    hostile = alert(alertname="X", pod='x"} or vector(1) or {a="', namespace="shop", job="api")
    pod, _, query, _ = runbook(STEPS).steps_for(hostile)
    assert query.skipped
    assert query.unsafe == ("pod",)
    assert query.skip_reason is not None
    assert "quotes or line breaks" in query.skip_reason
    # As a whole argument the same value is just a (wrong) name, passed as data.
    assert not pod.skipped
    assert pod.args["name"] == 'x"} or vector(1) or {a="'


def test_empty_label_values_count_as_missing() -> None:
    steps = runbook(STEPS).steps_for(alert(alertname="X", pod=" ", namespace="shop"))
    assert steps[0].missing == ("pod",)


def test_allowed_keeps_the_callers_order_and_applies_globs() -> None:
    rb = runbook(STEPS)
    names = ["prometheus_query", "slack_post", "kubernetes_get_pod", "kubernetesx"]
    assert rb.allowed(names) == ["prometheus_query", "kubernetes_get_pod"]
    everything = runbook("name: R\ndescription: d\nmatch: {}")
    assert everything.tools == ["*"]
    assert everything.allowed(names) == names


@pytest.mark.parametrize(
    "placeholder",
    ["{{ pod | upper }}", "{{ labels.pod }}", "{{ }}", "{{ pod() }}", "{{ 1 + 1 }}"],
)
def test_anything_but_a_plain_placeholder_is_refused(placeholder: str) -> None:
    text = (
        "---\nname: R\ndescription: d\nmatch: {}\nsteps:\n"
        f"  - tool: kubernetes_get_pod\n    args: {{name: '{placeholder}'}}\n    why: w\n---\n"
    )
    loaded, problems = parse_runbook(text, "r.md")
    assert loaded is None
    assert [p.field for p in problems] == ["steps[0].args"]
    assert "only {{ name }} placeholders are allowed" in problems[0].message


# --- lint -----------------------------------------------------------------------------------

GOOD = """
name: Good
description: fine
match: {alertname: Good}
tools: [kubernetes_get_pod]
steps:
  - tool: kubernetes_get_pod
    args: {name: "{{ pod }}", namespace: "{{ namespace }}"}
    why: state
"""


def test_broken_files_are_reported_and_the_good_ones_still_load(tmp_path: Path) -> None:
    write(tmp_path, "good.md", GOOD)
    (tmp_path / "bad-yaml.md").write_text(
        "---\nname: BadYaml\ndescription: d\nmatch: {alertname: [unclosed\n---\nbody\n"
    )
    write(tmp_path, "unknown-key.md", "name: Unknown\ndescription: d\nmatch: {}\nstpes: []")
    write(tmp_path, "missing.md", "name: Missing\nmatch: {}")
    write(tmp_path, "regex.md", "name: Regex\ndescription: d\nmatch: {alertname: 'Kube(Pod'}")
    write(
        tmp_path,
        "label-regex.md",
        "name: LabelRegex\ndescription: d\nmatch: {labels: {severity: '[critical'}}",
    )
    write(tmp_path, "dup.md", GOOD.replace("description: fine", "description: again"))
    (tmp_path / "no-front-matter.md").write_text("# Just a note\n")
    (tmp_path / "unclosed.md").write_text("---\nname: X\ndescription: d\n")
    (tmp_path / "list.md").write_text("---\n- a\n- b\n---\n")
    (tmp_path / "empty.md").write_text("---\n---\nbody\n")
    write(tmp_path, "types.md", "name: Types\ndescription: d\nmatch: {}\npriority: high")
    write(tmp_path, "dupkey.md", "name: DupKey\ndescription: d\nmatch: {}\nname: Again")
    (tmp_path / "README.md").write_text("not a runbook\n")

    library = RunbookLibrary.load([tmp_path], builtin=False)
    assert {r.name for r in library.runbooks} == {"Good", "default"}
    good = library.get("Good")
    assert good is not None
    assert good.source == str(tmp_path / "dup.md")

    found = {(Path(p.file).name, p.field): p.message for p in library.lint()}
    assert found[("bad-yaml.md", "line 4")].startswith("invalid YAML:")  # the open bracket
    assert found[("unknown-key.md", "stpes")] == (
        "unknown key; did you mean steps? (known: name, description, match, priority, tools, steps)"
    )
    assert found[("missing.md", "description")] == "required"
    assert found[("regex.md", "match.alertname")].startswith("not a valid regular expression")
    assert found[("label-regex.md", "match.labels")].startswith(
        "severity: not a valid regular expression"
    )
    assert found[("good.md", "name")].startswith("Good is also defined in")
    assert found[("no-front-matter.md", "front matter")].startswith("missing;")
    assert found[("unclosed.md", "front matter")].startswith("not closed;")
    assert found[("list.md", "front matter")] == "expected keys and values, got list"
    assert found[("empty.md", "front matter")].startswith("empty;")
    assert found[("types.md", "priority")] == "Input should be a valid integer"
    assert "found duplicate key 'name'" in found[("dupkey.md", "line 5")]
    assert not any(name == "README.md" for name, _ in found)
    assert all(p.severity == "error" for p in library.problems)


def test_yaml_syntax_errors_name_the_line_in_the_file(tmp_path: Path) -> None:
    path = tmp_path / "r.md"
    path.write_text("---\nname: R\ndescription: d\nmatch: {}\ntools: [a\nsteps: []\n---\n")
    (problem,) = RunbookLibrary.load([tmp_path], builtin=False).problems
    assert problem.file == str(path)
    assert problem.field == "line 6"
    assert str(problem).startswith(f"{path}: line 6: invalid YAML:")


def test_unknown_step_key_suggests_the_right_one() -> None:
    text = (
        "---\nname: R\ndescription: d\nmatch: {}\nsteps:\n"
        "  - tool: kubernetes_get_pod\n    arg: {}\n    why: w\n---\n"
    )
    _, problems = parse_runbook(text, "r.md")
    assert messages(problems) == [
        "r.md: steps[0].arg: unknown key; did you mean args? (known: tool, args, why)"
    ]


def test_semantic_problems_are_found_in_runbooks_that_load(tmp_path: Path) -> None:
    write(
        tmp_path,
        "r.md",
        """
        name: R
        description: d
        match: {labels: {team: shop}}
        tools: [kubernetes_get_pod, "prometheus_*", "kubernetes_nothing_*", "datadog_*"]
        steps:
          - tool: kubernetes_pod_logs
            args: {name: "{{ pod }}", namespace: "{{ namespace }}"}
            why: not allowed by tools
          - tool: prometheus_querry
            args: {query: 'up{team="{{ team }}", x="{{ flavour }}"}'}
            why: typo
          - tool: kubernetes_get_pod
            args: {nme: "{{ pod }}"}
            why: wrong argument
          - tool: datadog_query
            args: {q: x}
            why: another server we know nothing about
        """,
        body="",
    )
    library = RunbookLibrary.load([tmp_path], builtin=False)
    problems = library.lint(CATALOGUE_TOOLS, tool_arguments=CATALOGUE_TOOLS)
    found = {(p.field, p.severity): p.message for p in problems}
    assert found[("tools[2]", "error")] == "'kubernetes_nothing_*' matches none of the known tools"
    assert ("tools[3]", "error") not in found  # datadog's catalogue is not known here
    assert found[("steps[0].tool", "error")] == (
        "kubernetes_pod_logs is not allowed by this runbook's tools "
        "(kubernetes_get_pod, prometheus_*, kubernetes_nothing_*, datadog_*)"
    )
    assert found[("steps[1].tool", "error")] == (
        "unknown tool prometheus_querry; did you mean prometheus_query?"
    )
    assert found[("steps[1].args", "warning")].startswith(
        "{{ flavour }} is not a label or hint alerts are known to carry"
    )  # {{ team }} is fine: the runbook matches on it
    assert found[("steps[2].args.nme", "error")] == (
        "kubernetes_get_pod has no argument nme (it takes name, namespace)"
    )
    assert found[("steps[2].args", "error")] == "kubernetes_get_pod needs name, namespace"
    assert not any(field.startswith("steps[3]") for field, _ in found)
    assert found[("body", "warning")].startswith("empty;")
    assert len(problems) == 7


def test_without_known_tools_only_the_runbooks_own_consistency_is_checked(
    tmp_path: Path,
) -> None:
    write(tmp_path, "r.md", GOOD.replace("kubernetes_get_pod\n", "kubernetes_get_pdo\n", 1))
    problems = RunbookLibrary.load([tmp_path], builtin=False).lint()
    assert [p.field for p in problems] == ["steps[0].tool"]


def test_a_long_body_is_a_warning_not_an_error(tmp_path: Path) -> None:
    write(tmp_path, "r.md", GOOD, body="word " * 500)
    (problem,) = RunbookLibrary.load([tmp_path], builtin=False).lint()
    assert problem.severity == "warning"
    assert str(problem).endswith(
        "body: warning: 500 words; keep it under 450 (it goes into the prompt)"
    )


def test_a_directory_that_does_not_exist_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    library = RunbookLibrary.load([tmp_path / "nope"])
    assert messages(library.problems) == [
        f"{tmp_path / 'nope'}: directory: does not exist or is not a directory"
    ]
    assert library.get("KubePodCrashLooping") is not None


def test_a_file_that_is_not_utf8_is_reported(tmp_path: Path) -> None:
    (tmp_path / "r.md").write_bytes(b"---\nname: \xff\n---\n")
    write(tmp_path, "good.md", GOOD)
    library = RunbookLibrary.load([tmp_path], builtin=False)
    assert [p.field for p in library.problems] == ["file"]
    assert library.get("Good") is not None


@settings(max_examples=200, deadline=None)
@given(value=st.text(min_size=1).filter(str.strip))
def test_any_label_value_is_inserted_exactly_once_as_data(value: str) -> None:
    rb = runbook(
        """
        name: R
        description: d
        match: {}
        steps:
          - tool: t
            args: {whole: "{{ pod }}", inside: 'x{pod="{{ pod }}"}'}
            why: w
        """
    )
    (step,) = rb.steps_for(alert(alertname="X", pod=value))
    assert step.args["whole"] == value
    if any(ch in value for ch in "\"'`\\\r\n"):
        assert step.unsafe == ("pod",)
        assert step.args["inside"] == 'x{pod="{{ pod }}"}'
    else:
        assert not step.skipped
        assert step.args["inside"] == f'x{{pod="{value}"}}'
