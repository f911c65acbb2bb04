"""`/investigate`: acknowledged within Slack's 3 seconds with an ephemeral note, then a channel
message opens the thread and the investigation runs exactly like auto-triage."""

from __future__ import annotations

import json

from mcp_bridge.sandbox import Sandbox
from tests.bot.slack.conftest import GENERAL, Rig, handled, report_in
from tests.fakes.slack_server import BOT_ID, HUMAN

SLACK_ACK_DEADLINE_S = 3.0


async def test_free_text_is_acknowledged_then_investigated_in_a_new_thread(rig: Rig) -> None:
    slack = rig.slack
    delivery = await slack.slash_command(
        "/investigate",
        "pod checkout-6c9f7b8d4-x2k4q in namespace shop keeps restarting",
        channel=GENERAL,
    )
    await delivery.wait_acked()
    assert delivery.ack_latency_s is not None
    assert delivery.ack_latency_s < SLACK_ACK_DEADLINE_S
    assert delivery.ack_payload is not None
    assert delivery.ack_payload["response_type"] == "ephemeral"
    assert "On it" in delivery.ack_payload["text"]

    root = await slack.wait_for(
        lambda: next((m for m in slack.messages[GENERAL] if m.bot_id == BOT_ID), None),
        what="the message that opens the thread",
    )
    assert f"requested by <@{HUMAN}>" in root.all_text()
    report = await report_in(slack, GENERAL, root.ts)
    assert "OOM killed" in report.all_text()
    record = await rig.engine.store.find_by_thread(GENERAL, root.ts)
    assert record is not None
    assert record.alert.labels == {"pod": "checkout-6c9f7b8d4-x2k4q", "namespace": "shop"}
    assert record.origin.user == HUMAN


async def test_pasted_alert_json_is_investigated(rig: Rig, sandbox: Sandbox) -> None:
    slack = rig.slack
    delivery = await slack.slash_command(
        "/investigate", f"```{json.dumps(sandbox.alert)}```", channel=GENERAL
    )
    await delivery.wait_acked()
    assert delivery.ack_payload is not None
    assert "KubePodCrashLooping" in delivery.ack_payload["text"]
    root = await slack.wait_for(
        lambda: next((m for m in slack.messages[GENERAL] if m.bot_id == BOT_ID), None),
        what="the thread's first message",
    )
    await report_in(slack, GENERAL, root.ts)
    (record,) = await rig.engine.store.list_investigations()
    assert record.alert.labels["pod"] == "checkout-6c9f7b8d4-x2k4q"
    assert record.source == "alertmanager"


async def test_help_explains_usage_and_starts_nothing(rig: Rig) -> None:
    delivery = await rig.slack.slash_command("/investigate", "help", channel=GENERAL)
    await delivery.wait_acked()
    assert delivery.ack_payload is not None
    assert delivery.ack_payload["response_type"] == "ephemeral"
    shown = json.dumps(delivery.ack_payload)
    assert "/investigate pod checkout" in shown
    assert "pasted alert" in shown
    await handled(rig, 0)
    assert not rig.slack.messages[GENERAL]
    assert await rig.engine.store.list_investigations() == []


async def test_unreadable_json_is_refused_with_the_reason(rig: Rig) -> None:
    delivery = await rig.slack.slash_command("/investigate", '{"labels": [1, 2]}', channel=GENERAL)
    await delivery.wait_acked()
    assert delivery.ack_payload is not None
    assert "couldn't read that as an alert" in delivery.ack_payload["text"]
    assert "labels" in delivery.ack_payload["text"]
    assert await rig.engine.store.list_investigations() == []


async def test_channel_the_bot_is_not_in_gets_an_ephemeral_explanation(rig: Rig) -> None:
    slack = rig.slack
    outside = slack.add_channel("random", member=False)
    delivery = await slack.slash_command(
        "/investigate", "pod checkout-6c9f7b8d4-x2k4q in namespace shop is down", channel=outside
    )
    await delivery.wait_acked()
    response = await slack.wait_for(lambda: slack.responses, what="a response_url message")
    assert "Invite me" in response[0]["text"]
    assert response[0]["response_type"] == "ephemeral"
    assert await rig.engine.store.list_investigations() == []
