"""The SQLite database (and its -wal and -shm files) can be read by its owner only, whatever
the umask it was made under: it holds every recipient's number."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

from tests.bot.bot_process import bot_process
from tests.bot.test_slow_clients import healthz

TYPICAL_UMASK = 0o022  # files 0644: readable by every user of the machine


def mode(path: Path) -> str:
    return oct(stat.S_IMODE(path.stat().st_mode))


def db_upgrade(url: str) -> None:
    """`textcast db upgrade` as a person would run it, under the usual umask."""
    env = {**os.environ, "DATABASE_URL": url}
    done = subprocess.run(
        [sys.executable, "-m", "textcast.cli", "db", "upgrade"],
        env=env, capture_output=True, text=True, preexec_fn=lambda: os.umask(TYPICAL_UMASK),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


async def test_a_new_database_and_its_wal_and_shm_are_its_owners_only(tmp_path: Path) -> None:
    path = tmp_path / "textcast.db"
    url = f"sqlite+aiosqlite:///{path}"
    db_upgrade(url)
    assert mode(path) == "0o600"
    # The web process keeps a connection open: SQLite's -wal and -shm files exist while it runs.
    async with bot_process(url, tmp_path / "bot.log", umask=TYPICAL_UMASK) as bot:
        assert await healthz(bot) == 200
        side_files = {suffix: mode(Path(f"{path}{suffix}")) for suffix in ("-wal", "-shm")}
    assert side_files == {"-wal": "0o600", "-shm": "0o600"}
    assert mode(path) == "0o600"


def test_a_database_left_readable_by_others_is_made_its_owners_only(tmp_path: Path) -> None:
    path = tmp_path / "textcast.db"
    old_umask = os.umask(TYPICAL_UMASK)
    try:  # as an earlier Textcast, or sqlite3 by hand, left it
        sqlite3.connect(path).close()
    finally:
        os.umask(old_umask)
    assert mode(path) == "0o644"
    db_upgrade(f"sqlite+aiosqlite:///{path}")
    assert mode(path) == "0o600"
