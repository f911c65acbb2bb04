"""`/investigate <free text | pasted alert>` and `/investigate help`. Answered within Slack's
3 seconds with an ephemeral note; the investigation then opens its own thread in the channel."""

from __future__ import annotations

from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond

from agent.intake import AlertParseError
from bot.slack.render.replies import command_ack, help_post, unreadable_alert_text
from bot.slack.triage import is_help, triage_of


async def investigate_command(
    ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    triage = triage_of(context)
    text = str(command.get("text") or "")
    if is_help(text):
        help_message = help_post(triage.identity.user_id)
        await ack(text=help_message.text, blocks=help_message.blocks, response_type="ephemeral")
        return
    try:
        recognition = triage.read_request(text)
    except AlertParseError as exc:
        await ack(text=unreadable_alert_text(str(exc)), response_type="ephemeral")
        return
    if recognition.alert is None or not recognition.firing:
        reason = "That alert is resolved, so there is nothing to investigate."
        if not recognition.resolved:
            reason = unreadable_alert_text(recognition.reason or "no text")
        await ack(text=reason, response_type="ephemeral")
        return
    await ack(text=command_ack(recognition.alert), response_type="ephemeral")

    async def tell(text: str) -> None:
        await respond(text=text, response_type="ephemeral", replace_original=False)

    triage.spawn(
        triage.command(
            recognition,
            channel=str(command.get("channel_id") or ""),
            user=str(command.get("user_id") or ""),
            trigger=str(command.get("trigger_id") or ""),
            respond=tell,
        )
    )
