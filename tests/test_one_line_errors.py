"""What `textcast` says when what it needs is not there: one line saying what to do, never a
traceback. Run as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.conftest import BASE_URL, ON_POSTGRES


def textcast(folder: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    settings = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    return subprocess.run(
        [sys.executable, "-m", "textcast.cli", *args], env={**settings, **env},
        capture_output=True, text=True, cwd=folder, check=False, timeout=120,
    )  # fmt: skip


@pytest.mark.skipif(not ON_POSTGRES, reason="PostgreSQL only: SQLite makes its file")
def test_db_upgrade_says_how_to_create_a_missing_postgresql_database(tmp_path: Path) -> None:
    name = f"textcast_missing_{uuid.uuid4().hex[:8]}"
    url = make_url(BASE_URL).set(database=name)
    result = textcast(
        tmp_path, "db", "upgrade", DATABASE_URL=url.render_as_string(hide_password=False)
    )
    assert result.returncode == 1
    flags = (("-h", url.host), ("-p", url.port), ("-U", url.username))
    options = " ".join(f"{flag} {value}" for flag, value in flags if value)
    assert result.stderr.splitlines() == [
        f'textcast: the database "{name}" does not exist on {url.host}:{url.port or 5432}: '
        f'create it with `createdb {options} {name}` (or CREATE DATABASE "{name}"; in psql), '
        "then run `textcast db upgrade`"
    ]


def test_a_worker_whose_redis_is_away_says_so_in_one_line(tmp_path: Path) -> None:
    # Nothing listens on port 1; the password must not be printed.
    result = textcast(
        tmp_path, "worker",
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/t.db",
        REDIS_URL="redis://:hunter2@127.0.0.1:1/0",
    )  # fmt: skip
    assert result.returncode != 0
    [line] = result.stderr.splitlines()
    assert line.startswith("textcast: Redis at redis://***@127.0.0.1:1/0 is not answering ("), line
    assert result.stdout == ""
