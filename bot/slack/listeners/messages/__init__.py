"""Message events: alert channels, direct messages, replies in the bot's threads."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.slack.listeners.messages.message_posted import message_posted, other_message_event


def register(app: AsyncApp) -> None:
    app.message()(message_posted)
    # Edits, deletions, joins...: acknowledged and left alone. Without a listener Bolt would
    # answer 404, send no ack, and Slack would deliver them again.
    app.event("message")(other_message_event)
