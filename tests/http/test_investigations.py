"""Reading investigations over HTTP: one with its progress and iterations, the newest-first list,
and the live event stream (server-sent events) with resume."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from pydantic import SecretStr

from bot.http import HttpOptions
from tests.http.conftest import TOKEN, Api, serving, webhook


@dataclass
class Frame:
    event: str | None
    id: str | None
    data: Any
    comment: bool = False


async def frames(response: aiohttp.ClientResponse) -> AsyncIterator[Frame]:
    """Server-sent events as the wire carries them, comments included."""
    fields: dict[str, str] = {}
    async for raw in response.content:
        line = raw.decode().rstrip("\n")
        if line.startswith(":"):
            yield Frame(None, None, None, comment=True)
        elif line == "":
            if "data" in fields:
                yield Frame(fields.get("event"), fields.get("id"), json.loads(fields["data"]))
            fields = {}
        else:
            name, _, value = line.partition(": ")
            fields[name] = value


async def submit(api: Api, fingerprint: str) -> str:
    reply = await api.post("/alerts/alertmanager", webhook(fingerprint))
    assert reply.status == 202
    investigation_id: str = reply.json["investigations"][0]["id"]
    return investigation_id


async def stream(api: Api, investigation_id: str, **headers: str) -> list[Frame]:
    async with (
        asyncio.timeout(20),
        api.session.get(
            f"{api.url}/investigations/{investigation_id}/events", headers=api.auth(headers)
        ) as response,
    ):
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/event-stream")
        return [frame async for frame in frames(response) if not frame.comment]


async def test_event_stream_follows_an_investigation_live_to_its_end(live_api: Api) -> None:
    investigation_id = await submit(live_api, "a000000000000001")
    seen = await stream(live_api, investigation_id)
    types = [frame.event for frame in seen]
    assert types[0] == "started"
    assert types[-1] == "finished"
    assert {"iteration_started", "reasoning", "tool_called", "tool_finished"} <= set(types)
    assert [int(frame.id or 0) for frame in seen] == list(range(1, len(seen) + 1))
    assert all(frame.data["type"] == frame.event for frame in seen)
    assert all(frame.data["investigation_id"] == investigation_id for frame in seen)
    assert seen[-1].data["report"]["category"] == "oom_killed"


async def test_last_event_id_resumes_where_the_reader_stopped(live_api: Api) -> None:
    investigation_id = await submit(live_api, "a000000000000002")
    everything = await stream(live_api, investigation_id)
    resumed = await stream(live_api, investigation_id, **{"Last-Event-ID": "3"})
    assert [frame.id for frame in resumed] == [frame.id for frame in everything[3:]]
    assert (
        await stream(live_api, investigation_id, **{"Last-Event-ID": str(len(everything))})
    ) == []


async def test_investigation_shows_progress_iterations_and_report(live_api: Api) -> None:
    investigation_id = await submit(live_api, "a000000000000003")
    await stream(live_api, investigation_id)
    reply = await live_api.get(f"/investigations/{investigation_id}")
    assert reply.status == 200
    body = reply.json
    assert body["status"] == "finished"
    assert body["attempts"] == 1
    assert body["report"]["category"] == "oom_killed"
    assert body["alert"]["labels"]["pod"] == "checkout-a000000000000003"
    assert "raw" not in body["alert"]
    (first, *_) = body["iterations"]
    assert [said["text"] for said in first["reasoning"]] == ["Checking the pod first."]
    (tool_call,) = first["tool_calls"]
    assert tool_call["tool"] == "kubernetes_get_pod"
    assert tool_call["status"] is not None  # refused: no MCP server here offers it
    assert body["progress"]["tool_calls"] == 1
    assert body["progress"]["last_event"] == "finished"


async def test_unknown_investigation_is_404_on_every_reading_route(api: Api) -> None:
    for path in ("/investigations/inv_nope", "/investigations/inv_nope/events"):
        reply = await api.get(path)
        assert reply.status == 404
        assert reply.json["error"] == "not_found"
        assert "inv_nope" in reply.json["message"]


async def test_list_is_newest_first_filters_by_status_and_pages(api: Api) -> None:
    ids = [await submit(api, f"b00000000000000{n}") for n in range(5)]
    listed = await api.get("/investigations")
    assert [row["id"] for row in listed.json["investigations"]] == ids[::-1]
    assert listed.json["investigations"][0]["alert"]["title"] == "AlwaysFiring"
    first_page = (await api.get("/investigations?limit=2")).json
    assert [row["id"] for row in first_page["investigations"]] == ids[:2:-1][:2]
    second = (await api.get(f"/investigations?limit=2&before={first_page['next']}")).json
    assert [row["id"] for row in second["investigations"]] == [ids[2], ids[1]]
    assert (await api.get("/investigations?status=queued")).json["investigations"]
    assert (await api.get("/investigations?status=finished")).json["investigations"] == []


async def test_bad_list_queries_are_422_naming_the_parameter(api: Api) -> None:
    for query, name in [
        ("status=done", "status"),
        ("limit=0", "limit"),
        ("limit=1000", "limit"),
        ("limit=ten", "limit"),
    ]:
        reply = await api.get(f"/investigations?{query}")
        assert reply.status == 422, query
        assert reply.json["detail"][0]["loc"] == ["query", name]
    assert (await api.get("/investigations?before=inv_nope")).status == 404


async def test_bad_last_event_id_is_422_before_any_stream(api: Api) -> None:
    investigation_id = await submit(api, "c000000000000001")
    for value in ("-1", "three"):
        reply = await api.get(
            f"/investigations/{investigation_id}/events", headers={"Last-Event-ID": value}
        )
        assert reply.status == 422
        assert reply.json["detail"][0]["loc"] == ["header", "Last-Event-ID"]


async def test_idle_stream_sends_keep_alive_comments_and_closing_server_ends_it(
    tmp_path: Path,
) -> None:
    options = HttpOptions(token=SecretStr(TOKEN), sse_keepalive_s=0.05)
    async with serving(tmp_path, options=options) as api:  # nothing runs: it stays queued
        investigation_id = await submit(api, "d000000000000001")
        comments = 0
        async with api.session.get(
            f"{api.url}/investigations/{investigation_id}/events", headers=api.auth()
        ) as response:
            async with asyncio.timeout(10):
                async for frame in frames(response):
                    comments += frame.comment
                    if comments == 3:
                        break
    assert comments == 3


async def test_server_shutdown_ends_open_streams_quickly(tmp_path: Path) -> None:
    options = HttpOptions(token=SecretStr(TOKEN), sse_keepalive_s=30)
    async with aiohttp.ClientSession() as session:
        async with serving(tmp_path, options=options) as api:
            investigation_id = await submit(api, "e000000000000001")
            response = await session.get(
                f"{api.url}/investigations/{investigation_id}/events", headers=api.auth()
            )
            reader = asyncio.create_task(response.read())
            await asyncio.sleep(0.1)
            assert not reader.done()  # queued, nothing runs: the stream stays open
            stopping = asyncio.get_running_loop().time()
        # `serving` has stopped the server: the stream ended instead of holding it up.
        async with asyncio.timeout(10):
            await reader
        assert asyncio.get_running_loop().time() - stopping < 4
        response.release()
