"""The sandbox's Kubernetes API over raw HTTP: discovery, list/get, selectors, paging, Tables,
logs and the real API's `Status` errors, for the shared `lab` scenario."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest

from mcp_bridge.sandbox import Sandbox
from mcp_bridge.sandbox.cluster import object_uid

TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
LAB_PODS = {
    "api-0",
    "pending-6f7d8c9b5-zz9xw",
    "report-28731440-x9k2l",
    "web-7d4b9c-abcde",
    "web-7d4b9c-fghij",
    "worker-0",
}


@pytest.fixture(scope="module")
def api(lab: Sandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=lab.kubernetes_url, timeout=5) as client:
        yield client


def names(body: dict[str, Any]) -> set[str]:
    return {item["metadata"]["name"] for item in body["items"]}


def status_of(response: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    assert body["kind"] == "Status"
    assert body["status"] == "Failure"
    assert body["code"] == response.status_code
    return body


# -- discovery ---------------------------------------------------------------------------------


def test_version_is_a_kubernetes_version(api: httpx.Client) -> None:
    body = api.get("/version").json()
    assert body["major"] == "1"
    assert body["gitVersion"].startswith("v1.")


def test_core_and_group_discovery(api: httpx.Client) -> None:
    assert api.get("/api").json()["versions"] == ["v1"]
    groups = {g["name"]: g for g in api.get("/apis").json()["groups"]}
    assert groups["apps"]["preferredVersion"] == {"groupVersion": "apps/v1", "version": "v1"}
    assert {"batch", "storage.k8s.io", "autoscaling", "coordination.k8s.io"} <= set(groups)
    assert api.get("/apis/apps").json()["kind"] == "APIGroup"
    core = {r["name"]: r for r in api.get("/api/v1").json()["resources"]}
    assert core["pods"]["shortNames"] == ["po"]
    assert core["pods"]["verbs"] == ["get", "list"]
    assert core["pods"]["namespaced"] is True
    assert "pods/log" in core
    assert core["nodes"]["namespaced"] is False
    apps = {r["name"]: r for r in api.get("/apis/apps/v1").json()["resources"]}
    assert apps["deployments"]["kind"] == "Deployment"


def test_unknown_group_or_path_is_a_404_status(api: httpx.Client) -> None:
    for path in ("/apis/example.com/v1", "/api/v2", "/api/v1/widgets", "/nope"):
        response = api.get(path)
        assert response.status_code == 404
        assert status_of(response)["message"] == "the server could not find the requested resource"


# -- list and get ------------------------------------------------------------------------------


def test_list_pods_in_all_namespaces_and_in_one(api: httpx.Client) -> None:
    everywhere = api.get("/api/v1/pods").json()
    assert everywhere["kind"] == "PodList"
    assert everywhere["apiVersion"] == "v1"
    assert names(everywhere) == LAB_PODS
    assert "kind" not in everywhere["items"][0]  # list items carry no kind, as from a real API
    assert names(api.get("/api/v1/namespaces/lab/pods").json()) == LAB_PODS
    assert api.get("/api/v1/namespaces/empty/pods").json()["items"] == []


def test_get_one_object_has_kind_and_api_version(api: httpx.Client) -> None:
    pod = api.get("/api/v1/namespaces/lab/pods/api-0").json()
    assert (pod["kind"], pod["apiVersion"]) == ("Pod", "v1")
    deployment = api.get("/apis/apps/v1/namespaces/lab/deployments/web").json()
    assert (deployment["kind"], deployment["apiVersion"]) == ("Deployment", "apps/v1")
    node = api.get("/api/v1/nodes/node-b").json()
    assert node["spec"]["taints"][0]["key"] == "node.kubernetes.io/unreachable"
    assert api.get("/api/v1/namespaces/lab").json()["status"]["phase"] == "Active"
    assert api.get("/api/v1/namespaces/lab/pods/api-0/status").json()["kind"] == "Pod"


def test_missing_object_is_not_found_in_the_real_message_format(api: httpx.Client) -> None:
    response = api.get("/api/v1/namespaces/lab/pods/nope")
    assert response.status_code == 404
    body = status_of(response)
    assert body["reason"] == "NotFound"
    assert body["message"] == 'pods "nope" not found'
    assert body["details"] == {"name": "nope", "kind": "pods"}
    grouped = status_of(api.get("/apis/apps/v1/namespaces/lab/deployments/nope"))
    assert grouped["message"] == 'deployments.apps "nope" not found'
    assert grouped["details"]["group"] == "apps"
    assert status_of(api.get("/api/v1/namespaces/other/pods/api-0"))["code"] == 404


def test_secrets_are_forbidden_to_list_and_to_get(api: httpx.Client) -> None:
    listed = api.get("/api/v1/namespaces/lab/secrets")
    assert listed.status_code == 403
    assert status_of(listed)["message"] == (
        'secrets is forbidden: User "system:anonymous" cannot list resource "secrets" in API'
        ' group "" in the namespace "lab"'
    )
    got = status_of(api.get("/api/v1/namespaces/lab/secrets/web-secret"))
    assert got["reason"] == "Forbidden"
    assert got["message"].startswith(
        'secrets "web-secret" is forbidden: User "system:anonymous" cannot get'
    )
    everywhere = status_of(api.get("/api/v1/secrets"))
    assert everywhere["message"].endswith("at the cluster scope")


@pytest.mark.parametrize(
    ("method", "path", "verb"),
    [
        ("DELETE", "/api/v1/namespaces/lab/pods/api-0", "delete"),
        ("DELETE", "/api/v1/namespaces/lab/pods", "deletecollection"),
        ("POST", "/api/v1/namespaces/lab/pods", "create"),
        ("PUT", "/api/v1/nodes/node-a", "update"),
        ("PATCH", "/apis/apps/v1/namespaces/lab/deployments/web", "patch"),
    ],
)
def test_every_write_is_forbidden(api: httpx.Client, method: str, path: str, verb: str) -> None:
    response = api.request(method, path, json={})
    assert response.status_code == 403
    assert f"cannot {verb} resource" in status_of(response)["message"]


def test_writes_to_non_resource_paths_and_watches_are_not_allowed(api: httpx.Client) -> None:
    assert status_of(api.post("/version", json={}))["reason"] == "MethodNotAllowed"
    watch = api.get("/api/v1/pods", params={"watch": "true"})
    assert watch.status_code == 405
    assert "watch is not supported" in status_of(watch)["message"]


def test_only_json_is_served(api: httpx.Client) -> None:
    response = api.get("/api/v1/pods", headers={"Accept": "application/vnd.kubernetes.protobuf"})
    assert response.status_code == 406
    assert status_of(response)["reason"] == "NotAcceptable"


# -- selectors and paging ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("app=web", {"web-7d4b9c-abcde", "web-7d4b9c-fghij"}),
        ("app==api", {"api-0"}),
        ("app!=web", {"api-0", "pending-6f7d8c9b5-zz9xw", "report-28731440-x9k2l", "worker-0"}),
        ("app in (web, api)", {"api-0", "web-7d4b9c-abcde", "web-7d4b9c-fghij"}),
        ("app notin (web,api)", {"pending-6f7d8c9b5-zz9xw", "report-28731440-x9k2l", "worker-0"}),
        ("job-name", {"report-28731440-x9k2l"}),
        ("!app", {"report-28731440-x9k2l"}),
        ("app=web,pod-template-hash=7d4b9c", {"web-7d4b9c-abcde", "web-7d4b9c-fghij"}),
        ("app=nothing", set()),
    ],
)
def test_label_selectors(api: httpx.Client, selector: str, expected: set[str]) -> None:
    body = api.get("/api/v1/namespaces/lab/pods", params={"labelSelector": selector}).json()
    assert names(body) == expected


def test_unparseable_label_selector_is_a_bad_request(api: httpx.Client) -> None:
    response = api.get("/api/v1/pods", params={"labelSelector": "app in web"})
    assert response.status_code == 400
    assert status_of(response)["message"].startswith("unable to parse requirement")


@pytest.mark.parametrize(
    ("path", "selector", "expected"),
    [
        ("/api/v1/pods", "metadata.name=api-0", {"api-0"}),
        (
            "/api/v1/pods",
            "metadata.namespace=lab,spec.nodeName=node-a",
            LAB_PODS - {"pending-6f7d8c9b5-zz9xw"},
        ),
        ("/api/v1/pods", "spec.nodeName=", {"pending-6f7d8c9b5-zz9xw"}),
        (
            "/api/v1/pods",
            "status.phase=Pending",
            {"pending-6f7d8c9b5-zz9xw", "web-7d4b9c-fghij", "worker-0"},
        ),
        ("/api/v1/pods", "status.phase!=Running,status.phase!=Pending", {"report-28731440-x9k2l"}),
        ("/api/v1/nodes", "spec.unschedulable=false", {"node-a", "node-b"}),
    ],
)
def test_field_selectors_on_pods_and_nodes(
    api: httpx.Client, path: str, selector: str, expected: set[str]
) -> None:
    assert names(api.get(path, params={"fieldSelector": selector}).json()) == expected


def test_field_selectors_on_events(api: httpx.Client) -> None:
    def reasons(selector: str, path: str = "/api/v1/namespaces/lab/events") -> set[str]:
        items = api.get(path, params={"fieldSelector": selector}).json()["items"]
        return {event["reason"] for event in items}

    assert reasons("involvedObject.name=api-0") == {"Unhealthy", "Killing"}
    assert reasons("involvedObject.kind=Pod,type=Warning,reason=Failed") == {"Failed"}
    assert reasons("involvedObject.kind=Node", "/api/v1/events") == {"NodeNotReady"}
    assert reasons("source=persistentvolume-controller") == {"ProvisioningFailed"}
    pod_uid = api.get("/api/v1/namespaces/lab/pods/api-0").json()["metadata"]["uid"]
    assert reasons(f"involvedObject.uid={pod_uid},involvedObject.namespace=lab") == {
        "Unhealthy",
        "Killing",
    }


def test_unsupported_field_is_a_bad_request_naming_what_is_supported(api: httpx.Client) -> None:
    response = api.get("/api/v1/pods", params={"fieldSelector": "spec.containers=x"})
    assert response.status_code == 400
    message = status_of(response)["message"]
    assert message.startswith("field label not supported: spec.containers")
    assert "spec.nodeName" in message


def test_limit_and_continue_page_through_a_list(api: httpx.Client) -> None:
    first = api.get("/api/v1/pods", params={"limit": 4}).json()
    assert len(first["items"]) == 4
    assert first["metadata"]["remainingItemCount"] == 2
    second = api.get(
        "/api/v1/pods", params={"limit": 4, "continue": first["metadata"]["continue"]}
    ).json()
    assert len(second["items"]) == 2
    assert "continue" not in second["metadata"]
    assert names(first) | names(second) == LAB_PODS
    response = api.get("/api/v1/pods", params={"limit": 4, "continue": "garbage"})
    assert response.status_code == 400
    assert status_of(response)["message"].startswith("continue key is not valid")


# -- what the sandbox fills in -----------------------------------------------------------------


def test_objects_get_uid_resource_version_and_creation_time(api: httpx.Client) -> None:
    pod = api.get("/api/v1/namespaces/lab/pods/api-0").json()
    meta = pod["metadata"]
    assert meta["uid"] == object_uid("Pod", "lab", "api-0")
    assert meta["resourceVersion"].isdigit()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", meta["creationTimestamp"])
    service = api.get("/api/v1/namespaces/lab/services/web").json()
    assert "creationTimestamp" in service["metadata"]


def test_references_point_at_the_objects_they_name(api: httpx.Client) -> None:
    deployment = api.get("/apis/apps/v1/namespaces/lab/deployments/web").json()
    replicaset = api.get("/apis/apps/v1/namespaces/lab/replicasets/web-7d4b9c").json()
    assert replicaset["metadata"]["ownerReferences"][0]["uid"] == deployment["metadata"]["uid"]
    pod = api.get("/api/v1/namespaces/lab/pods/api-0").json()
    events = api.get(
        "/api/v1/namespaces/lab/events", params={"fieldSelector": "involvedObject.name=api-0"}
    ).json()["items"]
    assert {e["involvedObject"]["uid"] for e in events} == {pod["metadata"]["uid"]}
    assert all(e["metadata"]["name"].startswith("api-0.") for e in events)


def test_namespaces_and_node_leases_exist_like_in_a_real_cluster(api: httpx.Client) -> None:
    namespaces = names(api.get("/api/v1/namespaces").json())
    assert {"default", "kube-system", "kube-public", "kube-node-lease", "lab"} <= namespaces
    lease = api.get("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/node-b").json()
    assert lease["spec"]["holderIdentity"] == "node-b"
    heartbeat = api.get("/api/v1/nodes/node-b").json()["status"]["conditions"][-1][
        "lastHeartbeatTime"
    ]
    assert lease["spec"]["renewTime"].startswith(heartbeat[:-1])


# -- tables ------------------------------------------------------------------------------------


def table(api: httpx.Client, path: str, **params: str) -> dict[str, Any]:
    body: dict[str, Any] = api.get(path, params=params, headers={"Accept": TABLE}).json()
    assert body["kind"] == "Table"
    return body


def rows_by_name(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    columns = [c["name"] for c in body["columnDefinitions"]]
    return {row["cells"][0]: dict(zip(columns, row["cells"], strict=True)) for row in body["rows"]}


def test_pod_table_has_kubectl_columns_and_status_words(api: httpx.Client) -> None:
    body = table(api, "/api/v1/pods")
    assert [(c["name"], c["priority"]) for c in body["columnDefinitions"]][:5] == [
        ("Name", 0),
        ("Ready", 0),
        ("Status", 0),
        ("Restarts", 0),
        ("Age", 0),
    ]
    rows = rows_by_name(body)
    assert rows["worker-0"]["Status"] == "Init:CrashLoopBackOff"
    assert rows["web-7d4b9c-fghij"]["Status"] == "ImagePullBackOff"
    assert rows["web-7d4b9c-fghij"]["Ready"] == "1/2"
    assert rows["pending-6f7d8c9b5-zz9xw"]["Status"] == "Pending"
    assert rows["pending-6f7d8c9b5-zz9xw"]["Node"] == "<none>"
    assert rows["report-28731440-x9k2l"]["Status"] == "Completed"
    assert re.fullmatch(r"4 \(3m1\ds ago\)", rows["api-0"]["Restarts"])
    assert rows["api-0"]["Age"] == "120m"
    row = body["rows"][0]
    assert row["object"]["kind"] == "PartialObjectMetadata"
    assert row["object"]["metadata"]["namespace"] == "lab"


def test_table_includes_the_object_only_when_asked(api: httpx.Client) -> None:
    full = table(api, "/api/v1/namespaces/lab/pods", includeObject="Object")
    assert full["rows"][0]["object"]["spec"]["containers"]
    bare = table(api, "/api/v1/namespaces/lab/pods", includeObject="None")
    assert "object" not in bare["rows"][0]
    single = table(api, "/api/v1/namespaces/lab/pods/api-0")
    assert [row["cells"][0] for row in single["rows"]] == ["api-0"]
    older = api.get(
        "/api/v1/pods", headers={"Accept": "application/json;as=Table;v=v1beta1;g=meta.k8s.io"}
    ).json()
    assert older["apiVersion"] == "meta.k8s.io/v1beta1"


def test_tables_for_other_kinds(api: httpx.Client) -> None:
    nodes = rows_by_name(table(api, "/api/v1/nodes"))
    assert nodes["node-b"]["Status"] == "NotReady"
    assert nodes["node-a"]["Roles"] == "worker"
    deployments = rows_by_name(table(api, "/apis/apps/v1/namespaces/lab/deployments"))
    assert deployments["web"]["Ready"] == "1/2"
    assert deployments["web"]["Images"] == "registry.local/web:v2.0.1,registry.local/proxy:1.22"
    events = table(api, "/api/v1/namespaces/lab/events", fieldSelector="reason=FailedCreate")
    columns = [c["name"] for c in events["columnDefinitions"]]
    cells = dict(zip(columns, events["rows"][0]["cells"], strict=True))
    assert cells["Object"] == "replicaset/batch-5f6d7c8b9"
    assert cells["Count"] == 9
    assert re.fullmatch(r"3\ds", cells["Last Seen"])  # 30 s ago when the sandbox started
    services = rows_by_name(table(api, "/api/v1/namespaces/lab/services"))
    assert services["api"]["Port(s)"] == "8080:30080/TCP"
    quotas = rows_by_name(table(api, "/api/v1/namespaces/lab/resourcequotas"))
    assert quotas["lab-quota"]["Limit"] == "limits.memory: 8Gi/8Gi"
    claims = rows_by_name(table(api, "/api/v1/namespaces/lab/persistentvolumeclaims"))
    assert (claims["logs"]["Status"], claims["logs"]["Capacity"]) == ("Bound", "10Gi")
    endpoints = rows_by_name(table(api, "/api/v1/namespaces/lab/endpoints"))
    assert endpoints["web"]["Endpoints"] == "10.1.0.5:8080"


def test_partial_object_metadata_list(api: httpx.Client) -> None:
    accept = "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io"
    body = api.get("/api/v1/namespaces/lab/pods", headers={"Accept": accept}).json()
    assert body["kind"] == "PartialObjectMetadataList"
    assert set(body["items"][0]) == {"kind", "apiVersion", "metadata"}


# -- logs --------------------------------------------------------------------------------------


def log(api: httpx.Client, pod: str, **params: str) -> httpx.Response:
    return api.get(f"/api/v1/namespaces/lab/pods/{pod}/log", params=params)


def test_log_of_a_container_is_served_as_written(api: httpx.Client) -> None:
    response = log(api, "web-7d4b9c-abcde", container="app")
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text.splitlines()[0] == "starting web v2.0.1"
    assert response.text.endswith("GET / 200\n")
    assert log(api, "api-0").text == "api started\n"  # one container: no need to name it


def test_multi_container_pod_needs_a_container(api: httpx.Client) -> None:
    response = log(api, "web-7d4b9c-abcde")
    assert response.status_code == 400
    assert status_of(response)["message"] == (
        "a container name must be specified for pod web-7d4b9c-abcde, choose one of: [app sidecar]"
    )
    worker = status_of(log(api, "worker-0", container="nope"))
    assert worker["message"] == "container nope is not valid for pod worker-0"


def test_previous_log_and_its_absence(api: httpx.Client) -> None:
    assert "slow query" in log(api, "api-0", previous="true").text
    missing = log(api, "web-7d4b9c-abcde", container="app", previous="true")
    assert missing.status_code == 400
    assert status_of(missing)["message"] == (
        'previous terminated container "app" in pod "web-7d4b9c-abcde" not found'
    )


def test_crash_looping_container_serves_its_last_run_like_the_kubelet(api: httpx.Client) -> None:
    current = log(api, "worker-0", container="migrate").text
    assert current == log(api, "worker-0", container="migrate", previous="true").text
    assert "ERROR: relation" in current


def test_containers_that_never_ran_and_unscheduled_pods(api: httpx.Client) -> None:
    pulling = status_of(log(api, "web-7d4b9c-fghij", container="app"))
    assert pulling["message"] == (
        'container "app" in pod "web-7d4b9c-fghij" is waiting to start:'
        " trying and failing to pull image"
    )
    unscheduled = status_of(log(api, "pending-6f7d8c9b5-zz9xw"))
    assert unscheduled["message"] == "pod pending-6f7d8c9b5-zz9xw does not have a host assigned"
    assert status_of(log(api, "nope"))["message"] == 'pods "nope" not found'
    assert log(api, "report-28731440-x9k2l").text == ""  # it ran; the scenario wrote no log


def test_tail_lines_limit_bytes_and_timestamps(api: httpx.Client, lab: Sandbox) -> None:
    assert log(api, "web-7d4b9c-abcde", container="app", tailLines="2").text == (
        "ERROR upstream timeout talking to cart\nGET / 200\n"
    )
    assert log(api, "web-7d4b9c-abcde", container="app", limitBytes="5").text == "start"
    stamped = log(api, "web-7d4b9c-abcde", container="app", timestamps="true").text.splitlines()
    first_time, first_text = stamped[0].split(" ", 1)
    assert first_text == "starting web v2.0.1"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z", first_time)
    started = datetime.fromisoformat(first_time[:26] + "+00:00").timestamp()
    assert started == pytest.approx(lab.now - 600, abs=1)  # the container started 10 minutes ago


def test_since_seconds_keeps_the_recent_lines(api: httpx.Client) -> None:
    # Five lines spread over the ten minutes the container has run: the last two are recent.
    recent = log(api, "web-7d4b9c-abcde", container="app", sinceSeconds="200").text
    assert recent == "ERROR upstream timeout talking to cart\nGET / 200\n"
    both = log(
        api, "web-7d4b9c-abcde", container="app", sinceSeconds="1", sinceTime="2024-01-01T00:00:00Z"
    )
    assert both.status_code == 400
    assert status_of(log(api, "api-0", tailLines="many"))["message"].startswith(
        "tailLines: Invalid value"
    )
