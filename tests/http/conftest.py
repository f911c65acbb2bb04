"""Fixtures for the HTTP endpoint: a real engine on a fresh SQLite file, served by the real
aiohttp server on 127.0.0.1 (a free port), and a real aiohttp client to talk to it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from langchain_core.messages import AIMessage
from pydantic import SecretStr

from agent.casefile import CaseFile, ReasonerFactory
from agent.reasoner import ChatModelReasoner, Reasoner
from bot.engine import Engine, open_engine
from bot.http import HttpOptions, HttpServer, build_app
from bot.metrics import Metrics
from bot.settings import load_settings
from tests.fakes.scripted_model import ScriptedChatModel, call, say

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
TOKEN = "t0ken-for-tests-0123456789"
# These tests are about the endpoint: no MCP servers, so nothing outside the process starts.
NO_MCP: dict[str, dict[str, Any]] = {
    "kubernetes": {"enabled": False},
    "prometheus": {"enabled": False},
}
REPORT = {
    "summary": "checkout is OOMKilled",
    "category": "oom_killed",
    "root_cause": "The container exceeds its memory limit.",
    "confidence": "high",
}


def fixture_body(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return data.get("body", data) if name.endswith(".with-headers.json") else data


def webhook(*fingerprints: str, status: str = "firing") -> dict[str, Any]:
    """An Alertmanager webhook (the captured payload's shape) with one alert per fingerprint."""
    body = fixture_body("alertmanager/payload-firing-AlwaysFiring.json")
    template = body["alerts"][0]
    body["alerts"] = [
        {
            **template,
            "status": status,
            "labels": {**template["labels"], "pod": f"checkout-{fingerprint}"},
            "fingerprint": fingerprint,
        }
        for fingerprint in fingerprints
    ]
    return body


def standard_script(case: CaseFile) -> list[AIMessage]:
    """Looks at the pod (no MCP server offers the tool, so it is refused), then reports."""
    pod = {"name": case.alert.labels.get("pod", "p"), "namespace": "shop"}
    return [
        say("Checking the pod first.", call("kubernetes_get_pod", pod)),
        say("", call("submit_report", REPORT)),
    ]


def scripted(
    script: Callable[[CaseFile], list[AIMessage]] = standard_script, delay_s: float = 0.0
) -> ReasonerFactory:
    def factory(case: CaseFile) -> Reasoner:
        model = ScriptedChatModel(script=list(script(case)), delay_s=delay_s)
        return ChatModelReasoner(model, "scripted")

    return factory


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    text: str

    @property
    def json(self) -> Any:
        return json.loads(self.text)


@dataclass
class Api:
    """The endpoint as a client sees it."""

    url: str
    session: aiohttp.ClientSession
    engine: Engine
    metrics: Metrics
    token: str | None = None
    sent: list[str] = field(default_factory=list)

    def auth(self, headers: dict[str, str] | None = None) -> dict[str, str]:
        merged = dict(headers or {})
        if self.token is not None:
            merged.setdefault("Authorization", f"Bearer {self.token}")
        return merged

    async def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        data: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        authorized: bool = True,
    ) -> Reply:
        if json_body is not None:
            data = json.dumps(json_body)
        send_headers = self.auth(headers) if authorized else dict(headers or {})
        async with self.session.request(
            method, self.url + path, data=data, headers=send_headers
        ) as response:
            text = await response.text()
            return Reply(response.status, dict(response.headers), text)

    async def post(self, path: str, body: Any = None, **kwargs: Any) -> Reply:
        return await self.request("POST", path, json_body=body, **kwargs)

    async def get(self, path: str, **kwargs: Any) -> Reply:
        return await self.request("GET", path, **kwargs)


@asynccontextmanager
async def serving(
    tmp_path: Path,
    *,
    reasoners: Sequence[ReasonerFactory] | None = None,
    workers: bool = False,
    options: HttpOptions | None = None,
    concurrency: int = 2,
    database_url: str | None = None,
) -> AsyncIterator[Api]:
    """An engine (investigations queued only, unless `workers`) behind a listening server."""
    settings = load_settings(mcp_servers=NO_MCP, concurrency=concurrency)
    options = options or HttpOptions()
    async with AsyncExitStack() as stack:
        engine = await stack.enter_async_context(
            open_engine(
                settings,
                database_url=database_url or f"sqlite+aiosqlite:///{tmp_path / 'http.db'}",
                reasoners=list(reasoners or [scripted()]),
                start=False,
            )
        )
        await engine.service.start(workers=workers)
        stack.push_async_callback(engine.service.drain, 5.0)
        metrics = Metrics()
        server = HttpServer(build_app(engine, metrics, options), "127.0.0.1", 0)
        url = await server.start()
        stack.push_async_callback(server.stop)
        session = await stack.enter_async_context(
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        )
        token = options.token.get_secret_value() if options.token else None
        yield Api(url=url, session=session, engine=engine, metrics=metrics, token=token)


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    """Intake only (investigations stay queued), with a bearer token."""
    async with serving(tmp_path, options=HttpOptions(token=SecretStr(TOKEN))) as running:
        yield running


@pytest.fixture
async def live_api(tmp_path: Path) -> AsyncIterator[Api]:
    """Investigations run (a scripted reasoner), with a bearer token."""
    async with serving(
        tmp_path,
        workers=True,
        options=HttpOptions(token=SecretStr(TOKEN), sse_keepalive_s=0.2),
        reasoners=[scripted(delay_s=0.05)],
    ) as running:
        yield running
