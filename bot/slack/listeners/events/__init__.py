"""Events other than messages: mentions of the bot."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.slack.listeners.events.app_mention import bot_mentioned


def register(app: AsyncApp) -> None:
    app.event("app_mention")(bot_mentioned)
