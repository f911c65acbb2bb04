"""The investigation service: admits alerts (stored before anyone is told), runs them a few at a
time in arrival order with the store as the queue, fans their events out to whoever watches,
answers follow-up questions, resumes what a crash left behind, and drains on shutdown.

Several services (replicas) may share one database: each run is leased to the service that
claimed it, which renews its leases while it runs. What a dead replica was running is put back
in the queue once its lease expires, by whichever replica sweeps first.

Slack, HTTP and the CLI all go through it; it knows none of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Coroutine, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from functools import partial
from typing import Any

from agent.alert import Alert
from agent.events import Answered, Event, Failed, Finished, Note, Queued
from agent.investigator import Investigator
from agent.store import (
    DEFAULT_LEASE_S,
    Admission,
    FollowUp,
    InvalidTransition,
    InvestigationRecord,
    InvestigationStatus,
    Origin,
    SlackThread,
    Store,
    StoredEvent,
)

log = logging.getLogger("sre_agent.app")

# The investigation a log line is about; the log formatter adds it to every line.
current_investigation: ContextVar[str | None] = ContextVar("current_investigation", default=None)

_TERMINAL = (Finished, Failed)
# How often idle workers look at the store even without a wake-up (another process may have
# queued work, or a wake-up was missed while a worker was busy).
_IDLE_POLL_S = 2.0


class Subscription:
    """A stream of stored events for one subscriber. Never blocks the publisher: it buffers."""

    def __init__(self, bus: EventBus, investigation_id: str | None) -> None:
        self._bus = bus
        self.investigation_id = investigation_id
        self._queue: asyncio.Queue[StoredEvent | None] = asyncio.Queue()

    def put(self, item: StoredEvent | None) -> None:
        self._queue.put_nowait(item)

    def close(self) -> None:
        self._bus.unsubscribe(self)
        self._queue.put_nowait(None)

    def __aiter__(self) -> AsyncIterator[StoredEvent]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[StoredEvent]:
        while (item := await self._queue.get()) is not None:
            yield item


class EventBus:
    """Fans events out to subscribers, each with its own buffer, so a slow or failing consumer
    (a Slack renderer waiting out a rate limit) never holds up an investigation."""

    def __init__(self) -> None:
        self._all: set[Subscription] = set()
        self._by_investigation: dict[str, set[Subscription]] = defaultdict(set)

    def subscribe(self, investigation_id: str | None = None) -> Subscription:
        subscription = Subscription(self, investigation_id)
        if investigation_id is None:
            self._all.add(subscription)
        else:
            self._by_investigation[investigation_id].add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        if subscription.investigation_id is None:
            self._all.discard(subscription)
            return
        watchers = self._by_investigation.get(subscription.investigation_id)
        if watchers is not None:
            watchers.discard(subscription)
            if not watchers:
                del self._by_investigation[subscription.investigation_id]

    def publish(self, item: StoredEvent) -> None:
        for subscription in [
            *self._all,
            *self._by_investigation.get(item.event.investigation_id, ()),
        ]:
            subscription.put(item)


@dataclass(frozen=True)
class ServiceSettings:
    concurrency: int = 4
    # The same alert firing again within this window joins the existing investigation.
    dedup_window_s: float = 900.0
    # How long a follow-up waits for a running investigation to finish before answering.
    followup_wait_s: float = 600.0
    # A run is leased to this service for lease_s and renewed every lease_renew_s; a replica
    # that stops renewing (it died) loses its runs to the others lease_s after its last renewal.
    # The same timer puts expired runs of other replicas back in the queue.
    lease_s: float = DEFAULT_LEASE_S
    lease_renew_s: float = 15.0

    def __post_init__(self) -> None:
        if not 0 < self.lease_renew_s < self.lease_s:
            raise ValueError(
                f"lease_renew_s ({self.lease_renew_s}) must be above zero and below lease_s "
                f"({self.lease_s}), well below it: a renewal that comes late loses the lease"
            )


class InvestigationService:
    def __init__(
        self,
        *,
        store: Store,
        investigator: Investigator,
        settings: ServiceSettings | None = None,
    ) -> None:
        self.store = store
        self.investigator = investigator
        self.settings = settings or ServiceSettings()
        self.bus = EventBus()
        self._wake = asyncio.Event()
        self._workers: list[asyncio.Task[None]] = []
        self._running: dict[str, asyncio.Task[None]] = {}
        self._followup_locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._background: set[asyncio.Task[None]] = set()
        self._leases: asyncio.Task[None] | None = None
        self._lost: set[str] = set()
        self._accepting = False

    # --- life cycle ----------------------------------------------------------------------

    async def start(self, *, workers: bool = True) -> list[InvestigationRecord]:
        """Requeue what dead runners left running (their lease expired), answer pending
        follow-ups, and start the workers and the lease keeper. Returns the queued
        investigations (those with `attempts` > 0 had started before).

        `workers=False` only takes alerts in (they wait in the queue): an intake-only process,
        or a benchmark of intake alone."""
        if not workers:
            self._accepting = True
            return []
        requeued = await self.store.requeue_unfinished()
        for record in requeued:
            log.info("requeued %s after restart (attempts so far: %d)", record.id, record.attempts)
        self._accepting = True
        self._workers = [
            asyncio.create_task(self._work(), name=f"investigation-worker-{n}")
            for n in range(self.settings.concurrency)
        ]
        self._leases = asyncio.create_task(self._keep_leases(), name="investigation-leases")
        for followup in await self.store.unanswered_followups():
            self._spawn(self._answer_pending(followup))
        self._wake.set()
        return requeued

    async def drain(self, grace_s: float = 30.0) -> list[str]:
        """Stop taking work; give running investigations `grace_s` to finish, then stop them
        and put them back in the queue at once (for another replica, or the next start), and
        stop renewing leases. Returns the ids requeued."""
        self._accepting = False
        for worker in self._workers:
            worker.cancel()
        running = list(self._running.values())
        if running:
            _, pending = await asyncio.wait(running, timeout=grace_s)
        else:
            pending = set()
        unfinished = [
            inv_id
            for inv_id, task in self._running.items()
            if task in pending and inv_id not in self._lost
        ]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, *self._workers, return_exceptions=True)
        requeued = []
        for inv_id in unfinished:
            try:
                await self.store.mark_queued(inv_id)
            except Exception as exc:  # noqa: BLE001 - its lease then expires; another runner or
                # the next start requeues it (LeaseLost: another runner has it already)
                log.warning("could not put %s back in the queue: %s", inv_id, exc)
            else:
                requeued.append(inv_id)
        # Renewed until now: what was given back is queued, what ran to the end is stored.
        if self._leases is not None:
            self._leases.cancel()
            await asyncio.gather(self._leases, return_exceptions=True)
            self._leases = None
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        self._workers.clear()
        return requeued

    @property
    def running(self) -> int:
        return len(self._running)

    @property
    def accepting(self) -> bool:
        return self._accepting

    # --- intake --------------------------------------------------------------------------

    async def submit(
        self, alert: Alert, *, origin: Origin, thread: SlackThread | None = None
    ) -> Admission:
        """Store the alert (a new investigation, or the one already open for it) and queue it.
        When this returns, the alert is durable: acknowledge the source only after it."""
        if not self._accepting:
            raise ServiceStopping("not taking new investigations: shutting down")
        admission = await self.store.admit(
            alert, window_s=self.settings.dedup_window_s, origin=origin, thread=thread
        )
        await self._queued([admission])
        return admission

    async def submit_all(self, alerts: Sequence[Alert], *, origin: Origin) -> list[Admission]:
        """`submit` for every alert of one delivery (a webhook), all or none: when it raises,
        none of them was stored. Admissions come back in the order of `alerts`."""
        if not self._accepting:
            raise ServiceStopping("not taking new investigations: shutting down")
        admissions = await self.store.admit_all(
            alerts, window_s=self.settings.dedup_window_s, origin=origin
        )
        await self._queued(admissions)
        return admissions

    async def _queued(self, admissions: Sequence[Admission]) -> None:
        created = [admission.record.id for admission in admissions if admission.created]
        if not created:
            return
        if self.running >= self.settings.concurrency:
            counts = await self.store.counts_by_status()
            waiting = counts[InvestigationStatus.QUEUED]
            for n, investigation_id in enumerate(created):
                await self._publish(
                    Queued(
                        investigation_id=investigation_id,
                        ahead=max(0, waiting - len(created) + n),
                        running=self.running,
                        concurrency=self.settings.concurrency,
                    )
                )
        self._wake.set()

    # --- watching ------------------------------------------------------------------------

    def subscribe(self, investigation_id: str | None = None) -> Subscription:
        """Live events from now on: for one investigation, or all of them."""
        return self.bus.subscribe(investigation_id)

    async def follow(
        self, investigation_id: str, *, after_seq: int = 0
    ) -> AsyncIterator[StoredEvent]:
        """Everything so far (from the store), then live events until the investigation ends.
        `after_seq` skips the events a reader already has (an SSE client's Last-Event-ID).
        Raises InvestigationNotFound for an unknown id."""
        # Subscribe before reading the store, so nothing published in between is missed.
        subscription = self.bus.subscribe(investigation_id)
        try:
            await self.store.get(investigation_id)
            last_seq = 0
            ended = False
            for stored in await self.store.events(investigation_id):
                last_seq = stored.seq
                ended = isinstance(stored.event, _TERMINAL)
                if stored.seq > after_seq:
                    yield stored
            last_seq = max(last_seq, after_seq)
            if ended:
                return
            async for stored in subscription:
                if stored.seq <= last_seq:
                    continue
                last_seq = stored.seq
                yield stored
                if isinstance(stored.event, _TERMINAL):
                    return
        finally:
            subscription.close()

    # --- follow-up questions -------------------------------------------------------------

    async def ask(
        self,
        investigation_id: str,
        question: str,
        *,
        asker: str | None = None,
        source_ref: str | None = None,
    ) -> AsyncIterator[Event]:
        """Ask an investigation a question. Yields the answer's events (tool calls included),
        ending with Answered. A repeated delivery (same `source_ref`) yields nothing."""
        admission = await self.store.add_followup(
            investigation_id, question, asker=asker, source_ref=source_ref
        )
        if not admission.created:
            return
        async for event in self._answer(admission.followup):
            yield event

    async def _answer_pending(self, followup: FollowUp) -> None:
        async for _ in self._answer(followup):
            pass

    async def _answer(self, followup: FollowUp) -> AsyncIterator[Event]:
        investigation_id = followup.investigation_id
        token = current_investigation.set(investigation_id)
        try:
            async with self._followup_locks[investigation_id]:
                record = await self._wait_until_done(investigation_id)
                transcript = await self.store.transcript(investigation_id)
                case = await self.investigator.open_case(
                    record.alert, investigation_id, read_runbook_url=False
                )
                inquiry = self.investigator.follow_up(case, transcript, followup.question)
                async for event in inquiry.run():
                    await self._publish(event, attempt=record.attempts)
                    yield event
                    if isinstance(event, Answered):
                        await self.store.answer_followup(
                            followup.id,
                            event.answer,
                            reasoner=event.reasoner,
                            stats=event.stats,
                            transcript=inquiry.messages,
                        )
        finally:
            current_investigation.reset(token)

    async def _wait_until_done(self, investigation_id: str) -> InvestigationRecord:
        record = await self.store.get(investigation_id)
        if not record.status.active:
            return record
        subscription = self.bus.subscribe(investigation_id)
        try:
            async with asyncio.timeout(self.settings.followup_wait_s):
                while (record := await self.store.get(investigation_id)).status.active:
                    await _until_terminal(subscription, timeout_s=_IDLE_POLL_S)
        finally:
            subscription.close()
        return record

    # --- running -------------------------------------------------------------------------

    async def _keep_leases(self) -> None:
        """Every `lease_renew_s`: renew the leases of what this service runs (stopping any run
        whose lease was lost), and put runs whose lease expired (a dead replica's) back in the
        queue. A failing database is logged and tried again next time."""
        while True:
            await asyncio.sleep(self.settings.lease_renew_s)
            try:
                await self._renew_leases()
                requeued = await self.store.requeue_expired()
            except Exception:
                log.warning("could not renew leases or requeue expired runs", exc_info=True)
                continue
            for record in requeued:
                log.info(
                    "requeued %s: its runner %s stopped renewing its lease (attempts so far: %d)",
                    record.id,
                    record.runner,
                    record.attempts,
                )
            if requeued:
                self._wake.set()

    async def _renew_leases(self) -> None:
        running = [inv_id for inv_id in self._running if inv_id not in self._lost]
        if not running:
            return
        lost = await self.store.renew_leases(running, lease_s=self.settings.lease_s)
        for inv_id in lost:
            task = self._running.get(inv_id)
            if task is None or task.done():
                continue
            # This service stopped renewing for longer than a lease (a stalled loop, a
            # database outage) and another runner may run it now: this run stops, unstored.
            log.warning("lost the lease on %s; stopping this run of it", inv_id)
            self._lost.add(inv_id)
            task.cancel()

    async def _work(self) -> None:
        while True:
            record = await self.store.claim_next(lease_s=self.settings.lease_s)
            if record is None:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(_IDLE_POLL_S):
                        await self._wake.wait()
                continue
            task = asyncio.create_task(self._run(record), name=f"investigation-{record.id}")
            self._running[record.id] = task
            task.add_done_callback(partial(self._forget, record.id))
            # Waited for, not awaited: cancelling a worker (drain) must not cancel its
            # investigation (drain decides separately how long investigations get to finish),
            # and an investigation stopped because its lease was lost must not stop the worker.
            await asyncio.wait({task})

    def _forget(self, investigation_id: str, _: asyncio.Task[None]) -> None:
        self._running.pop(investigation_id, None)
        self._lost.discard(investigation_id)

    async def _run(self, record: InvestigationRecord) -> None:
        token = current_investigation.set(record.id)
        try:
            await self._investigate(record)
        finally:
            current_investigation.reset(token)

    async def _investigate(self, record: InvestigationRecord) -> None:
        if record.attempts > 1:
            await self._publish(
                attempt=record.attempts,
                event=Note(
                    investigation_id=record.id,
                    text=(
                        "The bot restarted while this investigation was running; it runs again "
                        f"from the start (attempt {record.attempts})."
                    ),
                ),
            )
        try:
            case = await self.investigator.open_case(record.alert, record.id)
            investigation = self.investigator.investigation(case)
            async for event in investigation.run():
                # The outcome is stored before the ending event goes out, so whoever sees
                # Finished or Failed finds the record finished too.
                if isinstance(event, Finished):
                    await self.store.finish(
                        record.id, event.report, event.stats, transcript=investigation.messages
                    )
                elif isinstance(event, Failed):
                    await self.store.fail(record.id, event.error, transcript=investigation.messages)
                await self._publish(event, attempt=record.attempts)
        except asyncio.CancelledError:
            raise
        except InvalidTransition as exc:
            # LeaseLost, or worse: its lease expired, and another runner has it now or even
            # ended it. That run reports, not this one.
            log.warning("%s is no longer this run's to end: %s", record.id, exc)
        except Exception as exc:
            log.exception("investigation %s crashed", record.id)
            error = f"internal error: {type(exc).__name__}: {exc}"
            with contextlib.suppress(Exception):
                await self.store.fail(record.id, error)
            await self._publish(
                Failed(investigation_id=record.id, error=error), attempt=record.attempts
            )

    async def _publish(self, event: Event, *, attempt: int = 0) -> None:
        """Store the event, then hand it to subscribers. A store failure is logged and the
        event still goes out: watchers should not go blind because a write failed."""
        try:
            (seq,) = await self.store.append_events(event.investigation_id, [event])
        except Exception:
            log.exception("could not store a %s event", event.type)
            seq = -1
        self.bus.publish(StoredEvent(seq=seq, attempt=attempt, event=event))

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)


async def _until_terminal(subscription: Subscription, *, timeout_s: float) -> None:
    """Wait until the subscription carries an ending event, or `timeout_s` passes."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout_s):
            async for stored in subscription:
                if isinstance(stored.event, _TERMINAL):
                    return


class ServiceStopping(RuntimeError):
    """The service is draining and takes no new work."""
