"""Something happened in a conversation the bot is in (Triage ignores edits, joins...)."""

from __future__ import annotations

from typing import Any

from slack_bolt.context.async_context import AsyncBoltContext

from bot.slack.incoming import SlackMessage
from bot.slack.triage import triage_of


async def message_posted(event: dict[str, Any], context: AsyncBoltContext) -> None:
    message = SlackMessage.from_event(event)
    if message.says_something():
        triage = triage_of(context)
        triage.spawn(triage.message(message))
