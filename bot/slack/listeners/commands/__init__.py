"""Slash commands."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.slack.listeners.commands.investigate import investigate_command
from bot.slack.render.replies import COMMAND


def register(app: AsyncApp) -> None:
    app.command(COMMAND)(investigate_command)
