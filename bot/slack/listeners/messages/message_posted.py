"""Someone said something where the bot can see it."""

from __future__ import annotations

from typing import Any

from slack_bolt.context.async_context import AsyncBoltContext

from bot.slack.incoming import SlackMessage
from bot.slack.triage import triage_of


async def message_posted(event: dict[str, Any], context: AsyncBoltContext) -> None:
    triage = triage_of(context)
    triage.spawn(triage.message(SlackMessage.from_event(event)))


async def other_message_event() -> None:
    """Nothing to do; Bolt acknowledges message events before the listener runs."""
