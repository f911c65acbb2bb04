"""The running Slack bot: tokens checked, channels resolved, event rendering subscribed, Socket
Mode connected. `start_slack` is what `sre-agent serve` calls; `close()` stops it cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import aiohttp
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp

from bot.engine import Engine
from bot.metrics import Metrics
from bot.settings import Settings
from bot.slack.app import build_app
from bot.slack.channels import AlertChannels
from bot.slack.dedup import DeliveryDedup
from bot.slack.incoming import Identity
from bot.slack.poster import SlackPoster, web_client
from bot.slack.threads import InvestigationThreads
from bot.slack.tokens import SlackTokenError, check_tokens
from bot.slack.triage import Triage, TriageSettings

log = logging.getLogger("sre_agent.slack")

_CONNECT_TIMEOUT_S = 30.0


class SlackBot:
    def __init__(
        self,
        *,
        app: AsyncApp,
        handler: AsyncSocketModeHandler,
        triage: Triage,
        threads: InvestigationThreads,
        poster: SlackPoster,
        identity: Identity,
        dedup: DeliveryDedup,
        session: aiohttp.ClientSession,
    ) -> None:
        self.app = app
        self.handler = handler
        self.triage = triage
        self.threads = threads
        self.poster = poster
        self.identity = identity
        self.dedup = dedup
        self._session = session
        self._closed = False

    async def close(self, grace_s: float = 5.0) -> None:
        """Disconnect, let work in flight post what it has (up to `grace_s`), then stop.
        Investigations themselves belong to the engine and are not touched."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(Exception):
            # slack_bolt's handler methods carry no annotations.
            await self.handler.close_async()  # type: ignore[no-untyped-call]
        await self.triage.close(grace_s)
        await self.threads.close(grace_s)
        await self._session.close()


async def start_slack(engine: Engine, settings: Settings, metrics: Metrics) -> SlackBot:
    """Check both tokens (SlackTokenError with a one-line reason when one is wrong), resolve the
    alert channels, start rendering threads from the engine's events, connect Socket Mode."""
    bot_token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    app_token = settings.slack_app_token.get_secret_value() if settings.slack_app_token else None
    session = aiohttp.ClientSession()
    try:
        identity = await check_tokens(
            bot_token=bot_token,
            app_token=app_token,
            api_url=settings.slack_api_url,
            timeout_s=settings.slack_timeout_s,
            session=session,
        )
        assert bot_token is not None
        assert app_token is not None
        client = web_client(
            bot_token,
            base_url=settings.slack_api_url,
            timeout_s=settings.slack_timeout_s,
            session=session,
        )
        poster = SlackPoster(client, metrics, status_interval_s=settings.slack_status_interval_s)
        channels = AlertChannels(settings.alert_channels, poster)
        await channels.resolve()
        http_channel = None
        if settings.http_alert_channel:
            http_channel = await channels.resolve_one(settings.http_alert_channel)
        threads = InvestigationThreads(
            service=engine.service, store=engine.store, poster=poster, http_channel=http_channel
        )
        await threads.start()
        triage = Triage(
            service=engine.service,
            store=engine.store,
            poster=poster,
            threads=threads,
            identity=identity,
            alert_channels=channels,
            metrics=metrics,
            settings=TriageSettings(answer_all_replies=settings.slack_answer_all_replies),
        )
        dedup = DeliveryDedup()
        app = build_app(client, triage, dedup)
        handler = AsyncSocketModeHandler(app, app_token, logger=log, web_client=client)
    except BaseException:
        await session.close()
        raise
    bot = SlackBot(
        app=app,
        handler=handler,
        triage=triage,
        threads=threads,
        poster=poster,
        identity=identity,
        dedup=dedup,
        session=session,
    )
    try:
        async with asyncio.timeout(_CONNECT_TIMEOUT_S):
            await handler.connect_async()  # type: ignore[no-untyped-call]  # unannotated upstream
    except TimeoutError:
        await bot.close()
        raise SlackTokenError(
            f"SLACK_APP_TOKEN was accepted but no Socket Mode connection opened within "
            f"{_CONNECT_TIMEOUT_S:.0f}s; check that Socket Mode is on and the network allows "
            "WebSockets"
        ) from None
    except BaseException:
        await bot.close()
        raise
    log.info(
        "Slack bot connected as %s in %s; watching %d alert channel(s)",
        identity.user_id,
        identity.team or identity.team_id,
        len(channels.ids),
    )
    return bot
