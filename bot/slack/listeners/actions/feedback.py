"""A vote on a report: recorded in the store (one per person), thanked ephemerally."""

from __future__ import annotations

from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext

from agent.store import Vote
from bot.slack.triage import triage_of


async def feedback_up(ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext) -> None:
    await ack()
    _record(body, context, 1)


async def feedback_down(ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext) -> None:
    await ack()
    _record(body, context, -1)


def _record(body: dict[str, Any], context: AsyncBoltContext, vote: Vote) -> None:
    triage = triage_of(context)
    action = (body.get("actions") or [{}])[0]
    container = body.get("container") or {}
    message = body.get("message") or {}
    investigation_id = str(action.get("value") or "")
    user = str((body.get("user") or {}).get("id") or "")
    channel = str(container.get("channel_id") or (body.get("channel") or {}).get("id") or "")
    if not investigation_id or not user or not channel:
        return
    triage.spawn(
        triage.vote(
            investigation_id,
            user=user,
            vote=vote,
            channel=channel,
            thread_ts=message.get("thread_ts") or container.get("thread_ts"),
        )
    )
