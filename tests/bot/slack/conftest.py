"""The Slack rig: a local Slack (tests/fakes/slack_server.py), the sandbox's cluster, the real
engine with a test reasoner, and the real bot (AsyncApp + AsyncSocketModeHandler) between them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.engine import Engine, open_engine
from bot.metrics import Metrics
from bot.settings import Settings, load_settings
from bot.slack import SlackBot, start_slack
from mcp_bridge.sandbox import Sandbox, load_scenario, run_sandbox
from tests.bot.slack.reasoners import Script
from tests.fakes.slack_server import APP_TOKEN, BOT_ID, BOT_TOKEN, ApiCall, FakeSlack, Message

ALERTS = "C0ALERTS01"
GENERAL = "C0GENERAL1"
INCIDENTS = "C0INCIDENT"
DIRECT = "D0DIRECT01"


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        fake.add_channel("alerts", id=ALERTS)
        fake.add_channel("general", id=GENERAL)
        fake.add_channel("incidents", id=INCIDENTS)
        fake.add_channel("sre-agent", id=DIRECT, im=True)
        yield fake


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with run_sandbox(load_scenario("checkout-oom")) as running:
        yield running


@pytest.fixture
def script() -> Script:
    return Script()


def slack_settings(slack: FakeSlack, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "slack_bot_token": BOT_TOKEN,
        "slack_app_token": APP_TOKEN,
        "slack_api_url": slack.api_url,
        "alert_channels": [ALERTS],
        "slack_status_interval_s": 0.2,
    }
    values.update(overrides)
    return load_settings(**values)


@dataclass
class Rig:
    slack: FakeSlack
    engine: Engine
    bot: SlackBot
    metrics: Metrics
    script: Script

    async def settle(self) -> None:
        """Wait until the bot has finished everything it started."""
        await self.bot.triage.settle()
        await self.bot.threads.idle()

    def errors(self) -> float:
        return sum(
            sample.value
            for metric in self.metrics.slack_api_errors.collect()
            for sample in metric.samples
            if sample.name.endswith("_total")
        )


@asynccontextmanager
async def engine_for(
    settings: Settings, sandbox: Sandbox, tmp_path: Path, script: Script
) -> AsyncIterator[Engine]:
    async with open_engine(
        settings,
        sandbox=sandbox,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'sre-agent.db'}",
        reasoners=[script.factory()],
    ) as engine:
        yield engine


@asynccontextmanager
async def running_rig(
    slack: FakeSlack, sandbox: Sandbox, tmp_path: Path, script: Script, **overrides: Any
) -> AsyncIterator[Rig]:
    settings = slack_settings(slack, **overrides)
    metrics = Metrics()
    async with engine_for(settings, sandbox, tmp_path, script) as engine:
        bot = await start_slack(engine, settings, metrics)
        try:
            await slack.wait_connected()
            yield Rig(slack=slack, engine=engine, bot=bot, metrics=metrics, script=script)
        finally:
            await bot.close()


@pytest.fixture
async def rig(
    slack: FakeSlack, sandbox: Sandbox, tmp_path: Path, script: Script
) -> AsyncIterator[Rig]:
    async with running_rig(slack, sandbox, tmp_path, script) as running:
        yield running


# --- reading what the bot posted ------------------------------------------------------------


def is_report(message: Message) -> bool:
    return any(
        element.get("action_id") == "rca_feedback_up"
        for block in message.blocks
        for element in block.get("elements", [])
        if isinstance(element, dict)
    )


async def report_in(
    slack: FakeSlack, channel: str, thread_ts: str, timeout_s: float = 30
) -> Message:
    """Wait for the root-cause report in a thread."""
    return await slack.wait_for(
        lambda: next((m for m in slack.replies(channel, thread_ts) if is_report(m)), None),
        timeout_s=timeout_s,
        what=f"the report in thread {channel}/{thread_ts}",
    )


def bot_messages(slack: FakeSlack) -> list[Message]:
    return [m for ms in slack.messages.values() for m in ms if m.bot_id == BOT_ID]


def writes_about(slack: FakeSlack, channel: str, ts: str) -> list[ApiCall]:
    """Web API writes that touch a message or its thread."""
    return [
        c
        for c in slack.calls
        if c.method
        in ("chat.postMessage", "reactions.add", "chat.update", "files.completeUploadExternal")
        and (
            c.args.get("thread_ts") == ts or c.args.get("timestamp") == ts or c.args.get("ts") == ts
        )
        and (c.args.get("channel") or c.args.get("channel_id")) == channel
    ]


async def handled(rig: Rig, count: int) -> None:
    """Wait until the bot has handled `count` requests (messages, mentions, commands, clicks)."""
    await rig.slack.wait_for(
        lambda: rig.bot.triage.handled >= count, what=f"{count} handled Slack requests"
    )
    await rig.settle()
