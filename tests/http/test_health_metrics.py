"""Health, readiness and metrics: what a probe and a Prometheus scrape see, and the recorder that
turns investigation events into metrics (against the sandbox's real MCP servers)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from agent.casefile import CaseFile
from agent.events import Answered, Failed, Finished, Stats, Usage
from agent.intake import parse_alertmanager_alert
from agent.report import Category, Confidence, RootCauseReport
from agent.store import Origin, OriginKind
from bot.engine import open_engine
from bot.metrics import Metrics
from bot.recorder import MetricsRecorder, tool_servers
from bot.settings import load_settings
from mcp_bridge.sandbox import Sandbox, load_scenario, run_sandbox
from tests.fakes.scripted_model import call, say
from tests.http.conftest import REPORT, Api, scripted


def samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample in the registry, by name and sorted labels."""
    text = generate_latest(metrics.registry).decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_healthz_and_readyz_answer_when_all_is_well(api: Api) -> None:
    health = await api.get("/healthz", authorized=False)
    assert health.status == 200
    assert health.json == {"status": "ok"}
    ready = await api.get("/readyz", authorized=False)
    assert ready.status == 200
    assert ready.json["status"] == "ready"
    assert ready.json["store"] == "ok"
    assert ready.json["accepting"] is True


async def test_readyz_is_503_while_draining_but_healthz_stays_up(api: Api) -> None:
    await api.engine.service.drain(0)
    ready = await api.get("/readyz")
    assert ready.status == 503
    assert ready.json["accepting"] is False
    assert (await api.get("/healthz")).status == 200


async def test_readyz_is_503_when_the_store_is_gone(api: Api) -> None:
    await api.engine.store.close()
    ready = await api.get("/readyz")
    assert ready.status == 503
    assert ready.json["store"] == "unavailable"


async def test_metrics_are_prometheus_text_with_store_counts(api: Api) -> None:
    reply = await api.get("/metrics")
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("text/plain")
    names = {family.name for family in text_string_to_metric_families(reply.text)}
    assert {
        "sre_agent_investigations",
        "sre_agent_queue_depth",
        "sre_agent_running",
        "sre_agent_tool_calls",
        "sre_agent_llm_tokens",
        "sre_agent_slack_api_errors",
        "sre_agent_http_requests",
    } <= names


# --- the recorder ------------------------------------------------------------------------------


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with run_sandbox(load_scenario("checkout-oom")) as running:
        yield running


def pod_then_guess(case: CaseFile) -> list[AIMessage]:
    pod = {"name": case.alert.labels["pod"], "namespace": case.alert.labels["namespace"]}
    return [
        say("Pod first.", call("kubernetes_get_pod", pod), call("made_up_tool", {})),
        say("", call("submit_report", REPORT)),
    ]


async def test_recorder_counts_tool_calls_by_server_and_outcomes_by_category(
    sandbox: Sandbox, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="sre_agent")
    metrics = Metrics()
    async with open_engine(
        load_settings(),
        sandbox=sandbox,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'm.db'}",
        reasoners=[scripted(pod_then_guess)],
    ) as engine:
        recorder = MetricsRecorder(metrics, tool_servers(engine.toolbox))
        recorder.start(engine.service)
        alert = parse_alertmanager_alert(sandbox.alert, source="scenario")
        admission = await engine.service.submit(alert, origin=Origin(kind=OriginKind.CLI))
        [_ async for _ in engine.service.follow(admission.record.id)]
        await recorder.close()
    seen = samples(metrics)
    assert seen[("sre_agent_tool_calls_total", (("server", "kubernetes"), ("status", "success")))]
    assert seen[("sre_agent_tool_calls_total", (("server", "unknown"), ("status", "refused")))]
    assert seen[("sre_agent_tool_call_duration_seconds_count", (("server", "kubernetes"),))] == 1
    key = (("category", "oom_killed"), ("reasoner", "scripted"))
    assert seen[("sre_agent_investigations_finished_total", key)] == 1
    assert seen[("sre_agent_investigation_duration_seconds_count", ())] == 1
    # The same events as log lines: each tool call on the MCP logger, the ending on the app's.
    calls = [r for r in caplog.records if r.name == "sre_agent.mcp"]
    assert {(vars(r)["tool"], vars(r)["server"]) for r in calls} == {
        ("kubernetes_get_pod", "kubernetes"),
        ("made_up_tool", "unknown"),
    }
    assert {vars(r)["investigation_id"] for r in calls} == {admission.record.id}
    (ending,) = [r for r in caplog.records if r.getMessage().startswith("finished: oom_killed")]
    assert vars(ending)["investigation_id"] == admission.record.id


def test_recorder_counts_tokens_failures_and_answers() -> None:
    metrics = Metrics()
    recorder = MetricsRecorder(metrics, {})
    usage = [Usage(reasoner="openai", input_tokens=1200, output_tokens=300)]
    stats = Stats(iterations=2, tool_calls=1, duration_s=12.5, usage=usage)
    report = RootCauseReport(
        summary="s",
        category=Category.BAD_CONFIG,
        root_cause="r",
        confidence=Confidence.HIGH,
        reasoner="openai",
    )
    recorder.record(Finished(investigation_id="inv_1", report=report, stats=stats))
    recorder.record(
        Answered(investigation_id="inv_1", question="q", answer="a", reasoner="openai", stats=stats)
    )
    recorder.record(Failed(investigation_id="inv_2", error="boom"))
    seen = samples(metrics)
    tokens = "sre_agent_llm_tokens_total"
    assert seen[(tokens, (("direction", "input"), ("reasoner", "openai")))] == 2400
    assert seen[(tokens, (("direction", "output"), ("reasoner", "openai")))] == 600
    assert seen[("sre_agent_investigations_failed_total", ())] == 1
    finished = (("category", "bad_config"), ("reasoner", "openai"))
    assert seen[("sre_agent_investigations_finished_total", finished)] == 1
