"""Leases: a running investigation records which runner holds it and until when, so several
runner processes (replicas) can share one database.

Revision ID: 0002
Revises: 0001
Create Date: 2025-12-02

Both columns are nullable, so the upgrade is in place and instant on either engine (no table
rebuild, no rewrite of existing rows). An investigation left running by a version without leases
has no expiry, which counts as expired: the next start puts it back in the queue, as before.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("investigations", sa.Column("runner", sa.String(64), nullable=True))
    op.add_column(
        "investigations",
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    # Batch mode: older SQLite cannot DROP COLUMN in place; Alembic rebuilds the table there.
    with op.batch_alter_table("investigations") as batch:
        batch.drop_column("lease_expires_at")
        batch.drop_column("runner")
