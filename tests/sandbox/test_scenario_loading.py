"""Scenario files: built-ins load, and every kind of mistake is an error that names the file, the
line, the path inside the file and what was expected."""

from __future__ import annotations

import textwrap
from pathlib import Path

import kubernetes_validate
import pytest

from bot.cli import main as cli
from mcp_bridge.sandbox import ScenarioError, builtin_scenarios, load_scenario, parse_scenario
from mcp_bridge.sandbox.cluster import complete_cluster

GOOD = """\
name: tiny
description: one pod
alert:
  labels: {alertname: KubePodCrashLooping, namespace: shop, pod: web-1}
cluster:
  - apiVersion: v1
    kind: Pod
    metadata: {name: web-1, namespace: shop}
    spec:
      containers:
        - name: app
          image: web:1
    status: {phase: Running}
logs:
  shop/web-1/app: hello
metrics:
  - labels: {__name__: up, job: web}
    values: [[-60, 1], [0, 1]]
expect:
  category: no_issue
  root_cause_keywords: [healthy]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def error_for(tmp_path: Path, text: str) -> str:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(write(tmp_path, text))
    return str(caught.value)


def test_every_builtin_scenario_loads_and_is_named_after_its_file() -> None:
    names = builtin_scenarios()
    assert {"checkout-oom", "orders-missing-config-key", "search-hpa-maxed-healthy"} <= set(names)
    for name in names:
        scenario = load_scenario(name)
        assert scenario.name == name
        assert scenario.expect is not None


@pytest.mark.parametrize("name", builtin_scenarios())
def test_builtin_scenario_objects_are_valid_kubernetes_objects_once_times_are_resolved(
    name: str,
) -> None:
    objects = complete_cluster(load_scenario(name).cluster, now=1_800_000_000.0)
    for obj in objects:
        kubernetes_validate.validate(obj, "1.31", strict=True)


def test_a_good_file_loads_with_its_parts(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path, GOOD))
    assert scenario.alert["labels"]["pod"] == "web-1"
    assert scenario.metrics[0].values == [(-60.0, 1.0), (0.0, 1.0)]
    assert scenario.logs == {"shop/web-1/app": "hello"}
    assert scenario.expect is not None
    assert scenario.expect.category == "no_issue"


def test_unknown_top_level_key_names_file_line_and_the_keys_expected(tmp_path: Path) -> None:
    message = error_for(tmp_path, GOOD + "notes: hi\n")
    assert message.startswith(f"{tmp_path / 'scenario.yaml'}:22: notes: unknown key 'notes'")
    assert "expected one of: name, description, alert, cluster, logs, metrics, expect" in message


def test_unknown_alert_key_is_an_error(tmp_path: Path) -> None:
    text = GOOD.replace("  labels: {alertname", "  startAt: -5m\n  labels: {alertname")
    message = error_for(tmp_path, text)
    assert ":4: alert.startAt: unknown key 'startAt'" in message
    assert "startsAt" in message


def test_unknown_metric_key_is_an_error(tmp_path: Path) -> None:
    message = error_for(
        tmp_path, GOOD.replace("    values: [[-60", "    unit: s\n    values: [[-60")
    )
    assert (
        "metrics[0].unit: unknown key 'unit'; expected one of: labels, values, scrape_interval, "
        "values_are_times" in message
    )


def test_unknown_expect_key_is_an_error(tmp_path: Path) -> None:
    message = error_for(tmp_path, GOOD + "  severity: high\n")
    assert "expect.severity: unknown key 'severity'" in message


def test_unknown_key_deep_inside_a_kubernetes_object_names_its_path(tmp_path: Path) -> None:
    message = error_for(tmp_path, GOOD.replace("image: web:1", "imagee: web:1"))
    assert (
        ":12: cluster[0].spec.containers[0].imagee: unknown key 'imagee'; a Container has:"
        in message
    )


def test_misspelled_status_of_an_object_is_an_error(tmp_path: Path) -> None:
    message = error_for(tmp_path, GOOD.replace("status: {phase", "stauts: {phase"))
    assert (
        "cluster[0].stauts: unknown key 'stauts'; a Pod has: apiVersion, kind, metadata" in message
    )


def test_number_where_the_api_wants_a_string_says_to_quote_it(tmp_path: Path) -> None:
    message = error_for(tmp_path, GOOD.replace("status: {phase: Running}", "status: {phase: 1}"))
    assert "cluster[0].status.phase: expected a string (quote it), got a number (1)" in message


def test_missing_required_key(tmp_path: Path) -> None:
    message = error_for(tmp_path, GOOD.replace("description: one pod\n", ""))
    assert "(top level): required key 'description' is missing" in message


def test_alert_without_alertname(tmp_path: Path) -> None:
    message = error_for(tmp_path, GOOD.replace("alertname: KubePodCrashLooping, ", ""))
    assert "alert.labels.alertname: every alert needs an alertname label" in message


def test_label_value_that_is_not_a_string(tmp_path: Path) -> None:
    message = error_for(tmp_path, GOOD.replace("pod: web-1}", "pod: web-1, replicas: 3}"))
    assert "alert.labels.replicas: expected a valid string, got 3" in message


def test_pod_without_namespace_is_an_error_not_a_silent_default(tmp_path: Path) -> None:
    message = error_for(tmp_path, GOOD.replace("{name: web-1, namespace: shop}", "{name: web-1}"))
    assert (
        "cluster[0].metadata.namespace: a Pod is namespaced: expected a namespace name" in message
    )


def test_cluster_scoped_object_with_a_namespace_is_an_error(tmp_path: Path) -> None:
    node = "  - {apiVersion: v1, kind: Node, metadata: {name: n1, namespace: shop}}\n"
    message = error_for(tmp_path, GOOD.replace("logs:\n", node + "logs:\n"))
    assert "cluster[1].metadata.namespace: a Node is cluster-scoped: remove namespace" in message


def test_unknown_kind_lists_the_kinds_served(tmp_path: Path) -> None:
    ingress = (
        "  - {apiVersion: networking.k8s.io/v1, kind: Ingress,"
        " metadata: {name: i, namespace: shop}}\n"
    )
    message = error_for(tmp_path, GOOD.replace("logs:\n", ingress + "logs:\n"))
    assert "cluster[1].kind: the sandbox does not serve 'Ingress'; it serves:" in message
    assert "Deployment" in message


def test_wrong_api_version_for_the_kind(tmp_path: Path) -> None:
    deployment = (
        "  - {apiVersion: extensions/v1beta1, kind: Deployment,"
        " metadata: {name: d, namespace: shop}}\n"
    )
    message = error_for(tmp_path, GOOD.replace("logs:\n", deployment + "logs:\n"))
    assert "cluster[1].apiVersion: a Deployment is served as apiVersion apps/v1" in message


def test_two_objects_with_the_same_kind_namespace_and_name(tmp_path: Path) -> None:
    twin = (
        "  - {apiVersion: v1, kind: Pod, metadata: {name: web-1, namespace: shop},"
        " spec: {containers: [{name: c}]}}\n"
    )
    message = error_for(tmp_path, GOOD.replace("logs:\n", twin + "logs:\n"))
    assert (
        "cluster[1].metadata.name: a second Pod named shop/web-1 (the first is cluster[0])"
        in message
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("15m", "offset '15m' needs a sign: -15m means ago, +15m from now"),
        ("-15x", "expected an offset like -15m, -90s, 0s, +2m"),
        ("yesterday", "got 'yesterday'"),
        ("2024-05-01 10:00:00", "expected an offset"),
    ],
)
def test_bad_time_values_in_objects(tmp_path: Path, value: str, expected: str) -> None:
    text = GOOD.replace(
        "{name: web-1, namespace: shop}",
        f"{{name: web-1, namespace: shop, creationTimestamp: '{value}'}}",
    )
    message = error_for(tmp_path, text)
    assert "cluster[0].metadata.creationTimestamp:" in message
    assert expected in message


def test_bad_alert_start_time(tmp_path: Path) -> None:
    message = error_for(
        tmp_path, GOOD.replace("cluster:\n", "  startsAt: 5 minutes ago\ncluster:\n", 1)
    )
    assert "alert.startsAt: expected an offset like -15m" in message


def test_metric_point_in_the_future(tmp_path: Path) -> None:
    message = error_for(tmp_path, GOOD.replace("[[-60, 1], [0, 1]]", "[[-60, 1], [60, 1]]"))
    assert "metrics[0].values[1][0]: a point 60 s in the future" in message


def test_metric_points_out_of_order(tmp_path: Path) -> None:
    message = error_for(tmp_path, GOOD.replace("[[-60, 1], [0, 1]]", "[[-60, 1], [-120, 1]]"))
    assert "metrics[0].values[1][0]: times must increase; -120 follows -60" in message


def test_metric_point_that_is_not_a_pair_of_numbers(tmp_path: Path) -> None:
    message = error_for(tmp_path, GOOD.replace("[[-60, 1], [0, 1]]", "[[-60, 1], [0, high]]"))
    assert (
        "metrics[0].values[1]: expected [seconds_from_present, value] numbers, got [0, 'high']"
        in message
    )


def test_metric_without_a_name(tmp_path: Path) -> None:
    message = error_for(tmp_path, GOOD.replace("{__name__: up, job: web}", "{job: web}"))
    assert "metrics[0].labels.__name__: every series needs a __name__ label" in message


def test_scrape_interval_that_would_make_too_many_points(tmp_path: Path) -> None:
    text = GOOD.replace(
        "values: [[-60, 1], [0, 1]]", "values: [[-86400, 1], [0, 1]]\n    scrape_interval: 1"
    )
    message = error_for(tmp_path, text)
    assert "metrics[0].scrape_interval: 86400 s every 1 s is more than 20000 points" in message


def test_exponent_numbers_are_numbers_as_authors_mean(tmp_path: Path) -> None:
    scenario = load_scenario(
        write(tmp_path, GOOD.replace("[[-60, 1], [0, 1]]", "[[-60, 1.2e8], [0, 2.6e8]]"))
    )
    assert scenario.metrics[0].values[-1] == (0.0, 2.6e8)


def test_log_key_that_is_not_namespace_pod_container(tmp_path: Path) -> None:
    message = error_for(tmp_path, GOOD.replace("shop/web-1/app: hello", "web-1/app: hello"))
    assert 'logs["web-1/app"]: expected a key "namespace/pod/container"' in message


def test_log_for_a_pod_or_container_that_does_not_exist(tmp_path: Path) -> None:
    assert 'logs["shop/web-2/app"]: no Pod shop/web-2 in cluster' in error_for(
        tmp_path, GOOD.replace("shop/web-1/app: hello", "shop/web-2/app: hello")
    )
    assert "Pod shop/web-1 has no container 'proxy' (it has: app)" in error_for(
        tmp_path, GOOD.replace("shop/web-1/app: hello", "shop/web-1/proxy:previous: hello")
    )


def test_yaml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    message = error_for(tmp_path, GOOD.replace("description: one pod", "description: [one pod"))
    assert message.startswith(f"{tmp_path / 'scenario.yaml'}:")
    assert "not valid YAML" in message
    line = int(message.split(":")[1])
    assert 2 <= line <= 4


def test_duplicate_key_names_its_line(tmp_path: Path) -> None:
    message = error_for(
        tmp_path, GOOD.replace("description: one pod\n", "description: one pod\ndescription: two\n")
    )
    assert (
        message
        == f"{tmp_path / 'scenario.yaml'}:3: duplicate key 'description'; each key may appear once"
    )


def test_merge_keys_may_override_what_they_merge(tmp_path: Path) -> None:
    text = GOOD.replace(
        "    status: {phase: Running}",
        "    status: &s {phase: Running, podIP: 10.0.0.1}\n"
        "  - {apiVersion: v1, kind: Pod, metadata: {name: web-2, namespace: shop},"
        " spec: {containers: [{name: app}]}, status: {<<: *s, podIP: 10.0.0.2}}",
    )
    scenario = load_scenario(write(tmp_path, text))
    assert scenario.cluster[1]["status"] == {"phase": "Running", "podIP": "10.0.0.2"}


def test_empty_file_and_non_mapping(tmp_path: Path) -> None:
    assert (
        "expected a mapping with name, description, alert and cluster, got an empty document"
        in error_for(tmp_path, "")
    )
    assert "got list" in error_for(tmp_path, "- a\n- b\n")


def test_unknown_builtin_name_lists_the_builtins() -> None:
    with pytest.raises(
        ScenarioError, match=r"no built-in scenario named 'nope' \(built-in: .*checkout-oom"
    ):
        load_scenario("nope")


def test_missing_file_is_a_scenario_error(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="cannot read the scenario file"):
        load_scenario(tmp_path / "absent.yaml")


def test_several_problems_are_all_kept_and_the_message_stays_one_line(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(write(tmp_path, GOOD + "notes: a\nowner: b\n"))
    assert len(caught.value.problems) == 2
    assert "\n" not in str(caught.value)
    assert str(caught.value).endswith("(and 1 more problem)")


def test_in_memory_scenarios_are_checked_the_same_way() -> None:
    with pytest.raises(
        ScenarioError, match=r"<scenario>: \(top level\): required key 'alert' is missing"
    ):
        parse_scenario({"name": "x", "description": "y"})


def test_cli_exits_2_with_a_one_line_reason_for_a_bad_scenario(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, GOOD.replace("image: web:1", "imagee: web:1"))
    assert cli(["sandbox", "--scenario", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(
        f"sre-agent: {path}:12: cluster[0].spec.containers[0].imagee: unknown key"
    )


def test_cli_exits_2_for_an_unknown_scenario_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["sandbox", "--scenario", "no-such-scenario"]) == 2
    assert "no built-in scenario named 'no-such-scenario'" in capsys.readouterr().err
