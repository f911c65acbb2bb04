"""Block Kit for everything the bot says that is not an investigation's progress: help, the
slash command's acknowledgement, "already investigating this", the root message of a thread the
bot opens itself (HTTP alerts, `/investigate`), feedback thanks, and short refusals."""

from __future__ import annotations

from datetime import datetime

from agent.alert import Alert
from agent.store import FeedbackSummary, InvestigationRecord
from bot.slack.render.investigation import SEVERITY_EMOJI
from bot.slack.render.kit import Post, context, sections
from bot.slack.text import clip, escape, link, untrusted

COMMAND = "/investigate"


def help_post(bot_user_id: str | None = None) -> Post:
    mention = f"<@{bot_user_id}>" if bot_user_id else "@sre-agent"
    text = (
        f"*{COMMAND}* — investigate a problem and post what I find in a thread here.\n"
        f"• `{COMMAND} pod checkout-6c9f7b-x2k4q in namespace shop keeps restarting` — "
        "describe it in words (namespace, pod or deployment names help)\n"
        f"• `{COMMAND}` followed by a pasted alert: an Alertmanager `[FIRING:1] ...` "
        "notification, `key=value` labels, or the alert's JSON\n"
        f"• `{COMMAND} help` — this message\n\n"
        "*In a thread I opened*, mention me with a question "
        f"(`{mention} what changed in the last deploy?`) and I answer there, "
        "looking at the cluster again if I need to.\n"
        f"*In any other thread*, mention me and I investigate the thread's first message.\n"
        "*In alert channels* I pick up alert notifications by myself "
        "(resolved ones and ordinary chat are left alone)."
    )
    return Post(text=f"How to use {COMMAND}", blocks=sections(text))


def command_ack(alert: Alert) -> str:
    """The ephemeral answer Slack shows within its 3 seconds."""
    return (
        f":mag: On it: *{untrusted(clip(alert.title, 150))}*. "
        "I'm opening a thread in this channel with what I find."
    )


def command_root(alert: Alert, user: str) -> Post:
    """The channel message a `/investigate` thread hangs from."""
    emoji = SEVERITY_EMOJI[alert.severity]
    title = untrusted(clip(alert.title, 200))
    text = f"{emoji} *{title}*\n_Investigation requested by <@{escape(user)}>_"
    details = _details(alert)
    blocks = [*sections(text)]
    if details:
        blocks.append(context(details))
    return Post(text=f"Investigating: {title}", blocks=blocks)


def alert_root(alert: Alert) -> Post:
    """The channel message for an alert that arrived over HTTP, so it reads like one that
    arrived in Slack."""
    emoji = SEVERITY_EMOJI[alert.severity]
    title = untrusted(clip(alert.title, 200))
    lines = [f"{emoji} *[FIRING] {title}*"]
    if alert.summary and alert.summary != alert.title:
        lines.append(untrusted(clip(alert.summary, 500)))
    blocks = [*sections("\n".join(lines))]
    details = _details(alert)
    if details:
        blocks.append(context(details))
    links = [
        item
        for item in (
            link(alert.links.generator, "Alert query"),
            link(alert.links.runbook, "Runbook"),
            link(alert.links.dashboard, "Dashboard"),
        )
        if item
    ]
    if links:
        blocks.append(context(" · ".join(links)))
    return Post(text=f"Alert: {title}", blocks=blocks)


def _details(alert: Alert) -> str:
    shown = [
        f"{untrusted(k)}=`{untrusted(clip(v, 80))}`"
        for k, v in alert.labels.items()
        if k not in ("alertname",)
    ][:12]
    return clip(" ".join(shown), 1500)


def duplicate_post(existing: InvestigationRecord, permalink: str | None, now: datetime) -> Post:
    where = f"<{permalink}|this thread>" if permalink else "its thread"
    title = untrusted(clip(existing.title, 150))
    if existing.status.active:
        text = f":repeat: Same alert as the one I'm already investigating in {where} (*{title}*)."
    else:
        ago = ""
        if existing.finished_at is not None:
            minutes = max(0, int((now - existing.finished_at).total_seconds() // 60))
            ago = f" {minutes} min ago"
        summary = ""
        if existing.report is not None:
            summary = f": {untrusted(clip(existing.report.summary, 200))}"
        text = f":repeat: Same alert as one I investigated{ago} in {where}{summary}"
    return Post(text=text.replace("*", ""), blocks=sections(text))


def refusal_post(reason: str) -> Post:
    text = f":warning: {reason}"
    return Post(text=text, blocks=sections(text))


def unreadable_alert_text(error: str) -> str:
    return (
        f":warning: I couldn't read that as an alert: {untrusted(clip(error, 300))}. "
        f"Try `{COMMAND} help`."
    )


def vote_thanks(vote: int, summary: FeedbackSummary) -> Post:
    mark = ":thumbsup:" if vote > 0 else ":thumbsdown:"
    text = (
        f"{mark} Thanks — your vote is recorded "
        f"({summary.up} :thumbsup: · {summary.down} :thumbsdown: so far)."
    )
    return Post(text=text, blocks=sections(text))


def question_help_post() -> Post:
    text = (
        "Ask me a question about this investigation, e.g. _which container was OOMKilled?_ "
        "— mention me with the question in this thread."
    )
    return Post(text=text, blocks=sections(text))


def waiting_for_investigation_post() -> Post:
    text = ":hourglass_flowing_sand: I'll answer once the investigation is done."
    return Post(text=text, blocks=[context(text)])


def problem_post(text: str) -> Post:
    """A short notice about something that went wrong on our side."""
    shown = f":warning: {escape(text)}"
    return Post(text=shown, blocks=[context(shown)])
