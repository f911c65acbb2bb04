"""Message events: alert channels, direct messages, replies in the bot's threads."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.slack.listeners.messages.message_posted import message_posted


def register(app: AsyncApp) -> None:
    # `app.event("message")`, not `app.message()`: Bolt's message listener skips messages with
    # empty text, and Alertmanager's Slack receiver posts exactly that (everything is in an
    # attachment). It also means every message event (edits, joins...) finds a listener and is
    # acknowledged; without one Bolt answers 404, sends no ack, and Slack delivers it again.
    app.event("message")(message_posted)
