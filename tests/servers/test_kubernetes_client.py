"""The kubernetes server's reads go through the official client's ApiClient (configuration,
credentials, TLS) with the REST paths written out, not its generated API classes: what goes on
the wire, and that the generated classes are never imported (they cost ~0.45 s of start-up)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web

from mcp_bridge.servers.kubernetes.client import request_for

from .conftest import call, kubernetes_session

ROOT = Path(__file__).parents[2]


def test_paths_fill_name_then_namespace_and_quote_them() -> None:
    assert request_for("CoreV1Api", "read_namespaced_pod", "checkout-x", "shop") == (
        "/api/v1/namespaces/shop/pods/checkout-x",
        [],
    )
    assert request_for("CoreV1Api", "read_node", "a/b c")[0] == "/api/v1/nodes/a%2Fb%20c"
    assert request_for("AppsV1Api", "read_namespaced_replica_set", "rs", "ns")[0] == (
        "/apis/apps/v1/namespaces/ns/replicasets/rs"
    )
    assert request_for("BatchV1Api", "read_namespaced_job", "j", "ns")[0] == (
        "/apis/batch/v1/namespaces/ns/jobs/j"
    )
    assert request_for("CoreV1Api", "list_pod_for_all_namespaces")[0] == "/api/v1/pods"


def test_keywords_become_api_query_names_and_none_is_left_out() -> None:
    _, query = request_for(
        "CoreV1Api",
        "list_namespaced_pod",
        "shop",
        limit=500,
        _continue=None,
        label_selector="app=checkout",
        field_selector="status.phase!=Running",
    )
    assert query == [
        ("limit", 500),
        ("labelSelector", "app=checkout"),
        ("fieldSelector", "status.phase!=Running"),
    ]
    _, query = request_for(
        "CoreV1Api", "read_namespaced_pod_log", "p", "ns", tail_lines=20, since_seconds=60
    )
    assert query == [("tailLines", 20), ("sinceSeconds", 60)]


def test_unknown_reads_and_wrong_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match=r"CoreV1Api.delete_namespaced_pod is not a read"):
        request_for("CoreV1Api", "delete_namespaced_pod", "p", "ns")
    with pytest.raises(ValueError, match="not a read"):
        request_for("AppsV1Api", "read_namespaced_pod", "p", "ns")  # wrong API group
    with pytest.raises(TypeError, match="takes 2 positional arguments"):
        request_for("CoreV1Api", "read_namespaced_pod", "p")


@pytest.fixture
async def recording_api() -> AsyncIterator[tuple[str, list[web.Request]]]:
    """A Kubernetes API that answers every list with one node and records each request."""
    seen: list[web.Request] = []

    async def handle(request: web.Request) -> web.Response:
        seen.append(request)
        node: dict[str, Any] = {
            "metadata": {"name": "n1", "creationTimestamp": "2026-01-01T00:00:00Z"},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]},
        }
        return web.json_response({"kind": "NodeList", "metadata": {}, "items": [node]})

    app = web.Application()
    app.router.add_get("/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}", seen
    finally:
        await runner.cleanup()


async def test_reads_carry_the_kubeconfig_credentials_and_ask_for_json(
    tmp_path: Path, recording_api: tuple[str, list[web.Request]]
) -> None:
    url, seen = recording_api
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": url}}],
                "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "c",
                "users": [{"name": "u", "user": {"token": "s3cr3t-token"}}],
            }
        )
    )
    async with kubernetes_session(kubeconfig) as session:
        result = await call(session, "list_nodes")
    assert [row["name"] for row in result["nodes"]] == ["n1"]
    (request,) = seen
    assert request.path == "/api/v1/nodes"
    assert request.query["limit"] == "500"
    assert request.headers["Authorization"] == "Bearer s3cr3t-token"
    assert request.headers["Accept"] == "application/json"


def test_the_server_does_not_import_the_generated_api_classes() -> None:
    probe = (
        "import sys, mcp_bridge.servers.kubernetes.server; "
        "print(sorted(m for m in sys.modules if m.startswith('kubernetes.client.api.')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"
