"""Alembic environment: runs on the connection `campaigns.migrate` hands it, or on DATABASE_URL."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import TypeDecorator
from sqlalchemy.engine import Connection

from campaigns.db import create_engine
from campaigns.models import Base

config = context.config
target_metadata = Base.metadata


def _render_item(kind: str, obj: object, _context: object) -> str | bool:
    # Write a decorated type as its plain SQL type, so old migrations never import model code.
    if kind == "type" and isinstance(obj, TypeDecorator):
        return f"sa.{obj.impl!r}"
    return False


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite can only ALTER TABLE by copying it
        compare_type=True,
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_on_url(url: str, pool_mode: str) -> None:
    engine = create_engine(url, pool_mode=pool_mode)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    pool_mode = "session"
    if not url:
        from campaigns.settings import load_settings

        settings = load_settings()
        url, pool_mode = settings.DATABASE_URL, settings.DATABASE_POOL_MODE
    asyncio.run(_run_on_url(url, pool_mode))


if context.is_offline_mode():
    raise SystemExit("Textcast migrations run online only: use `textcast db upgrade`.")
run_migrations_online()
