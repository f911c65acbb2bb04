"""The store's tables, as SQLAlchemy Core metadata. Migrations create them; this is their shape."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

# Deterministic constraint names, so migrations written today still match the metadata later.
metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# PostgreSQL refuses NUL in text, and lone surrogates are not UTF-8 at all; both can arrive in
# untrusted alert text. Text columns get U+FFFD in their place (the JSON columns keep the
# original, escaped).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable_text(value: str) -> str:
    return _UNSTORABLE.sub("\ufffd", value)


class Text(TypeDecorator[str]):
    """Free text, made storable on both engines."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else storable_text(value)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime in, an aware UTC datetime out, on SQLite (no time zones) too."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"the store keeps aware UTC times only, got naive {value}")
        value = value.astimezone(UTC)
        # SQLite stores the text as given: keep one format (naive UTC) so text order is time order.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


ACTIVE_STATUSES = ("queued", "running")
# The predicate of the partial unique index below, spelled as literal SQL: PostgreSQL can only
# match an `ON CONFLICT ... WHERE` clause to a partial index when both are literal.
ACTIVE_PREDICATE = "status IN ('queued', 'running')"

investigations = sa.Table(
    "investigations",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("dedup_key", sa.String(255), nullable=False),
    sa.Column("source", Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("alert", sa.JSON, nullable=False),
    sa.Column("title", Text, nullable=False),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("origin_kind", sa.String(16), nullable=False),
    sa.Column("origin_channel", Text),
    sa.Column("origin_user", Text),
    sa.Column("origin_reference", Text),
    sa.Column("thread_channel", Text),
    sa.Column("thread_ts", Text),
    sa.Column("thread_message_ts", Text),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("started_at", UTCDateTime),
    sa.Column("finished_at", UTCDateTime),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("runbook", Text),
    sa.Column("reasoner", Text),
    sa.Column("category", sa.String(32)),
    sa.Column("confidence", sa.String(16)),
    sa.Column("report", sa.JSON),
    sa.Column("stats", sa.JSON),
    sa.Column("error", Text),
    sa.Column("transcript", sa.JSON),
    sa.Column("last_event_seq", sa.Integer, nullable=False),
    # The lease of a running investigation: the runner (a process with a store open) that last
    # started it, and until when its lease holds unless renewed. NULL expiry when not running.
    sa.Column("runner", sa.String(64)),
    sa.Column("lease_expires_at", UTCDateTime),
    sa.CheckConstraint(
        "status IN ('queued', 'running', 'finished', 'failed')", name="status_known"
    ),
    # At most one active investigation per alert, whoever inserts it (another coroutine, another
    # process): duplicates are refused by the database itself, on SQLite and PostgreSQL alike.
    sa.Index(
        "uq_investigations_active_dedup_key",
        "dedup_key",
        unique=True,
        sqlite_where=sa.text(ACTIVE_PREDICATE),
        postgresql_where=sa.text(ACTIVE_PREDICATE),
    ),
    sa.Index("ix_investigations_dedup_key_finished_at", "dedup_key", "finished_at"),
    sa.Index("ix_investigations_status_created_at", "status", "created_at"),
    sa.Index("ix_investigations_created_at_id", "created_at", "id"),
)

events = sa.Table(
    "investigation_events",
    metadata,
    sa.Column(
        "investigation_id",
        sa.String(32),
        sa.ForeignKey("investigations.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("type", sa.String(32), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
)

followups = sa.Table(
    "followups",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column(
        "investigation_id",
        sa.String(32),
        sa.ForeignKey("investigations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("question", Text, nullable=False),
    sa.Column("asker", Text),
    sa.Column("asked_at", UTCDateTime, nullable=False),
    sa.Column("source_ref", sa.String(255)),
    sa.Column("answer", Text),
    sa.Column("reasoner", Text),
    sa.Column("answered_at", UTCDateTime),
    sa.Column("stats", sa.JSON),
    # A retried delivery of the same question (same Slack message) is the same follow-up.
    sa.UniqueConstraint("investigation_id", "source_ref"),
    sa.Index("ix_followups_investigation_id_asked_at", "investigation_id", "asked_at"),
)

feedback = sa.Table(
    "feedback",
    metadata,
    sa.Column(
        "investigation_id",
        sa.String(32),
        sa.ForeignKey("investigations.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("voter", sa.String(255), primary_key=True),
    sa.Column("vote", sa.SmallInteger, nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.CheckConstraint("vote IN (1, -1)", name="vote_up_or_down"),
)

slack_threads = sa.Table(
    "slack_threads",
    metadata,
    sa.Column("channel", sa.String(255), primary_key=True),
    sa.Column("thread_ts", sa.String(64), primary_key=True),
    sa.Column(
        "investigation_id",
        sa.String(32),
        sa.ForeignKey("investigations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("message_ts", sa.String(64)),
    sa.Column("linked_at", UTCDateTime, nullable=False),
    sa.Index("ix_slack_threads_investigation_id", "investigation_id"),
)
