"""Slack listeners, one small function per interaction (the Bolt samples' layout): each folder's
`register(app)` wires its functions; a listener parses what arrived, hands off, and replies."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.slack.listeners import actions, commands, events, messages


def register_listeners(app: AsyncApp) -> None:
    messages.register(app)
    events.register(app)
    commands.register(app)
    actions.register(app)
