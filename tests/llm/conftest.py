"""Fixtures for LLM tests: the fake OpenAI-compatible server, settings that point providers at
it, and the real engine on a sandbox scenario, so tool calls are real MCP calls and model calls
are real langchain-openai requests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage

from agent.casefile import CaseFile, ReasonerFactory
from agent.events import Answered, Event, Finished, Note, ToolCalled, ToolFinished
from agent.intake import parse_alertmanager_alert
from agent.offline import offline_reasoner
from agent.reasoner import ChatModelReasoner, Reasoner
from agent.store import Origin, OriginKind
from bot.engine import Engine, default_reasoners, open_engine
from bot.settings import Settings, load_settings
from mcp_bridge.sandbox import Sandbox, load_scenario, run_sandbox
from tests.fakes.openai_server import FakeOpenAI, serve_openai
from tests.fakes.scripted_model import ScriptedChatModel, call, say

FIXTURES = Path(__file__).parent.parent / "fixtures" / "scenarios"
LLM_ENVIRONMENT = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "SRE_AGENT_LLM_MODEL",
    "AZURE_OPENAI_API_KEY",
    "AZURE_OPENAI_ENDPOINT",
    "OPENAI_API_VERSION",
    "AZURE_OPENAI_DEPLOYMENT",
    "AZURE_OPENAI_DEPLOYMENT_NAME",
    "SRE_AGENT_LLM_PROVIDERS",
    "SRE_AGENT_CONFIG",
)


@pytest.fixture(autouse=True)
def no_llm_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests configure providers themselves; a developer's real key must never be used."""
    for name in LLM_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
async def llm() -> AsyncIterator[FakeOpenAI]:
    async with serve_openai() as server:
        yield server


@pytest.fixture
async def backup_llm() -> AsyncIterator[FakeOpenAI]:
    async with serve_openai() as server:
        yield server


@pytest.fixture
async def checkout() -> AsyncIterator[Sandbox]:
    async with run_sandbox(load_scenario("checkout-oom")) as sandbox:
        yield sandbox


def provider(name: str, base_url: str, **options: Any) -> dict[str, Any]:
    """A `llm_providers` entry for a compatible server; fast retries unless told otherwise."""
    return {
        "name": name,
        "kind": "openai_compatible",
        "model": "gpt-4.1-mini",
        "base_url": base_url,
        "timeout_s": 10,
        "max_retries": 0,
        **options,
    }


def settings_with(*providers: dict[str, Any], **overrides: Any) -> Settings:
    return load_settings(llm_providers=list(providers), **overrides)


def _stand_in_offline(case: CaseFile) -> Reasoner:
    """Until the offline reasoner is merged (branch w2-offline), a last resort that writes an
    `unknown` report from whatever was found, under the same name."""

    def conclude(messages: list[BaseMessage]) -> AIMessage:
        report = {
            "summary": "stand-in offline report",
            "category": "unknown",
            "root_cause": "The stand-in last resort does not analyze evidence.",
            "confidence": "low",
        }
        return say("", call("submit_report", report))

    return ChatModelReasoner(ScriptedChatModel(script=[conclude] * 5), "offline")


def last_resort(case: CaseFile) -> Reasoner:
    try:
        return offline_reasoner(case)
    except NotImplementedError:
        return _stand_in_offline(case)


def chain_for(settings: Settings) -> list[ReasonerFactory]:
    """The real reasoner chain from the settings, the real offline reasoner last when merged."""
    *llms, _offline = default_reasoners(settings)
    return [*llms, last_resort]


@asynccontextmanager
async def engine_on(settings: Settings, sandbox: Sandbox, tmp_path: Path) -> AsyncIterator[Engine]:
    async with open_engine(
        settings,
        sandbox=sandbox,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'investigations.db'}",
        reasoners=chain_for(settings),
    ) as engine:
        yield engine


@dataclass
class Run:
    investigation_id: str
    events: list[Event]

    @property
    def finished(self) -> Finished:
        last = self.events[-1]
        assert isinstance(last, Finished), f"ended with {last!r}"
        return last

    @property
    def notes(self) -> list[str]:
        return [e.text for e in self.events if isinstance(e, Note)]

    def called(self) -> list[ToolCalled]:
        return [e for e in self.events if isinstance(e, ToolCalled)]

    def results(self) -> list[ToolFinished]:
        return [e for e in self.events if isinstance(e, ToolFinished)]


async def investigate(engine: Engine, sandbox: Sandbox) -> Run:
    alert = parse_alertmanager_alert(sandbox.alert, source="scenario")
    admission = await engine.service.submit(alert, origin=Origin(kind=OriginKind.CLI))
    record_id = admission.record.id
    events = [stored.event async for stored in engine.service.follow(record_id)]
    return Run(record_id, events)


async def ask(engine: Engine, investigation_id: str, question: str) -> list[Event]:
    events = [e async for e in engine.service.ask(investigation_id, question)]
    assert isinstance(events[-1], Answered), f"ended with {events[-1]!r}"
    return events


@asynccontextmanager
async def scenario_sandbox(name: str) -> AsyncIterator[Sandbox]:
    async with run_sandbox(load_scenario(FIXTURES / f"{name}.yaml")) as sandbox:
        yield sandbox
