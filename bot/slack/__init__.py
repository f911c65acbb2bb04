"""The Slack bot: alert-channel auto-triage, `/investigate`, threaded follow-ups, over Socket
Mode. `start_slack(engine, settings, metrics)` is the entry point `sre-agent serve` uses."""

from bot.slack.slackbot import SlackBot, start_slack
from bot.slack.tokens import SlackTokenError

__all__ = ["SlackBot", "SlackTokenError", "start_slack"]
