"""Every investigation that has a Slack thread, kept current from the service's events.

`InvestigationThreads` subscribes to all of the service's events and hands each investigation's
events, in order, to its own `ThreadRenderer` (so one slow thread never holds up another). A
renderer finds its thread in the store (restart-safe), or opens one in the HTTP alert channel for
an investigation that arrived over HTTP, and then: posts the status message and updates it in
place (coalesced), posts each iteration as a reply, the report at the end, the answer to each
follow-up question, and marks the alert message 👀 → ✅ (or ⚠️).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

from agent.events import (
    Answered,
    Event,
    Failed,
    Finished,
    IterationStarted,
    Note,
    Queued,
    Reasoning,
    Started,
    ToolCalled,
    ToolFinished,
)
from agent.service import InvestigationService, Subscription
from agent.store import (
    InvestigationRecord,
    OriginKind,
    SlackThread,
    Store,
    StoredEvent,
)
from bot.slack.poster import Posted, SlackPoster, StatusMessage
from bot.slack.render.investigation import (
    CallView,
    IterationView,
    StatusView,
    answer_post,
    failure_post,
    iteration_post,
    note_post,
    report_post,
    status_post,
)
from bot.slack.render.kit import Post
from bot.slack.render.replies import alert_root

log = logging.getLogger("sre_agent.slack")

EYES = "eyes"
DONE = "white_check_mark"
WARNING = "warning"

_TERMINAL = (Finished, Failed, Answered)
_IGNORED_MEMORY = 10_000


@dataclass(frozen=True)
class _Open:
    """Slack intake admitted this investigation: show its status right away."""


_Item = StoredEvent | _Open | None


class ThreadRenderer:
    """One investigation's thread. Consumes its events in order; never raises."""

    def __init__(
        self,
        investigation_id: str,
        threads: InvestigationThreads,
        record: InvestigationRecord | None = None,
    ) -> None:
        self.investigation_id = investigation_id
        self._threads = threads
        self._poster = threads.poster
        self._record = record
        self._queue: asyncio.Queue[_Item] = asyncio.Queue()
        self._thread: SlackThread | None = None
        self._status: StatusMessage | None = None
        self._view: StatusView | None = None
        self._mode: str | None = None  # "investigation" | "follow_up" | None
        self._ended = False  # Finished or Failed seen: what follows is a follow-up
        self._iteration: IterationView | None = None
        self._notes: list[str] = []
        self._shown_notes: list[str] = []
        self._started_at: datetime | None = None
        self._alert = record.alert if record is not None else None
        self.task = asyncio.create_task(self._run(), name=f"thread-{investigation_id}")

    def push(self, item: _Item) -> None:
        self._queue.put_nowait(item)

    @property
    def thread(self) -> SlackThread | None:
        return self._thread

    # --- the loop ------------------------------------------------------------------------------

    async def _run(self) -> None:
        try:
            if not await self._resolve():
                self._threads.unrendered(self)
                return
            while True:
                item = await self._queue.get()
                if item is None:
                    return
                try:
                    await self._handle(item)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("could not render an event of %s in Slack", self.investigation_id)
                ended = isinstance(item, StoredEvent) and isinstance(item.event, _TERMINAL)
                if ended and self._queue.empty():
                    self._threads.retire(self)
                    return
        finally:
            if self._status is not None:
                await self._status.flush()

    async def _resolve(self) -> bool:
        """Find the thread (or open one for an HTTP alert). False: not ours to render."""
        record = self._record
        if record is None:
            try:
                record = await self._threads.store.get(self.investigation_id)
            except Exception:
                log.exception("could not look up investigation %s", self.investigation_id)
                return False
            self._record = record
            self._alert = record.alert
        thread = record.thread
        if thread is None and record.origin.kind is OriginKind.HTTP:
            thread = await self._open_http_thread(record)
        if thread is None:
            return False
        self._thread = thread
        self._view = StatusView(title=record.title, severity=record.severity)
        self._view.attempt = max(1, record.attempts)
        self._view.phase = "starting"
        return True

    async def _open_http_thread(self, record: InvestigationRecord) -> SlackThread | None:
        channel = self._threads.http_channel
        if channel is None:
            return None
        posted = await self._poster.post(channel, alert_root(record.alert))
        if posted is None:
            return None
        try:
            linked = await self._threads.store.link_thread(
                record.id, posted.channel, posted.ts, posted.ts
            )
        except Exception:
            log.exception("could not link the HTTP alert thread of %s", record.id)
            return None
        return linked.thread

    # --- events --------------------------------------------------------------------------------

    async def _handle(self, item: StoredEvent | _Open) -> None:
        if isinstance(item, _Open):
            self._mode = self._mode or "investigation"
            await self._ensure_status()
            return
        event = item.event
        if self._mode is None:
            self._mode = self._mode_for(event)
        if isinstance(event, Queued | Started):
            self._mode, self._ended = "investigation", False
        if self._mode == "investigation":
            await self._investigation_event(event, item.attempt)
        else:
            await self._follow_up_event(event)

    def _mode_for(self, event: Event) -> str:
        if isinstance(event, Queued | Started):
            return "investigation"
        if not self._ended and self._record is not None and self._record.status.active:
            return "investigation"
        return "follow_up"

    async def _investigation_event(self, event: Event, attempt: int) -> None:
        view = self._view
        assert view is not None
        if isinstance(event, Queued):
            view.phase = "queued"
            view.ahead, view.running, view.concurrency = (
                event.ahead,
                event.running,
                event.concurrency,
            )
            if self._record is not None:
                view.elapsed_s = (event.at - self._record.created_at).total_seconds()
        elif isinstance(event, Started):
            view.phase = "running"
            view.title = event.alert.title
            view.severity = event.alert.severity
            view.runbook, view.reasoner = event.runbook, event.reasoner
            view.max_iterations = event.max_iterations
            view.iteration, view.tool_calls = 0, 0
            view.attempt = max(1, attempt)
            self._alert = event.alert
            self._started_at = event.at
        elif isinstance(event, IterationStarted):
            await self._post_iteration()
            view.phase = "running"
            view.iteration, view.max_iterations = event.iteration, event.max_iterations
            self._iteration = IterationView(
                event.iteration, event.max_iterations, notes=self._notes
            )
            self._notes = []
        elif isinstance(event, Reasoning | ToolCalled | ToolFinished):
            self._record_step(event)
            if isinstance(event, ToolCalled):
                view.tool_calls += 1
            if self._iteration is not None and self._iteration.calls and self._iteration.complete:
                await self._post_iteration()
        elif isinstance(event, Note):
            self._note(event.text)
        elif isinstance(event, Finished):
            await self._post_iteration()
            await self._post_notes()
            report = report_post(
                event.report,
                alert=self._alert,
                stats=event.stats,
                investigation_id=self.investigation_id,
                shown_notes=self._shown_notes,
            )
            await self._post(report)
            view.phase = "finished"
            view.category = event.report.category
            view.iteration = event.stats.iterations
            view.tool_calls = event.stats.tool_calls
            view.elapsed_s = event.stats.duration_s
            await self._settle_status()
            await self._mark(DONE)
            self._mode, self._ended = None, True
            return
        elif isinstance(event, Failed):
            await self._post_iteration()
            await self._post_notes()
            await self._post(failure_post(event.error))
            view.phase, view.error = "failed", event.error
            self._elapsed(event.at)
            await self._settle_status()
            await self._mark(WARNING)
            self._mode, self._ended = None, True
            return
        elif isinstance(event, Answered):
            await self._post_iteration()
            await self._post(answer_post(event.question, event.answer, event.stats))
            self._mode = None
            return
        self._elapsed(event.at)
        await self._ensure_status()
        if self._status is not None:
            self._status.show(status_post(view))

    async def _follow_up_event(self, event: Event) -> None:
        if isinstance(event, IterationStarted):
            await self._post_iteration(follow_up=True)
            self._iteration = IterationView(
                event.iteration, event.max_iterations, notes=self._notes
            )
            self._notes = []
        elif isinstance(event, Reasoning | ToolCalled | ToolFinished):
            self._record_step(event)
            if self._iteration is not None and self._iteration.calls and self._iteration.complete:
                await self._post_iteration(follow_up=True)
        elif isinstance(event, Note):
            self._note(event.text)
        elif isinstance(event, Answered):
            await self._post_iteration(follow_up=True)
            await self._post(answer_post(event.question, event.answer, event.stats))
            self._mode = None
        elif isinstance(event, Failed | Finished):
            # A follow-up ends with Answered; these mean the investigation itself ran again.
            self._mode = "investigation"
            await self._investigation_event(event, 0)

    def _record_step(self, event: Reasoning | ToolCalled | ToolFinished) -> None:
        if self._iteration is None or self._iteration.number != event.iteration:
            self._iteration = IterationView(
                event.iteration, self._view.max_iterations if self._view else 0
            )
        if isinstance(event, Reasoning):
            self._iteration.reasoning.append(event.text)
        elif isinstance(event, ToolCalled):
            self._iteration.calls.append(CallView(event.call_id, event.tool, dict(event.arguments)))
        else:
            call = next((c for c in self._iteration.calls if c.call_id == event.call_id), None)
            if call is None:
                call = CallView(event.call_id, event.tool, {})
                self._iteration.calls.append(call)
            call.status, call.output = event.status, event.output
            call.duration_ms, call.truncated = event.duration_ms, event.truncated

    def _note(self, text: str) -> None:
        self._shown_notes.append(text)
        if self._iteration is not None:
            self._iteration.notes.append(text)
        else:
            self._notes.append(text)

    # --- posting -------------------------------------------------------------------------------

    async def _post_iteration(self, *, follow_up: bool = False) -> None:
        iteration, self._iteration = self._iteration, None
        if iteration is None or iteration.empty:
            return
        if follow_up and not iteration.calls:
            return  # the answer itself; Answered posts it
        await self._post(iteration_post(iteration, follow_up=follow_up))

    async def _post_notes(self) -> None:
        notes, self._notes = self._notes, []
        for text in notes:
            await self._post(note_post(text))

    async def _post(self, message: Post) -> None:
        assert self._thread is not None
        await self._poster.post(self._thread.channel, message, thread_ts=self._thread.thread_ts)

    async def _ensure_status(self) -> None:
        """Open the thread with the status message (and 👀 on the alert), once. Intake may
        have posted it already, before the store admitted the alert: then it is adopted."""
        if self._status is not None or self._thread is None or self._view is None:
            return
        thread = self._thread
        opening = self._threads.claim_opening(thread)
        root = thread.message_ts or thread.thread_ts
        if opening is not None:
            posted = await opening
            if posted is not None:
                self._status = self._poster.status(posted.channel, posted.ts)
                self._status.show(status_post(self._view))
                return
        posted, _ = await asyncio.gather(
            self._poster.post(thread.channel, status_post(self._view), thread_ts=thread.thread_ts),
            self._poster.react(thread.channel, root, EYES),
        )
        if posted is not None:
            self._status = self._poster.status(posted.channel, posted.ts)

    async def _settle_status(self) -> None:
        assert self._view is not None
        await self._ensure_status()
        if self._status is not None:
            await self._status.settle(status_post(self._view))
            self._status = None

    async def _mark(self, reaction: str) -> None:
        assert self._thread is not None
        root = self._thread.message_ts or self._thread.thread_ts
        await self._poster.unreact(self._thread.channel, root, EYES)
        await self._poster.react(self._thread.channel, root, reaction)

    def _elapsed(self, at: datetime) -> None:
        if self._view is not None and self._started_at is not None:
            self._view.elapsed_s = (at - self._started_at).total_seconds()


class InvestigationThreads:
    """Routes the service's events to one renderer per investigation."""

    def __init__(
        self,
        *,
        service: InvestigationService,
        store: Store,
        poster: SlackPoster,
        http_channel: str | None = None,
    ) -> None:
        self.service = service
        self.store = store
        self.poster = poster
        self.http_channel = http_channel
        self._renderers: dict[str, ThreadRenderer] = {}
        self._ignored: OrderedDict[str, None] = OrderedDict()
        self._openings: dict[tuple[str, str], asyncio.Task[Posted | None]] = {}
        self._subscription: Subscription | None = None
        self._router: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._subscription = self.service.subscribe()
        self._router = asyncio.create_task(self._route(), name="slack-thread-router")

    def opening(self, thread: SlackThread, view: StatusView) -> None:
        """Post the thread's status message (and 👀) now, while the store admits the alert:
        the thread answers at once however busy the store is. The renderer that gets the
        thread adopts the message; intake claims it back for a duplicate's notice."""
        key = (thread.channel, thread.thread_ts)
        if key not in self._openings:
            self._openings[key] = asyncio.create_task(self._open_thread(thread, view))

    async def _open_thread(self, thread: SlackThread, view: StatusView) -> Posted | None:
        root = thread.message_ts or thread.thread_ts
        posted, _ = await asyncio.gather(
            self.poster.post(thread.channel, status_post(view), thread_ts=thread.thread_ts),
            self.poster.react(thread.channel, root, EYES),
        )
        return posted

    def claim_opening(self, thread: SlackThread) -> asyncio.Task[Posted | None] | None:
        return self._openings.pop((thread.channel, thread.thread_ts), None)

    def open(self, record: InvestigationRecord) -> None:
        """Intake admitted `record` with a Slack thread: show its status now."""
        self._ignored.pop(record.id, None)
        renderer = self._renderers.get(record.id)
        if renderer is None:
            renderer = ThreadRenderer(record.id, self, record)
            self._renderers[record.id] = renderer
        renderer.push(_Open())

    async def _route(self) -> None:
        assert self._subscription is not None
        async for stored in self._subscription:
            investigation_id = stored.event.investigation_id
            if investigation_id in self._ignored:
                continue
            renderer = self._renderers.get(investigation_id)
            if renderer is None:
                renderer = ThreadRenderer(investigation_id, self)
                self._renderers[investigation_id] = renderer
            renderer.push(stored)

    def retire(self, renderer: ThreadRenderer) -> None:
        if self._renderers.get(renderer.investigation_id) is renderer:
            del self._renderers[renderer.investigation_id]

    def unrendered(self, renderer: ThreadRenderer) -> None:
        """Not a Slack investigation: stop looking it up for each of its events."""
        self.retire(renderer)
        self._ignored[renderer.investigation_id] = None
        while len(self._ignored) > _IGNORED_MEMORY:
            self._ignored.popitem(last=False)

    @property
    def active(self) -> int:
        return len(self._renderers)

    async def idle(self, timeout_s: float = 30.0) -> None:
        """Wait until every renderer has caught up (tests and shutdown)."""
        async with asyncio.timeout(timeout_s):
            while self._renderers:
                await asyncio.gather(
                    *(r.task for r in list(self._renderers.values())), return_exceptions=True
                )

    async def close(self, grace_s: float = 5.0) -> None:
        """Stop routing; give renderers `grace_s` to post what they hold, then stop them."""
        if self._subscription is not None:
            self._subscription.close()
        if self._router is not None:
            self._router.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._router
        for opening in self._openings.values():
            opening.cancel()
        renderers = list(self._renderers.values())
        for renderer in renderers:
            renderer.push(None)
        if renderers:
            _, pending = await asyncio.wait([r.task for r in renderers], timeout=grace_s)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        await self.poster.close()
