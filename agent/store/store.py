"""The store: every investigation, its alert, events, transcript, report, follow-ups and feedback.

One `Store` per process, opened on start (`await Store.open(url)`); it migrates the schema and is
safe to use from many coroutines at once. Everything it returns is a frozen record.

Several processes (replicas) may share one database. Each open store is a *runner* with its own
id; an investigation it starts is leased to it until `lease_expires_at`, and it renews the
leases of what it is still running (`renew_leases`). Only an investigation whose lease expired
(its runner died or lost the database) is put back in the queue by another runner
(`requeue_expired`), and the runner that lost a lease can no longer finish, fail or requeue it
(`LeaseLost`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import secrets
import socket
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

import sqlalchemy as sa
from alembic.script.revision import RevisionError
from alembic.util import CommandError
from langchain_core.messages import BaseMessage, messages_from_dict, messages_to_dict
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from agent.alert import Alert
from agent.events import EVENT_ADAPTER, Event, Started, Stats
from agent.report import Category, RootCauseReport
from agent.store import schema
from agent.store.engine import Database, connect, describe_failure, migrate
from agent.store.errors import (
    FollowUpNotFound,
    InvalidTransition,
    InvestigationNotFound,
    LeaseLost,
    StoreClosed,
    StoreError,
    StoreUnavailable,
    ThreadAlreadyLinked,
)
from agent.store.records import (
    Admission,
    FeedbackSummary,
    FollowUp,
    FollowUpAdmission,
    InvestigationRecord,
    InvestigationStatus,
    Origin,
    SlackThread,
    StoredEvent,
    Vote,
)

_inv = schema.investigations
_events = schema.events
_followups = schema.followups
_feedback = schema.feedback
_threads = schema.slack_threads

QUEUED = InvestigationStatus.QUEUED.value
RUNNING = InvestigationStatus.RUNNING.value
FINISHED = InvestigationStatus.FINISHED.value
FAILED = InvestigationStatus.FAILED.value

_ID_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
_ID_LENGTH = 12
_ID_SPACE = len(_ID_ALPHABET) ** _ID_LENGTH
_KEY_MAX = 255
# Every column but the transcript, which is read only when asked for.
_RECORD_COLUMNS = [column for column in _inv.c if column.name != "transcript"]
# Rounds of "insert, or find who inserted first" before giving up; one is enough unless the
# winner of a race rolls back in between, which takes a failure on its side.
_ADMIT_ROUNDS = 5
# Writes committed together at most; bounds one transaction's size (and the WAL's growth).
_MAX_GROUP = 256
# How long a run's lease lasts unless renewed (the service renews well within it).
DEFAULT_LEASE_S = 60.0

T = TypeVar("T")

# Admission's statements, built once: building a statement costs more than running it
# (SQLAlchemy coerces every column and value anew), and admission is the intake's hot path.
# The active-status test is literal SQL: an IN list of bound values is rewritten per execution.
_ACTIVE = sa.text(schema.ACTIVE_PREDICATE)
_DUPLICATE = sa.and_(
    _inv.c.dedup_key == sa.bindparam("key"),
    sa.or_(_ACTIVE, _inv.c.finished_at >= sa.bindparam("since")),
)
_DUPLICATE_OF = (
    sa.select(*_RECORD_COLUMNS)
    .where(_DUPLICATE)
    .order_by(sa.case((_ACTIVE, 0), else_=1), _inv.c.finished_at.desc())
    .limit(1)
)
# The columns a new investigation is inserted with (see `_new_investigation`).
_NEW_COLUMNS = (
    "id",
    "dedup_key",
    "source",
    "status",
    "alert",
    "title",
    "severity",
    "origin_kind",
    "origin_channel",
    "origin_user",
    "origin_reference",
    "thread_channel",
    "thread_ts",
    "thread_message_ts",
    "created_at",
    "updated_at",
    "attempts",
    "last_event_seq",
)
# Insert unless a duplicate exists, in one statement: a new alert (the common case under load)
# costs one round trip. A row inserted by a concurrent transaction that this one cannot see yet
# still stops it, through the unique index (`ON CONFLICT DO NOTHING`).
_ADMIT_INSERT = {
    kind: dialect_insert(_inv)
    .from_select(
        _NEW_COLUMNS,
        sa.select(*(sa.bindparam(name, type_=_inv.c[name].type) for name in _NEW_COLUMNS)).where(
            ~sa.exists().where(_DUPLICATE)
        ),
    )
    .on_conflict_do_nothing(index_elements=[_inv.c.dedup_key], index_where=_ACTIVE)
    .returning(*_RECORD_COLUMNS)
    for kind, dialect_insert in (("sqlite", sqlite.insert), ("postgresql", postgresql.insert))
}

# Claiming the oldest queued investigation, in one statement: the subquery picks it and, on
# PostgreSQL, locks it (`FOR UPDATE SKIP LOCKED`: a row another claim holds is passed over,
# not waited for); the UPDATE re-checks `status = 'queued'`, so a row claimed and committed by
# another runner in between is never taken twice. SQLite ignores the locking clause: its write
# transactions already run one at a time (BEGIN IMMEDIATE).
_next = _inv.alias("next_queued")
_CLAIM = (
    sa.update(_inv)
    .where(
        _inv.c.id
        == sa.select(_next.c.id)
        .where(_next.c.status == QUEUED)
        .order_by(_next.c.created_at, _next.c.id)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery(),
        _inv.c.status == QUEUED,
    )
    .values(
        status=RUNNING,
        attempts=_inv.c.attempts + 1,
        started_at=sa.bindparam("claim_now", type_=_inv.c.started_at.type),
        updated_at=sa.bindparam("claim_now", type_=_inv.c.updated_at.type),
        runner=sa.bindparam("claim_runner", type_=_inv.c.runner.type),
        lease_expires_at=sa.bindparam("claim_expires", type_=_inv.c.lease_expires_at.type),
    )
    .returning(*_RECORD_COLUMNS)
)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def new_id(prefix: str) -> str:
    """A short, URL-safe, random id such as `inv_3k9x0q2mz7ab` (62 bits)."""
    # One draw for all twelve characters (twelve draws cost more than the insert they feed).
    value = secrets.randbelow(_ID_SPACE)
    digits = []
    for _ in range(_ID_LENGTH):
        value, digit = divmod(value, 36)
        digits.append(_ID_ALPHABET[digit])
    return prefix + "".join(digits)


def new_runner_id() -> str:
    """A runner id that says where it runs: `<host>-<pid>-<random>` (a pod's host is its name)."""
    host = socket.gethostname().split(".")[0][:40] or "runner"
    return f"{host}-{os.getpid()}-{secrets.token_hex(4)}"


def storable_key(value: str) -> str:
    """A key as an indexable column holds it: unchanged when short and plain, else its hash.

    Deterministic, so the same over-long or odd key always finds the same row.
    """
    if len(value) <= _KEY_MAX and schema.storable_text(value) == value:
        return value
    return "sha256:" + hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


class Store:
    """Investigations and everything about them, in SQLite (default) or PostgreSQL.

    Open with `await Store.open(url)`; close with `await store.close()` (or `async with`).
    """

    def __init__(
        self,
        database: Database,
        *,
        clock: Callable[[], datetime],
        group_commit: bool = True,
        runner_id: str | None = None,
    ) -> None:
        """Use `Store.open`; this only wires an already migrated database."""
        self._db = database
        self._clock = clock
        self._runner_id = runner_id if runner_id is not None else new_runner_id()
        if not 0 < len(self._runner_id) <= 64:
            raise ValueError(f"a runner id has 1 to 64 characters, got {self._runner_id!r}")
        self._closed = False
        # SQLite has one writer at a time. Queueing this process's writers here costs nothing,
        # whereas SQLite's busy handler polls with sleeps of up to 100 ms. Other processes are
        # still kept out by BEGIN IMMEDIATE. An in-memory database has a single connection, so
        # there everything, reads too, takes turns.
        self._write_turn: contextlib.AbstractAsyncContextManager[Any] = (
            asyncio.Lock() if database.kind == "sqlite" else contextlib.nullcontext()
        )
        self._read_turn: contextlib.AbstractAsyncContextManager[Any] = (
            self._write_turn if database.memory else contextlib.nullcontext()
        )
        # Group commit: one writer task takes every write waiting in the queue and commits
        # them in one transaction. On SQLite (synchronous=FULL, one writer at a time) that is
        # one fsync for the group instead of one each; on PostgreSQL one connection checkout,
        # BEGIN and COMMIT instead of one each. Not in memory: there is a single connection.
        #
        # On an SQLite file the group runs in a thread of its own on a plain (synchronous)
        # connection: the whole transaction is one hand-over from the event loop, where
        # aiosqlite would hand every statement over and back, each waiting for a turn of a
        # busy loop.
        self._group_commit = group_commit and not database.memory
        self._thread: ThreadPoolExecutor | None = None
        if self._group_commit and database.sync_writer is not None:
            self._thread = ThreadPoolExecutor(1, thread_name_prefix="sre-agent-store-writer")
        self._queue: asyncio.Queue[_Write[Any]] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self.commits = 0  # transactions committed by the group writer (tests, benchmarks)

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        clock: Callable[[], datetime] = _utc_now,
        busy_timeout_s: float = 10.0,
        connect_timeout_s: float = 10.0,
        command_timeout_s: float = 30.0,
        group_commit: bool = True,
        runner_id: str | None = None,
    ) -> Store:
        """Connect to `url`, create or migrate the schema, and return the store.

        `sqlite+aiosqlite:///path/to/file.db` (parent directories are created),
        `sqlite+aiosqlite://` (in memory) or `postgresql+asyncpg://user:pw@host:port/db`;
        plain `sqlite://` and `postgresql://` pick those drivers. Raises `StoreUnavailable`
        with a one-line reason (the URL shown without its password).

        `group_commit=False` gives every SQLite write its own transaction (and fsync); it is
        there to measure what group commit buys.

        `runner_id` names this store as the holder of the leases it takes (at most 64
        characters); by default a new one, `<host>-<pid>-<random>`. Two open stores must never
        share one: each would take the other's runs for its own.
        """
        database = await connect(
            url,
            busy_timeout_s=busy_timeout_s,
            connect_timeout_s=connect_timeout_s,
            command_timeout_s=command_timeout_s,
        )
        try:
            async with asyncio.timeout(connect_timeout_s + command_timeout_s):
                await migrate(database)
        except (DBAPIError, OSError, TimeoutError, CommandError, RevisionError) as exc:
            await database.engine.dispose()
            database.dispose_sync()
            reason = describe_failure(exc)
            if isinstance(exc, TimeoutError):
                reason = f"no answer within {connect_timeout_s + command_timeout_s:.0f}s"
            raise StoreUnavailable(
                f"cannot open the store at {database.description}: {reason}"
            ) from exc
        return cls(database, clock=clock, group_commit=group_commit, runner_id=runner_id)

    @property
    def description(self) -> str:
        """The database URL, with any password hidden."""
        return self._db.description

    @property
    def runner_id(self) -> str:
        """The id this store holds its leases under."""
        return self._runner_id

    @property
    def kind(self) -> str:
        """`sqlite` or `postgresql`."""
        return self._db.kind

    async def close(self) -> None:
        """Refuse new work, let the writes already accepted commit, and disconnect."""
        if self._closed:
            return
        self._closed = True
        writer = self._writer
        if writer is not None and not writer.done():
            try:
                await self._queue.join()
            finally:
                writer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await writer
        if self._thread is not None:
            await asyncio.get_running_loop().run_in_executor(self._thread, self._db.dispose_sync)
            self._thread.shutdown(wait=False)
        await self._db.engine.dispose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    # --- admission and life cycle ----------------------------------------------------------

    async def admit(
        self,
        alert: Alert,
        *,
        window_s: float,
        origin: Origin,
        thread: SlackThread | None = None,
    ) -> Admission:
        """Store a new queued investigation of `alert`, or return the one it duplicates.

        A duplicate is an investigation of the same `dedup_key` that is queued or running, or
        that ended (finished or failed) less than `window_s` seconds ago. When `thread` is given
        it is linked to the investigation returned, new or not, unless another investigation
        already owns that thread.

        Why this is race-free: a unique partial index allows one queued-or-running row per
        dedup key, on SQLite and PostgreSQL alike and whichever process writes. The insert is
        `ON CONFLICT DO NOTHING` against that index, so of two concurrent admissions one
        inserts and the other inserts nothing (PostgreSQL makes it wait for the winner's
        commit) and then reads the winner's row: no lock is held across the read, and no
        aborted transaction has to be retried.
        """
        _check_window(window_s)

        def work(conn: sa.Connection) -> Admission:
            return self._admit_one(conn, alert, window_s, origin, thread)

        return await self._write(work)

    async def admit_all(
        self, alerts: Sequence[Alert], *, window_s: float, origin: Origin
    ) -> list[Admission]:
        """`admit` for every alert of one delivery, in one transaction: all are stored, or
        (when it raises) none. Returns their admissions in the order given; an alert repeated
        in `alerts` joins the investigation of its first occurrence."""
        _check_window(window_s)
        # Inserted in key order, so two deliveries sharing alerts wait for each other on
        # PostgreSQL instead of deadlocking.
        order = sorted(range(len(alerts)), key=lambda n: storable_key(alerts[n].dedup_key))

        def work(conn: sa.Connection) -> list[Admission]:
            admitted: dict[int, Admission] = {}
            for n in order:
                admitted[n] = self._admit_one(conn, alerts[n], window_s, origin, None)
            return [admitted[n] for n in range(len(alerts))]

        return await self._write(work) if alerts else []

    def _admit_one(
        self,
        conn: sa.Connection,
        alert: Alert,
        window_s: float,
        origin: Origin,
        thread: SlackThread | None,
    ) -> Admission:
        key = storable_key(alert.dedup_key)
        # Each round's statements see what other transactions committed before them (READ
        # COMMITTED on PostgreSQL), so a round after a lost race finds the winner's row.
        for _ in range(_ADMIT_ROUNDS):
            now = self._now()
            since = now - timedelta(seconds=window_s)
            values = _new_investigation(new_id("inv_"), key, alert, origin, now)
            inserted = conn.execute(
                _ADMIT_INSERT[self._db.kind], {**values, "key": key, "since": since}
            )
            found = inserted.one_or_none()
            created = found is not None
            if found is None:  # a duplicate exists, or another admission just won the race
                found = self._duplicate_of(conn, key, since)
            if found is not None:
                record = _record(found, alert if created else None)
                if thread is not None:
                    self._link(conn, record.id, thread, now)
                    record = self._load(conn, record.id)
                return Admission(record=record, created=created)
        raise StoreError(
            f"could not admit alert {alert.dedup_key[:80]!r}: concurrent admissions kept "
            "rolling back; check the database's health and retry"
        )

    async def mark_running(
        self, investigation_id: str, *, lease_s: float = DEFAULT_LEASE_S
    ) -> InvestigationRecord:
        """Start a run: queued -> running, `attempts` + 1, `started_at` now, leased to this
        runner for `lease_s` seconds.

        Raises `InvalidTransition` when it is not queued, so no investigation runs twice.
        """
        _check_lease(lease_s)

        def work(conn: sa.Connection) -> InvestigationRecord:
            self._start(conn, investigation_id, lease_s)
            return self._load(conn, investigation_id)

        return await self._write(work)

    async def claim_next(self, *, lease_s: float = DEFAULT_LEASE_S) -> InvestigationRecord | None:
        """Start the oldest queued investigation (as `mark_running`), or None when none waits.

        Safe with several workers and processes: each queued investigation goes to one. The
        pick and the start are one statement (see `_CLAIM`).
        """
        _check_lease(lease_s)

        def work(conn: sa.Connection) -> InvestigationRecord | None:
            now = self._now()
            claimed = conn.execute(
                _CLAIM,
                {
                    "claim_now": now,
                    "claim_runner": self._runner_id,
                    "claim_expires": now + timedelta(seconds=lease_s),
                },
            )
            row = claimed.one_or_none()
            return None if row is None else _record(row)

        return await self._write(work)

    async def renew_leases(
        self, investigation_ids: Sequence[str], *, lease_s: float = DEFAULT_LEASE_S
    ) -> set[str]:
        """Extend this runner's leases on these running investigations to `lease_s` from now.

        Returns the ids whose lease was lost: it expired and another runner put the
        investigation back in the queue (and may be running it). The run that lost its lease
        should stop: it can no longer finish, fail or requeue it. One that ended (finished or
        failed) meanwhile is neither renewed nor lost.
        """
        _check_lease(lease_s)
        wanted = sorted(set(investigation_ids))
        if not wanted:
            return set()

        def work(conn: sa.Connection) -> set[str]:
            renewed = conn.execute(
                sa.update(_inv)
                .where(
                    _inv.c.id.in_(wanted),
                    _inv.c.status == RUNNING,
                    _inv.c.runner == self._runner_id,
                )
                .values(lease_expires_at=self._now() + timedelta(seconds=lease_s))
                .returning(_inv.c.id)
            )
            missing = set(wanted) - set(renewed.scalars())
            if not missing:
                return set()
            active = conn.execute(
                sa.select(_inv.c.id).where(_inv.c.id.in_(sorted(missing)), _ACTIVE)
            )
            return set(active.scalars())

        return await self._write(work)

    async def mark_queued(self, investigation_id: str) -> InvestigationRecord:
        """Put a running investigation back in the queue at once (draining on SIGTERM), and
        give up its lease. Raises `LeaseLost` when another runner holds it."""

        def work(conn: sa.Connection) -> InvestigationRecord:
            self._transition(
                conn,
                investigation_id,
                allowed=(QUEUED, RUNNING),
                wanted="queued again",
                values={"status": QUEUED, "lease_expires_at": None},
            )
            return self._load(conn, investigation_id)

        return await self._write(work)

    async def requeue_expired(self) -> list[InvestigationRecord]:
        """Put every running investigation whose lease has expired back in the queue: its
        runner died (or lost the database for longer than a lease). Returns them, oldest first.

        A run without a lease (left by a version without leases) counts as expired. Any runner
        may call this at any time: a live runner renews its leases well before they expire.
        """

        def work(conn: sa.Connection) -> list[InvestigationRecord]:
            return self._requeue_expired(conn)

        return await self._write(work)

    async def requeue_unfinished(self) -> list[InvestigationRecord]:
        """On start: what dead runners left running (their lease expired) becomes queued.

        Returns all queued investigations, oldest first; those with `attempts` > 0 had started.
        Investigations running under a live lease (another replica's) are left alone.
        """

        def work(conn: sa.Connection) -> list[InvestigationRecord]:
            self._requeue_expired(conn)
            rows = conn.execute(
                sa.select(*_RECORD_COLUMNS)
                .where(_inv.c.status == QUEUED)
                .order_by(_inv.c.created_at, _inv.c.id)
            )
            return [_record(row) for row in rows]

        return await self._write(work)

    def _requeue_expired(self, conn: sa.Connection) -> list[InvestigationRecord]:
        now = self._now()
        requeued = conn.execute(
            sa.update(_inv)
            .where(
                _inv.c.status == RUNNING,
                sa.or_(_inv.c.lease_expires_at.is_(None), _inv.c.lease_expires_at <= now),
            )
            .values(status=QUEUED, lease_expires_at=None, updated_at=now)
            .returning(*_RECORD_COLUMNS)
        )
        records = [_record(row) for row in requeued]
        return sorted(records, key=lambda record: (record.created_at, record.id))

    async def finish(
        self,
        investigation_id: str,
        report: RootCauseReport,
        stats: Stats,
        *,
        transcript: Sequence[BaseMessage] | None = None,
    ) -> InvestigationRecord:
        """Running -> finished, with its report and stats (and transcript, in the same commit).

        Raises `LeaseLost` when another runner holds the run (this one's lease expired)."""
        values: dict[str, Any] = {
            "status": FINISHED,
            "finished_at": self._now(),
            "report": report.model_dump(mode="json"),
            "stats": stats.model_dump(mode="json"),
            "category": report.category.value,
            "confidence": report.confidence.value,
            "reasoner": report.reasoner,
            "runbook": sa.func.coalesce(report.runbook, _inv.c.runbook),
            "error": None,
            "lease_expires_at": None,
        }
        if transcript is not None:
            values["transcript"] = messages_to_dict(transcript)

        def work(conn: sa.Connection) -> InvestigationRecord:
            self._transition(
                conn, investigation_id, allowed=(RUNNING,), wanted="finished", values=values
            )
            return self._load(conn, investigation_id)

        return await self._write(work)

    async def fail(
        self,
        investigation_id: str,
        error: str,
        *,
        transcript: Sequence[BaseMessage] | None = None,
    ) -> InvestigationRecord:
        """Queued or running -> failed, with the reason (and transcript, in the same commit).

        Raises `LeaseLost` when another runner holds the run (this one's lease expired)."""
        values: dict[str, Any] = {
            "status": FAILED,
            "finished_at": self._now(),
            "error": error,
            "lease_expires_at": None,
        }
        if transcript is not None:
            values["transcript"] = messages_to_dict(transcript)

        def work(conn: sa.Connection) -> InvestigationRecord:
            self._transition(
                conn,
                investigation_id,
                allowed=(QUEUED, RUNNING),
                wanted="failed",
                values=values,
            )
            return self._load(conn, investigation_id)

        return await self._write(work)

    # --- events and transcript -------------------------------------------------------------

    async def append_events(self, investigation_id: str, events: Sequence[Event]) -> list[int]:
        """Append events to the investigation's stream, all or none; returns their `seq`s.

        Each is tagged with the current run (`attempts`). A `Started` event also records the
        runbook and reasoner on the investigation.
        """
        for event in events:
            if event.investigation_id != investigation_id:
                raise ValueError(
                    f"event {event.type} belongs to investigation {event.investigation_id}, "
                    f"not {investigation_id}; append it there"
                )
        count = len(events)
        values: dict[str, Any] = {"last_event_seq": _inv.c.last_event_seq + count}
        for event in events:
            if isinstance(event, Started):
                values.update(runbook=event.runbook, reasoner=event.reasoner)

        def work(conn: sa.Connection) -> list[int]:
            values["updated_at"] = self._now()
            # Bumping the counter locks the row: concurrent appends to one investigation get
            # consecutive, distinct numbers.
            bumped = conn.execute(
                sa.update(_inv)
                .where(_inv.c.id == investigation_id)
                .values(values)
                .returning(_inv.c.last_event_seq, _inv.c.attempts)
            )
            row = bumped.one_or_none()
            if row is None:
                raise InvestigationNotFound(investigation_id)
            first = row.last_event_seq - count + 1
            if events:
                conn.execute(
                    sa.insert(_events),
                    [
                        {
                            "investigation_id": investigation_id,
                            "seq": first + index,
                            "attempt": row.attempts,
                            "type": event.type,
                            "at": _aware(event.at),
                            "payload": event.model_dump(mode="json"),
                        }
                        for index, event in enumerate(events)
                    ],
                )
            return list(range(first, first + count))

        return await self._write(work)

    async def events(
        self, investigation_id: str, *, after_seq: int = 0, limit: int | None = None
    ) -> list[StoredEvent]:
        """The investigation's events with `seq` above `after_seq`, in order."""
        query = (
            sa.select(_events.c.seq, _events.c.attempt, _events.c.payload)
            .where(_events.c.investigation_id == investigation_id, _events.c.seq > after_seq)
            .order_by(_events.c.seq)
        )
        if limit is not None:
            query = query.limit(_positive(limit, "limit"))
        async with self._reading() as conn:
            rows = (await conn.execute(query)).all()
            if not rows:
                await conn.run_sync(self._require, investigation_id)
        return [
            StoredEvent(
                seq=row.seq, attempt=row.attempt, event=EVENT_ADAPTER.validate_python(row.payload)
            )
            for row in rows
        ]

    async def save_transcript(self, investigation_id: str, messages: Sequence[BaseMessage]) -> None:
        """Replace the stored conversation (LangChain messages, tool artifacts included)."""

        def work(conn: sa.Connection) -> None:
            saved = conn.execute(
                sa.update(_inv)
                .where(_inv.c.id == investigation_id)
                .values(transcript=messages_to_dict(messages), updated_at=self._now())
                .returning(_inv.c.id)
            )
            if saved.scalar_one_or_none() is None:
                raise InvestigationNotFound(investigation_id)

        await self._write(work)

    async def transcript(self, investigation_id: str) -> list[BaseMessage]:
        """The stored conversation, ready to continue (empty before the first save)."""
        async with self._reading() as conn:
            found = await conn.execute(
                sa.select(_inv.c.transcript).where(_inv.c.id == investigation_id)
            )
            row = found.one_or_none()
        if row is None:
            raise InvestigationNotFound(investigation_id)
        return messages_from_dict(row.transcript or [])

    # --- reads -----------------------------------------------------------------------------

    async def ping(self) -> None:
        """Raise `StoreUnavailable` (or `StoreClosed`) unless the database answers a query."""
        async with self._reading() as conn:
            await conn.execute(sa.select(1))

    async def get(self, investigation_id: str) -> InvestigationRecord:
        async with self._reading() as conn:
            return await conn.run_sync(self._load, investigation_id)

    async def list_investigations(
        self,
        *,
        status: InvestigationStatus | None = None,
        limit: int = 50,
        before: str | None = None,
    ) -> list[InvestigationRecord]:
        """Newest first. For the next page pass the last id you got as `before`."""
        query = sa.select(*_RECORD_COLUMNS)
        if status is not None:
            query = query.where(_inv.c.status == InvestigationStatus(status).value)
        async with self._reading() as conn:
            if before is not None:
                anchor = await conn.execute(sa.select(_inv.c.created_at).where(_inv.c.id == before))
                created = anchor.scalar_one_or_none()
                if created is None:
                    raise InvestigationNotFound(before)
                query = query.where(
                    sa.or_(
                        _inv.c.created_at < created,
                        sa.and_(_inv.c.created_at == created, _inv.c.id < before),
                    )
                )
            rows = await conn.execute(
                query.order_by(_inv.c.created_at.desc(), _inv.c.id.desc()).limit(
                    _positive(limit, "limit")
                )
            )
            return [_record(row) for row in rows]

    async def counts_by_status(self) -> dict[InvestigationStatus, int]:
        """How many investigations are in each status (every status present, zeros included)."""
        async with self._reading() as conn:
            rows = await conn.execute(
                sa.select(_inv.c.status, sa.func.count()).group_by(_inv.c.status)
            )
            counts = {status: 0 for status in InvestigationStatus}
            counts.update({InvestigationStatus(status): n for status, n in rows.all()})
            return counts

    async def counts_by_category(self) -> dict[Category, int]:
        """How many finished investigations ended in each category (only those seen)."""
        async with self._reading() as conn:
            rows = await conn.execute(
                sa.select(_inv.c.category, sa.func.count())
                .where(_inv.c.status == FINISHED, _inv.c.category.is_not(None))
                .group_by(_inv.c.category)
            )
            return {Category(category): n for category, n in rows.all()}

    # --- Slack threads ---------------------------------------------------------------------

    async def link_thread(
        self, investigation_id: str, channel: str, thread_ts: str, message_ts: str | None = None
    ) -> InvestigationRecord:
        """Follow-ups in this thread go to this investigation (the first link is its home).

        Linking the same thread again updates `message_ts`; linking it to another investigation
        raises `ThreadAlreadyLinked`.
        """
        thread = SlackThread(channel=channel, thread_ts=thread_ts, message_ts=message_ts)

        def work(conn: sa.Connection) -> InvestigationRecord:
            self._require(conn, investigation_id)
            owner = self._link(conn, investigation_id, thread, self._now())
            if owner != investigation_id:
                raise ThreadAlreadyLinked(channel, thread_ts, owner)
            return self._load(conn, investigation_id)

        return await self._write(work)

    async def find_by_thread(self, channel: str, thread_ts: str) -> InvestigationRecord | None:
        """The investigation a Slack thread belongs to, or None."""
        async with self._reading() as conn:
            found = await conn.execute(
                sa.select(_threads.c.investigation_id).where(
                    _threads.c.channel == storable_key(channel),
                    _threads.c.thread_ts == storable_key(thread_ts),
                )
            )
            investigation_id = found.scalar_one_or_none()
            if investigation_id is None:
                return None
            return await conn.run_sync(self._load, investigation_id)

    # --- follow-up questions ---------------------------------------------------------------

    async def add_followup(
        self,
        investigation_id: str,
        question: str,
        *,
        asker: str | None = None,
        source_ref: str | None = None,
    ) -> FollowUpAdmission:
        """Store a question asked about an investigation, before it is answered.

        `source_ref` is the source's id for the question (the Slack message ts): the same
        question delivered twice is stored once, and the second call returns the first.
        """
        if not question.strip():
            raise ValueError("a follow-up question cannot be empty")
        ref = storable_key(source_ref) if source_ref is not None else None

        def work(conn: sa.Connection) -> FollowUpAdmission:
            self._require(conn, investigation_id)
            new = new_id("fu_")
            inserted = conn.execute(
                self._insert(_followups)
                .values(
                    id=new,
                    investigation_id=investigation_id,
                    question=question,
                    asker=asker,
                    asked_at=self._now(),
                    source_ref=ref,
                )
                .on_conflict_do_nothing(
                    index_elements=[_followups.c.investigation_id, "source_ref"]
                )
                .returning(_followups.c.id)
            )
            created = inserted.scalar_one_or_none() is not None
            if created:
                where = _followups.c.id == new
            else:
                where = sa.and_(
                    _followups.c.investigation_id == investigation_id,
                    _followups.c.source_ref == ref,
                )
            row = (conn.execute(sa.select(_followups).where(where))).one()
            return FollowUpAdmission(followup=_followup(row), created=created)

        return await self._write(work)

    async def answer_followup(
        self,
        followup_id: str,
        answer: str,
        *,
        reasoner: str,
        stats: Stats | None = None,
        transcript: Sequence[BaseMessage] | None = None,
    ) -> FollowUp:
        """Store the answer; with `transcript`, the investigation's conversation is replaced by
        it in the same commit (it now includes the question and the answer)."""
        now = self._now()

        def work(conn: sa.Connection) -> FollowUp:
            answered = conn.execute(
                sa.update(_followups)
                .where(_followups.c.id == followup_id)
                .values(
                    answer=answer,
                    reasoner=reasoner,
                    answered_at=now,
                    stats=stats.model_dump(mode="json") if stats is not None else None,
                )
                .returning(_followups.c.investigation_id)
            )
            investigation_id = answered.scalar_one_or_none()
            if investigation_id is None:
                raise FollowUpNotFound(followup_id)
            if transcript is not None:
                conn.execute(
                    sa.update(_inv)
                    .where(_inv.c.id == investigation_id)
                    .values(transcript=messages_to_dict(transcript), updated_at=now)
                )
            row = (conn.execute(sa.select(_followups).where(_followups.c.id == followup_id))).one()
            return _followup(row)

        return await self._write(work)

    async def followups(self, investigation_id: str) -> list[FollowUp]:
        """The investigation's follow-up questions, oldest first, answered or not."""
        async with self._reading() as conn:
            rows = (
                await conn.execute(
                    sa.select(_followups)
                    .where(_followups.c.investigation_id == investigation_id)
                    .order_by(_followups.c.asked_at, _followups.c.id)
                )
            ).all()
            if not rows:
                await conn.run_sync(self._require, investigation_id)
            return [_followup(row) for row in rows]

    async def unanswered_followups(self) -> list[FollowUp]:
        """Questions still without an answer (asked before a crash), oldest first."""
        async with self._reading() as conn:
            rows = await conn.execute(
                sa.select(_followups)
                .where(_followups.c.answer.is_(None))
                .order_by(_followups.c.asked_at, _followups.c.id)
            )
            return [_followup(row) for row in rows]

    # --- feedback --------------------------------------------------------------------------

    async def record_feedback(
        self, investigation_id: str, user: str, vote: Vote
    ) -> FeedbackSummary:
        """Record a 👍 (+1) or 👎 (-1): one vote per person, the latest replaces the earlier."""
        if vote not in (1, -1):
            raise ValueError(f"a vote is +1 or -1, got {vote!r}")
        if not user.strip():
            raise ValueError("a vote needs the voter's id")

        def work(conn: sa.Connection) -> FeedbackSummary:
            self._require(conn, investigation_id)
            insert = self._insert(_feedback).values(
                investigation_id=investigation_id,
                voter=storable_key(user),
                vote=vote,
                at=self._now(),
            )
            conn.execute(
                insert.on_conflict_do_update(
                    index_elements=[_feedback.c.investigation_id, _feedback.c.voter],
                    set_={"vote": insert.excluded.vote, "at": insert.excluded.at},
                )
            )
            return self._summary(conn, investigation_id)

        return await self._write(work)

    async def feedback_summary(self, investigation_id: str) -> FeedbackSummary:
        async with self._reading() as conn:
            await conn.run_sync(self._require, investigation_id)
            return await conn.run_sync(self._summary, investigation_id)

    # --- inside ----------------------------------------------------------------------------

    def _now(self) -> datetime:
        return _aware(self._clock())

    def _insert(self, table: sa.Table) -> Any:
        """An INSERT with this engine's ON CONFLICT clause (both engines spell it the same)."""
        if self._db.kind == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)

    async def _write(self, work: Callable[[sa.Connection], T]) -> T:
        """Run `work` in a write transaction and return its result once it is committed; if
        it raises, nothing it did is stored.

        With group commit, `work` runs in the writer thread and shares its transaction with
        the other writes waiting at that moment; it may run more than once before its commit
        (when a write before it in the same transaction fails, the others run again without
        it): it must do nothing but talk to the connection it is given.
        """
        if self._closed:
            raise StoreClosed(f"the store at {self.description} is closed")
        if not self._group_commit:
            async with self._write_turn:
                with self._translated_errors():
                    async with self._db.writer.begin() as conn:
                        return await conn.run_sync(work)
        loop = asyncio.get_running_loop()
        if self._writer is None or self._writer.done() or self._writer.get_loop() is not loop:
            self._queue = asyncio.Queue()
            self._writer = loop.create_task(self._write_groups(), name="store-group-commit")
        write: _Write[T] = _Write(work, loop.create_future())
        self._queue.put_nowait(write)
        # A caller that gives up (a cancelled request) withdraws its write if it has not
        # started; one already under way still commits, like an acknowledgement lost on the
        # wire.
        return await write.outcome

    async def _write_groups(self) -> None:
        """The group commit writer: every write waiting in the queue goes into one transaction,
        run in the writer thread (one hand-over for the group, not one per statement).

        No write waits for company: the first one starts a transaction at once, and what
        arrives while it commits forms the next group.
        """
        loop = asyncio.get_running_loop()
        while True:
            group = [await self._queue.get()]
            while len(group) < _MAX_GROUP and not self._queue.empty():
                group.append(self._queue.get_nowait())
            try:
                if self._thread is not None:
                    outcomes = await loop.run_in_executor(self._thread, self._commit_group, group)
                else:
                    async with self._db.writer.connect() as conn:
                        outcomes = await conn.run_sync(self._commit_group_on, group)
            except Exception as exc:  # noqa: BLE001 - every waiting writer is told, none hangs
                _settle_all(group, exc)
            else:
                for write, error, result in outcomes:
                    if write.outcome.done():
                        continue
                    if error is not None:
                        write.outcome.set_exception(error)
                    else:
                        write.outcome.set_result(result)
            finally:
                for _ in group:
                    self._queue.task_done()

    def _commit_group(
        self, group: list[_Write[Any]]
    ) -> list[tuple[_Write[Any], BaseException | None, Any]]:
        """In the writer thread, on the SQLite writer connection."""
        assert self._db.sync_writer is not None
        with self._db.sync_writer.connect() as connection:
            return self._commit_group_on(connection, group)

    def _commit_group_on(
        self, connection: sa.Connection, group: list[_Write[Any]]
    ) -> list[tuple[_Write[Any], BaseException | None, Any]]:
        """One transaction for the group. A write that raises is rolled back with the rest and
        gets its error; the others run again without it, in a new transaction."""
        outcomes: list[tuple[_Write[Any], BaseException | None, Any]] = []
        pending = [write for write in group if not write.outcome.done()]
        while pending:
            results: list[tuple[_Write[Any], BaseException | None, Any]] = []
            failed: tuple[_Write[Any], BaseException] | None = None
            try:
                with self._translated_errors(), connection.begin():
                    for write in pending:
                        try:
                            results.append((write, None, write.work(connection)))
                        except Exception as exc:
                            failed = (write, exc)
                            raise _WriteFailed from exc
            except _WriteFailed:
                pass
            except Exception as exc:  # noqa: BLE001 - BEGIN or COMMIT failed: none is stored
                outcomes.extend((write, exc, None) for write in pending)
                return outcomes
            if failed is None:
                self.commits += 1
                outcomes.extend(results)
                return outcomes
            write, error = failed
            outcomes.append((write, self._translate(error), None))
            pending = [other for other in pending if other is not write]
        return outcomes

    @contextlib.asynccontextmanager
    async def _reading(self) -> AsyncIterator[AsyncConnection]:
        if self._closed:
            raise StoreClosed(f"the store at {self.description} is closed")
        async with self._read_turn:
            with self._translated_errors():
                async with self._db.engine.connect() as conn, conn.begin():
                    yield conn

    @contextlib.contextmanager
    def _translated_errors(self) -> Iterator[None]:
        try:
            yield
        except (DBAPIError, OSError) as exc:
            raise self._translate(exc) from exc

    def _translate(self, exc: BaseException) -> BaseException:
        """A database driver's exception as the store's own; others unchanged."""
        if isinstance(exc, IntegrityError):
            translated: BaseException = StoreError(
                f"the database refused a change: {describe_failure(exc)}"
            )
        elif isinstance(exc, DBAPIError | OSError):
            translated = StoreUnavailable(
                f"the store at {self.description} failed: {describe_failure(exc)}"
            )
        else:
            return exc
        translated.__cause__ = exc
        return translated

    def _require(self, conn: sa.Connection, investigation_id: str) -> None:
        found = conn.execute(sa.select(_inv.c.id).where(_inv.c.id == investigation_id))
        if found.scalar_one_or_none() is None:
            raise InvestigationNotFound(investigation_id)

    def _load(self, conn: sa.Connection, investigation_id: str) -> InvestigationRecord:
        found = conn.execute(sa.select(*_RECORD_COLUMNS).where(_inv.c.id == investigation_id))
        row = found.one_or_none()
        if row is None:
            raise InvestigationNotFound(investigation_id)
        return _record(row)

    def _duplicate_of(self, conn: sa.Connection, key: str, since: datetime) -> sa.Row[Any] | None:
        """The investigation an alert with this key duplicates: the active one, else the one
        that ended most recently since `since`."""
        found = conn.execute(_DUPLICATE_OF, {"key": key, "since": since})
        return found.one_or_none()

    def _start(self, conn: sa.Connection, investigation_id: str, lease_s: float) -> None:
        now = self._now()
        self._transition(
            conn,
            investigation_id,
            allowed=(QUEUED,),
            wanted="started",
            values={
                "status": RUNNING,
                "attempts": _inv.c.attempts + 1,
                "started_at": now,
                "runner": self._runner_id,
                "lease_expires_at": now + timedelta(seconds=lease_s),
            },
        )

    def _transition(
        self,
        conn: sa.Connection,
        investigation_id: str,
        *,
        allowed: tuple[str, ...],
        wanted: str,
        values: dict[str, Any],
    ) -> None:
        """Change an investigation that is in one of the `allowed` statuses. A running one
        changes only for the runner that holds it: one whose lease expired and went to another
        runner cannot finish, fail or requeue it."""
        changed = conn.execute(
            sa.update(_inv)
            .where(
                _inv.c.id == investigation_id,
                _inv.c.status.in_(allowed),
                sa.or_(_inv.c.status != RUNNING, _inv.c.runner == self._runner_id),
            )
            .values({**values, "updated_at": self._now()})
            .returning(_inv.c.id)
        )
        if changed.scalar_one_or_none() is not None:
            return
        current = conn.execute(
            sa.select(_inv.c.status, _inv.c.runner).where(_inv.c.id == investigation_id)
        ).one_or_none()
        if current is None:
            raise InvestigationNotFound(investigation_id)
        if current.status == RUNNING and RUNNING in allowed:
            raise LeaseLost(investigation_id, current.runner, wanted)
        raise InvalidTransition(investigation_id, current.status, wanted, " or ".join(allowed))

    def _link(
        self, conn: sa.Connection, investigation_id: str, thread: SlackThread, now: datetime
    ) -> str:
        """Link a thread unless another investigation has it; returns the thread's owner."""
        channel, thread_ts = storable_key(thread.channel), storable_key(thread.thread_ts)
        message_ts = storable_key(thread.message_ts) if thread.message_ts is not None else None
        conn.execute(
            self._insert(_threads)
            .values(
                channel=channel,
                thread_ts=thread_ts,
                investigation_id=investigation_id,
                message_ts=message_ts,
                linked_at=now,
            )
            .on_conflict_do_nothing(index_elements=[_threads.c.channel, _threads.c.thread_ts])
        )
        found = conn.execute(
            sa.select(_threads.c.investigation_id).where(
                _threads.c.channel == channel, _threads.c.thread_ts == thread_ts
            )
        )
        owner: str = found.scalar_one()
        if owner != investigation_id:
            return owner
        if message_ts is not None:
            conn.execute(
                sa.update(_threads)
                .where(_threads.c.channel == channel, _threads.c.thread_ts == thread_ts)
                .values(message_ts=message_ts)
            )
        # The first thread linked is where the investigation reports; later ones only route
        # follow-ups to it.
        home = {
            "thread_channel": thread.channel,
            "thread_ts": thread.thread_ts,
            "thread_message_ts": sa.func.coalesce(thread.message_ts, _inv.c.thread_message_ts),
        }
        conn.execute(
            sa.update(_inv)
            .where(
                _inv.c.id == investigation_id,
                sa.or_(
                    _inv.c.thread_channel.is_(None),
                    sa.and_(
                        _inv.c.thread_channel == thread.channel,
                        _inv.c.thread_ts == thread.thread_ts,
                    ),
                ),
            )
            .values(home)
        )
        return owner

    def _summary(self, conn: sa.Connection, investigation_id: str) -> FeedbackSummary:
        rows = conn.execute(
            sa.select(_feedback.c.voter, _feedback.c.vote)
            .where(_feedback.c.investigation_id == investigation_id)
            .order_by(_feedback.c.voter)
        )
        votes: dict[str, Vote] = {voter: 1 if vote > 0 else -1 for voter, vote in rows.all()}
        up = sum(1 for vote in votes.values() if vote > 0)
        return FeedbackSummary(
            investigation_id=investigation_id, up=up, down=len(votes) - up, votes=votes
        )


@dataclass(eq=False)
class _Write(Generic[T]):
    """A write waiting for the group commit writer, and where its caller waits for it."""

    work: Callable[[sa.Connection], T]
    outcome: asyncio.Future[T]


class _WriteFailed(Exception):
    """One write of a group raised: the group's transaction is rolled back."""


def _settle_all(writes: Sequence[_Write[Any]], error: BaseException) -> None:
    for write in writes:
        if not write.outcome.done():
            write.outcome.set_exception(error)


def _check_lease(lease_s: float) -> None:
    if not lease_s > 0:
        raise ValueError(f"lease_s must be above zero, got {lease_s}")


def _check_window(window_s: float) -> None:
    if window_s < 0:
        raise ValueError(f"window_s must be zero or more, got {window_s}")


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _positive(value: int, name: str) -> int:
    if value < 1:
        raise ValueError(f"{name} must be 1 or more, got {value}")
    return value


def _new_investigation(
    investigation_id: str,
    key: str,
    alert: Alert,
    origin: Origin,
    now: datetime,
) -> dict[str, Any]:
    return {
        "id": investigation_id,
        "dedup_key": key,
        "source": alert.source,
        "status": QUEUED,
        "alert": alert.model_dump(mode="json"),
        "title": alert.title,
        "severity": alert.severity.value,
        "origin_kind": origin.kind.value,
        "origin_channel": origin.channel,
        "origin_user": origin.user,
        "origin_reference": origin.reference,
        "thread_channel": None,
        "thread_ts": None,
        "thread_message_ts": None,
        "created_at": now,
        "updated_at": now,
        "attempts": 0,
        "last_event_seq": 0,
    }


def _record(row: sa.Row[Any], alert: Alert | None = None) -> InvestigationRecord:
    """The record of a row; `alert` when the caller holds the alert the row was made from
    (reading it back from JSON is the costliest part of a new admission)."""
    thread = None
    if row.thread_channel is not None and row.thread_ts is not None:
        thread = SlackThread(
            channel=row.thread_channel,
            thread_ts=row.thread_ts,
            message_ts=row.thread_message_ts,
        )
    return InvestigationRecord(
        id=row.id,
        dedup_key=row.dedup_key,
        source=row.source,
        status=row.status,
        alert=alert if alert is not None else Alert.model_validate(row.alert),
        title=row.title,
        severity=row.severity,
        origin=Origin(
            kind=row.origin_kind,
            channel=row.origin_channel,
            user=row.origin_user,
            reference=row.origin_reference,
        ),
        thread=thread,
        created_at=row.created_at,
        updated_at=row.updated_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        attempts=row.attempts,
        runbook=row.runbook,
        reasoner=row.reasoner,
        category=row.category,
        confidence=row.confidence,
        report=RootCauseReport.model_validate(row.report) if row.report is not None else None,
        stats=Stats.model_validate(row.stats) if row.stats is not None else None,
        error=row.error,
        last_event_seq=row.last_event_seq,
        runner=row.runner,
        lease_expires_at=row.lease_expires_at,
    )


def _followup(row: sa.Row[Any]) -> FollowUp:
    return FollowUp(
        id=row.id,
        investigation_id=row.investigation_id,
        question=row.question,
        asker=row.asker,
        asked_at=row.asked_at,
        source_ref=row.source_ref,
        answer=row.answer,
        reasoner=row.reasoner,
        answered_at=row.answered_at,
        stats=Stats.model_validate(row.stats) if row.stats is not None else None,
    )
