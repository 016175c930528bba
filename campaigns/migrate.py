"""Creating and upgrading the database schema, and refusing to run on an out-of-date one."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from campaigns.db import Database
from campaigns.errors import TextcastError

MIGRATIONS = Path(__file__).with_name("migrations")


class SchemaOutOfDate(TextcastError):
    """The database is not at the schema this code needs."""


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "no migrations found"
    return head


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def current_revision(db: Database) -> str | None:
    async with db.engine.connect() as connection:
        return await connection.run_sync(_current)


async def upgrade(db: Database, revision: str = "head") -> tuple[str | None, str]:
    """Bring the schema to `revision`; returns (revision before, revision after)."""
    before = await current_revision(db)
    await _run_command(db, lambda config: command.upgrade(config, revision))
    return before, await current_revision(db) or "base"


async def downgrade(db: Database, revision: str) -> None:
    await _run_command(db, lambda config: command.downgrade(config, revision))


async def _run_command(db: Database, run: Callable[[Config], None]) -> None:
    def in_sync(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        run(config)

    async with db.engine.begin() as connection:
        await connection.run_sync(in_sync)


async def ensure_schema_current(db: Database) -> None:
    """Raise `SchemaOutOfDate` unless the database is at the newest migration."""
    current, head = await current_revision(db), head_revision()
    if current == head:
        return
    if current is None:
        raise SchemaOutOfDate("the database has no Textcast tables yet: run `textcast db upgrade`")
    raise SchemaOutOfDate(
        f"the database schema is out of date ({current}, this version needs {head}): "
        "run `textcast db upgrade`"
    )
