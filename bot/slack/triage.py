"""The Slack side of an investigation's life, after a listener has acknowledged and parsed what
arrived: auto-triage of alert messages, `/investigate`, mentions, direct messages, follow-up
questions in a thread, and 👍/👎 votes. Listeners hand off here and return; everything here
runs in tracked background tasks so `close()` can stop it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from slack_bolt.context.async_context import AsyncBoltContext

from agent.alert import Alert
from agent.events import Answered
from agent.intake import AlertParseError
from agent.service import InvestigationService, ServiceStopping
from agent.store import (
    InvestigationNotFound,
    InvestigationRecord,
    Origin,
    OriginKind,
    SlackThread,
    Store,
    StoreError,
    Vote,
)
from bot.metrics import Metrics
from bot.slack.channels import AlertChannels
from bot.slack.incoming import Identity, SlackMessage, without_mention
from bot.slack.poster import SlackPoster
from bot.slack.recognize import Recognition, recognize
from bot.slack.render.investigation import StatusView, note_post, report_post
from bot.slack.render.kit import Post
from bot.slack.render.replies import (
    command_root,
    duplicate_post,
    help_post,
    problem_post,
    question_help_post,
    refusal_post,
    unreadable_alert_text,
    vote_thanks,
    waiting_for_investigation_post,
)
from bot.slack.threads import DONE, EYES, WARNING, InvestigationThreads

log = logging.getLogger("sre_agent.slack")

CONTEXT_KEY = "sre_agent_triage"
_HELP_WORDS = frozenset({"", "help", "-h", "--help", "?"})

Respond = Callable[[str], Awaitable[None]]


def triage_of(context: AsyncBoltContext) -> Triage:
    """The Triage a listener hands off to (attached to every request by the app)."""
    found = context.get(CONTEXT_KEY)
    if not isinstance(found, Triage):
        raise RuntimeError("no Triage in the Bolt context; build the app with bot.slack.app")
    return found


def is_help(text: str) -> bool:
    return text.strip().lower() in _HELP_WORDS


@dataclass(frozen=True)
class TriageSettings:
    answer_all_replies: bool = False
    # Requests handled at once. The rest wait their turn after being acknowledged: during a
    # burst, unbounded handling queues its CPU ahead of the acks of later deliveries.
    concurrency: int = 64


class Triage:
    def __init__(
        self,
        *,
        service: InvestigationService,
        store: Store,
        poster: SlackPoster,
        threads: InvestigationThreads,
        identity: Identity,
        alert_channels: AlertChannels,
        metrics: Metrics,
        settings: TriageSettings | None = None,
    ) -> None:
        self.service = service
        self.store = store
        self.poster = poster
        self.threads = threads
        self.identity = identity
        self.alert_channels = alert_channels
        self.metrics = metrics
        self.settings = settings or TriageSettings()
        self._tasks: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(self.settings.concurrency)
        # Threads whose alert is being admitted right now: a question asked there waits for
        # the admission instead of finding no investigation.
        self._admitting: dict[tuple[str, str], asyncio.Future[InvestigationRecord | None]] = {}
        self.handled = 0  # requests handled to the end (or to an error)

    # --- background work -------------------------------------------------------------------------

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(self._guarded(work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _guarded(self, work: Coroutine[Any, Any, None]) -> None:
        try:
            async with self._slots:
                await work
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("Slack request handling failed")
        finally:
            self.handled += 1

    async def settle(self, timeout_s: float = 30.0) -> None:
        """Wait for the work in flight (tests)."""
        async with asyncio.timeout(timeout_s):
            while self._tasks:
                await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self, grace_s: float = 5.0) -> None:
        tasks = list(self._tasks)
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=grace_s)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    # --- messages --------------------------------------------------------------------------------

    async def message(self, message: SlackMessage) -> None:
        """Any message the bot can see: an alert in an alert channel, a direct request, or a
        reply in a thread it owns."""
        if message.is_from(self.identity) or not message.says_something():
            return
        bot = self.identity.user_id
        if message.is_reply:
            if message.mentions(bot) and not message.is_direct:
                return  # the app_mention event carries it
            if message.is_direct or self.settings.answer_all_replies:
                assert message.thread_ts is not None
                record = await self._investigation_of(message.channel, message.thread_ts)
                if record is not None:
                    await self.ask(record, message, without_mention(message.text, bot))
            return
        if message.is_direct:
            await self.requested(message, without_mention(message.text, bot))
            return
        if message.mentions(bot):
            return  # the app_mention event carries it
        if not await self.alert_channels.contains(message.channel):
            return
        recognition = recognize(message)
        if not recognition.firing:
            if recognition.resolved and recognition.alert is not None:
                self._count(recognition.alert, "resolved")
            log.debug(
                "not investigating %s/%s: %s", message.channel, message.ts, recognition.reason
            )
            return
        assert recognition.alert is not None
        await self.investigate(
            recognition,
            origin=Origin(
                kind=OriginKind.SLACK,
                channel=message.channel,
                user=message.user or message.username or message.bot_id,
                reference=f"{message.channel}/{message.ts}",
            ),
            thread=SlackThread(
                channel=message.channel, thread_ts=message.ts, message_ts=message.ts
            ),
        )

    async def mention(self, message: SlackMessage) -> None:
        """`@bot ...`: a question in an investigation's thread; in another thread, investigate
        its first message; at the top level, investigate what was said."""
        question = without_mention(message.text, self.identity.user_id)
        if message.is_reply:
            assert message.thread_ts is not None
            record = await self._investigation_of(message.channel, message.thread_ts)
            if record is not None:
                await self.ask(record, message, question)
                return
            await self.investigate_thread(message)
            return
        if is_help(question):
            await self._reply(message, help_post(self.identity.user_id))
            return
        await self.requested(message, question)

    async def requested(self, message: SlackMessage, text: str) -> None:
        """A person asked for an investigation in words (a mention, a direct message)."""
        if is_help(text):
            await self._reply(message, help_post(self.identity.user_id))
            return
        asked = SlackMessage(
            channel=message.channel,
            ts=message.ts,
            text=text,
            user=message.user,
            attachments=message.attachments,
        )
        try:
            recognition = recognize(asked, forced=True)
        except AlertParseError as exc:
            await self._reply(message, refusal_post(unreadable_alert_text(str(exc))))
            return
        if not recognition.firing:
            await self._reply(message, refusal_post(_not_firing(recognition)))
            return
        await self.investigate(
            recognition,
            origin=Origin(
                kind=OriginKind.SLACK,
                channel=message.channel,
                user=message.user,
                reference=f"{message.channel}/{message.ts}",
            ),
            thread=SlackThread(
                channel=message.channel, thread_ts=message.ts, message_ts=message.ts
            ),
        )

    async def investigate_thread(self, mention: SlackMessage) -> None:
        """`@bot` in a thread the bot does not own: investigate the thread's first message."""
        assert mention.thread_ts is not None
        found = await self.poster.read(
            "conversations_replies",
            channel=mention.channel,
            ts=mention.thread_ts,
            limit=1,
            inclusive=True,
        )
        messages = (found or {}).get("messages") or []
        if not messages:
            await self._reply(mention, problem_post("I couldn't read this thread's first message."))
            return
        root = SlackMessage.from_event(messages[0], channel=mention.channel)
        try:
            recognition = recognize(root, forced=True)
        except AlertParseError as exc:
            await self._reply(mention, refusal_post(unreadable_alert_text(str(exc))))
            return
        if not recognition.firing:
            await self._reply(mention, refusal_post(_not_firing(recognition)))
            return
        await self.investigate(
            recognition,
            origin=Origin(
                kind=OriginKind.SLACK,
                channel=mention.channel,
                user=mention.user,
                reference=f"{mention.channel}/{mention.ts}",
            ),
            thread=SlackThread(channel=mention.channel, thread_ts=root.ts, message_ts=root.ts),
        )

    # --- /investigate ----------------------------------------------------------------------------

    def read_request(self, text: str) -> Recognition:
        """What `/investigate TEXT` asks about. Raises AlertParseError for unreadable JSON."""
        return recognize(SlackMessage(channel="", ts="", text=text), forced=True)

    async def command(
        self, recognition: Recognition, *, channel: str, user: str, trigger: str, respond: Respond
    ) -> None:
        """Open a thread in the channel for `/investigate` and run it there."""
        assert recognition.alert is not None
        root = await self.poster.post(channel, command_root(recognition.alert, user))
        if root is None:
            await respond(
                ":warning: I can't post in this conversation. Invite me to the channel "
                "(`/invite @sre-agent`) or use the command in a channel I'm in."
            )
            return
        await self.investigate(
            recognition,
            origin=Origin(
                kind=OriginKind.SLACK, channel=root.channel, user=user, reference=trigger
            ),
            thread=SlackThread(channel=root.channel, thread_ts=root.ts, message_ts=root.ts),
        )

    # --- the investigation -----------------------------------------------------------------------

    async def investigate(
        self, recognition: Recognition, *, origin: Origin, thread: SlackThread
    ) -> None:
        """Admit the alert (stored before anything else happens) and let its thread render; a
        repeat of an alert already investigated gets a reply pointing at that thread."""
        alert = recognition.alert
        assert alert is not None
        self.threads.opening(thread, StatusView(title=alert.title, severity=alert.severity))
        key = (thread.channel, thread.thread_ts)
        admitted: asyncio.Future[InvestigationRecord | None] = (
            asyncio.get_running_loop().create_future()
        )
        self._admitting[key] = admitted
        try:
            admission = await self.service.submit(alert, origin=origin, thread=thread)
            admitted.set_result(admission.record)
        except ServiceStopping:
            await self._answer_opening(
                thread, refusal_post("I'm restarting; post the alert again in a minute.")
            )
            return
        except StoreError as exc:
            log.exception("could not store an alert from Slack")
            await self._answer_opening(thread, problem_post(f"I couldn't store this alert: {exc}"))
            return
        finally:
            if not admitted.done():
                admitted.set_result(None)
            if self._admitting.get(key) is admitted:
                del self._admitting[key]
        record = admission.record
        self._count(alert, "created" if admission.created else "duplicate")
        home = record.thread
        ours = home is not None and (home.channel, home.thread_ts) == (
            thread.channel,
            thread.thread_ts,
        )
        if admission.created or (ours and record.status.active):
            self.threads.open(record)
        elif ours:
            await self._post_outcome(record, thread)
        else:
            permalink = None
            if home is not None:
                permalink = await self.poster.permalink(home.channel, home.thread_ts)
            notice = duplicate_post(record, permalink, datetime.now(UTC))
            await self._answer_opening(thread, notice)
            return
        if recognition.others:
            await self._post_in(
                thread,
                note_post(
                    f"{recognition.others} more firing alert(s) in this paste were not "
                    "investigated here; paste each one separately to investigate it."
                ),
            )

    async def _post_outcome(self, record: InvestigationRecord, thread: SlackThread) -> None:
        """An investigation that already ended before this thread became its home."""
        if record.report is not None:
            message = report_post(
                record.report, alert=record.alert, stats=record.stats, investigation_id=record.id
            )
            await self._answer_opening(thread, message)
            await self.poster.react(thread.channel, thread.message_ts or thread.thread_ts, DONE)
        else:
            await self._answer_opening(
                thread, problem_post(f"Investigation failed: {record.error}")
            )

    async def _answer_opening(self, thread: SlackThread, message: Post) -> None:
        """No investigation starts in this thread after all: its opening status message (when
        it was posted) becomes `message`, and the 👀 goes."""
        opening = self.threads.claim_opening(thread)
        posted = await opening if opening is not None else None
        if posted is None or not await self.poster.update(posted.channel, posted.ts, message):
            await self._post_in(thread, message)
        if opening is not None:
            await self.poster.unreact(thread.channel, thread.message_ts or thread.thread_ts, EYES)

    # --- follow-ups and votes --------------------------------------------------------------------

    async def ask(self, record: InvestigationRecord, message: SlackMessage, question: str) -> None:
        """A question in an investigation's thread; the answer is posted there by the thread's
        renderer (tool calls included), from the events the service publishes."""
        if not question.strip():
            await self._reply(message, question_help_post())
            return
        await self.poster.react(message.channel, message.ts, EYES)
        if record.status.active:
            await self._reply(message, waiting_for_investigation_post())
        answered = False
        try:
            async for event in self.service.ask(
                record.id,
                question,
                asker=message.user,
                source_ref=f"{message.channel}/{message.ts}",
            ):
                answered = answered or isinstance(event, Answered)
        except (StoreError, TimeoutError) as exc:
            log.warning("could not answer a follow-up on %s: %s", record.id, exc)
            await self._reply(message, problem_post(f"I couldn't answer that: {exc}"))
            await self.poster.react(message.channel, message.ts, WARNING)
            return
        if answered:
            await self.poster.unreact(message.channel, message.ts, EYES)
            await self.poster.react(message.channel, message.ts, DONE)

    async def vote(
        self,
        investigation_id: str,
        *,
        user: str,
        vote: Vote,
        channel: str,
        thread_ts: str | None,
    ) -> None:
        try:
            summary = await self.store.record_feedback(investigation_id, user, vote)
        except InvestigationNotFound:
            await self.poster.ephemeral(
                channel,
                user,
                problem_post("That investigation is no longer in my records."),
                thread_ts=thread_ts,
            )
            return
        await self.poster.ephemeral(channel, user, vote_thanks(vote, summary), thread_ts=thread_ts)

    # --- inside ----------------------------------------------------------------------------------

    async def _investigation_of(self, channel: str, thread_ts: str) -> InvestigationRecord | None:
        """The investigation a thread belongs to (waiting for one being admitted there)."""
        pending = self._admitting.get((channel, thread_ts))
        if pending is not None:
            record = await asyncio.shield(pending)
            if record is not None:
                return record
        return await self.store.find_by_thread(channel, thread_ts)

    async def _reply(self, message: SlackMessage, post: Post) -> None:
        await self.poster.post(message.channel, post, thread_ts=message.thread_root)

    async def _post_in(self, thread: SlackThread, post: Post) -> None:
        await self.poster.post(thread.channel, post, thread_ts=thread.thread_ts)

    def _count(self, alert: Alert, outcome: str) -> None:
        self.metrics.alerts_received.labels(source=alert.source, outcome=outcome).inc()


def _not_firing(recognition: Recognition) -> str:
    if recognition.resolved:
        return "That alert is resolved, so there is nothing to investigate."
    return f"I couldn't find an alert in that ({recognition.reason or 'no text'})."
