"""A `textcast bot` process of its own for a benchmark: a free port, a temporary SQLite
database, its own Redis namespace, and a wait until it answers /healthz.

Imported by the benchmarks next to it (each is run as `python bench/NAME.py`, so this folder is
on the path).
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def textcast(env: dict[str, str], *args: str) -> str:
    """Run a `textcast` command to the end; its output."""
    done = subprocess.run(
        [sys.executable, "-m", "textcast.cli", *args],
        env=env, capture_output=True, text=True, check=True, cwd=ROOT,
    )  # fmt: skip
    return done.stdout


def bench_env(redis_url: str, **settings: str) -> dict[str, str]:
    """This environment plus a migrated temporary database, a port and a namespace."""
    folder = Path(tempfile.mkdtemp(prefix="textcast-bench-"))
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite+aiosqlite:///{folder / 'bench.db'}",
        "REDIS_URL": redis_url,
        "REDIS_NAMESPACE": f"bench-{uuid.uuid4().hex[:12]}",
        "PORT": str(free_port()),
        "SENDER_NUMBERS": "+14155550100:10",
        "DEFAULT_REGION": "US",
        **settings,
    }
    textcast(env, "db", "upgrade")
    return env


def start_bot(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "textcast.cli", "bot"], env=env, cwd=ROOT,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


async def until_healthy(base: str, tries: int = 100) -> None:
    """Wait (up to `tries` tenths of a second) for /healthz to answer 200."""
    async with aiohttp.ClientSession() as session:
        for _ in range(tries):
            try:
                async with session.get(f"{base}/healthz") as health:
                    if health.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"textcast bot at {base} did not answer /healthz")
