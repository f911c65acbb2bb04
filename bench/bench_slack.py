"""The Slack bot under a burst: 200 alert messages land in one channel at once, on the local Slack
(tests/fakes/slack_server.py) over real Socket Mode, with the real engine investigating each one
against the sandbox (a scripted reasoner that makes two real tool calls, so no LLM is timed).

Figures: ack latency p50/p99 of the alert envelopes (from the server sending the envelope to the
ack arriving; Slack's budget is 3 s), time from the alert to the first threaded reply (the status
message) p50/p99, Web API calls per investigation, and 429s served / left unhandled.

Baseline from the same run: a Bolt app with one listener that does nothing, on the same server
(what Bolt + Socket Mode cost before the bot does anything). The bot runs three times: with no
rate limit; with a reasoner that calls no tools (the Slack layer alone); and with
chat.postMessage/chat.update limited per channel (429s with Retry-After, which the poster must
wait out). The local Slack and the sandbox cluster each run in their own process, as a real Slack
and a real cluster are other machines; investigations run 4 at a time (the default).

    .venv/bin/python bench/bench_slack.py [--alerts 200]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import multiprocessing
import sys
import tempfile
from collections import Counter
from collections.abc import AsyncIterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.engine import open_engine
from bot.metrics import Metrics
from bot.settings import load_settings
from bot.slack import start_slack
from tests.bot.slack.reasoners import Script
from tests.fakes.slack_server import APP_TOKEN, BOT_TOKEN, FakeSlack

CHANNEL = "C0BENCH001"
CONCURRENCY = 4  # the default setting
ALERT = "[FIRING:1] KubePodCrashLooping namespace=shop pod=checkout-6c9f7b8d4-x2k4q burst=b{n}"
SETUP_METHODS = {"auth.test", "apps.connections.open", "conversations.list"}
NOT_WEB_API = {"upload", "response_url"}


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


# --- the Slack side: its own process, as a real Slack is another machine ---------------------


def serve_slack(conn: Connection, count: int, limit: tuple[float, float] | None, bot: bool) -> None:
    """Run the local Slack, send the burst, and send back what it saw."""
    asyncio.run(_serve_slack(conn, count, limit, bot))


async def _serve_slack(
    conn: Connection, count: int, limit: tuple[float, float] | None, bot: bool
) -> None:
    async with FakeSlack(echo_bot_messages=bot) as slack:
        slack.add_channel("bench", id=CHANNEL)
        if limit is not None:
            for method in ("chat.postMessage", "chat.update"):
                slack.rate_limit(method, per_second=limit[0], burst=limit[1])
        conn.send(slack.api_url)
        await slack.wait_connected(timeout_s=60)
        await slack.user_says(CHANNEL, "good morning")  # Bolt calls auth.test once, first
        await slack.deliveries[-1].wait_acked(30)
        setup_calls = len(slack.calls)
        sent = []
        for n in range(count):
            message = await slack.user_says(CHANNEL, ALERT.format(n=n))
            sent.append((message.ts, slack.deliveries[-1]))
        await asyncio.gather(*(d.wait_acked(60) for _, d in sent))
        figures: dict[str, Any] = {"acks": [d.ack_latency_s for _, d in sent]}
        if bot:

            def reports_done() -> bool:
                return all(
                    any(
                        m.blocks and m.blocks[0].get("type") == "header"
                        for m in slack.replies(CHANNEL, ts)
                    )
                    for ts, _ in sent
                )

            await slack.wait_for(reports_done, timeout_s=900, what="every report")
            await asyncio.sleep(2)  # the last status updates and reactions
            posts = [c for c in slack.calls_to("chat.postMessage") if c.ok]
            figures["first_reply"] = [
                min(c.at for c in posts if c.args.get("thread_ts") == ts) - d.sent_at
                for ts, d in sent
            ]
            figures["wall"] = max(c.at for c in slack.calls) - sent[0][1].sent_at
            figures["calls"] = dict(
                Counter(
                    c.method for c in slack.calls[setup_calls:] if c.method not in SETUP_METHODS
                )
            )
            figures["served_429"] = sum(1 for c in slack.calls if c.status == 429)
        conn.send(figures)
        await asyncio.to_thread(conn.recv)  # the bot has disconnected


@contextlib.asynccontextmanager
async def slack_process(
    count: int, limit: tuple[float, float] | None, *, bot: bool
) -> AsyncIterator[tuple[str, Connection]]:
    here, there = multiprocessing.get_context("spawn").Pipe()
    process = multiprocessing.get_context("spawn").Process(
        target=serve_slack, args=(there, count, limit, bot), daemon=True
    )
    process.start()
    try:
        api_url = await asyncio.to_thread(here.recv)
        yield api_url, here
    finally:
        with contextlib.suppress(OSError):
            here.send("stop")
        await asyncio.to_thread(process.join, 30)


# --- the bot side --------------------------------------------------------------------------


async def baseline(count: int) -> list[float]:
    """Bolt + Socket Mode with a listener that does nothing."""
    async with slack_process(count, None, bot=False) as (api_url, conn):
        client = AsyncWebClient(token=BOT_TOKEN, base_url=api_url)
        app = AsyncApp(client=client, request_verification_enabled=False)

        @app.event("message")
        async def nothing() -> None:
            return None

        handler = AsyncSocketModeHandler(app, APP_TOKEN)
        await handler.connect_async()
        try:
            figures = await asyncio.to_thread(conn.recv)
        finally:
            await handler.close_async()
        acks: list[float] = figures["acks"]
        return acks


class BotRun:
    def __init__(self, label: str, figures: dict[str, Any]) -> None:
        self.label = label
        self.acks: list[float] = figures["acks"]
        self.first_reply: list[float] = figures["first_reply"]
        self.calls: dict[str, int] = figures["calls"]
        self.served_429: int = figures["served_429"]
        self.wall: float = figures["wall"]
        self.left_429 = 0.0
        self.errors = 0.0
        self.investigations = 0


@contextlib.asynccontextmanager
async def sandbox_process(workdir: Path) -> AsyncIterator[dict[str, dict[str, Any]]]:
    """`sre-agent sandbox` in its own process; yields the mcpServers settings that reach it."""
    kubeconfig = workdir / "sandbox.kubeconfig"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "sandbox",
        "--scenario",
        "checkout-oom",
        "--kubeconfig",
        str(kubeconfig),
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    urls: dict[str, str] = {}
    while "prometheus" not in urls:
        line = (await asyncio.wait_for(process.stdout.readline(), 60)).decode()
        if not line:
            raise RuntimeError("the sandbox process ended before it was serving")
        name, _, value = line.partition(":")
        if name in ("kubernetes", "prometheus"):
            urls[name] = value.strip()
    try:
        yield {
            "kubernetes": {"env": {"KUBECONFIG": str(kubeconfig)}},
            "prometheus": {"env": {"PROMETHEUS_URL": urls["prometheus"]}},
        }
    finally:
        process.terminate()
        await process.wait()


async def bot_run(
    label: str, count: int, *, limit: tuple[float, float] | None, tools: bool = True
) -> BotRun:
    script = Script(use_tools=tools)
    async with (
        slack_process(count, limit, bot=True) as (api_url, conn),
        contextlib.AsyncExitStack() as stack,
    ):
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        cluster = await stack.enter_async_context(sandbox_process(workdir))
        settings = load_settings(
            mcpServers=cluster,
            slack_bot_token=BOT_TOKEN,
            slack_app_token=APP_TOKEN,
            slack_api_url=api_url,
            alert_channels=[CHANNEL],
            concurrency=CONCURRENCY,
        )
        engine = await stack.enter_async_context(
            open_engine(
                settings,
                database_url=f"sqlite+aiosqlite:///{workdir / 'bench.db'}",
                reasoners=[script.factory()],
            )
        )
        metrics = Metrics()
        bot = await start_slack(engine, settings, metrics)
        stack.push_async_callback(bot.close)
        run = BotRun(label, await asyncio.to_thread(conn.recv))
        for metric in metrics.slack_api_errors.collect():
            for sample in metric.samples:
                if sample.name.endswith("_total"):
                    run.errors += sample.value
                    if sample.labels["error"] == "ratelimited":
                        run.left_429 += sample.value
        run.investigations = len(await engine.store.list_investigations(limit=count * 2))
    return run


def report(count: int, base: list[float], runs: list[BotRun]) -> None:
    print(
        f"Slack bench: a burst of {count} alert messages in one channel (local Slack, Socket Mode)"
    )
    print()
    print(f"  {'':44} {'ack p50':>11} {'ack p99':>11} {'1st reply p50':>14} {'p99':>11}")
    print(
        f"  {'baseline: Bolt listener that does nothing':44} {ms(quantile(base, 0.5))} "
        f"{ms(quantile(base, 0.99))}"
    )
    for run in runs:
        print(
            f"  {run.label:44} {ms(quantile(run.acks, 0.5))} {ms(quantile(run.acks, 0.99))} "
            f"{ms(quantile(run.first_reply, 0.5)):>14} {ms(quantile(run.first_reply, 0.99))}"
        )
    print()
    for run in runs:
        web_api = {m: n for m, n in run.calls.items() if m not in NOT_WEB_API}
        total = sum(web_api.values())
        per = total / max(1, run.investigations)
        print(f"  {run.label}:")
        print(
            f"    {run.investigations} investigations in {run.wall:.1f} s; "
            f"{per:.1f} Web API calls per investigation ({total} in all)"
        )
        print(
            "    "
            + ", ".join(
                f"{m} {n / max(1, run.investigations):.2f}"
                for m, n in sorted(web_api.items(), key=lambda kv: -kv[1])
            )
        )
        print(
            f"    429s served {run.served_429}, left unhandled {run.left_429:.0f}; "
            f"Slack API errors {run.errors:.0f}"
        )
    print()
    for run in runs:
        ratio = quantile(run.acks, 0.99) / max(quantile(base, 0.99), 1e-9)
        print(f"  ack p99 / baseline ack p99, {run.label}: {ratio:.1f}x")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--alerts", type=int, default=200)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    base = await baseline(args.alerts)
    runs = [
        await bot_run("sre-agent, no rate limit", args.alerts, limit=None),
        await bot_run(
            "sre-agent, no tool calls (Slack layer alone)", args.alerts, limit=None, tools=False
        ),
        await bot_run(
            "sre-agent, chat.* at 50/s burst 20 per channel", args.alerts, limit=(50.0, 20.0)
        ),
    ]
    report(args.alerts, base, runs)


if __name__ == "__main__":
    asyncio.run(main())
