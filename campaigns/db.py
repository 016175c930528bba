"""Database engine and transactions, for SQLite (default) and PostgreSQL.

SQLite runs in WAL mode with a busy timeout so a web process and a worker can write at the same
time, and every write transaction starts with BEGIN IMMEDIATE: a transaction that reads, then
writes, would otherwise fail at once with "database is locked" when another process wrote in
between, instead of waiting its turn.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from campaigns.sqlite_file import make_private

if TYPE_CHECKING:
    from campaigns.settings import Settings

BUSY_TIMEOUT_SECONDS = 30
# Behind a pooler in transaction mode (PgBouncer's pool_mode = transaction) each transaction may
# run on another server connection than the last. asyncpg names and caches its prepared
# statements per client connection, so a statement prepared on one server connection was
# looked for on another: "prepared statement "__asyncpg_stmt_8__" does not exist" (or "already
# exists") within a few concurrent transactions. Without either cache, asyncpg and SQLAlchemy
# use the unnamed statement, which lives only until the next one, inside the transaction.
TRANSACTION_POOLER_ARGS = {"statement_cache_size": 0, "prepared_statement_cache_size": 0}
_READ_ONLY = "textcast_read_only"


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take BEGIN out of the driver's hands so the "begin" hook below decides its kind.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_SECONDS * 1000}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        read_only = connection.get_execution_options().get(_READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


async def _close_without_waiting(self: Any) -> None:
    """Stop the connection's thread (it closes the connection first), without awaiting it.

    SQLAlchemy closes a connection it gives up on (a query cancelled midway) "gracefully", in a
    task of its own that awaits aiosqlite's `close()`, and stops the thread at once besides. The
    thread then often stops before `close()` reaches the end, where it waits for a second stop
    that the stopped thread never answers, and the task waits forever: seen in CI, where the
    event loop's shutdown then hung on it for good (a worker on SQLite would not have exited).
    Stopping the thread is all the graceful close does here: SQLite rolls back what was not
    committed when the connection closes.
    """
    self._terminate_force_close()


def _never_wait_to_terminate() -> None:
    from sqlalchemy.dialects.sqlite.aiosqlite import AsyncAdapt_aiosqlite_connection

    AsyncAdapt_aiosqlite_connection._terminate_graceful_close = _close_without_waiting  # type: ignore[method-assign]


def create_engine(url: str, *, pool_mode: str = "session", **kwargs: Any) -> AsyncEngine:
    """An engine for `url`; `pool_mode` "transaction" when it is a pooler in that mode."""
    if pool_mode == "transaction":
        kwargs["connect_args"] = {**kwargs.get("connect_args", {}), **TRANSACTION_POOLER_ARGS}
    engine = create_async_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        make_private(engine.url.database)  # before SQLite creates it world-readable
        _configure_sqlite(engine)
        _never_wait_to_terminate()
    return engine


class Database:
    """An engine and the two kinds of transaction the service layer uses."""

    def __init__(self, url: str, *, pool_mode: str = "session", **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = create_engine(url, pool_mode=pool_mode, **engine_kwargs)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @classmethod
    def configured(cls, settings: Settings) -> Database:
        """The database the settings name, as they say to reach it."""
        return cls(settings.DATABASE_URL, pool_mode=settings.DATABASE_POOL_MODE)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A write transaction: committed when the block ends, rolled back whole on any error."""
        async with self.sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A read-only transaction (on SQLite it does not take the write lock)."""
        # Closing (not rolling back) ends the transaction without expiring the loaded objects,
        # so they stay readable after the block.
        async with self.sessions() as session:
            await session.connection(execution_options={_READ_ONLY: True})
            yield session

    async def now(self, session: AsyncSession) -> datetime:
        """The database's clock, read inside `session`'s transaction.

        Claims and leases are judged on it, never on a worker's own clock, so that workers on
        machines whose clocks disagree still agree on whose claim has run out. SQLite runs in
        this process, on this machine: its clock is the one this process reads.
        """
        if self.dialect == "sqlite":
            return datetime.now(UTC)
        return (await session.execute(text("SELECT clock_timestamp()"))).scalar_one()

    async def dispose(self) -> None:
        await self.engine.dispose()
