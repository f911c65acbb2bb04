"""Threaded follow-ups: a mention in an investigation's thread is a question to it, answered in
the thread with its tool calls shown; the thread ↔ investigation map survives a restart; a
mention in any other thread investigates that thread's first message."""

from __future__ import annotations

from pathlib import Path

from mcp_bridge.sandbox import Sandbox
from tests.bot.slack.conftest import (
    ALERTS,
    DIRECT,
    GENERAL,
    Rig,
    handled,
    report_in,
    running_rig,
    writes_about,
)
from tests.bot.slack.reasoners import Script
from tests.fakes.slack_server import BOT_USER_ID, FakeSlack, Message

ALERT = "[FIRING:1] KubePodCrashLooping namespace=shop pod=checkout-6c9f7b8d4-x2k4q"


def is_answer(message: Message) -> bool:
    """Answers quote the question first."""
    return any(str(b.get("text", {}).get("text", "")).startswith(">") for b in message.blocks)


async def answer_to(slack: FakeSlack, channel: str, question: Message) -> Message:
    assert question.thread_ts is not None
    return await slack.wait_for(
        lambda: next(
            (
                m
                for m in slack.replies(channel, question.thread_ts or "")
                if m.ts > question.ts and is_answer(m)
            ),
            None,
        ),
        what="the answer in the thread",
    )


async def test_mention_in_the_thread_is_answered_there_with_its_tool_calls(rig: Rig) -> None:
    slack = rig.slack
    alert = await slack.user_says(ALERTS, ALERT)
    await report_in(slack, ALERTS, alert.ts)
    question = await slack.user_says(
        ALERTS, f"<@{BOT_USER_ID}> was there a rollout recently?", thread_ts=alert.ts
    )
    answer = await answer_to(slack, ALERTS, question)
    await rig.settle()

    assert rig.script.questions == ["was there a rollout recently?"]
    assert "was there a rollout recently?" in answer.all_text()
    assert rig.script.answer in answer.all_text()
    step = next(m for m in slack.replies(ALERTS, alert.ts) if "Follow-up, step 1" in m.all_text())
    assert "`kubernetes_get_deployment` name=`checkout` namespace=`shop`" in step.all_text()
    assert step.ts < answer.ts
    assert question.reactions["white_check_mark"] == {BOT_USER_ID}


async def test_plain_reply_is_not_a_question_unless_configured(
    slack: FakeSlack, sandbox: Sandbox, tmp_path: Path, script: Script
) -> None:
    async with running_rig(slack, sandbox, tmp_path / "a", script) as rig:
        alert = await slack.user_says(ALERTS, ALERT)
        await report_in(slack, ALERTS, alert.ts)
        handled_before = rig.bot.triage.handled
        chat = await slack.user_says(ALERTS, "thanks, raising the limit now", thread_ts=alert.ts)
        await handled(rig, handled_before + 1)
        assert writes_about(slack, ALERTS, chat.ts) == []
        assert script.questions == []

    async with running_rig(
        slack, sandbox, tmp_path / "b", script, slack_answer_all_replies=True
    ) as rig:
        alert = await slack.user_says(ALERTS, ALERT.replace("CrashLooping", "NotReady"))
        await report_in(slack, ALERTS, alert.ts)
        question = await slack.user_says(ALERTS, "which node is it on?", thread_ts=alert.ts)
        await answer_to(slack, ALERTS, question)
        assert script.questions == ["which node is it on?"]


async def test_follow_up_works_after_a_restart(
    slack: FakeSlack, sandbox: Sandbox, tmp_path: Path, script: Script
) -> None:
    async with running_rig(slack, sandbox, tmp_path, script):
        alert = await slack.user_says(ALERTS, ALERT)
        await report_in(slack, ALERTS, alert.ts)

    async with running_rig(slack, sandbox, tmp_path, script):
        question = await slack.user_says(
            ALERTS, f"<@{BOT_USER_ID}> how much memory does it use?", thread_ts=alert.ts
        )
        answer = await answer_to(slack, ALERTS, question)
        assert "how much memory does it use?" in answer.all_text()
        assert slack.connections_opened == 2


async def test_mention_in_another_thread_investigates_its_first_message(rig: Rig) -> None:
    slack = rig.slack
    root = await slack.user_says(
        GENERAL, "checkout keeps restarting: pod checkout-6c9f7b8d4-x2k4q in namespace shop"
    )
    await slack.user_says(GENERAL, f"<@{BOT_USER_ID}> can you take a look?", thread_ts=root.ts)
    report = await report_in(slack, GENERAL, root.ts)
    await rig.settle()
    assert "OOM killed" in report.all_text()
    record = await rig.engine.store.find_by_thread(GENERAL, root.ts)
    assert record is not None
    assert record.alert.labels == {"pod": "checkout-6c9f7b8d4-x2k4q", "namespace": "shop"}
    assert root.reactions["white_check_mark"] == {BOT_USER_ID}


async def test_direct_message_is_a_request_and_replies_there_are_questions(rig: Rig) -> None:
    slack = rig.slack
    asked = await slack.user_says(DIRECT, "pod checkout-6c9f7b8d4-x2k4q in namespace shop is down")
    await report_in(slack, DIRECT, asked.ts)
    question = await slack.user_says(DIRECT, "what is its memory limit?", thread_ts=asked.ts)
    answer = await answer_to(slack, DIRECT, question)
    assert "what is its memory limit?" in answer.all_text()


async def test_top_level_mention_with_help_explains_usage(rig: Rig) -> None:
    slack = rig.slack
    asked = await slack.user_says(GENERAL, f"<@{BOT_USER_ID}> help")
    (reply,) = await slack.wait_for(lambda: slack.replies(GENERAL, asked.ts), what="help")
    assert "/investigate" in reply.all_text()
    assert await rig.engine.store.list_investigations() == []
