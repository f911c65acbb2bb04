"""Reading investigations: one with its progress and iterations, a newest-first list, and the
live event stream (server-sent events: the same events the Slack renderer sees)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiohttp import web

from agent.events import Failed, Finished
from agent.store import InvestigationStatus, StoredEvent
from bot.http.errors import HttpProblem
from bot.http.state import CLOSING, ENGINE, OPTIONS
from bot.http.views import detail_json, summary_json

log = logging.getLogger("sre_agent.http")

MAX_LIMIT = 200
_STATUSES = ", ".join(status.value for status in InvestigationStatus)


async def show(request: web.Request) -> web.Response:
    """GET /investigations/{id}"""
    store = request.app[ENGINE].store
    investigation_id = request.match_info["id"]
    record = await store.get(investigation_id)
    events = await store.events(investigation_id)
    return web.json_response(detail_json(record, events))


async def index(request: web.Request) -> web.Response:
    """GET /investigations?status=&limit=&before= (newest first; `before` pages on)."""
    query = request.query
    status: InvestigationStatus | None = None
    if raw_status := query.get("status"):
        try:
            status = InvestigationStatus(raw_status)
        except ValueError:
            raise _bad_query("status", f"expected one of {_STATUSES}") from None
    limit = _int_query(request, "limit", default=50, low=1, high=MAX_LIMIT)
    before = query.get("before") or None
    store = request.app[ENGINE].store
    if before is not None:
        await store.get(before)  # an unknown anchor is a 404, not an empty page
    records = await store.list_investigations(status=status, limit=limit, before=before)
    body = {
        "investigations": [summary_json(record) for record in records],
        "next": records[-1].id if len(records) == limit else None,
    }
    return web.json_response(body)


async def events(request: web.Request) -> web.StreamResponse:
    """GET /investigations/{id}/events: every event so far, then live ones, as server-sent
    events (`id:` is the event's sequence number; send it back as Last-Event-ID to resume).
    The stream ends after Finished or Failed."""
    engine = request.app[ENGINE]
    investigation_id = request.match_info["id"]
    await engine.store.get(investigation_id)  # 404 before the stream starts
    after = _resume_point(request)
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream; charset=utf-8",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",  # proxies: pass each event on at once
        }
    )
    await response.prepare(request)
    feed: asyncio.Queue[StoredEvent | None] = asyncio.Queue()

    async def pump() -> None:
        try:
            async for stored in engine.service.follow(investigation_id, after_seq=after):
                feed.put_nowait(stored)
        except Exception:  # the stream has begun: it can only end, the reason goes to the log
            log.exception("event stream of %s ended early", investigation_id)
        finally:
            feed.put_nowait(None)

    pumping = asyncio.create_task(pump(), name=f"sse-{investigation_id}")
    closing = request.app[CLOSING]
    keepalive = request.app[OPTIONS].sse_keepalive_s
    try:
        await response.write(b"retry: 2000\n\n")
        while not closing.is_set():
            item = await _next(feed, closing, keepalive)
            if item is _IDLE:
                await response.write(b": keep-alive\n\n")
                continue
            if item is None:
                break
            assert isinstance(item, StoredEvent)
            await response.write(sse_frame(item))
            if isinstance(item.event, Finished | Failed):
                break
    except ConnectionResetError:
        return response  # the client went away
    finally:
        pumping.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pumping
    with contextlib.suppress(ConnectionResetError):
        await response.write_eof()
    return response


def sse_frame(stored: StoredEvent) -> bytes:
    lines = [f"event: {stored.event.type}"]
    if stored.seq > 0:
        lines.append(f"id: {stored.seq}")
    # Event JSON has no raw newlines (json escapes them), so one data line carries it.
    lines.append("data: " + stored.event.model_dump_json())
    return ("\n".join(lines) + "\n\n").encode()


_IDLE = object()


async def _next(
    feed: asyncio.Queue[StoredEvent | None], closing: asyncio.Event, timeout_s: float
) -> object:
    """The next item, or _IDLE after `timeout_s`, or None when the server closes."""
    getting = asyncio.ensure_future(feed.get())
    stopping = asyncio.ensure_future(closing.wait())
    try:
        done, _ = await asyncio.wait(
            {getting, stopping}, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        stopping.cancel()
        if not getting.done():
            getting.cancel()
    if getting in done:
        return getting.result()
    return None if stopping in done else _IDLE


def _resume_point(request: web.Request) -> int:
    raw = request.headers.get("Last-Event-ID") or request.query.get("after")
    if raw is None or not raw.strip():
        return 0
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise HttpProblem(
            422,
            "Last-Event-ID (or ?after=) must be an event id: a whole number, 0 or more",
            detail=[
                {
                    "loc": ["header", "Last-Event-ID"],
                    "msg": "expected an integer >= 0",
                    "type": "int_parsing",
                }
            ],
        )
    return value


def _int_query(request: web.Request, name: str, *, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _bad_query(name, f"expected a whole number from {low} to {high}") from None
    if not low <= value <= high:
        raise _bad_query(name, f"expected a whole number from {low} to {high}")
    return value


def _bad_query(name: str, message: str) -> HttpProblem:
    return HttpProblem(
        422,
        f"query parameter {name}: {message}",
        detail=[{"loc": ["query", name], "msg": message, "type": "value_error"}],
    )
