"""A local Slack on 127.0.0.1: the Web API methods the bot uses and the Socket Mode WebSocket
(hello, envelopes, acks, disconnect), with channels, threads, reactions and files kept in memory
and every call recorded. The real slack-sdk / slack-bolt clients talk to it over the wire.

It checks what real Slack checks where a bot could get it wrong: tokens and token types, block
limits (50 blocks, 3,000 characters per section, 150 per header), membership, message
ownership for updates; and it can rate limit (429 + Retry-After), fail on demand, drop or
refresh the socket, and redeliver envelopes that were not acknowledged.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web

BOT_TOKEN = "xoxb-fake-bot-token"
APP_TOKEN = "xapp-1-fake-app-token"
TEAM_ID = "T0FAKE"
APP_ID = "A0FAKEAPP"
BOT_USER_ID = "U0SREBOT"
BOT_ID = "B0SREBOT"
HUMAN = "U0HUMAN1"
WEBHOOK_BOT_ID = "B0WEBHOOK"

MAX_BLOCKS = 50
MAX_SECTION_CHARS = 3000
MAX_HEADER_CHARS = 150
MAX_TEXT_CHARS = 40_000

# Arguments that slack-sdk sends as JSON strings in form-encoded calls.
_JSON_ARGS = ("blocks", "attachments", "files", "metadata")


@dataclass
class ApiCall:
    """One request to the fake, as it arrived, and what it answered."""

    method: str
    args: dict[str, Any]
    token: str | None
    at: float  # time.monotonic() on arrival
    status: int = 200
    response: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == 200 and bool(self.response.get("ok"))


@dataclass
class Message:
    channel: str
    ts: str
    text: str = ""
    user: str | None = None
    bot_id: str | None = None
    thread_ts: str | None = None
    blocks: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[dict[str, Any]] = field(default_factory=list)
    files: list[dict[str, Any]] = field(default_factory=list)
    subtype: str | None = None
    username: str | None = None
    posted_at: float = field(default_factory=time.monotonic)
    updates: list[dict[str, Any]] = field(default_factory=list)
    reactions: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))

    @property
    def is_reply(self) -> bool:
        return self.thread_ts is not None and self.thread_ts != self.ts

    def all_text(self) -> str:
        """Everything a reader sees: text, section/context texts, fields, file contents."""
        parts = [self.text]
        for block in self.blocks:
            parts.extend(_block_texts(block))
        for attachment in self.attachments:
            parts.extend(str(attachment.get(k, "")) for k in ("title", "text", "fallback"))
        for shared in self.files:
            parts.append(shared.get("content", ""))
        return "\n".join(p for p in parts if p)


@dataclass
class Channel:
    id: str
    name: str
    is_private: bool = False
    is_im: bool = False
    is_member: bool = True

    @property
    def channel_type(self) -> str:
        return "im" if self.is_im else "group" if self.is_private else "channel"


@dataclass
class Delivery:
    """An envelope sent over the socket, and its acknowledgement when it comes."""

    envelope_id: str
    type: str
    payload: dict[str, Any]
    retry_attempt: int = 0
    sent_at: float = 0.0
    acked_at: float | None = None
    ack_payload: dict[str, Any] | None = None
    acked: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def ack_latency_s(self) -> float | None:
        return None if self.acked_at is None else self.acked_at - self.sent_at

    async def wait_acked(self, timeout_s: float = 5.0) -> Delivery:
        async with asyncio.timeout(timeout_s):
            await self.acked.wait()
        return self


@dataclass
class _Failure:
    method: str
    times: int
    status: int
    error: str
    retry_after: int | None
    match: Callable[[dict[str, Any]], bool] | None


@dataclass
class _Bucket:
    per_second: float
    burst: float
    tokens: float
    updated: float


class FakeSlack:
    """`async with FakeSlack() as slack:` serves on a free port; `slack.api_url` is the Web API
    base URL to give the client (SLACK_API_URL)."""

    def __init__(
        self,
        *,
        bot_token: str = BOT_TOKEN,
        app_token: str = APP_TOKEN,
        echo_bot_messages: bool = True,
    ) -> None:
        self.bot_token = bot_token
        self.app_token = app_token
        # Real Slack sends the bot its own messages too (message.channels); Bolt drops them.
        self.echo_bot_messages = echo_bot_messages
        self.calls: list[ApiCall] = []
        self.channels: dict[str, Channel] = {}
        self.messages: dict[str, list[Message]] = defaultdict(list)
        self.ephemeral: list[dict[str, Any]] = []
        self.responses: list[dict[str, Any]] = []  # posts to response_url
        self.deliveries: list[Delivery] = []
        self.connections_opened = 0
        self.uploads: dict[str, dict[str, Any]] = {}
        self._failures: list[_Failure] = []
        self._limits: dict[str, tuple[float, float]] = {}
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._sockets: list[web.WebSocketResponse] = []
        self._unacked: dict[str, Delivery] = {}
        self._ids = itertools.count(1)
        self._ts_seconds = int(time.time())
        self._ts_micro = itertools.count(1)
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.port = 0

    # --- life cycle ----------------------------------------------------------------------

    async def start(self) -> FakeSlack:
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)
        app.router.add_get("/socket/{ticket}", self._socket)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_post("/respond/{ref}", self._respond)
        app.router.add_post("/services/{path:.*}", self._incoming_webhook)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        return self

    async def stop(self) -> None:
        for ws in list(self._sockets):
            with contextlib.suppress(Exception):
                await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> FakeSlack:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    # --- world ---------------------------------------------------------------------------

    def add_channel(
        self,
        name: str,
        *,
        id: str | None = None,
        private: bool = False,
        im: bool = False,
        member: bool = True,
    ) -> str:
        prefix = "D" if im else "G" if private else "C"
        channel_id = id or f"{prefix}{next(self._ids):08d}"
        self.channels[channel_id] = Channel(channel_id, name, private, im, member)
        return channel_id

    def next_ts(self) -> str:
        return f"{self._ts_seconds}.{next(self._ts_micro):06d}"

    def message(self, channel: str, ts: str) -> Message:
        for message in self.messages[channel]:
            if message.ts == ts:
                return message
        raise KeyError(f"no message {ts} in {channel}")

    def thread(self, channel: str, thread_ts: str) -> list[Message]:
        """The root message and its replies, oldest first."""
        return [m for m in self.messages[channel] if m.ts == thread_ts or m.thread_ts == thread_ts]

    def replies(self, channel: str, thread_ts: str) -> list[Message]:
        return [m for m in self.thread(channel, thread_ts) if m.ts != thread_ts]

    def calls_to(self, method: str) -> list[ApiCall]:
        return [call for call in self.calls if call.method == method]

    async def wait_for(
        self, condition: Callable[[], Any], *, timeout_s: float = 20.0, what: str = "condition"
    ) -> Any:
        """Wait until `condition()` is truthy (re-checked whenever the fake's state changes)."""
        try:
            async with asyncio.timeout(timeout_s), self._changed:
                while not (result := condition()):
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(0.2):
                            await self._changed.wait()
                return result
        except TimeoutError:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}") from None

    async def _touch(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # --- what people and other apps do -----------------------------------------------------

    async def user_says(
        self,
        channel: str,
        text: str,
        *,
        user: str = HUMAN,
        thread_ts: str | None = None,
        deliver: bool = True,
    ) -> Message:
        """A person posts a message: stored, then delivered as a `message` event (and an
        `app_mention` event when it mentions the bot)."""
        message = Message(channel=channel, ts=self.next_ts(), text=text, user=user)
        message.thread_ts = thread_ts
        self.messages[channel].append(message)
        await self._touch()
        if deliver:
            await self.deliver_message_event(message)
            if f"<@{BOT_USER_ID}>" in text and not self.channels[channel].is_im:
                await self.deliver_event(self.app_mention_event(message))
        return message

    async def webhook_posts(self, channel: str, body: dict[str, Any]) -> Message:
        """An incoming webhook (Alertmanager's Slack receiver) posts `body` to `channel`."""
        message = Message(
            channel=channel,
            ts=self.next_ts(),
            text=str(body.get("text") or ""),
            bot_id=WEBHOOK_BOT_ID,
            subtype="bot_message",
            username=body.get("username"),
            attachments=[
                {"id": n, **attachment}
                for n, attachment in enumerate(body.get("attachments") or [], 1)
            ],
            blocks=list(body.get("blocks") or []),
        )
        self.messages[channel].append(message)
        await self._touch()
        await self.deliver_message_event(message)
        return message

    async def slash_command(
        self, command: str, text: str, *, channel: str, user: str = HUMAN
    ) -> Delivery:
        ref = f"{next(self._ids)}"
        payload = {
            "token": "verification-token",
            "team_id": TEAM_ID,
            "team_domain": "fake",
            "channel_id": channel,
            "channel_name": self.channels[channel].name if channel in self.channels else "",
            "user_id": user,
            "user_name": "human",
            "command": command,
            "text": text,
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": f"{self.base_url}/respond/{ref}",
            "trigger_id": f"trigger.{ref}",
        }
        return await self.deliver("slash_commands", payload, accepts_response_payload=True)

    async def click(
        self, channel: str, message_ts: str, action_id: str, *, user: str = HUMAN
    ) -> Delivery:
        """A person clicks the button `action_id` on a message."""
        message = self.message(channel, message_ts)
        action = _find_action(message.blocks, action_id)
        ref = f"{next(self._ids)}"
        payload = {
            "type": "block_actions",
            "user": {"id": user, "username": "human", "team_id": TEAM_ID},
            "api_app_id": APP_ID,
            "token": "verification-token",
            "container": {
                "type": "message",
                "message_ts": message.ts,
                "channel_id": channel,
                "is_ephemeral": False,
                **({"thread_ts": message.thread_ts} if message.thread_ts else {}),
            },
            "trigger_id": f"trigger.{ref}",
            "team": {"id": TEAM_ID, "domain": "fake"},
            "channel": {"id": channel, "name": self.channels[channel].name},
            "message": self._message_json(message),
            "response_url": f"{self.base_url}/respond/{ref}",
            "actions": [
                {
                    "type": action.get("type", "button"),
                    "action_id": action_id,
                    "block_id": action.get("_block_id", "b"),
                    "value": action.get("value"),
                    "text": action.get("text"),
                    "action_ts": f"{time.time():.6f}",
                }
            ],
        }
        return await self.deliver("interactive", payload, accepts_response_payload=False)

    # --- Socket Mode ---------------------------------------------------------------------

    def message_event(self, message: Message) -> dict[str, Any]:
        event = self._message_json(message)
        event["type"] = "message"
        event["channel"] = message.channel
        event["event_ts"] = message.ts
        event["channel_type"] = self.channels[message.channel].channel_type
        return event

    def app_mention_event(self, message: Message) -> dict[str, Any]:
        event: dict[str, Any] = {
            "type": "app_mention",
            "user": message.user,
            "text": message.text,
            "ts": message.ts,
            "channel": message.channel,
            "event_ts": message.ts,
        }
        if message.thread_ts:
            event["thread_ts"] = message.thread_ts
        return event

    async def deliver_message_event(self, message: Message) -> Delivery:
        return await self.deliver_event(self.message_event(message))

    async def deliver_event(
        self, event: dict[str, Any], *, event_id: str | None = None, retry_attempt: int = 0
    ) -> Delivery:
        payload = {
            "token": "verification-token",
            "team_id": TEAM_ID,
            "api_app_id": APP_ID,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or f"Ev{next(self._ids):010d}",
            "event_time": int(time.time()),
            "authorizations": [
                {"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True, "enterprise_id": None}
            ],
            "is_ext_shared_channel": False,
        }
        return await self.deliver("events_api", payload, retry_attempt=retry_attempt)

    async def redeliver(self, delivery: Delivery) -> Delivery:
        """Slack retrying a delivery: same payload (same event_id), a new envelope."""
        return await self.deliver(
            delivery.type,
            delivery.payload,
            retry_attempt=delivery.retry_attempt + 1,
            accepts_response_payload=delivery.type == "slash_commands",
        )

    async def deliver(
        self,
        type: str,
        payload: dict[str, Any],
        *,
        retry_attempt: int = 0,
        accepts_response_payload: bool = False,
    ) -> Delivery:
        delivery = Delivery(
            envelope_id=f"env-{next(self._ids)}",
            type=type,
            payload=payload,
            retry_attempt=retry_attempt,
        )
        self.deliveries.append(delivery)
        self._unacked[delivery.envelope_id] = delivery
        envelope = {
            "envelope_id": delivery.envelope_id,
            "type": type,
            "payload": payload,
            "accepts_response_payload": accepts_response_payload,
            "retry_attempt": retry_attempt,
            "retry_reason": "timeout" if retry_attempt else "",
        }
        ws = await self._live_socket()
        delivery.sent_at = time.monotonic()
        await ws.send_str(json.dumps(envelope))
        # Let the socket's reader run between sends, so an ack is timed when it arrives, not
        # when a burst of sends is over.
        await asyncio.sleep(0)
        return delivery

    async def wait_connected(self, count: int = 1, timeout_s: float = 10.0) -> None:
        await self.wait_for(
            lambda: self.connections_opened >= count and self._open_sockets(),
            timeout_s=timeout_s,
            what=f"socket connection #{count}",
        )

    async def send_disconnect(self, reason: str = "refresh_requested") -> None:
        """Slack's polite "please reconnect" message."""
        ws = await self._live_socket()
        await ws.send_str(
            json.dumps({"type": "disconnect", "reason": reason, "debug_info": {"host": "fake"}})
        )

    async def drop_connections(self) -> None:
        """The connection goes away without a word (a load balancer restart)."""
        for ws in self._open_sockets():
            await ws.close()

    def _open_sockets(self) -> list[web.WebSocketResponse]:
        return [ws for ws in self._sockets if not ws.closed]

    async def _live_socket(self) -> web.WebSocketResponse:
        await self.wait_for(self._open_sockets, timeout_s=10.0, what="an open socket connection")
        return self._open_sockets()[-1]

    async def _socket(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self.connections_opened += 1
        self._sockets.append(ws)
        await ws.send_str(
            json.dumps(
                {
                    "type": "hello",
                    "num_connections": len(self._open_sockets()),
                    "debug_info": {"host": "fake", "approximate_connection_time": 18060},
                    "connection_info": {"app_id": APP_ID},
                }
            )
        )
        # Envelopes a dropped connection never acknowledged are sent again, as Slack does.
        for delivery in list(self._unacked.values()):
            if delivery.sent_at and not delivery.acked.is_set():
                self._unacked.pop(delivery.envelope_id, None)
                asyncio.get_running_loop().create_task(self.redeliver(delivery))
        await self._touch()
        try:
            async for frame in ws:
                if frame.type != WSMsgType.TEXT:
                    continue
                data = json.loads(frame.data)
                delivery = self._unacked.pop(data.get("envelope_id", ""), None)
                if delivery is not None:
                    delivery.acked_at = time.monotonic()
                    delivery.ack_payload = data.get("payload")
                    delivery.acked.set()
                    await self._touch()
        finally:
            await self._touch()
        return ws

    # --- injecting trouble -----------------------------------------------------------------

    def fail(
        self,
        method: str,
        *,
        times: int = 1,
        status: int = 429,
        error: str = "ratelimited",
        retry_after: int | None = 1,
        match: Callable[[dict[str, Any]], bool] | None = None,
    ) -> None:
        """The next `times` calls of `method` (matching `match`) fail this way."""
        self._failures.append(_Failure(method, times, status, error, retry_after, match))

    def rate_limit(self, method: str, *, per_second: float, burst: float) -> None:
        """Per-channel token bucket for `method`, like Slack's chat.postMessage limit."""
        self._limits[method] = (per_second, burst)

    def _injected(self, method: str, args: dict[str, Any]) -> web.Response | None:
        for failure in self._failures:
            if failure.method == method and failure.times > 0:
                if failure.match is not None and not failure.match(args):
                    continue
                failure.times -= 1
                return _error_response(failure.status, failure.error, failure.retry_after)
        limit = self._limits.get(method)
        if limit is not None:
            key = (method, str(args.get("channel") or args.get("channel_id") or ""))
            now = time.monotonic()
            bucket = self._buckets.setdefault(key, _Bucket(limit[0], limit[1], limit[1], now))
            bucket.tokens = min(
                bucket.burst, bucket.tokens + (now - bucket.updated) * bucket.per_second
            )
            bucket.updated = now
            if bucket.tokens < 1:
                return _error_response(429, "ratelimited", 1)
            bucket.tokens -= 1
        return None

    # --- Web API ---------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await _read_args(request)
        token = _bearer(request) or args.pop("token", None)
        call = ApiCall(method=method, args=args, token=token, at=time.monotonic())
        self.calls.append(call)
        injected = self._injected(method, args)
        if injected is not None:
            call.status = injected.status
            call.response = json.loads(injected.text or "{}")
            await self._touch()
            return injected
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        if handler is None:
            body: dict[str, Any] = {"ok": False, "error": "unknown_method"}
        elif method == "apps.connections.open":
            body = handler(token, args)
        elif (problem := self._check_bot_token(token)) is not None:
            body = {"ok": False, "error": problem}
        else:
            result = handler(args)
            body = await result if asyncio.iscoroutine(result) else result
        call.response = body
        await self._touch()
        return web.json_response(body)

    def _check_bot_token(self, token: str | None) -> str | None:
        if not token:
            return "not_authed"
        if token == self.app_token:
            return "not_allowed_token_type"
        if token != self.bot_token:
            return "invalid_auth"
        return None

    def _m_auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://fake.slack.com/",
            "team": "Fake Team",
            "user": "sre-agent",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _m_apps_connections_open(self, token: str | None, args: dict[str, Any]) -> dict[str, Any]:
        if not token:
            return {"ok": False, "error": "not_authed"}
        if token == self.bot_token:
            return {"ok": False, "error": "not_allowed_token_type"}
        if token != self.app_token:
            return {"ok": False, "error": "invalid_auth"}
        return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/socket/{next(self._ids)}"}

    def _channel(self, args: dict[str, Any], key: str = "channel") -> Channel | str:
        wanted = str(args.get(key) or "")
        if not wanted:
            return "channel_not_found"
        found = self.channels.get(wanted) or next(
            (c for c in self.channels.values() if c.name == wanted.removeprefix("#")), None
        )
        return found if found is not None else "channel_not_found"

    async def _m_chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        if isinstance(channel, str):
            return {"ok": False, "error": channel}
        if not channel.is_member:
            return {"ok": False, "error": "not_in_channel"}
        problem = _check_content(args)
        if problem:
            return {"ok": False, "error": problem}
        message = Message(
            channel=channel.id,
            ts=self.next_ts(),
            text=str(args.get("text") or ""),
            user=BOT_USER_ID,
            bot_id=BOT_ID,
            thread_ts=args.get("thread_ts") or None,
            blocks=list(args.get("blocks") or []),
            attachments=list(args.get("attachments") or []),
        )
        self.messages[channel.id].append(message)
        if self.echo_bot_messages and self._open_sockets():
            asyncio.get_running_loop().create_task(self.deliver_message_event(message))
        return {
            "ok": True,
            "channel": channel.id,
            "ts": message.ts,
            "message": self._message_json(message),
        }

    def _m_chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        if isinstance(channel, str):
            return {"ok": False, "error": channel}
        try:
            message = self.message(channel.id, str(args.get("ts")))
        except KeyError:
            return {"ok": False, "error": "message_not_found"}
        if message.bot_id != BOT_ID:
            return {"ok": False, "error": "cant_update_message"}
        problem = _check_content(args)
        if problem:
            return {"ok": False, "error": problem}
        message.updates.append({"text": message.text, "blocks": message.blocks})
        message.text = str(args.get("text") or "")
        message.blocks = list(args.get("blocks") or [])
        return {"ok": True, "channel": channel.id, "ts": message.ts, "text": message.text}

    def _m_chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        if isinstance(channel, str):
            return {"ok": False, "error": channel}
        if not args.get("user"):
            return {"ok": False, "error": "user_not_found"}
        problem = _check_content(args)
        if problem:
            return {"ok": False, "error": problem}
        self.ephemeral.append({**args, "channel": channel.id})
        return {"ok": True, "message_ts": self.next_ts()}

    def _m_chat_getPermalink(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        if isinstance(channel, str):
            return {"ok": False, "error": channel}
        ts = str(args.get("message_ts") or "")
        try:
            message = self.message(channel.id, ts)
        except KeyError:
            return {"ok": False, "error": "message_not_found"}
        link = f"https://fake.slack.com/archives/{channel.id}/p{ts.replace('.', '')}"
        if message.is_reply:
            link += f"?thread_ts={message.thread_ts}&cid={channel.id}"
        return {"ok": True, "channel": channel.id, "permalink": link}

    def _m_reactions_add(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._react(args, add=True)

    def _m_reactions_remove(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._react(args, add=False)

    def _react(self, args: dict[str, Any], *, add: bool) -> dict[str, Any]:
        channel = self._channel(args)
        if isinstance(channel, str):
            return {"ok": False, "error": channel}
        try:
            message = self.message(channel.id, str(args.get("timestamp")))
        except KeyError:
            return {"ok": False, "error": "message_not_found"}
        name = str(args.get("name") or "")
        if not name:
            return {"ok": False, "error": "invalid_name"}
        who = message.reactions[name]
        if add:
            if BOT_USER_ID in who:
                return {"ok": False, "error": "already_reacted"}
            who.add(BOT_USER_ID)
        else:
            if BOT_USER_ID not in who:
                return {"ok": False, "error": "no_reaction"}
            who.discard(BOT_USER_ID)
        return {"ok": True}

    def _m_conversations_list(self, args: dict[str, Any]) -> dict[str, Any]:
        types = str(args.get("types") or "public_channel").split(",")
        wanted = [
            c
            for c in self.channels.values()
            if not c.is_im
            and (("private_channel" in types) if c.is_private else ("public_channel" in types))
        ]
        start = int(args.get("cursor") or 0)
        limit = int(args.get("limit") or 100)
        page = wanted[start : start + limit]
        more = start + limit < len(wanted)
        return {
            "ok": True,
            "channels": [_channel_json(c) for c in page],
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    def _m_conversations_info(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        if isinstance(channel, str):
            return {"ok": False, "error": channel}
        return {"ok": True, "channel": _channel_json(channel)}

    def _m_conversations_replies(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        if isinstance(channel, str):
            return {"ok": False, "error": channel}
        thread = self.thread(channel.id, str(args.get("ts") or ""))
        if not thread:
            return {"ok": False, "error": "thread_not_found"}
        limit = int(args.get("limit") or 1000)
        return {
            "ok": True,
            "messages": [self._message_json(m) for m in thread[:limit]],
            "has_more": len(thread) > limit,
        }

    def _m_files_getUploadURLExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("filename") or not args.get("length"):
            return {"ok": False, "error": "invalid_arguments"}
        file_id = f"F{next(self._ids):08d}"
        self.uploads[file_id] = {"filename": args["filename"], "length": int(args["length"])}
        return {"ok": True, "upload_url": f"{self.base_url}/upload/{file_id}", "file_id": file_id}

    def _m_files_completeUploadExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        files = args.get("files") or []
        shared = []
        for item in files:
            upload = self.uploads.get(item.get("id", ""))
            if upload is None or "content" not in upload:
                return {"ok": False, "error": "file_not_found"}
            shared.append(
                {
                    "id": item["id"],
                    "title": item.get("title") or upload["filename"],
                    "name": upload["filename"],
                    "content": upload["content"],
                }
            )
        channel_id = args.get("channel_id")
        if channel_id:
            channel = self._channel(args, "channel_id")
            if isinstance(channel, str):
                return {"ok": False, "error": channel}
            message = Message(
                channel=channel.id,
                ts=self.next_ts(),
                text=str(args.get("initial_comment") or ""),
                user=BOT_USER_ID,
                bot_id=BOT_ID,
                thread_ts=args.get("thread_ts") or None,
                files=shared,
                subtype="file_share",
            )
            self.messages[channel.id].append(message)
        return {"ok": True, "files": [{"id": f["id"], "title": f["title"]} for f in shared]}

    async def _upload(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        upload = self.uploads.get(file_id)
        data = await request.read()
        self.calls.append(
            ApiCall(method="upload", args={"file_id": file_id}, token=None, at=time.monotonic())
        )
        if upload is None:
            return web.Response(status=404, text="unknown upload")
        upload["content"] = data.decode("utf-8", "replace")
        return web.Response(text=f"OK - {len(data)}")

    async def _respond(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.responses.append(body)
        self.calls.append(
            ApiCall(method="response_url", args=body, token=None, at=time.monotonic())
        )
        await self._touch()
        return web.Response(text="ok")

    async def _incoming_webhook(self, request: web.Request) -> web.Response:
        body = await request.json()
        wanted = str(body.get("channel") or "").removeprefix("#")
        channel = next((c for c in self.channels.values() if wanted in (c.id, c.name)), None)
        if channel is None:
            return web.Response(status=404, text="channel_not_found")
        await self.webhook_posts(channel.id, body)
        return web.Response(text="ok")

    def _message_json(self, message: Message) -> dict[str, Any]:
        data: dict[str, Any] = {"type": "message", "ts": message.ts, "text": message.text}
        if message.user:
            data["user"] = message.user
        if message.bot_id:
            data["bot_id"] = message.bot_id
        if message.subtype:
            data["subtype"] = message.subtype
        if message.username:
            data["username"] = message.username
        if message.thread_ts:
            data["thread_ts"] = message.thread_ts
        if message.blocks:
            data["blocks"] = message.blocks
        if message.attachments:
            data["attachments"] = message.attachments
        if message.files:
            data["files"] = [{k: v for k, v in f.items() if k != "content"} for f in message.files]
        return data


def _channel_json(channel: Channel) -> dict[str, Any]:
    return {
        "id": channel.id,
        "name": channel.name,
        "is_channel": not channel.is_private and not channel.is_im,
        "is_group": channel.is_private,
        "is_im": channel.is_im,
        "is_private": channel.is_private,
        "is_member": channel.is_member,
    }


def _error_response(status: int, error: str, retry_after: int | None) -> web.Response:
    headers = {"Retry-After": str(retry_after)} if retry_after is not None and status == 429 else {}
    return web.json_response({"ok": False, "error": error}, status=status, headers=headers)


async def _read_args(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    args: dict[str, Any] = dict(request.query)
    if request.content_type == "application/json":
        args.update(json.loads(raw or b"{}"))
    elif raw:
        args.update(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
    for key in _JSON_ARGS:
        if isinstance(args.get(key), str) and args[key]:
            args[key] = json.loads(args[key])
    return dict(args)


def _bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    return header.removeprefix("Bearer ").strip() or None if header.startswith("Bearer ") else None


def _check_content(args: dict[str, Any]) -> str | None:
    """What real Slack refuses: no content, too many blocks, sections or headers too long."""
    blocks = args.get("blocks") or []
    text = str(args.get("text") or "")
    if not blocks and not text and not args.get("attachments"):
        return "no_text"
    if len(text) > MAX_TEXT_CHARS:
        return "msg_too_long"
    if len(blocks) > MAX_BLOCKS:
        return "invalid_blocks"
    for block in blocks:
        kind = block.get("type")
        if kind == "section":
            if len(block.get("text", {}).get("text", "")) > MAX_SECTION_CHARS:
                return "invalid_blocks"
            if any(len(f.get("text", "")) > 2000 for f in block.get("fields", [])):
                return "invalid_blocks"
        if kind == "header" and len(block.get("text", {}).get("text", "")) > MAX_HEADER_CHARS:
            return "invalid_blocks"
        if kind == "context" and len(block.get("elements", [])) > 10:
            return "invalid_blocks"
        if kind == "actions" and len(block.get("elements", [])) > 25:
            return "invalid_blocks"
    return None


def _block_texts(block: dict[str, Any]) -> list[str]:
    texts: list[str] = []
    text = block.get("text")
    if isinstance(text, dict):
        texts.append(str(text.get("text", "")))
    for item in block.get("fields", []) + block.get("elements", []):
        if isinstance(item, dict):
            if isinstance(item.get("text"), str):
                texts.append(item["text"])
            elif isinstance(item.get("text"), dict):
                texts.append(str(item["text"].get("text", "")))
    return texts


def _find_action(blocks: list[dict[str, Any]], action_id: str) -> dict[str, Any]:
    for block in blocks:
        for element in block.get("elements", []):
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return {**element, "_block_id": block.get("block_id", "b")}
    raise KeyError(f"no element with action_id {action_id!r} in the message")
