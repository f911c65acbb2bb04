"""End to end with the real thing: Debian's Alertmanager 0.25 sends its webhook (with the bearer
token, as the README's receiver snippet configures it) to `sre-agent serve --no-slack --sandbox`,
which investigates; the test follows it through the HTTP API and its event stream."""

from __future__ import annotations

import asyncio
import shutil
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from mcp_bridge.sandbox import load_scenario
from tests.fakes.openai_server import serve_openai
from tests.http.serve_process import (
    follow_events,
    serve,
    serve_environment,
    slow_llm,
    stop,
)

ALERTMANAGER = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
TOKEN = "alertmanager-e2e-token-value"

pytestmark = [
    pytest.mark.alertmanager,
    pytest.mark.skipif(
        ALERTMANAGER is None,
        reason="Debian's prometheus-alertmanager is not installed (apt-get install "
        "prometheus-alertmanager; .ci/run does it)",
    ),
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def receiver_config(webhook_url: str, token: str) -> dict[str, Any]:
    """The receiver snippet the README gives, for a test rig (tiny group_wait)."""
    return {
        "route": {
            "receiver": "sre-agent",
            "group_by": ["alertname"],
            "group_wait": "1s",
            "group_interval": "5s",
            "repeat_interval": "1h",
        },
        "receivers": [
            {
                "name": "sre-agent",
                "webhook_configs": [
                    {
                        "url": webhook_url,
                        "send_resolved": True,
                        "http_config": {"authorization": {"type": "Bearer", "credentials": token}},
                    }
                ],
            }
        ],
    }


@pytest.fixture
async def alertmanager_for(tmp_path: Path) -> AsyncIterator[Any]:
    """Starts Alertmanager pointed at a webhook URL; yields its API base URL."""
    processes: list[asyncio.subprocess.Process] = []

    async def start(webhook_url: str) -> str:
        config = tmp_path / "alertmanager.yml"
        config.write_text(yaml.safe_dump(receiver_config(webhook_url, TOKEN)))
        port = free_port()
        assert ALERTMANAGER is not None
        log = (tmp_path / "alertmanager.log").open("wb")
        process = await asyncio.create_subprocess_exec(
            ALERTMANAGER,
            f"--config.file={config}",
            f"--storage.path={tmp_path / 'am-data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            f"--web.external-url=http://127.0.0.1:{port}",  # links in alerts point here
            "--cluster.listen-address=",  # no gossip port on 0.0.0.0:9094
            stdout=log,
            stderr=log,
        )
        processes.append(process)
        url = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as session, asyncio.timeout(30):
            while True:
                try:
                    async with session.get(f"{url}/-/ready") as response:
                        if response.status == 200:
                            return url
                except aiohttp.ClientConnectionError:
                    pass
                await asyncio.sleep(0.1)

    yield start
    for process in processes:
        if process.returncode is None:
            process.terminate()
            await asyncio.wait_for(process.wait(), 30)


async def through_alertmanager(tmp_path: Path, alertmanager_for: Any) -> dict[str, Any]:
    """Post the sandbox's alert into Alertmanager; return what serve made of its webhook:
    the stored record, every event up to the end, and Alertmanager's URL."""
    scenario = load_scenario("checkout-oom")
    async with serve_openai() as llm:
        llm.respond_with(slow_llm(0.2))
        environment = serve_environment(tmp_path, llm, SRE_AGENT_HTTP_TOKEN=TOKEN)
        async with serve(
            environment, "--no-slack", "--sandbox", "checkout-oom", stderr_path=tmp_path / "err"
        ) as served:
            alertmanager = await alertmanager_for(f"{served.url}/alerts/alertmanager")
            alert = {
                "labels": scenario.alert["labels"],
                "annotations": scenario.alert.get("annotations", {}),
                "startsAt": datetime.now(UTC).isoformat(),
                "generatorURL": "http://prometheus.example/graph?g0.expr=up",
            }
            headers = {"Authorization": f"Bearer {TOKEN}"}
            async with aiohttp.ClientSession(headers=headers) as session:
                async with session.post(f"{alertmanager}/api/v2/alerts", json=[alert]) as posted:
                    assert posted.status == 200, await posted.text()
                investigation = await first_investigation(session, served.url)
                events = await follow_events(session, served.url, investigation["id"], TOKEN)
                async with session.get(
                    f"{served.url}/investigations/{investigation['id']}"
                ) as response:
                    record = await response.json()
            assert await stop(served) == 0
    return {"record": record, "events": events, "alertmanager": alertmanager}


async def test_alertmanager_webhook_is_investigated_to_the_end(
    tmp_path: Path, alertmanager_for: Any
) -> None:
    seen = await through_alertmanager(tmp_path, alertmanager_for)
    record, events = seen["record"], seen["events"]
    # Alertmanager's own delivery (its bearer token accepted), stored as it sent it.
    assert record["source"] == "alertmanager"
    assert record["origin"]["kind"] == "http"
    assert record["origin"]["user"].startswith("Alertmanager/")
    assert record["alert"]["labels"] == load_scenario("checkout-oom").alert["labels"]
    assert record["alert"]["links"]["silence"].startswith(seen["alertmanager"])
    # Investigated against the sandbox, followed live over SSE to its report.
    assert [event["type"] for event in events][-1] == "finished"
    assert record["status"] == "finished"
    assert record["report"]["category"] == "oom_killed"
    assert any(iteration["tool_calls"] for iteration in record["iterations"])


async def first_investigation(session: aiohttp.ClientSession, url: str) -> dict[str, Any]:
    """The investigation Alertmanager's webhook opened (it arrives about a second later)."""
    async with asyncio.timeout(60):
        while True:
            async with session.get(f"{url}/investigations") as response:
                listed = (await response.json())["investigations"]
            if listed:
                first: dict[str, Any] = listed[0]
                return first
            await asyncio.sleep(0.2)
