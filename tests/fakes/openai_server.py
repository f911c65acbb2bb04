"""A local OpenAI-compatible server for tests and benchmarks: `/v1/chat/completions` (JSON and SSE
streaming, `tool_calls`, `usage`), Azure's `/openai/deployments/{deployment}/chat/completions`,
and `/v1/models`. It plays a script and records every request, so tests drive the real
langchain-openai client against it and assert on exactly what was sent.

    async with serve_openai() as server:
        server.script(calls(call("kubernetes_get_pod", {...})), report(category="oom_killed"))
        ... ChatOpenAI(base_url=server.base_url, ...) ...
        server.requests[0].messages

Each scripted `Reply` answers one request: a message (text and/or tool calls, arguments may be
deliberately malformed), an HTTP error with headers (`Retry-After`), a delay, or a dropped
connection. A reply may also be a function of the request. Run as a script
(`python -m tests.fakes.openai_server --playbook FILE`) it serves in its own process, answering by
how many assistant messages the conversation holds (for benchmarks).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import socket
import sys
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from itertools import count
from typing import Any

from aiohttp import web

# Arguments that are not valid JSON, as a model sometimes writes them.
MALFORMED_ARGUMENTS = '{"name": "checkout", "namespace": '


@dataclass
class Reply:
    """One scripted answer. `tool_calls` items are `call(...)` dicts."""

    content: str | None = None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    delay_s: float = 0.0
    drop: bool = False
    usage: tuple[int, int] | None = None  # (prompt, completion); estimated when None
    include_usage: bool = True


Responder = Callable[["RecordedRequest"], Reply]


def call(
    name: str, args: dict[str, Any] | None = None, *, id: str | None = None, raw: str | None = None
) -> dict[str, Any]:
    """A tool call. `raw` sends these exact argument characters (e.g. MALFORMED_ARGUMENTS)."""
    return {"name": name, "arguments": raw if raw is not None else json.dumps(args or {}), "id": id}


def say(text: str) -> Reply:
    return Reply(content=text)


def calls(*tool_calls: dict[str, Any], text: str = "") -> Reply:
    return Reply(content=text or None, tool_calls=list(tool_calls))


REPORT = {
    "summary": "checkout is OOMKilled at its 512Mi memory limit",
    "category": "oom_killed",
    "root_cause": "The app container exceeds its 512Mi memory limit and is OOMKilled.",
    "confidence": "high",
    "evidence": [
        {"statement": "last termination OOMKilled, exit 137", "tool": "kubernetes_get_pod"}
    ],
    "remediation": ["Raise the memory limit of checkout to 768Mi"],
    "next_checks": [],
}


def report(text: str = "", **changes: Any) -> Reply:
    """A submit_report call with a valid diagnosis (fields overridden by `changes`)."""
    return calls(call("submit_report", {**REPORT, **changes}), text=text)


def error(status: int, message: str = "scripted error", **headers: str) -> Reply:
    """An HTTP error; `error(429, retry_after="1")` sends `Retry-After: 1`."""
    return Reply(
        status=status,
        error=message,
        headers={k.replace("_", "-").title(): v for k, v in headers.items()},
    )


def drop() -> Reply:
    """Close the connection without answering."""
    return Reply(drop=True)


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: dict[str, Any]
    raw: str
    received_at: float  # time.time(), for start-up measurements
    deployment: str | None = None
    handled_s: float = 0.0  # time spent in this server (parsing, scripting, answering)

    @property
    def messages(self) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = self.body.get("messages", [])
        return messages

    @property
    def tool_names(self) -> list[str]:
        return [t["function"]["name"] for t in self.body.get("tools", [])]

    @property
    def tool_choice(self) -> Any:
        return self.body.get("tool_choice")

    @property
    def streaming(self) -> bool:
        return bool(self.body.get("stream"))

    def role_texts(self, role: str) -> list[str]:
        return [_text(m.get("content")) for m in self.messages if m.get("role") == role]

    def estimated_tokens(self) -> int:
        """Tokens this request would cost, estimated like the agent does (characters / 4)."""
        return estimate_tokens(self.body)


def estimate_tokens(body: dict[str, Any]) -> int:
    total = 0.0
    for message in body.get("messages", []):
        total += 3 + len(_text(message.get("content"))) / 4
        for tool_call in message.get("tool_calls") or []:
            function = tool_call.get("function", {})
            total += (len(function.get("name", "")) + len(function.get("arguments", ""))) / 4
    for tool in body.get("tools", []):
        total += len(json.dumps(tool, separators=(",", ":"))) / 4
    return math.ceil(total)


def _text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content if isinstance(part, dict))


class FakeOpenAI:
    """The server. `script(...)` queues replies; `respond_with(f)` answers every request with
    `f(request)` once the queue is empty. An empty script answers 500 with `x-should-retry:
    false` so a test that forgot a turn fails at once instead of retrying."""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        models: Sequence[str] = ("gpt-4.1-mini",),
        chunk_chars: int = 8,
    ) -> None:
        self.requests: list[RecordedRequest] = []
        self.api_key = api_key
        self.models = list(models)
        self.chunk_chars = chunk_chars
        self._script: deque[Reply | Responder] = deque()
        self._responder: Responder | None = None
        self._ids = count(1)
        self._runner: web.AppRunner | None = None
        self.port = 0

    # --- scripting -----------------------------------------------------------------------

    def script(self, *replies: Reply | Responder) -> None:
        self._script.extend(replies)

    def respond_with(self, responder: Responder | None) -> None:
        self._responder = responder

    @property
    def pending(self) -> int:
        return len(self._script)

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    # --- addresses -----------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def azure_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- serving -------------------------------------------------------------------------

    async def start(self, port: int = 0) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/openai/deployments/{deployment}/chat/completions", self._azure)
        app.router.add_get("/v1/models", self._models)
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.base_events.Server)
        self.port = server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _models(self, request: web.Request) -> web.Response:
        if denied := self._check_key(request):
            return denied
        data = [{"id": m, "object": "model", "owned_by": "fake"} for m in self.models]
        return web.json_response({"object": "list", "data": data})

    async def _azure(self, request: web.Request) -> web.StreamResponse:
        if "api-version" not in request.query:
            return _error_response(400, "api-version query parameter is required", {})
        return await self._chat(request, deployment=request.match_info["deployment"])

    async def _chat(
        self, request: web.Request, deployment: str | None = None
    ) -> web.StreamResponse:
        started = time.perf_counter()
        raw = await request.text()
        recorded = RecordedRequest(
            method=request.method,
            path=request.path,
            query=dict(request.query),
            headers=dict(request.headers),
            body=json.loads(raw),
            raw=raw,
            received_at=time.time(),
            deployment=deployment,
        )
        self.requests.append(recorded)
        try:
            if denied := self._check_key(request):
                return denied
            reply = self._next_reply(recorded)
            if reply.delay_s:
                await asyncio.sleep(reply.delay_s)
            if reply.drop:
                assert request.transport is not None
                request.transport.abort()
                raise asyncio.CancelledError
            if reply.status != 200:
                return _error_response(reply.status, reply.error or "error", reply.headers)
            model = deployment or recorded.body.get("model", "fake")
            if recorded.streaming:
                return await self._stream(request, recorded, reply, model)
            return web.json_response(
                self._completion(recorded, reply, model), headers=reply.headers
            )
        finally:
            recorded.handled_s = time.perf_counter() - started

    def _check_key(self, request: web.Request) -> web.Response | None:
        if self.api_key is None:
            return None
        given = request.headers.get("api-key") or request.headers.get("Authorization", "")
        if given.removeprefix("Bearer ") != self.api_key:
            return _error_response(401, "Incorrect API key provided.", {}, code="invalid_api_key")
        return None

    def _next_reply(self, request: RecordedRequest) -> Reply:
        if self._script:
            item = self._script.popleft()
            return item(request) if callable(item) else item
        if self._responder is not None:
            return self._responder(request)
        return Reply(
            status=500,
            error="the fake server's script ran out",
            headers={"x-should-retry": "false"},
        )

    def _tool_calls(self, reply: Reply) -> list[dict[str, Any]]:
        return [
            {
                "id": c["id"] or f"call_{next(self._ids)}",
                "type": "function",
                "function": {"name": c["name"], "arguments": c["arguments"]},
            }
            for c in reply.tool_calls
        ]

    def _usage(self, request: RecordedRequest, reply: Reply) -> dict[str, int]:
        if reply.usage is not None:
            prompt, completion = reply.usage
        else:
            prompt = request.estimated_tokens()
            out = len(reply.content or "") + sum(len(c["arguments"]) for c in reply.tool_calls)
            completion = max(1, math.ceil(out / 4))
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }

    def _completion(self, request: RecordedRequest, reply: Reply, model: str) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": reply.content}
        if reply.tool_calls:
            message["tool_calls"] = self._tool_calls(reply)
        body: dict[str, Any] = {
            "id": f"chatcmpl-{next(self._ids)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": "tool_calls" if reply.tool_calls else "stop",
                }
            ],
        }
        if reply.include_usage:
            body["usage"] = self._usage(request, reply)
        return body

    async def _stream(
        self, request: web.Request, recorded: RecordedRequest, reply: Reply, model: str
    ) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-cache",
                **reply.headers,
            }
        )
        await response.prepare(request)
        ident = f"chatcmpl-{next(self._ids)}"
        created = int(time.time())

        async def send(
            delta: dict[str, Any] | None, finish: str | None = None, **extra: Any
        ) -> None:
            chunk: dict[str, Any] = {
                "id": ident,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": []
                if delta is None
                else [{"index": 0, "delta": delta, "finish_reason": finish}],
                **extra,
            }
            await response.write(f"data: {json.dumps(chunk)}\n\n".encode())

        await send({"role": "assistant", "content": ""})
        text = reply.content or ""
        for start in range(0, len(text), self.chunk_chars):
            await send({"content": text[start : start + self.chunk_chars]})
        for index, tool_call in enumerate(self._tool_calls(reply)):
            function = tool_call["function"]
            head = {"index": index, "id": tool_call["id"], "type": "function"}
            await send(
                {"tool_calls": [{**head, "function": {"name": function["name"], "arguments": ""}}]}
            )
            arguments = function["arguments"]
            for start in range(0, len(arguments), self.chunk_chars):
                piece = arguments[start : start + self.chunk_chars]
                await send({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
        await send({}, "tool_calls" if reply.tool_calls else "stop")
        options = recorded.body.get("stream_options") or {}
        if options.get("include_usage") and reply.include_usage:
            await send(None, usage=self._usage(recorded, reply))
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response


def _error_response(
    status: int, message: str, headers: dict[str, str], code: str | None = None
) -> web.Response:
    kind = {
        400: "invalid_request_error",
        401: "invalid_request_error",
        429: "rate_limit_exceeded",
    }.get(status, "server_error")
    body = {"error": {"message": message, "type": kind, "param": None, "code": code or kind}}
    return web.json_response(body, status=status, headers=headers)


@contextlib.asynccontextmanager
async def serve_openai(**options: Any) -> AsyncIterator[FakeOpenAI]:
    server = FakeOpenAI(**options)
    await server.start()
    try:
        yield server
    finally:
        await server.close()


def unused_port() -> int:
    """A port nothing listens on (bound, then released): a provider that is down."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# --- a separate process, for benchmarks --------------------------------------------------


def playbook_responder(playbook: list[dict[str, Any]]) -> Responder:
    """Answer turn N of any conversation with playbook[N], where N counts the assistant
    messages already in it minus one (the pre-triage turn is an assistant message too); the
    last entry repeats. Entries: {"text": ..., "calls": [[name, args], ...]}."""

    def respond(request: RecordedRequest) -> Reply:
        turn = sum(1 for m in request.messages if m.get("role") == "assistant")
        entry = playbook[min(max(turn - 1, 0), len(playbook) - 1)]
        tool_calls = [call(name, args) for name, args in entry.get("calls", [])]
        return Reply(content=entry.get("text") or None, tool_calls=tool_calls)

    return respond


async def _serve_forever(playbook: list[dict[str, Any]]) -> None:
    server = FakeOpenAI()
    server.respond_with(playbook_responder(playbook))
    await server.start()
    print(json.dumps({"base_url": server.base_url}), flush=True)
    stats = web.Application()

    async def dump(_: web.Request) -> web.Response:
        rows = [
            {
                "received_at": r.received_at,
                "handled_s": r.handled_s,
                "tokens": r.estimated_tokens(),
                "messages": len(r.messages),
                "tools": len(r.tool_names),
            }
            for r in server.chat_requests
        ]
        return web.json_response(rows)

    async def reset(_: web.Request) -> web.Response:
        server.requests.clear()
        return web.json_response({"ok": True})

    stats.router.add_get("/_requests", dump)
    stats.router.add_post("/_reset", reset)
    assert server._runner is not None
    runner = web.AppRunner(stats, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    inner = site._server
    assert isinstance(inner, asyncio.base_events.Server)
    port = inner.sockets[0].getsockname()[1]
    print(json.dumps({"stats_url": f"http://127.0.0.1:{port}"}), flush=True)
    await asyncio.Event().wait()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--playbook", required=True, help="JSON list of turns")
    args = parser.parse_args(argv)
    with open(args.playbook, encoding="utf-8") as handle:
        playbook = json.load(handle)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve_forever(playbook))
    return 0


if __name__ == "__main__":
    sys.exit(main())
