"""The engine wiring against a real sandbox: bundled MCP servers reach it, investigations run."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage

from agent.casefile import CaseFile, ReasonerFactory
from agent.events import Finished
from agent.intake import parse_alertmanager_alert
from agent.reasoner import ChatModelReasoner, Reasoner
from agent.store import Origin, OriginKind
from bot.engine import mcp_servers_for, open_engine
from bot.settings import ConfigError, load_settings
from mcp_bridge.sandbox import Sandbox, load_scenario, run_sandbox
from tests.fakes.scripted_model import ScriptedChatModel, call, say

REPORT = {"summary": "s", "category": "oom_killed", "root_cause": "r", "confidence": "high"}


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with run_sandbox(load_scenario("checkout-oom")) as running:
        yield running


def looks_at_the_pod(seen: list[list[ToolMessage]]) -> ReasonerFactory:
    def factory(case: CaseFile) -> Reasoner:
        labels = case.alert.labels

        def conclude(messages: list[BaseMessage]) -> AIMessage:
            seen.append([m for m in messages if isinstance(m, ToolMessage)])
            return say("", call("submit_report", REPORT))

        pod = {"name": labels["pod"], "namespace": labels["namespace"]}
        script = [say("", call("kubernetes_get_pod", pod)), conclude]
        return ChatModelReasoner(ScriptedChatModel(script=script), "scripted")

    return factory


async def test_bundled_kubernetes_server_reaches_the_sandbox_through_the_engine(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    seen: list[list[ToolMessage]] = []
    settings = load_settings()
    async with open_engine(
        settings,
        sandbox=sandbox,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'e.db'}",
        reasoners=[looks_at_the_pod(seen)],
    ) as engine:
        alert = parse_alertmanager_alert(sandbox.alert, source="scenario")
        admission = await engine.service.submit(alert, origin=Origin(kind=OriginKind.CLI))
        events = [s.event async for s in engine.service.follow(admission.record.id)]
    assert isinstance(events[-1], Finished)
    (result,) = seen[0]
    pod = json.loads(str(result.content))
    assert pod["name"] == alert.labels["pod"]
    assert result.artifact["status"] == "success"
    assert any(
        c.get("last_termination", {}).get("reason") == "OOMKilled" for c in pod["containers"]
    )


def test_sandbox_wins_over_configured_cluster_options(sandbox: Sandbox, tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("mcpServers:\n  kubernetes: {env: {KUBECONFIG: /real/cluster}}\n")
    servers = mcp_servers_for(load_settings(config), sandbox)
    assert servers["kubernetes"]["env"]["KUBECONFIG"] == str(sandbox.kubeconfig_path)
    assert servers["prometheus"]["env"]["PROMETHEUS_URL"] == sandbox.prometheus_url


async def test_bad_mcp_configuration_is_a_config_error(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("mcpServers:\n  broken: {command: 42}\n")
    with pytest.raises(ConfigError, match=r"mcpServers\.broken"):
        async with open_engine(load_settings(config)):
            pass
