"""`textcast apikey ...` and `textcast bot` run as a user runs them."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from campaigns.db import Database
from campaigns.models import ApiKey
from campaigns.service import Context, authenticate
from tests.conftest import make_settings
from textcast.cli import main


async def textcast(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The command in a process of its own, as a user runs it."""
    env = {**os.environ, "DATABASE_URL": db_url}
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "textcast.cli", *args],
        env=env, capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip


async def textcast_here(
    monkeypatch: pytest.MonkeyPatch, db_url: str, *args: str
) -> subprocess.CompletedProcess[str]:
    """The same command line through `textcast.cli.main`, in this process: each test runs one
    command in a process of its own, the rest here (a Python start with Textcast's imports
    takes a second or more; several seconds on a busy CI machine)."""
    monkeypatch.setenv("DATABASE_URL", db_url)
    out, err = io.StringIO(), io.StringIO()

    def run() -> int:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            return main(list(args))

    code = await asyncio.to_thread(run)
    return subprocess.CompletedProcess(["textcast", *args], code, out.getvalue(), err.getvalue())


async def test_apikey_create_shows_the_secret_once_and_stores_a_hash(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = await textcast(db.url, "apikey", "create", "booking system")
    assert created.returncode == 0, created.stderr
    token = next(
        line.split("Bearer ")[1] for line in created.stdout.splitlines() if "Bearer" in line
    )
    key_id, secret = token.split(":")
    ctx = Context(db, make_settings())
    assert (await authenticate(ctx, token)) is not None
    async with db.read() as session:
        stored = (await session.execute(select(ApiKey))).scalar_one()
    assert stored.id == key_id and stored.name == "booking system"
    assert secret not in stored.secret_hash

    listed = await textcast_here(monkeypatch, db.url, "apikey", "list")
    assert key_id in listed.stdout and "active" in listed.stdout
    assert secret not in listed.stdout

    revoked = await textcast_here(monkeypatch, db.url, "apikey", "revoke", key_id)
    assert revoked.returncode == 0 and "Revoked" in revoked.stdout
    assert (await authenticate(ctx, token)) is None
    assert "revoked" in (await textcast_here(monkeypatch, db.url, "apikey", "list")).stdout
    again = await textcast_here(monkeypatch, db.url, "apikey", "revoke", key_id)
    assert again.returncode == 2 and "already revoked" in again.stderr


async def test_the_bot_refuses_a_database_without_the_schema(tmp_path: Path) -> None:
    result = await textcast(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}", "bot")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "textcast: the database has no Textcast tables yet: run `textcast db upgrade`"
    )


async def test_audit_shows_what_each_key_did(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    from campaigns.recipients import check_recipient_list
    from campaigns.service import NewCampaign, cancel_campaign, create_campaign

    ctx = Context(db, make_settings())
    for key_id in ("key_booking", "key_reminders"):
        view = await create_campaign(
            ctx,
            NewCampaign(name=f"From {key_id}", message_template="Hi",
                        recipients=check_recipient_list([{"phone": "+447700900001"}], "GB"),
                        from_numbers=["+14155550100"], send_at=None, source="api",
                        consent_confirmed=True),
            f"api:{key_id}",
        )  # fmt: skip
    await cancel_campaign(ctx, view.campaign.id, "api:key_reminders")
    shown = await textcast(db.url, "audit", "--actor", "api:key_reminders")
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert [line.split("  ")[1:3] for line in lines] == [
        ["api:key_reminders", "campaign.cancel"],
        ["api:key_reminders", "campaign.create"],
    ]
    assert all(view.campaign.id in line for line in lines)
    assert shown.stderr == ""  # all of them shown
    one = await textcast_here(
        monkeypatch, db.url, "audit", "--campaign", view.campaign.id, "--limit", "1"
    )
    assert one.stdout.count("\n") == 1 and "campaign.cancel" in one.stdout
    # It says it stopped at the limit, apart from the entries (standard output stays theirs).
    assert one.stderr.splitlines() == [
        "Showing the newest 1; older ones match too: --limit N shows up to 1000."
    ]
    none = await textcast_here(monkeypatch, db.url, "audit", "--actor", "api:key_nobody")
    assert none.stdout.strip() == "Nothing in the audit log matches."
