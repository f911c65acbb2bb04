"""Button clicks: 👍/👎 on a root-cause report."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.slack.listeners.actions.feedback import feedback_down, feedback_up
from bot.slack.render.investigation import FEEDBACK_DOWN, FEEDBACK_UP


def register(app: AsyncApp) -> None:
    app.action(FEEDBACK_UP)(feedback_up)
    app.action(FEEDBACK_DOWN)(feedback_down)
