"""Stream a 100,000-recipient export out of a real web process and watch its memory.

    .venv/bin/python bench/export_100k.py [--rows 100000] [--redis-url URL]

Stores a campaign of `--rows` recipients in a fresh SQLite database, starts `python -m bot` on
it, downloads `GET /v1/sms/campaigns/{id}/recipients.csv` in 64 KB reads, and prints the time,
the rate and how much the web process's peak memory (VmHWM) grew while it streamed. Target: the
peak grows by less than 50 MB (holding the list whole would take several times the file's size
in row objects), and the whole file arrives, every row once.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from campaigns import migrate
from campaigns.db import Database
from campaigns.recipients import parse_recipients
from campaigns.service import Context, NewCampaign, create_api_key, create_campaign
from campaigns.settings import Settings

GROWTH_TARGET_MB = 50
SENDERS = "+14155550100:10"


def clean_env(**values: str) -> dict[str, str]:
    """This environment without Textcast's settings, plus `values` (as bench/sending.py)."""
    return {k: v for k, v in os.environ.items() if k not in Settings.model_fields} | values


def vm_hwm_mb(pid: int) -> float:
    """The most resident memory the process has held so far."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def store(url: str, rows: int) -> tuple[str, str]:
    """The campaign (not launched: nothing is sent) and an API key."""
    db = Database(url)
    await migrate.upgrade(db)
    settings = Settings(_env_file=None, SENDER_NUMBERS=SENDERS)  # type: ignore[call-arg]
    ctx = Context(db=db, settings=settings)
    lines = ["first_name,phone,city"] + [f"Person{i},+4477{i:08d},Leeds" for i in range(rows)]
    report = parse_recipients(("\n".join(lines) + "\n").encode(), "GB")
    view = await create_campaign(
        ctx,
        NewCampaign(name="Export bench", message_template="Hi {{first_name}}", recipients=report,
                    from_numbers=None, send_at=None, source="api", consent_confirmed=True),
        "bench",
        launch=False,
    )  # fmt: skip
    key = await create_api_key(ctx, "bench", "bench")
    await db.dispose()
    return view.campaign.id, key.token


async def wait_healthy(http: aiohttp.ClientSession, base: str) -> None:
    for _ in range(100):
        try:
            async with http.get(f"{base}/healthz") as answer:
                if answer.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError("the web process did not start")


async def run(rows: int, redis_url: str) -> None:
    with tempfile.TemporaryDirectory(prefix="textcast-bench-") as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        campaign_id, token = await store(url, rows)
        port = free_port()
        env = clean_env(DATABASE_URL=url, REDIS_URL=redis_url, PORT=str(port),
                        SENDER_NUMBERS=SENDERS, REDIS_NAMESPACE=f"bench-export-{os.getpid()}")  # fmt: skip
        log = (Path(tmp) / "bot.log").open("wb")
        bot = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", env=env,
                                                   stdout=log, stderr=log)  # fmt: skip
        base, auth = f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {token}"}
        try:
            async with aiohttp.ClientSession() as http:
                await wait_healthy(http, base)
                async with http.get(f"{base}/v1/sms/campaigns/{campaign_id}", headers=auth) as r:
                    assert r.status == 200, await r.text()  # warm: routes, key check, a read
                before = vm_hwm_mb(bot.pid)
                started = time.perf_counter()
                size = lines = 0
                first_byte = None
                export = f"{base}/v1/sms/campaigns/{campaign_id}/recipients.csv"
                async with http.get(export, headers=auth) as answer:
                    assert answer.status == 200, await answer.text()
                    async for chunk in answer.content.iter_chunked(64 * 1024):
                        first_byte = first_byte or time.perf_counter()
                        size += len(chunk)
                        lines += chunk.count(b"\n")
                took = time.perf_counter() - started
                after = vm_hwm_mb(bot.pid)
        finally:
            bot.terminate()
            await bot.wait()
    growth = after - before
    whole = "PASS" if lines == rows + 1 else "FAIL"
    print(f"rows                 {rows:,} ({size / 1e6:.1f} MB of CSV)")
    print(f"streamed in          {took:6.2f} s   ({rows / took:,.0f} rows/s, "
          f"first bytes after {(first_byte or started) - started:.3f} s)")  # fmt: skip
    print(f"rows received        {lines - 1:,}                    target {rows:,}    {whole}")
    verdict = "PASS" if growth < GROWTH_TARGET_MB else "FAIL"
    print(f"web process peak     {before:.0f} MB before, {after:.0f} MB after: +{growth:.0f} MB"
          f"   target < +{GROWTH_TARGET_MB} MB   {verdict}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument(
        "--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    args = parser.parse_args()
    asyncio.run(run(args.rows, args.redis_url))


if __name__ == "__main__":
    main()
