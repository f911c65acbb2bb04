"""The one place the bot writes to Slack. It waits out rate limits (429 + Retry-After, per
channel, so one busy channel does not stall the others), retries server and connection errors,
splits what Slack would refuse (more than 50 blocks; a message Slack still rejects becomes plain
text plus a file), coalesces status-message updates, and counts every failure in
`sre_agent_slack_api_errors`. A failed write is logged and reported as False/None: rendering
never takes an investigation down with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.metrics import Metrics
from bot.slack.render.kit import Attachment, Post, chunk_blocks

log = logging.getLogger("sre_agent.slack")

# Errors that mean "already so", not "failed".
_HARMLESS = frozenset({"already_reacted", "no_reaction"})
# Slack refused the content itself: retry as plain text plus a file.
_BAD_CONTENT = frozenset({"invalid_blocks", "msg_too_long", "invalid_attachments"})


def web_client(
    token: str,
    *,
    base_url: str,
    timeout_s: int,
    session: aiohttp.ClientSession | None = None,
    rate_limit_retries: int = 2,
) -> AsyncWebClient:
    """A Web API client with the retry handlers Slack's SDK leaves off by default (only the
    connection-error one is on): rate limits (waits Retry-After) and 500/503. One shared
    `session` keeps connections alive across calls."""
    return AsyncWebClient(
        token=token,
        base_url=base_url if base_url.endswith("/") else base_url + "/",
        timeout=timeout_s,
        session=session,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
            AsyncRateLimitErrorRetryHandler(max_retry_count=rate_limit_retries),
            AsyncServerErrorRetryHandler(max_retry_count=2),
        ],
    )


@dataclass(frozen=True)
class Posted:
    channel: str
    ts: str


class SlackPoster:
    """Every Web API write (and the few reads the rendering needs) goes through here."""

    def __init__(
        self,
        client: AsyncWebClient,
        metrics: Metrics,
        *,
        status_interval_s: float = 1.0,
        max_attempts: int = 6,
        max_wait_s: float = 120.0,
    ) -> None:
        self.client = client
        self._metrics = metrics
        self._status_interval_s = status_interval_s
        self._max_attempts = max_attempts
        self._max_wait_s = max_wait_s
        self._cooldown_until: dict[str, float] = {}
        self._gates: dict[str, _ChannelGate] = {}
        self._statuses: dict[tuple[str, str], StatusMessage] = {}
        self.calls = 0  # Web API requests made (for the benchmark's calls-per-investigation)

    # --- messages ----------------------------------------------------------------------------

    async def post(
        self, channel: str, message: Post, *, thread_ts: str | None = None
    ) -> Posted | None:
        """Post a message (several when it has more than 50 blocks), then its files.
        Returns where the first part landed, or None when nothing could be posted."""
        first: Posted | None = None
        for blocks in chunk_blocks(message.blocks):
            args: dict[str, Any] = {
                "channel": channel,
                "text": message.text,
                "unfurl_links": False,
                "unfurl_media": False,
            }
            if blocks:
                args["blocks"] = blocks
            if thread_ts:
                args["thread_ts"] = thread_ts
            response, error = await self._call("chat_postMessage", channel, args, _BAD_CONTENT)
            if response is None and blocks and error in _BAD_CONTENT:
                response = await self._as_plain_text(channel, message, thread_ts)
            elif error in _BAD_CONTENT:
                self._failed("chat.postMessage", error, channel)
            if response is None:
                return first
            if first is None:
                first = Posted(channel=str(response["channel"]), ts=str(response["ts"]))
                channel = first.channel
        for attachment in message.files:
            where = thread_ts or (first.ts if first is not None else None)
            await self.upload(channel, attachment, thread_ts=where)
        return first

    async def update(self, channel: str, ts: str, message: Post) -> bool:
        args: dict[str, Any] = {"channel": channel, "ts": ts, "text": message.text}
        args["blocks"] = chunk_blocks(message.blocks)[0]
        return await self._write("chat_update", channel, args) is not None

    def status(self, channel: str, ts: str) -> StatusMessage:
        """The in-place status message at (channel, ts); updates to it are coalesced."""
        key = (channel, ts)
        if key not in self._statuses:
            self._statuses[key] = StatusMessage(self, channel, ts, self._status_interval_s)
        return self._statuses[key]

    def forget_status(self, status: StatusMessage) -> None:
        self._statuses.pop((status.channel, status.ts), None)

    async def ephemeral(
        self, channel: str, user: str, message: Post, *, thread_ts: str | None = None
    ) -> bool:
        args: dict[str, Any] = {"channel": channel, "user": user, "text": message.text}
        if message.blocks:
            args["blocks"] = message.blocks[:50]
        if thread_ts:
            args["thread_ts"] = thread_ts
        return await self._write("chat_postEphemeral", channel, args) is not None

    async def react(self, channel: str, ts: str, name: str) -> bool:
        args = {"channel": channel, "timestamp": ts, "name": name}
        return await self._write("reactions_add", channel, args, quiet=_HARMLESS) is not None

    async def unreact(self, channel: str, ts: str, name: str) -> bool:
        args = {"channel": channel, "timestamp": ts, "name": name}
        return await self._write("reactions_remove", channel, args, quiet=_HARMLESS) is not None

    async def upload(self, channel: str, attachment: Attachment, *, thread_ts: str | None) -> bool:
        """Share a text file in the channel (in the thread when given)."""
        args: dict[str, Any] = {
            "channel": channel,
            "content": attachment.content,
            "filename": attachment.filename,
            "title": attachment.title,
        }
        if thread_ts:
            args["thread_ts"] = thread_ts
        return await self._write("files_upload_v2", channel, args) is not None

    async def permalink(self, channel: str, ts: str) -> str | None:
        response = await self._write(
            "chat_getPermalink", channel, {"channel": channel, "message_ts": ts}
        )
        return str(response["permalink"]) if response is not None else None

    async def read(self, method: str, **args: Any) -> dict[str, Any] | None:
        """A Web API read (conversations.replies, conversations.info...) with the same
        retries and error accounting as writes."""
        response = await self._write(method, str(args.get("channel", "")), args)
        return response

    async def close(self) -> None:
        """Send every pending status update."""
        await asyncio.gather(
            *(status.flush() for status in list(self._statuses.values())), return_exceptions=True
        )

    # --- inside ------------------------------------------------------------------------------

    async def _as_plain_text(
        self, channel: str, message: Post, thread_ts: str | None
    ) -> dict[str, Any] | None:
        """Slack refused the blocks: post the text alone, with the full content as a file."""
        args: dict[str, Any] = {"channel": channel, "text": message.text}
        if thread_ts:
            args["thread_ts"] = thread_ts
        response = await self._write("chat_postMessage", channel, args)
        if response is not None:
            content = "\n\n".join(
                str(b.get("text", {}).get("text", "")) for b in message.blocks if b.get("text")
            )
            await self.upload(
                channel,
                Attachment("message.txt", "Full message", content),
                thread_ts=thread_ts or str(response["ts"]),
            )
        return response

    async def _write(
        self,
        method: str,
        channel: str,
        args: dict[str, Any],
        *,
        quiet: frozenset[str] = frozenset(),
    ) -> dict[str, Any] | None:
        response, _ = await self._call(method, channel, args, quiet)
        return response

    async def _call(
        self, method: str, channel: str, args: dict[str, Any], quiet: frozenset[str]
    ) -> tuple[dict[str, Any] | None, str | None]:
        """The response, or None and the error (`ratelimited`, `not_in_channel`...)."""
        call: Callable[..., Awaitable[Any]] = getattr(self.client, method)
        name = method.replace("_", ".", 1)
        deadline = time.monotonic() + self._max_wait_s
        gate = self._gates.setdefault(channel, _ChannelGate())
        failures = 0
        while True:
            async with gate.turn():
                await self._wait_for_channel(channel)
                self.calls += 1
                try:
                    response = await call(**args)
                    error = None
                except SlackApiError as exc:
                    response = exc.response
                    error = str(exc.response.get("error") or f"http_{exc.response.status_code}")
                except (SlackClientError, aiohttp.ClientError, TimeoutError, OSError) as exc:
                    self._failed(name, type(exc).__name__, channel, detail=str(exc))
                    return None, type(exc).__name__
            if error is None:
                data = response.data if hasattr(response, "data") else response
                return (dict(data) if isinstance(data, dict) else {"ok": True}), None
            status = int(response.status_code or 0)
            in_time = time.monotonic() < deadline
            if status == 429 and in_time:
                # Rate limits are waited out until the deadline, however many it takes; the
                # channel turns to one write at a time so the waiting writers do not stampede.
                delay = _retry_after(response.headers)
                self._cool_down(channel, delay)
                gate.heat()
                log.info("Slack rate limits %s in %s; waiting %.1fs", name, channel, delay)
                continue
            failures += 1
            if status >= 500 and in_time and failures < self._max_attempts:
                await asyncio.sleep(min(8.0, 0.5 * 2**failures) * (1 + random.random() / 2))
                continue
            if error not in quiet:
                self._failed(name, error, channel)
            return None, error

    def _failed(self, method: str, error: str, channel: str, *, detail: str = "") -> None:
        self._metrics.slack_api_errors.labels(method=method, error=error).inc()
        log.warning("Slack %s failed in %s: %s %s", method, channel, error, detail[:200])

    def _cool_down(self, channel: str, delay_s: float) -> None:
        until = time.monotonic() + delay_s
        if until > self._cooldown_until.get(channel, 0.0):
            self._cooldown_until[channel] = until

    async def _wait_for_channel(self, channel: str) -> None:
        """After a 429 in a channel, every write there waits until Slack's Retry-After ends."""
        # A few rounds: another 429 may extend the cool-down while this one sleeps.
        for _ in range(4):
            wait = self._cooldown_until.get(channel, 0.0) - time.monotonic()
            if wait <= 0:
                return
            await asyncio.sleep(wait + random.random() * 0.05)


class _ChannelGate:
    """Open to any number of writers, except for a while after a 429 in its channel: then one
    write at a time, so writers that waited out the same Retry-After do not all retry at once
    (and all be rate limited again)."""

    _HOT_S = 10.0

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._hot_until = 0.0

    def heat(self) -> None:
        self._hot_until = time.monotonic() + self._HOT_S

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        if time.monotonic() >= self._hot_until:
            yield
            return
        async with self._lock:
            yield


class StatusMessage:
    """A message updated in place as an investigation moves. `show()` never waits: it keeps
    the newest content, and one background task sends it at most once per interval."""

    def __init__(self, poster: SlackPoster, channel: str, ts: str, interval_s: float) -> None:
        self._poster = poster
        self.channel = channel
        self.ts = ts
        self._interval_s = interval_s
        self._pending: Post | None = None
        self._sent_at = 0.0
        self._task: asyncio.Task[None] | None = None
        self.updates_sent = 0

    def show(self, message: Post) -> None:
        self._pending = message
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._send_pending(), name=f"status-{self.ts}")

    async def settle(self, message: Post) -> None:
        """Show `message` as the final state and wait until it is sent."""
        self.show(message)
        await self.flush()
        self._poster.forget_status(self)

    async def flush(self) -> None:
        task = self._task
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _send_pending(self) -> None:
        while self._pending is not None:
            wait = self._sent_at + self._interval_s - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            message, self._pending = self._pending, None
            if message is None:
                return
            await self._poster.update(self.channel, self.ts, message)
            self._sent_at = time.monotonic()
            self.updates_sent += 1


def _retry_after(headers: Any) -> float:
    value: Any = None
    if headers is not None:
        with contextlib.suppress(AttributeError):
            value = headers.get("Retry-After") or headers.get("retry-after")
    if isinstance(value, list | tuple):
        value = value[0] if value else None
    try:
        seconds = float(value) if value is not None else 1.0
    except (TypeError, ValueError):
        seconds = 1.0
    return max(0.2, min(seconds, 60.0))
