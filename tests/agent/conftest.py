"""Fixtures for the store tests: a fresh database per test, on SQLite and (when a server is
given) PostgreSQL, and a clock the tests move by hand."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from agent.store import Store

POSTGRES_ENV = "SRE_AGENT_TEST_POSTGRES_URL"
POSTGRES_SKIP = (
    f"no PostgreSQL server: set {POSTGRES_ENV}=postgresql+asyncpg://USER@127.0.0.1:PORT/postgres "
    "(a user allowed to CREATE DATABASE) to run the PostgreSQL variant"
)


class Clock:
    """A clock that moves a microsecond per reading (so order is well defined) and jumps on
    `advance`."""

    def __init__(self) -> None:
        self.now = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(microseconds=1)
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(POSTGRES_SKIP)
    return url


@pytest.fixture
async def postgres_url(postgres_admin_url: str) -> AsyncIterator[str]:
    """A new, empty PostgreSQL database for one test, dropped afterwards."""
    name = f"sre_agent_test_{secrets.token_hex(6)}"
    admin = await asyncpg.connect(_asyncpg_dsn(postgres_admin_url), timeout=10)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield make_url(postgres_admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'state' / 'sre-agent.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """The URL of a fresh database on each engine the store supports."""
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    url: str = request.getfixturevalue(fixture)
    return url


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def store(database_url: str, clock: Clock) -> AsyncIterator[Store]:
    opened = await Store.open(database_url, clock=clock)
    try:
        yield opened
    finally:
        await opened.close()
