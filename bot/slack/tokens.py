"""Both Slack tokens checked before anything starts, because Slack's own clients would not:
Bolt calls auth.test lazily on the first event, and a Socket Mode client with a wrong app token
retries forever. A wrong token stops `serve` with one line saying which token and what Slack
said."""

from __future__ import annotations

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.incoming import Identity

_BOT_HELP = "use the Bot User OAuth Token (xoxb-...) from the app's OAuth & Permissions page"
_APP_HELP = (
    "use an app-level token (xapp-...) with the connections:write scope, from the app's "
    "Basic Information page, and turn Socket Mode on"
)


class SlackTokenError(RuntimeError):
    """A Slack token is missing, wrong, or could not be checked; the message is one line."""


async def check_tokens(
    *,
    bot_token: str | None,
    app_token: str | None,
    api_url: str,
    timeout_s: int = 15,
    session: aiohttp.ClientSession | None = None,
) -> Identity:
    """auth.test with the bot token, apps.connections.open with the app token. Returns who the
    bot is; raises SlackTokenError."""
    if not bot_token:
        raise SlackTokenError(f"SLACK_BOT_TOKEN is not set: {_BOT_HELP}")
    if not app_token:
        raise SlackTokenError(f"SLACK_APP_TOKEN is not set: {_APP_HELP}")
    if bot_token.startswith("xapp-"):
        raise SlackTokenError(f"SLACK_BOT_TOKEN holds an app-level token (xapp-...): {_BOT_HELP}")
    if app_token.startswith("xox"):
        raise SlackTokenError(f"SLACK_APP_TOKEN holds an OAuth token (xox...): {_APP_HELP}")
    client = AsyncWebClient(
        base_url=api_url if api_url.endswith("/") else api_url + "/",
        timeout=timeout_s,
        session=session,
    )
    try:
        auth = await client.auth_test(token=bot_token)
    except SlackApiError as exc:
        raise SlackTokenError(
            f"SLACK_BOT_TOKEN was refused by Slack (auth.test: {_error(exc)}): {_BOT_HELP}"
        ) from None
    except (SlackClientError, aiohttp.ClientError, TimeoutError, OSError) as exc:
        raise SlackTokenError(
            f"could not check SLACK_BOT_TOKEN: the Slack API at {api_url} did not answer "
            f"({type(exc).__name__}: {_one_line(exc)}); check SLACK_API_URL and the network"
        ) from None
    try:
        await client.apps_connections_open(app_token=app_token)
    except SlackApiError as exc:
        raise SlackTokenError(
            f"SLACK_APP_TOKEN was refused by Slack (apps.connections.open: {_error(exc)}): "
            f"{_APP_HELP}"
        ) from None
    except (SlackClientError, aiohttp.ClientError, TimeoutError, OSError) as exc:
        raise SlackTokenError(
            f"could not check SLACK_APP_TOKEN: the Slack API at {api_url} did not answer "
            f"({type(exc).__name__}: {_one_line(exc)})"
        ) from None
    return Identity(
        user_id=str(auth.get("user_id") or ""),
        bot_id=auth.get("bot_id"),
        team_id=auth.get("team_id"),
        team=auth.get("team"),
        url=auth.get("url"),
    )


def _error(exc: SlackApiError) -> str:
    error = exc.response.get("error") if exc.response is not None else None
    return str(error or f"HTTP {getattr(exc.response, 'status_code', '?')}")


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200] or "no detail"
