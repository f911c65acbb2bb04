"""The Bolt app, as the Bolt samples build it: an `AsyncApp` on a Web API client pointed at
`SLACK_API_URL`, the delivery dedup middleware, and `register_listeners(app)`."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.dedup import DeliveryDedup
from bot.slack.listeners import register_listeners
from bot.slack.triage import CONTEXT_KEY, Triage

log = logging.getLogger("sre_agent.slack")


def build_app(
    client: AsyncWebClient, triage: Triage, dedup: DeliveryDedup | None = None
) -> AsyncApp:
    app = AsyncApp(
        client=client,
        name="sre-agent",
        logger=log,
        # Socket Mode requests are not signed; there is no HTTP endpoint to verify.
        request_verification_enabled=False,
        process_before_response=False,
    )
    app.use((dedup or DeliveryDedup()).middleware)
    app.use(_attach(triage))
    register_listeners(app)
    return app


def _attach(triage: Triage) -> Callable[..., Awaitable[None]]:
    async def attach_triage(context: AsyncBoltContext, next: Callable[[], Awaitable[Any]]) -> None:
        context[CONTEXT_KEY] = triage
        await next()

    return attach_triage
