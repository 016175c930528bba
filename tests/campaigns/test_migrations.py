"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import JSON, column, event, inspect, select, table, text

from campaigns import migrate
from campaigns.db import Database
from campaigns.migrate import SchemaOutOfDate
from campaigns.models import Base, Campaign, UTCDateTime
from campaigns.service import Context
from campaigns.service.claims import (
    has_unsettled_claims,
    next_check_in,
    quarantine_expired,
    take_checks,
)
from tests.campaigns.test_claims import running
from tests.conftest import ON_POSTGRES


async def test_migrated_schema_matches_the_models(db: Database) -> None:
    def diff(connection):  # type: ignore[no-untyped-def]
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)

    async with db.engine.connect() as connection:
        assert await connection.run_sync(diff) == []
    await migrate.ensure_schema_current(db)


async def test_downgrade_to_base_and_up_again(db: Database) -> None:
    await migrate.downgrade(db, "base")
    assert await migrate.current_revision(db) is None
    with pytest.raises(SchemaOutOfDate, match="run `textcast db upgrade`"):
        await migrate.ensure_schema_current(db)
    before, after = await migrate.upgrade(db)
    assert (before, after) == (None, migrate.head_revision())
    await migrate.ensure_schema_current(db)


async def test_an_old_schema_is_refused_with_the_fix(db: Database) -> None:
    head = migrate.head_revision()
    async with db.engine.begin() as connection:
        await connection.execute(text("UPDATE alembic_version SET version_num = '0000'"))
    try:
        with pytest.raises(
            SchemaOutOfDate, match=r"out of date \(0000, .*run `textcast db upgrade`"
        ):
            await migrate.ensure_schema_current(db)
    finally:  # on PostgreSQL the database outlives this test
        async with db.engine.begin() as connection:
            await connection.execute(text(f"UPDATE alembic_version SET version_num = '{head}'"))


@pytest.mark.skipif(ON_POSTGRES, reason="SQLite journal mode; PostgreSQL has no such setting")
async def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(db: Database) -> None:
    async with db.read() as session:
        assert (await session.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        assert (await session.execute(text("PRAGMA busy_timeout"))).scalar() == 30_000


def test_db_upgrade_command_creates_a_fresh_sqlite_database(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    url = f"sqlite+aiosqlite:///{tmp_path / 'new.db'}"
    env = {**os.environ, "DATABASE_URL": url}
    first = subprocess.run(
        [sys.executable, "-m", "textcast.cli", "db", "upgrade"],
        env=env, capture_output=True, text=True, check=True, cwd=tmp_path,
    )  # fmt: skip
    assert "Upgraded the database schema from empty to" in first.stdout
    second = subprocess.run(
        [sys.executable, "-m", "textcast.cli", "db", "upgrade"],
        env=env, capture_output=True, text=True, check=True, cwd=tmp_path,
    )  # fmt: skip
    assert "up to date" in second.stdout
    db = Database(url)
    asyncio.run(migrate.ensure_schema_current(db))
    asyncio.run(db.dispose())


async def test_the_count_query_and_next_pending_use_the_recipient_index(db: Database) -> None:
    queries = [
        "SELECT status, count(*) FROM recipients WHERE campaign_id = 'x' GROUP BY status",
        "SELECT id FROM recipients WHERE campaign_id = 'x' AND status = 'pending' "
        "ORDER BY id LIMIT 100",
    ]
    async with db.engine.connect() as connection:
        for query in queries:
            if ON_POSTGRES:
                # Empty tables are scanned whatever the indexes: make the planner show its choice.
                await connection.execute(text("SET enable_seqscan = off"))
                plan = (await connection.execute(text(f"EXPLAIN {query}"))).scalars().all()
            else:
                rows = await connection.execute(text(f"EXPLAIN QUERY PLAN {query}"))
                plan = [row[-1] for row in rows]
            assert "ix_recipients_campaign_status_id" in " ".join(plan), plan
            if not ON_POSTGRES:  # served in index order, with no sort step
                assert "TEMP B-TREE" not in " ".join(plan), plan


async def test_0009_adds_and_removes_the_delivery_chart_columns(db: Database) -> None:
    def columns(connection):  # type: ignore[no-untyped-def]
        found = inspect(connection)
        return (
            {c["name"] for c in found.get_columns("recipients")},
            {c["name"] for c in found.get_columns("campaigns")},
        )

    chart = {"chart_file_id", "final_chart_file_id"}
    await migrate.downgrade(db, "0008")
    async with db.engine.connect() as connection:
        recipients, campaigns = await connection.run_sync(columns)
    assert "sent_at" not in recipients and not chart & campaigns
    await migrate.upgrade(db)
    async with db.engine.connect() as connection:
        recipients, campaigns = await connection.run_sync(columns)
    assert "sent_at" in recipients and chart <= campaigns
    await migrate.ensure_schema_current(db)


async def test_0011_adds_and_removes_the_frequency_check_column(db: Database) -> None:
    def columns(connection):  # type: ignore[no-untyped-def]
        return {c["name"] for c in inspect(connection).get_columns("recipients")}

    await migrate.downgrade(db, "0010")
    async with db.engine.connect() as connection:
        assert "capped_checked_at" not in await connection.run_sync(columns)
    await migrate.upgrade(db)
    async with db.engine.connect() as connection:
        assert "capped_checked_at" in await connection.run_sync(columns)


async def test_0012_widens_a_recipients_sender_for_a_messaging_service_sid(db: Database) -> None:
    """A service SID is 34 characters: PostgreSQL refused it in the old column (20)."""

    def width(connection):  # type: ignore[no-untyped-def]
        (sender,) = [
            c for c in inspect(connection).get_columns("recipients") if c["name"] == "sender"
        ]
        return sender["type"].length

    await migrate.downgrade(db, "0011")
    async with db.engine.connect() as connection:
        assert await connection.run_sync(width) == 20
    await migrate.upgrade(db)
    async with db.engine.connect() as connection:
        assert await connection.run_sync(width) == 40
    await migrate.ensure_schema_current(db)


async def test_0013_fills_in_who_changed_open_campaigns_since_their_approval(db: Database) -> None:
    """Whoever made a version since the last approval may not approve: for campaigns made
    before the column, their creator and confirmer (unless approved since) and the audit log's
    editors after the approval."""
    await migrate.downgrade(db, "0012")
    approved_at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    rows = [  # id, status, created by, approved by
        ("smsc_waiting", "awaiting_approval", "slack:UALICE", None),
        ("smsc_approved", "scheduled", "slack:UALICE", "slack:UCAROL"),
        ("smsc_done", "done", "slack:UALICE", None),
    ]
    edits = [  # campaign, actor, when
        ("smsc_waiting", "slack:UBOB", approved_at),
        ("smsc_approved", "slack:UBOB", approved_at - timedelta(hours=1)),  # approved since
        ("smsc_approved", "api:key_crm", approved_at + timedelta(hours=1)),
        ("smsc_done", "slack:UBOB", approved_at),
    ]
    async with db.transaction() as session:
        for campaign_id, status, created_by, approved_by in rows:
            await session.execute(OLD_CAMPAIGNS.insert().values(
                id=campaign_id, name="Open day", status=status, source="slack",
                message_template="Hi", sender_mode="number", from_numbers=[], version=2,
                created_by=created_by, consent_confirmed_by=created_by,
                created_at=approved_at - timedelta(days=1), updated_at=approved_at,
                approved_by=approved_by, approved_at=approved_at if approved_by else None,
                import_report={}, message_stats={},
            ))  # fmt: skip
        for campaign_id, actor, at in edits:
            await session.execute(AUDIT.insert().values(
                campaign_id=campaign_id, actor=actor, action="campaign.edit", at=at, details={}
            ))  # fmt: skip
    await migrate.upgrade(db)
    async with db.read() as session:
        found = dict((await session.execute(select(Campaign.id, Campaign.changed_by))).all())
    assert found == {
        "smsc_waiting": ["slack:UALICE", "slack:UBOB"],
        "smsc_approved": ["api:key_crm"],
        "smsc_done": [],  # nothing left to approve
    }


# The tables as revision 0012 had them (the models have columns added since).
OLD_CAMPAIGNS = table(
    "campaigns", *(column(name) for name in ("id", "name", "status", "source",
    "message_template", "sender_mode", "version", "created_by", "consent_confirmed_by",
    "approved_by")), column("from_numbers", JSON), column("import_report", JSON),
    column("message_stats", JSON), column("created_at", UTCDateTime),
    column("updated_at", UTCDateTime), column("approved_at", UTCDateTime),
)  # fmt: skip
AUDIT = table("audit_log", column("campaign_id"), column("actor"), column("action"),
              column("at", UTCDateTime), column("details", JSON))  # fmt: skip


@pytest.mark.skipif(
    not ON_POSTGRES,
    reason="SQLite's planner, without statistics, takes the unique index on the SID whatever else",
)
async def test_the_settle_queries_read_only_unsettled_recipients(ctx: Context) -> None:
    """The worker's once-a-second questions (which leases ran out, which lookups are due, when is
    the next) use the partial index of claimed rows without a SID, not the queued rows that have
    one (migration 0016): their plans name it, with the real queries and their parameters."""
    campaign_id = await running(ctx)
    asked: list[tuple[str, Any]] = []

    def grab(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT") and "recipients" in statement:
            asked.append((statement, parameters))

    engine = ctx.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", grab)
    try:
        await quarantine_expired(ctx, campaign_id, wait=5)
        await take_checks(ctx, campaign_id, token="loop-a", lease=30, limit=50)
        await next_check_in(ctx, campaign_id)
        await has_unsettled_claims(ctx, campaign_id)
    finally:
        event.remove(engine, "before_cursor_execute", grab)
    assert len(asked) == 4, asked
    async with ctx.db.engine.connect() as connection:
        for statement, parameters in asked:
            # Empty tables are scanned whatever the indexes: make the planner show its choice.
            await connection.execute(text("SET enable_seqscan = off"))
            found = await connection.exec_driver_sql(f"EXPLAIN {statement}", parameters)
            plan = " ".join(found.scalars())
            assert "ix_recipients_unsettled" in plan, (statement, plan)
