"""Alembic environment: run by `agent.store.engine.migrate` on every start, or by the `alembic`
command line when writing a new revision (`alembic revision --autogenerate -m "..."` with
`SRE_AGENT_DATABASE_URL` pointing at a database at the current head).
"""

from __future__ import annotations

import asyncio
import os

import sqlalchemy as sa
from alembic import context
from sqlalchemy.ext.asyncio import create_async_engine

from agent.store.engine import VERSION_TABLE, parse_url
from agent.store.schema import metadata

# Any constant will do: it only has to be the same for every sre-agent process.
_POSTGRES_MIGRATION_LOCK = 0x5E_A6_E7_01


def run_migrations(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Held until the transaction ends: a second process starting at the same moment
            # waits here, then finds the schema already at head.
            connection.execute(
                sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _POSTGRES_MIGRATION_LOCK}
            )
        context.run_migrations()


async def _run_from_command_line() -> None:
    url = parse_url(os.environ.get("SRE_AGENT_DATABASE_URL", "sqlite+aiosqlite:///sre-agent.db"))
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(run_migrations)
    finally:
        await engine.dispose()


given = context.config.attributes.get("connection")
if isinstance(given, sa.Connection):
    run_migrations(given)
elif context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run against a database")
else:
    asyncio.run(_run_from_command_line())
