"""`@sre-agent ...`: a follow-up question, an investigation of a thread, or a request."""

from __future__ import annotations

from typing import Any

from slack_bolt.context.async_context import AsyncBoltContext

from bot.slack.incoming import SlackMessage
from bot.slack.triage import triage_of


async def bot_mentioned(event: dict[str, Any], context: AsyncBoltContext) -> None:
    triage = triage_of(context)
    triage.spawn(triage.mention(SlackMessage.from_event(event)))
