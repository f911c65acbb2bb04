"""Opening the store: URLs, schema migrations, SQLite settings, clear failures, and durability
across restarts and crashes."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import zipfile
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import create_async_engine

from agent.events import Note
from agent.store import (
    DEFAULT_LEASE_S,
    InvestigationStatus,
    Store,
    StoreClosed,
    StoreUnavailable,
    redact_url,
)
from agent.store.engine import MIGRATIONS, VERSION_TABLE, parse_url
from agent.store.schema import metadata
from tests.agent.conftest import Clock
from tests.agent.store_helpers import CLI, STATS, make_alert, make_report

ROOT = Path(__file__).resolve().parents[2]
HEAD = "0002"
T = TypeVar("T")
WINDOW_S = 600.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def sqlite_file(url: str) -> Path:
    return Path(str(parse_url(url).database))


async def test_open_creates_the_directory_the_file_and_the_schema(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "sre-agent.db"

    async with await Store.open(f"sqlite+aiosqlite:///{path}") as store:
        await store.admit(make_alert(), window_s=WINDOW_S, origin=CLI)

    assert path.is_file()
    with sqlite3.connect(path) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    assert {"investigations", "investigation_events", "followups", "feedback"} <= tables


async def test_sqlite_runs_in_wal_mode(sqlite_url: str) -> None:
    async with await Store.open(sqlite_url) as store:
        await store.admit(make_alert(), window_s=WINDOW_S, origin=CLI)
        with sqlite3.connect(sqlite_file(sqlite_url)) as db:
            (mode,) = db.execute("PRAGMA journal_mode").fetchone()

    assert mode == "wal"


async def test_plain_sqlite_url_picks_the_async_driver(tmp_path: Path) -> None:
    async with await Store.open(f"sqlite:///{tmp_path / 'x.db'}") as store:
        assert store.kind == "sqlite"
        assert store.description.startswith("sqlite+aiosqlite:///")


async def test_in_memory_store_works_and_serializes_concurrent_use() -> None:
    async with await Store.open("sqlite+aiosqlite://") as store:
        admissions = await asyncio.gather(
            *(
                store.admit(make_alert(f"k{i % 5}"), window_s=WINDOW_S, origin=CLI)
                for i in range(50)
            )
        )
        assert sum(admission.created for admission in admissions) == 5
        assert len(await store.list_investigations()) == 5


async def test_opening_again_keeps_everything_and_migrates_nothing(
    database_url: str, clock: Clock
) -> None:
    async with await Store.open(database_url, clock=clock) as store:
        record = (await store.admit(make_alert(), window_s=WINDOW_S, origin=CLI)).record
        await store.mark_running(record.id)
        await store.append_events(record.id, [Note(investigation_id=record.id, text="half-way")])

    async with (
        await Store.open(database_url, clock=clock) as again,
        await Store.open(database_url, clock=clock) as third,
    ):
        assert (await again.get(record.id)).status is InvestigationStatus.RUNNING
        assert [item.event for item in await third.events(record.id)] == [
            Note(
                investigation_id=record.id,
                text="half-way",
                at=(await third.events(record.id))[0].event.at,
            )
        ]
        assert await again.requeue_unfinished() == []  # its runner's lease still holds
        clock.advance(DEFAULT_LEASE_S + 1)  # the runner that started it never renewed it
        (resumed,) = await again.requeue_unfinished()
        assert resumed.id == record.id
        assert resumed.attempts == 1
        assert (await again.mark_running(record.id)).attempts == 2


async def test_processes_starting_on_a_fresh_database_at_once_all_open(
    database_url: str,
) -> None:
    script = (
        "import asyncio, sys\n"
        "from agent.store import Store\n"
        "async def main():\n"
        "    await (await Store.open(sys.argv[1])).close()\n"
        "asyncio.run(main())\n"
    )
    starting = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", script, database_url, cwd=ROOT, stderr=asyncio.subprocess.PIPE
        )
        for _ in range(3)
    ]
    results = [await process.communicate() for process in starting]

    assert [process.returncode for process in starting] == [0, 0, 0], results

    def versions(connection: sa.Connection) -> list[str]:
        version_num: sa.ColumnClause[Any] = sa.column("version_num")
        query = sa.select(version_num).select_from(sa.table(VERSION_TABLE, version_num))
        return list(connection.execute(query).scalars())

    assert await _with_connection(database_url, versions) == [HEAD]


async def test_stores_opened_at_once_in_one_process_all_open(
    database_url: str,
) -> None:
    stores = await asyncio.gather(*(Store.open(database_url) for _ in range(4)))
    try:
        admissions = await asyncio.gather(
            *(s.admit(make_alert(), window_s=WINDOW_S, origin=CLI) for s in stores)
        )
        assert sum(admission.created for admission in admissions) == 1
    finally:
        for opened in stores:
            await opened.close()


async def _with_connection(url: str, work: Callable[[sa.Connection], T]) -> T:
    engine = create_async_engine(parse_url(url))
    try:
        async with engine.begin() as connection:
            return await connection.run_sync(work)
    finally:
        await engine.dispose()


def _alembic_config(connection: sa.Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    config.attributes["connection"] = connection
    return config


async def test_the_migrations_build_exactly_the_schema_the_code_uses(database_url: str) -> None:
    await (await Store.open(database_url)).close()

    def differences(connection: sa.Connection) -> list[object]:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "version_table": VERSION_TABLE}
        )
        return list(compare_metadata(context, metadata))

    assert await _with_connection(database_url, differences) == []


async def test_the_migrations_go_down_to_nothing_and_up_again(database_url: str) -> None:
    async with await Store.open(database_url) as store:
        await store.admit(make_alert(), window_s=WINDOW_S, origin=CLI)

    def down(connection: sa.Connection) -> list[str]:
        command.downgrade(_alembic_config(connection), "base")
        return sa.inspect(connection).get_table_names()

    remaining = await _with_connection(database_url, down)
    assert remaining == [VERSION_TABLE]

    async with await Store.open(database_url) as store:
        assert (await store.admit(make_alert(), window_s=WINDOW_S, origin=CLI)).created


async def test_a_database_from_a_newer_sre_agent_is_refused_clearly(database_url: str) -> None:
    await (await Store.open(database_url)).close()

    def pretend_newer(connection: sa.Connection) -> None:
        connection.execute(sa.text("UPDATE sre_agent_schema_version SET version_num = '9999'"))

    await _with_connection(database_url, pretend_newer)

    with pytest.raises(StoreUnavailable, match=r"revision this sre-agent does not know.*9999"):
        await Store.open(database_url)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("not a database url", "is not a URL; use sqlite"),
        ("mysql+aiomysql://app:s3cret@db.example/sre", "uses 'mysql.aiomysql', which the"),
        ("postgresql+asyncpg://app:s3cret@db.example:port/sre", "is not a URL"),
        ("postgresql+psycopg://app:s3cret@db.example/sre", "does not support"),
        ("postgresql+asyncpg://app:s3cret@db.example:5432", "names no database"),
    ],
)
async def test_a_bad_url_is_a_clear_error_that_hides_the_password(url: str, expected: str) -> None:
    with pytest.raises(StoreUnavailable, match=expected) as caught:
        await Store.open(url)

    message = str(caught.value)
    assert "s3cret" not in message
    assert "\n" not in message


async def test_an_unreachable_postgresql_is_a_clear_error_that_hides_the_password() -> None:
    url = f"postgresql+asyncpg://app:s3cret@127.0.0.1:{free_port()}/sre"

    with pytest.raises(StoreUnavailable) as caught:
        await Store.open(url, connect_timeout_s=5)

    message = str(caught.value)
    assert message.startswith("cannot open the store at postgresql+asyncpg://app:***@127.0.0.1:")
    assert "s3cret" not in message
    assert "\n" not in message


@pytest.fixture
async def silent_server() -> AsyncIterator[int]:
    """A TCP server that accepts connections and never says a word."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_a_database_that_never_answers_fails_to_open_within_the_timeout(
    silent_server: int,
) -> None:
    url = f"postgresql+asyncpg://app@127.0.0.1:{silent_server}/sre"
    loop = asyncio.get_running_loop()
    started = loop.time()

    with pytest.raises(StoreUnavailable, match="cannot open the store at postgresql"):
        await Store.open(url, connect_timeout_s=0.5, command_timeout_s=0.5)

    assert loop.time() - started < 5


async def test_a_missing_postgresql_database_is_named(postgres_admin_url: str) -> None:
    url = sa.make_url(postgres_admin_url).set(database="sre_agent_no_such_db")

    with pytest.raises(StoreUnavailable, match='database "sre_agent_no_such_db" does not exist'):
        await Store.open(url.render_as_string(hide_password=False))


async def test_a_path_under_a_file_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")

    with pytest.raises(StoreUnavailable, match=r"cannot create directory .*not-a-directory"):
        await Store.open(f"sqlite+aiosqlite:///{blocker / 'sre-agent.db'}")


async def test_a_directory_as_the_database_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreUnavailable, match="unable to open database file"):
        await Store.open(f"sqlite+aiosqlite:///{tmp_path}")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through directory permissions")
async def test_a_read_only_directory_is_a_clear_error(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)

    with pytest.raises(StoreUnavailable, match="unable to open database file"):
        await Store.open(f"sqlite+aiosqlite:///{locked / 'sre-agent.db'}")


def test_redacted_urls_never_show_the_password() -> None:
    assert redact_url("postgresql+asyncpg://app:s3cret@h:5432/db") == (
        "postgresql+asyncpg://app:***@h:5432/db"
    )
    assert "s3cret" not in redact_url("postgresql://app:s3cret@h:notaport/db")


async def test_a_closed_store_refuses_calls(sqlite_url: str) -> None:
    store = await Store.open(sqlite_url)
    await store.close()

    with pytest.raises(StoreClosed, match="closed"):
        await store.admit(make_alert(), window_s=WINDOW_S, origin=CLI)
    with pytest.raises(StoreClosed):
        await store.list_investigations()


async def test_sigkill_in_the_middle_of_ten_investigations_loses_nothing_and_runs_none_twice(
    database_url: str,
) -> None:
    worker = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.agent.store_worker",
        database_url,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    assert worker.stdout is not None
    said: list[str] = []
    async with asyncio.timeout(60):
        while not any(line.startswith("finished") for line in said):
            line = (await worker.stdout.readline()).decode().strip()
            assert line, f"the worker ended early after: {said}"
            said.append(line)
    await asyncio.sleep(0.05)  # let it get further into the running ones
    worker.send_signal(signal.SIGKILL)
    await worker.wait()
    said += (await worker.stdout.read()).decode().splitlines()

    admitted = {line.split()[1] for line in said if line.startswith("admitted")}
    finished = {line.split()[1] for line in said if line.startswith("finished")}
    assert len(admitted) == 10
    assert "all done" not in said

    # Its leases run out: this store's clock is past them (as the next runner's clock will be).
    def later() -> datetime:
        return datetime.now(UTC) + timedelta(seconds=DEFAULT_LEASE_S + 1)

    async with await Store.open(database_url, clock=later) as store:
        # Every commit the worker reported is there, and nothing is half-written.
        before = {i: await store.get(i) for i in admitted}
        for investigation_id, record in before.items():
            seqs = [item.seq for item in await store.events(investigation_id)]
            assert seqs == list(range(1, record.last_event_seq + 1))
        # It may have been killed between a commit and saying so: the store decides.
        done = {i for i, r in before.items() if r.status is InvestigationStatus.FINISHED}
        assert finished <= done

        resumed = await store.requeue_unfinished()
        assert {record.id for record in resumed} == admitted - done
        assert any(record.attempts == 1 for record in resumed)  # some were cut off mid-run

        while (claimed := await store.claim_next()) is not None:
            await store.finish(claimed.id, make_report(), STATS)

        after = {i: await store.get(i) for i in admitted}
        assert all(r.status is InvestigationStatus.FINISHED for r in after.values())
        # None ran twice to the end: those finished before the crash were not run again, and
        # each cut-off one ran exactly once more.
        assert all(after[i] == before[i] for i in done)
        assert {i: after[i].attempts for i in admitted - done} == {
            r.id: r.attempts + 1 for r in resumed
        }


def test_the_migrations_ship_inside_the_wheel_and_run_from_it(tmp_path: Path) -> None:
    built = subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(tmp_path / "dist")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        archive.extractall(site)
    assert "agent/store/migrations/env.py" in names
    assert "agent/store/migrations/script.py.mako" in names
    assert any(name.startswith("agent/store/migrations/versions/v0001") for name in names)

    script = (
        "import asyncio, agent.store as s\n"
        f"assert s.__file__.startswith({str(site)!r}), s.__file__\n"
        "async def main():\n"
        f"    store = await s.Store.open('sqlite+aiosqlite:///{tmp_path / 'w.db'}')\n"
        "    await store.close()\n"
        "asyncio.run(main())\n"
        "print('opened from the wheel')\n"
    )
    ran = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(site)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert ran.stdout.strip() == "opened from the wheel", ran.stderr


def test_the_migrations_form_one_line_of_history() -> None:
    # Two branches adding a revision each would leave two heads, and the store would refuse to
    # start; merge them (`python -m agent.store.migrations merge heads`) before shipping.
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    script = ScriptDirectory.from_config(config)

    assert len(script.get_heads()) == 1
    revisions = list(script.walk_revisions())
    assert revisions[-1].down_revision is None
    assert all(
        r.module.__file__ and Path(r.module.__file__).name.startswith("v") for r in revisions
    )


def test_the_migrations_command_line_needs_no_config_file(tmp_path: Path) -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "agent.store.migrations", "heads"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == f"{HEAD} (head)"


async def test_a_database_that_goes_away_while_open_is_a_clear_error(
    postgres_admin_url: str, postgres_url: str
) -> None:
    async with await Store.open(postgres_url) as store:
        record = (await store.admit(make_alert(), window_s=WINDOW_S, origin=CLI)).record
        name = sa.make_url(postgres_url).database
        dsn = sa.make_url(postgres_admin_url).set(drivername="postgresql")
        admin = await asyncpg.connect(dsn.render_as_string(hide_password=False), timeout=10)
        try:
            await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        finally:
            await admin.close()

        with pytest.raises(StoreUnavailable, match=r"the store at postgresql.* failed") as caught:
            await store.get(record.id)
        assert "\n" not in str(caught.value)
