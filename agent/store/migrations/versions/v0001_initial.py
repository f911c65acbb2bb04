"""The first schema: investigations, their events, follow-ups, feedback and Slack threads.

Revision ID: 0001
Revises:
Create Date: 2025-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ACTIVE = "status IN ('queued', 'running')"


def upgrade() -> None:
    op.create_table(
        "investigations",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("dedup_key", sa.String(255), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("alert", sa.JSON(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("origin_kind", sa.String(16), nullable=False),
        sa.Column("origin_channel", sa.Text(), nullable=True),
        sa.Column("origin_user", sa.Text(), nullable=True),
        sa.Column("origin_reference", sa.Text(), nullable=True),
        sa.Column("thread_channel", sa.Text(), nullable=True),
        sa.Column("thread_ts", sa.Text(), nullable=True),
        sa.Column("thread_message_ts", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("runbook", sa.Text(), nullable=True),
        sa.Column("reasoner", sa.Text(), nullable=True),
        sa.Column("category", sa.String(32), nullable=True),
        sa.Column("confidence", sa.String(16), nullable=True),
        sa.Column("report", sa.JSON(), nullable=True),
        sa.Column("stats", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("transcript", sa.JSON(), nullable=True),
        sa.Column("last_event_seq", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'finished', 'failed')",
            name=op.f("ck_investigations_status_known"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_investigations")),
    )
    op.create_index(
        "uq_investigations_active_dedup_key",
        "investigations",
        ["dedup_key"],
        unique=True,
        sqlite_where=sa.text(_ACTIVE),
        postgresql_where=sa.text(_ACTIVE),
    )
    op.create_index(
        "ix_investigations_dedup_key_finished_at", "investigations", ["dedup_key", "finished_at"]
    )
    op.create_index(
        "ix_investigations_status_created_at", "investigations", ["status", "created_at"]
    )
    op.create_index("ix_investigations_created_at_id", "investigations", ["created_at", "id"])

    op.create_table(
        "investigation_events",
        sa.Column("investigation_id", sa.String(32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["investigation_id"],
            ["investigations.id"],
            name=op.f("fk_investigation_events_investigation_id_investigations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("investigation_id", "seq", name=op.f("pk_investigation_events")),
    )

    op.create_table(
        "followups",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("investigation_id", sa.String(32), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("asker", sa.Text(), nullable=True),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source_ref", sa.String(255), nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("reasoner", sa.Text(), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stats", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["investigation_id"],
            ["investigations.id"],
            name=op.f("fk_followups_investigation_id_investigations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_followups")),
        sa.UniqueConstraint(
            "investigation_id", "source_ref", name=op.f("uq_followups_investigation_id_source_ref")
        ),
    )
    op.create_index(
        "ix_followups_investigation_id_asked_at", "followups", ["investigation_id", "asked_at"]
    )

    op.create_table(
        "feedback",
        sa.Column("investigation_id", sa.String(32), nullable=False),
        sa.Column("voter", sa.String(255), nullable=False),
        sa.Column("vote", sa.SmallInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("vote IN (1, -1)", name=op.f("ck_feedback_vote_up_or_down")),
        sa.ForeignKeyConstraint(
            ["investigation_id"],
            ["investigations.id"],
            name=op.f("fk_feedback_investigation_id_investigations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("investigation_id", "voter", name=op.f("pk_feedback")),
    )

    op.create_table(
        "slack_threads",
        sa.Column("channel", sa.String(255), nullable=False),
        sa.Column("thread_ts", sa.String(64), nullable=False),
        sa.Column("investigation_id", sa.String(32), nullable=False),
        sa.Column("message_ts", sa.String(64), nullable=True),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["investigation_id"],
            ["investigations.id"],
            name=op.f("fk_slack_threads_investigation_id_investigations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("channel", "thread_ts", name=op.f("pk_slack_threads")),
    )
    op.create_index("ix_slack_threads_investigation_id", "slack_threads", ["investigation_id"])


def downgrade() -> None:
    op.drop_table("slack_threads")
    op.drop_table("feedback")
    op.drop_table("followups")
    op.drop_table("investigation_events")
    op.drop_table("investigations")
