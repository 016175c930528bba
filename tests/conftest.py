"""Shared fixtures: a real database per test (SQLite or PostgreSQL, from DATABASE_URL).

SQLite: the schema is migrated once into a template file, and each test gets its own copy.
PostgreSQL: one database is created and migrated for the run, each test starts on empty tables,
and the database is dropped at the end. Either way every test goes through the real migrations.
Redis: only REDIS_URL's database, under namespaces of each test's own, removed after it; a run
that leaves a key fails (tests/redis_namespaces.py).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url
from twilio.rest import Client

from campaigns import migrate
from campaigns.db import Database
from campaigns.models import Base
from campaigns.service import Context
from campaigns.settings import Settings
from sandbox.twilio import RunningTwilioSandbox
from tests.hung_tasks import pytest_runtest_protocol  # noqa: F401 (a hook, for every test)
from tests.redis_namespaces import (  # noqa: F401 (fixtures, for every test)
    new_namespace,
    redis_left_clean,
    redis_namespaces_forgotten,
)
from worker.twilio_client import close_twilio_client, create_twilio_client

BASE_URL = os.environ.get("DATABASE_URL") or "sqlite+aiosqlite:///"
ON_POSTGRES = BASE_URL.startswith("postgresql")
# The `clock` fixture's time: a Monday morning in London, whatever the real clock says.
FIXED_NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def _asyncpg_dsn(url: str, database: str | None = None) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    if database:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


async def _migrate(url: str) -> None:
    db = Database(url)
    try:
        await migrate.upgrade(db)
    finally:
        await db.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database for this test run (SQLite: a template file to copy)."""
    if not ON_POSTGRES:
        path = tmp_path_factory.mktemp("template") / "template.db"
        url = f"sqlite+aiosqlite:///{path}"
        asyncio.run(_migrate(url))
        yield url
        return
    name = f"textcast_test_{uuid.uuid4().hex[:12]}"

    async def admin(sql: str) -> None:
        connection = await asyncpg.connect(_asyncpg_dsn(BASE_URL))
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    url = make_url(BASE_URL).set(database=name).render_as_string(hide_password=False)
    try:
        asyncio.run(_migrate(url))
        yield url
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


# DELETE, children first, then every sequence back to 1: as TRUNCATE ... RESTART IDENTITY, but
# about 10 ms instead of about 140 (TRUNCATE makes new files for each table and index), before
# each of some 1,800 tests. One round trip: asyncpg runs a script of several statements as is.
_EMPTY_TABLES = "".join(
    f'DELETE FROM "{table.name}";' for table in reversed(Base.metadata.sorted_tables)
) + (
    "SELECT setval(oid, 1, false) FROM pg_class"
    " WHERE relkind = 'S' AND relnamespace = current_schema()::regnamespace;"
)


async def _empty_tables(db: Database) -> None:
    async with db.engine.connect() as connection:
        raw = await connection.get_raw_connection()
        await raw.driver_connection.execute(_EMPTY_TABLES)  # type: ignore[union-attr]


@pytest.fixture
async def db(database_url: str, tmp_path: Path) -> AsyncIterator[Database]:
    if ON_POSTGRES:
        database = Database(database_url)
        await _empty_tables(database)
    else:
        template = Path(make_url(database_url).database or "")
        copy = tmp_path / "textcast.db"
        shutil.copyfile(template, copy)
        database = Database(f"sqlite+aiosqlite:///{copy}")
    try:
        yield database
    finally:
        await database.dispose()


class Clock:
    """A clock tests move by hand."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock(FIXED_NOW)


def make_settings(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "SENDER_NUMBERS": "+14155550100:5,+14155550101:5,+14155550102:10",
        "DEFAULT_REGION": "GB",
        "PRICE_PER_SEGMENT": "0.0079",
        # Tests run at any hour of the real clock; the ones about sending hours set their own.
        "SEND_HOURS": "any",
        # Never the shared Redis's default namespace: one of the test's own, removed after it.
        "REDIS_NAMESPACE": overrides.get("REDIS_NAMESPACE") or new_namespace(),
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def settings() -> Settings:
    return make_settings()


@pytest.fixture
def ctx(db: Database, settings: Settings, clock: Clock) -> Context:
    return Context(db=db, settings=settings, clock=clock)


@pytest.fixture
async def twilio(twilio_sandbox: RunningTwilioSandbox) -> AsyncIterator[Client]:
    """The real twilio SDK client, pointed at whichever stand-in the test module starts."""
    client = create_twilio_client(
        twilio_sandbox.account_sid, twilio_sandbox.auth_token, twilio_sandbox.url
    )
    yield client
    await close_twilio_client(client)
