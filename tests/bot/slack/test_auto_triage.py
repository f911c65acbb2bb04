"""Alert channels: alert messages get a thread (status, iterations, report, feedback buttons);
resolved notifications, chatter and other channels are left alone; repeats join the first."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from agent.store import InvestigationStatus
from mcp_bridge.sandbox import Sandbox
from tests.bot.slack.conftest import (
    ALERTS,
    GENERAL,
    Rig,
    handled,
    is_report,
    report_in,
    running_rig,
    writes_about,
)
from tests.bot.slack.reasoners import Script
from tests.fakes.slack_server import BOT_USER_ID, FakeSlack

FIXTURES = Path(__file__).parents[2] / "fixtures" / "slack"


def receiver_post(name: str) -> dict[str, object]:
    """What Alertmanager 0.25's Slack receiver posted (captured from the real binary)."""
    body: dict[str, object] = json.loads((FIXTURES / f"{name}.json").read_text())
    return body


async def test_alertmanager_notification_gets_a_thread_with_iterations_and_a_report(
    rig: Rig,
) -> None:
    slack = rig.slack
    alert = await slack.webhook_posts(ALERTS, receiver_post("alertmanager-custom-text-firing-2"))
    report = await report_in(slack, ALERTS, alert.ts)
    await rig.settle()

    status, *middle = slack.replies(ALERTS, alert.ts)
    assert middle[-1] is report, "the report is the last message of the thread"
    assert status.updates, "the status message is updated in place"
    assert "Done" in status.all_text()
    assert "OOM killed" in status.all_text()
    iteration = middle[0]
    assert "Iteration 1/8" in iteration.all_text()
    assert "look at its state and recent events" in iteration.all_text()  # the reasoning
    assert "`kubernetes_get_pod` name=`checkout-6c9f7b8d4-x2k4q` namespace=`shop`" in (
        iteration.all_text()
    )
    full_output = next(m for m in middle if m.files)
    assert '"restarts": 5' in full_output.files[0]["content"], "long results go to a file"
    assert len(iteration.all_text()) < 4000, "no wall of text inline"

    text = report.all_text()
    assert "Warning · OOM killed" in text or "Critical · OOM killed" in text
    assert "exceeds its 512Mi memory limit" in text
    assert "*Confidence:* high" in text
    assert "OOMKilled, exit code 137 — _via_ `kubernetes_get_pod`" in text
    assert "1. Raise the memory limit" in text
    assert "Alert source" in text, "the alert's link (Alertmanager's title link) is there"

    assert alert.reactions["white_check_mark"] == {BOT_USER_ID}
    assert not alert.reactions["eyes"], "👀 while investigating, then ✅"
    record = await rig.engine.store.find_by_thread(ALERTS, alert.ts)
    assert record is not None
    assert record.status is InvestigationStatus.FINISHED


async def test_feedback_buttons_are_recorded_one_vote_per_person(rig: Rig) -> None:
    slack = rig.slack
    alert = await slack.user_says(
        ALERTS, "[FIRING:1] KubePodCrashLooping namespace=shop pod=checkout-6c9f7b8d4-x2k4q"
    )
    report = await report_in(slack, ALERTS, alert.ts)
    await slack.click(ALERTS, report.ts, "rca_feedback_up", user="U0ALICE")
    await slack.click(ALERTS, report.ts, "rca_feedback_down", user="U0BOB")
    changed_mind = await slack.click(ALERTS, report.ts, "rca_feedback_up", user="U0BOB")
    await changed_mind.wait_acked()
    await slack.wait_for(lambda: len(slack.ephemeral) == 3, what="three ephemeral thanks")

    record = await rig.engine.store.find_by_thread(ALERTS, alert.ts)
    assert record is not None
    summary = await rig.engine.store.feedback_summary(record.id)
    assert (summary.up, summary.down) == (2, 0)
    assert summary.votes == {"U0ALICE": 1, "U0BOB": 1}
    assert {e["user"] for e in slack.ephemeral} == {"U0ALICE", "U0BOB"}
    assert all(e["thread_ts"] == alert.ts for e in slack.ephemeral)


async def test_resolved_notification_is_not_investigated(rig: Rig) -> None:
    slack = rig.slack
    resolved = await slack.webhook_posts(ALERTS, receiver_post("alertmanager-default-resolved"))
    await handled(rig, 1)
    assert writes_about(slack, ALERTS, resolved.ts) == []
    assert await rig.engine.store.list_investigations() == []


async def test_chatter_and_other_channels_are_left_alone(rig: Rig) -> None:
    slack = rig.slack
    chatter = await slack.user_says(ALERTS, "is anyone looking at checkout? replicas=3 now")
    elsewhere = await slack.user_says(
        GENERAL, "[FIRING:1] KubePodCrashLooping namespace=shop pod=checkout-6c9f7b8d4-x2k4q"
    )
    await handled(rig, 2)
    assert writes_about(slack, ALERTS, chatter.ts) == []
    assert writes_about(slack, GENERAL, elsewhere.ts) == []
    assert await rig.engine.store.list_investigations() == []


async def test_same_alert_again_while_running_gets_a_link_to_the_first_thread(rig: Rig) -> None:
    slack, script = rig.slack, rig.script
    script.gate = asyncio.Event()
    text = "[FIRING:1] KubePodCrashLooping namespace=shop pod=checkout-6c9f7b8d4-x2k4q"
    first = await slack.user_says(ALERTS, text)
    await slack.wait_for(lambda: slack.replies(ALERTS, first.ts), what="the first status message")
    again = await slack.user_says(ALERTS, text.replace("FIRING:1", "FIRING:1") + " ")
    (notice,) = await slack.wait_for(lambda: slack.replies(ALERTS, again.ts), what="the notice")
    script.gate.set()
    await report_in(slack, ALERTS, first.ts)
    await rig.settle()

    first_ts = first.ts.replace(".", "")
    assert (
        f"https://fake.slack.com/archives/{ALERTS}/p{first_ts}" in notice.text + notice.all_text()
    )
    assert "already investigating" in notice.all_text()
    assert len(await rig.engine.store.list_investigations()) == 1
    assert slack.replies(ALERTS, again.ts) == [notice], "no second investigation in the repeat"


async def test_queued_investigation_says_it_is_queued(
    slack: FakeSlack, sandbox: Sandbox, tmp_path: Path, script: Script
) -> None:
    script.gate = asyncio.Event()
    async with running_rig(slack, sandbox, tmp_path, script, concurrency=1) as rig:
        first = await slack.user_says(
            ALERTS, "[FIRING:1] KubePodCrashLooping namespace=shop pod=checkout-6c9f7b8d4-x2k4q"
        )
        await slack.wait_for(
            lambda: any("Investigating" in m.all_text() for m in slack.replies(ALERTS, first.ts)),
            what="the first investigation running",
        )
        second = await slack.user_says(
            ALERTS, "[FIRING:1] KubePodNotReady namespace=shop pod=checkout-6c9f7b8d4-x2k4q"
        )
        queued = await slack.wait_for(
            lambda: next(
                (m for m in slack.replies(ALERTS, second.ts) if "Queued" in m.all_text()), None
            ),
            what="the second alert's status saying it is queued",
        )
        assert "1 of 1 slots busy" in queued.all_text()
        script.gate.set()
        await report_in(slack, ALERTS, first.ts)
        await report_in(slack, ALERTS, second.ts)
        await rig.settle()
        assert "Done" in slack.message(ALERTS, queued.ts).all_text()


async def test_alert_channel_given_by_name_is_watched(
    slack: FakeSlack, sandbox: Sandbox, tmp_path: Path, script: Script
) -> None:
    async with running_rig(slack, sandbox, tmp_path, script, alert_channels=["#alerts"]) as rig:
        alert = await slack.user_says(
            ALERTS, "alertname=KubePodCrashLooping namespace=shop pod=checkout-6c9f7b8d4-x2k4q"
        )
        report = await report_in(slack, ALERTS, alert.ts)
        assert is_report(report)
        assert rig.bot.triage.alert_channels.ids == {ALERTS}


async def test_failed_investigation_says_why_and_marks_the_alert(rig: Rig) -> None:
    slack = rig.slack
    rig.script.broken = "the model endpoint refused the connection"
    alert = await slack.user_says(
        ALERTS, "[FIRING:1] KubePodCrashLooping namespace=shop pod=checkout-6c9f7b8d4-x2k4q"
    )
    notice = await slack.wait_for(
        lambda: next(
            (
                m
                for m in slack.replies(ALERTS, alert.ts)
                if "Investigation failed" in m.all_text() and not m.updates
            ),
            None,
        ),
        what="the failure notice",
    )
    await rig.settle()
    assert "the model endpoint refused the connection" in notice.all_text()
    status = slack.replies(ALERTS, alert.ts)[0]
    assert "Investigation failed" in status.all_text()
    assert alert.reactions["warning"] == {BOT_USER_ID}
    assert not alert.reactions["eyes"]
    assert not alert.reactions["white_check_mark"]
