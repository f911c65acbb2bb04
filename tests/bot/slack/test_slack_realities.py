"""Slack as it really behaves: retried deliveries, rate limits and server errors, dropped and
refreshed sockets, hostile text in alerts, and wrong tokens."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from agent.alert import Alert
from agent.store import Origin, OriginKind
from bot.metrics import Metrics
from bot.slack import SlackTokenError, start_slack
from mcp_bridge.sandbox import Sandbox
from tests.bot.slack.conftest import (
    ALERTS,
    INCIDENTS,
    Rig,
    bot_messages,
    engine_for,
    report_in,
    running_rig,
    slack_settings,
)
from tests.bot.slack.reasoners import Script
from tests.fakes.slack_server import APP_TOKEN, BOT_TOKEN, BOT_USER_ID, FakeSlack

ALERT = "[FIRING:1] KubePodCrashLooping namespace=shop pod=checkout-6c9f7b8d4-x2k4q"


async def test_duplicate_delivery_is_acknowledged_and_dropped(rig: Rig) -> None:
    slack = rig.slack
    alert = await slack.user_says(ALERTS, ALERT)
    first = slack.deliveries[-1]
    retry = await slack.redeliver(first)
    await retry.wait_acked()
    await report_in(slack, ALERTS, alert.ts)
    await rig.settle()
    assert retry.payload["event_id"] == first.payload["event_id"]
    assert rig.bot.dedup.dropped == 1
    assert len(await rig.engine.store.list_investigations()) == 1
    statuses = [m for m in slack.replies(ALERTS, alert.ts) if "Done" in m.all_text()]
    assert len(statuses) == 1


async def test_rate_limited_and_failing_posts_are_retried(rig: Rig) -> None:
    slack = rig.slack
    slack.fail("chat.postMessage", times=3, status=429, retry_after=1)
    slack.fail("chat.update", times=1, status=500, error="internal_error", retry_after=None)
    alert = await slack.user_says(ALERTS, ALERT)
    await report_in(slack, ALERTS, alert.ts, timeout_s=60)
    await rig.settle()
    limited = [c for c in slack.calls_to("chat.postMessage") if c.status == 429]
    assert len(limited) == 3
    assert [c for c in slack.calls_to("chat.update") if c.status == 500]
    assert rig.errors() == 0, "every 429 and 500 was retried until it went through"
    assert "Done" in slack.replies(ALERTS, alert.ts)[0].all_text()


async def test_post_that_never_goes_through_is_counted_not_fatal(rig: Rig) -> None:
    slack = rig.slack
    slack.fail(
        "chat.postMessage",
        times=1,
        status=200,
        error="channel_is_archived",
        retry_after=None,
        match=lambda args: "Iteration" in str(args.get("text")),
    )
    alert = await slack.user_says(ALERTS, ALERT)
    await report_in(slack, ALERTS, alert.ts)
    await rig.settle()
    assert rig.errors() == 1
    samples = {
        (s.labels["method"], s.labels["error"]): s.value
        for metric in rig.metrics.slack_api_errors.collect()
        for s in metric.samples
        if s.name.endswith("_total")
    }
    assert samples == {("chat.postMessage", "channel_is_archived"): 1.0}


@pytest.mark.parametrize("how", ["disconnect message", "dropped connection"])
async def test_socket_loss_mid_investigation_loses_nothing(rig: Rig, how: str) -> None:
    slack, script = rig.slack, rig.script
    script.gate = asyncio.Event()
    alert = await slack.user_says(ALERTS, ALERT)
    await slack.wait_for(lambda: slack.replies(ALERTS, alert.ts), what="the status message")
    if how == "disconnect message":
        await slack.send_disconnect()
    else:
        await slack.drop_connections()
    await slack.wait_connected(2, timeout_s=30)
    script.gate.set()
    await report_in(slack, ALERTS, alert.ts)
    question = await slack.user_says(
        ALERTS, f"<@{BOT_USER_ID}> anything in the logs?", thread_ts=alert.ts
    )
    await slack.wait_for(
        lambda: question.reactions["white_check_mark"], what="the follow-up answered"
    )
    assert script.questions == ["anything in the logs?"]
    assert len(await rig.engine.store.list_investigations()) == 1


async def test_mentions_and_links_in_untrusted_text_never_ping_or_link(
    slack: FakeSlack, sandbox: Sandbox, tmp_path: Path, script: Script
) -> None:
    script.root_cause = (
        "Memory grows until OOM. <!channel> <@U0BOSS> <https://evil.example/x|click here> "
        "token ghp_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa @here"
    )
    async with running_rig(slack, sandbox, tmp_path, script) as rig:
        alert = await slack.user_says(
            ALERTS,
            "[FIRING:1] KubePodCrashLooping <!channel> <!here> <@U0BOSS> "
            "namespace=shop pod=checkout-6c9f7b8d4-x2k4q",
        )
        await report_in(slack, ALERTS, alert.ts)
        await rig.settle()
    posted = "\n".join(m.all_text() for m in bot_messages(slack))
    for forbidden in ("<!channel>", "<!here>", "<@U0BOSS>", "<https://evil", "ghp_aaaa", "@here"):
        assert forbidden not in posted
    assert "&lt;!channel&gt;" in posted
    assert "&lt;@U0BOSS&gt;" in posted
    assert "[REDACTED:github_token]" in posted
    assert not [c for c in slack.calls if c.args.get("link_names")]


async def test_http_alert_gets_a_thread_in_the_http_alert_channel(
    slack: FakeSlack, sandbox: Sandbox, tmp_path: Path, script: Script
) -> None:
    async with running_rig(slack, sandbox, tmp_path, script, http_alert_channel="incidents") as rig:
        alert = Alert.model_validate(
            {
                "source": "alertmanager",
                "dedup_key": "fp-1",
                "title": "KubePodCrashLooping",
                "severity": "critical",
                "labels": {
                    "alertname": "KubePodCrashLooping",
                    "namespace": "shop",
                    "pod": "checkout-6c9f7b8d4-x2k4q",
                },
            }
        )
        admission = await rig.engine.service.submit(
            alert, origin=Origin(kind=OriginKind.HTTP, user="alertmanager")
        )
        root = await slack.wait_for(
            lambda: next(iter(slack.messages[INCIDENTS]), None), what="the HTTP alert's thread"
        )
        assert "KubePodCrashLooping" in root.all_text()
        await report_in(slack, INCIDENTS, root.ts)
        record = await rig.engine.store.get(admission.record.id)
        assert record.thread is not None
        assert (record.thread.channel, record.thread.thread_ts) == (INCIDENTS, root.ts)


async def test_http_alert_without_a_channel_is_not_posted(rig: Rig) -> None:
    alert = Alert(source="generic", dedup_key="fp-2", title="DiskFull")
    admission = await rig.engine.service.submit(alert, origin=Origin(kind=OriginKind.HTTP))
    async for stored in rig.engine.service.follow(admission.record.id):
        del stored
    await rig.settle()
    assert bot_messages(rig.slack) == []


@pytest.mark.parametrize(
    ("tokens", "which", "said"),
    [
        ({"slack_bot_token": "xoxb-wrong"}, "SLACK_BOT_TOKEN", "invalid_auth"),
        ({"slack_app_token": "xapp-1-wrong"}, "SLACK_APP_TOKEN", "invalid_auth"),
        ({"slack_app_token": BOT_TOKEN}, "SLACK_APP_TOKEN", "OAuth token"),
        ({"slack_bot_token": APP_TOKEN}, "SLACK_BOT_TOKEN", "app-level token"),
        ({"slack_bot_token": None}, "SLACK_BOT_TOKEN", "not set"),
        ({"slack_app_token": "xapp-1-fake-bot-token-of-another-app"}, "SLACK_APP_TOKEN", "invalid"),
    ],
)
async def test_wrong_token_stops_start_with_one_line_naming_it(
    slack: FakeSlack,
    sandbox: Sandbox,
    tmp_path: Path,
    script: Script,
    tokens: dict[str, str | None],
    which: str,
    said: str,
) -> None:
    settings = slack_settings(slack, **tokens)
    async with engine_for(settings, sandbox, tmp_path, script) as engine:
        with pytest.raises(SlackTokenError) as raised:
            await asyncio.wait_for(start_slack(engine, settings, Metrics()), timeout=20)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(which) or f"check {which}" in message
    assert said in message
    assert slack.connections_opened == 0, "no Socket Mode connection with a bad token"
    for secret in (BOT_TOKEN, APP_TOKEN, "xoxb-wrong", "xapp-1-wrong"):
        assert secret not in message


async def test_unreachable_slack_is_one_line_too(
    sandbox: Sandbox, tmp_path: Path, script: Script
) -> None:
    closed = FakeSlack()
    await closed.start()
    await closed.stop()  # nothing listens on its port any more
    settings = slack_settings(closed)
    async with engine_for(settings, sandbox, tmp_path, script) as engine:
        with pytest.raises(SlackTokenError, match=r"did not answer") as raised:
            await asyncio.wait_for(start_slack(engine, settings, Metrics()), timeout=30)
    assert "\n" not in str(raised.value)
    assert re.search(r"127\.0\.0\.1:\d+", str(raised.value))


async def test_bot_restart_mid_investigation_finishes_the_thread_from_the_store(
    slack: FakeSlack, sandbox: Sandbox, tmp_path: Path, script: Script
) -> None:
    script.gate = asyncio.Event()
    settings = slack_settings(slack)
    async with engine_for(settings, sandbox, tmp_path, script) as engine:
        first = await start_slack(engine, settings, Metrics())
        await slack.wait_connected()
        alert = await slack.user_says(ALERTS, ALERT)
        await slack.wait_for(lambda: slack.replies(ALERTS, alert.ts), what="the status message")
        await first.close()

        second = await start_slack(engine, settings, Metrics())
        try:
            await slack.wait_connected(2)
            script.gate.set()
            report = await report_in(slack, ALERTS, alert.ts)
            assert "OOM killed" in report.all_text()
            assert len(await engine.store.list_investigations()) == 1
        finally:
            await second.close()


async def test_question_while_running_is_answered_after_the_report(rig: Rig) -> None:
    slack, script = rig.slack, rig.script
    script.gate = asyncio.Event()
    alert = await slack.user_says(ALERTS, ALERT)
    await slack.wait_for(lambda: slack.replies(ALERTS, alert.ts), what="the status message")
    question = await slack.user_says(
        ALERTS, f"<@{BOT_USER_ID}> is it the memory limit?", thread_ts=alert.ts
    )
    await slack.wait_for(
        lambda: any(
            "once the investigation is done" in m.all_text()
            for m in slack.replies(ALERTS, alert.ts)
        ),
        what="the promise to answer later",
    )
    script.gate.set()
    report = await report_in(slack, ALERTS, alert.ts)
    answer = await slack.wait_for(
        lambda: next(
            (
                m
                for m in slack.replies(ALERTS, alert.ts)
                if m.ts > report.ts and "is it the memory limit?" in m.all_text()
            ),
            None,
        ),
        what="the answer after the report",
    )
    assert script.answer in answer.all_text()
    await slack.wait_for(lambda: question.reactions["white_check_mark"], what="✅ on the question")


async def test_alert_during_shutdown_is_told_to_come_back(rig: Rig) -> None:
    slack = rig.slack
    await rig.engine.service.drain(grace_s=0)
    alert = await slack.user_says(ALERTS, ALERT)
    (reply,) = await slack.wait_for(lambda: slack.replies(ALERTS, alert.ts), what="the reply")
    await rig.settle()
    assert "restarting" in reply.all_text()
    assert not alert.reactions["eyes"]
    assert await rig.engine.store.list_investigations() == []
