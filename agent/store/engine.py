"""Connecting to the database: URL checks, engine set-up for SQLite and PostgreSQL, migrations.

SQLite runs in WAL mode with a busy timeout and foreign keys on; its write transactions start
with BEGIN IMMEDIATE so two writers queue instead of failing half-way. PostgreSQL goes through
asyncpg with connect and command timeouts.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pydantic_core
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.util import CommandError
from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from agent.store.errors import StoreUnavailable

SUPPORTED_URLS = (
    "sqlite+aiosqlite:///PATH (the default) or postgresql+asyncpg://USER:PASSWORD@HOST:PORT/DB"
)
MIGRATIONS = "agent.store:migrations"
# Our own name, so a database shared with another Alembic-managed app keeps both histories apart.
VERSION_TABLE = "sre_agent_schema_version"
# An execution option: transactions on connections that carry it take the write lock at BEGIN.
_WRITE = "sre_agent_write"
_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
}
_PASSWORD_IN_URL = re.compile(r"(://[^:/@\s]*:)[^@\s]*@")
# Alembic keeps the migration it is running in module globals (`alembic.context`, `alembic.op`),
# so two stores opening at once in one process must migrate one after the other.
_MIGRATING = threading.Lock()


@dataclass(frozen=True)
class Database:
    """An engine, and the facts the store needs about it."""

    engine: AsyncEngine
    writer: AsyncEngine  # the same pool; on SQLite its transactions begin IMMEDIATE
    kind: Literal["sqlite", "postgresql"]
    memory: bool  # an SQLite database in memory: one connection, everything serialized
    description: str  # the URL with any password hidden, for messages and logs
    # An SQLite file also gets a plain synchronous engine (one connection, transactions begin
    # IMMEDIATE) for the store's writer thread, which commits writes in groups.
    sync_writer: sa.Engine | None = None

    def dispose_sync(self) -> None:
        if self.sync_writer is not None:
            self.sync_writer.dispose()


def redact_url(url: str) -> str:
    """The URL with any password replaced by ***, even when the URL does not parse."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return _PASSWORD_IN_URL.sub(r"\1***@", url)


def parse_url(url: str) -> URL:
    """Check a database URL and pick the async driver (`sqlite://` and `postgresql://` work)."""
    shown = redact_url(url)
    try:
        parsed = make_url(url.strip())
    except (ArgumentError, ValueError):
        raise StoreUnavailable(
            f"database URL {shown!r} is not a URL; use {SUPPORTED_URLS}"
        ) from None
    driver = _DRIVERS.get(parsed.drivername)
    if driver is None:
        raise StoreUnavailable(
            f"database URL {shown!r} uses {parsed.drivername!r}, which the store does not "
            f"support; use {SUPPORTED_URLS}"
        )
    parsed = parsed.set(drivername=driver)
    if driver.startswith("postgresql") and not parsed.database:
        raise StoreUnavailable(f"database URL {shown!r} names no database; add /DBNAME")
    return parsed


async def connect(
    url: str, *, busy_timeout_s: float, connect_timeout_s: float, command_timeout_s: float
) -> Database:
    """An engine for `url`, with the parent directory of an SQLite file created."""
    parsed = parse_url(url)
    description = parsed.render_as_string(hide_password=True)
    if parsed.drivername.startswith("sqlite"):
        memory = parsed.database in (None, "", ":memory:")
        if not memory and parsed.query.get("uri") is None:
            await _make_parent_directory(Path(str(parsed.database)), description)
        # The connection used last has the warmest page cache; with one writer at a time
        # that is nearly always the one to take. (In memory there is only one connection.)
        pool: dict[str, Any] = {} if memory else {"pool_use_lifo": True}
        engine = create_async_engine(
            parsed,
            connect_args={"timeout": busy_timeout_s},
            json_serializer=dumps_json,
            **pool,
        )
        _configure_sqlite(engine.sync_engine, busy_timeout_ms=round(busy_timeout_s * 1000))
        sync_writer = None
        if not memory:
            sync_writer = sa.create_engine(
                parsed.set(drivername="sqlite+pysqlite"),
                # Used by one thread at a time (the store's writer thread), not always the same.
                connect_args={"timeout": busy_timeout_s, "check_same_thread": False},
                json_serializer=dumps_json,
                pool_size=1,
                max_overflow=0,
            )
            _configure_sqlite(
                sync_writer, busy_timeout_ms=round(busy_timeout_s * 1000), writes_only=True
            )
        return Database(
            engine=engine,
            writer=engine.execution_options(**{_WRITE: True}),
            kind="sqlite",
            memory=memory,
            description=description,
            sync_writer=sync_writer,
        )
    engine = create_async_engine(
        parsed,
        pool_size=10,
        max_overflow=20,
        pool_timeout=connect_timeout_s + command_timeout_s,
        pool_pre_ping=True,
        json_serializer=dumps_json,
        connect_args={
            "timeout": connect_timeout_s,
            "command_timeout": command_timeout_s,
            "server_settings": {"application_name": "sre-agent"},
        },
    )
    return Database(
        engine=engine, writer=engine, kind="postgresql", memory=False, description=description
    )


async def _make_parent_directory(path: Path, description: str) -> None:
    parent = path.parent
    try:
        await asyncio.to_thread(parent.mkdir, parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreUnavailable(
            f"cannot create directory {parent} for the database {description}: "
            f"{exc.strerror or exc}; point SRE_AGENT_DATABASE_URL at a writable path"
        ) from None


def _configure_sqlite(
    engine: sa.Engine, *, busy_timeout_ms: int, writes_only: bool = False
) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The driver's own transaction handling skips BEGIN before SELECT and DDL; the store
        # issues BEGIN itself (below) so every transaction is a real one.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # busy_timeout first: switching to WAL needs a moment of exclusive access.
        cursor.execute(f"PRAGMA busy_timeout = {busy_timeout_ms}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        # FULL: a commit survives power loss, not just a killed process. An alert is
        # acknowledged only after its commit, so that is what "stored" has to mean.
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        # IMMEDIATE takes the write lock up front: a writer that read first and upgraded later
        # could fail with "database is locked" half-way instead of waiting its turn.
        immediate = writes_only or connection.get_execution_options().get(_WRITE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


async def migrate(database: Database) -> None:
    """Bring the schema to the newest revision (Alembic `upgrade head`); safe to run every start.

    Runs in one write transaction: on SQLite BEGIN IMMEDIATE, on PostgreSQL under an advisory
    lock (taken in env.py), so two processes starting at once migrate one after the other.
    """
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    # Polling rather than awaiting a thread: works from any thread and any event loop, and a
    # cancelled open never leaves the lock taken.
    while not _MIGRATING.acquire(blocking=False):  # noqa: ASYNC110 - a thread lock, see above
        await asyncio.sleep(0.01)
    try:
        async with database.writer.begin() as connection:
            await connection.run_sync(_upgrade, config)
    finally:
        _MIGRATING.release()


def _upgrade(connection: sa.Connection, config: Config) -> None:
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def describe_failure(exc: BaseException) -> str:
    """One line saying why the database refused, from whatever layer raised it."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        exc = exc.orig
    if isinstance(exc, CommandError) and "Can't locate revision" in str(exc):
        return (
            f"its schema is at a revision this sre-agent does not know ({_first_line(exc)}); "
            "a newer sre-agent wrote it: upgrade sre-agent or use another database"
        )
    return f"{type(exc).__name__}: {_first_line(exc)}"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else "(no message)"


def dumps_json(value: Any) -> str:
    """JSON both engines accept: NaN and infinities as strings (PostgreSQL refuses the bare
    tokens), anything unknown as its str(), lone surrogates kept as escapes."""
    try:
        return pydantic_core.to_json(value, inf_nan_mode="strings", fallback=str).decode()
    except pydantic_core.PydanticSerializationError:
        # Lone surrogates (from JSON text with "\ud800" escapes) are not UTF-8: escape them.
        plain = pydantic_core.to_jsonable_python(value, fallback=str)
        return json.dumps(_finite(plain), ensure_ascii=True)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    return value
