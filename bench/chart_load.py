"""Many clients asking for delivery charts at once: does the web process keep answering /healthz?

    .venv/bin/python bench/chart_load.py [--requests 60] [--campaigns 1] [--redis-url URL]

Starts `textcast bot` as its own process (SQLite in a temporary folder, its own Redis
namespace), creates `--campaigns` campaigns of 1,000 recipients over the API and gives their rows
sent, delivered and failed times (bench/chart.py's spread), then sends `--requests` requests for
`GET .../chart.png` at once, spread over the campaigns, while another client asks `/healthz` every
20 ms. Prints the charts' answers (status: count), how long the last took, and the /healthz
answers meanwhile (status: count, worst time).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import time
from collections import Counter
from datetime import UTC, datetime

import aiohttp
from web_process import bench_env, start_bot, textcast, until_healthy

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def spread(path: str, campaign_id: str, count: int) -> None:
    """Sent over 20 minutes, 90% delivered, 7% undelivered, 3% failed (as bench/chart.py)."""
    epoch = START.timestamp()
    at = "strftime('%Y-%m-%d %H:%M:%f', :epoch + {offset}, 'unixepoch')"
    sent = at.format(offset=f"(id % {count}) * 1200.0 / {count}")
    settled = at.format(offset=f"(id % {count}) * 1200.0 / {count} + 30 + (id % 97) * 12")
    with sqlite3.connect(path) as db:
        params = {"cid": campaign_id, "epoch": epoch}
        db.execute(
            f"UPDATE recipients SET status = 'delivered', twilio_sid = 'SM' || id, "
            f"sent_at = {sent}, updated_at = {settled} WHERE campaign_id = :cid", params
        )  # fmt: skip
        db.execute(
            "UPDATE recipients SET status = 'undelivered', error_code = 30003 "
            "WHERE campaign_id = :cid AND id % 100 < 7", params
        )  # fmt: skip


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--campaigns", type=int, default=1)
    parser.add_argument(
        "--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    args = parser.parse_args()
    env = bench_env(args.redis_url)
    token = textcast(env, "apikey", "create", "bench").split("Bearer ")[1].split()[0]
    headers = {"Authorization": f"Bearer {token}"}
    bot = start_bot(env)
    base = f"http://127.0.0.1:{env['PORT']}"
    try:
        await until_healthy(base)
        async with aiohttp.ClientSession() as session:
            ids = []
            for n in range(args.campaigns):
                body = {
                    "name": f"Chart {n}", "message_template": "Hi", "from_number": "+14155550100",
                    "schedule_type": "schedule", "scheduled_at": "2099-01-01T09:00:00Z",
                    "recipients": [{"phone": f"+1212{200 + n:03d}{i:04d}"} for i in range(1000)],
                }  # fmt: skip
                async with session.post(f"{base}/v1/sms/campaigns", json=body,
                                        headers=headers) as created:  # fmt: skip
                    assert created.status in (201, 422), await created.text()
                    if created.status == 422:  # the far schedule is refused: send now instead
                        body = {**body, "schedule_type": "now"}
                        del body["scheduled_at"]
                        async with session.post(f"{base}/v1/sms/campaigns", json=body,
                                                headers=headers) as again:  # fmt: skip
                            assert again.status == 201, await again.text()
                            ids.append((await again.json())["campaign_id"])
                    else:
                        ids.append((await created.json())["campaign_id"])
            path = env["DATABASE_URL"].removeprefix("sqlite+aiosqlite:///")
            for cid in ids:
                spread(path, cid, 1000)

            health: list[tuple[int, float]] = []
            stop = asyncio.Event()

            async def watch() -> None:
                while not stop.is_set():
                    started = time.perf_counter()
                    try:
                        async with session.get(f"{base}/healthz") as answer:
                            await answer.read()
                            health.append((answer.status, time.perf_counter() - started))
                    except aiohttp.ClientError:
                        health.append((0, time.perf_counter() - started))
                    await asyncio.sleep(0.02)

            async def chart(cid: str) -> int:
                url = f"{base}/v1/sms/campaigns/{cid}/chart.png"
                async with session.get(url, headers=headers) as answer:
                    await answer.read()
                    return answer.status

            watcher = asyncio.create_task(watch())
            started = time.perf_counter()
            statuses = await asyncio.gather(
                *(chart(ids[i % len(ids)]) for i in range(args.requests))
            )
            took = time.perf_counter() - started
            stop.set()
            await watcher
    finally:
        bot.terminate()
        bot.wait(timeout=10)
    print(f"{args.requests} chart requests over {len(ids)} campaign(s): "
          f"{dict(sorted(Counter(statuses).items()))}, all answered in {took:.2f} s")  # fmt: skip
    codes = Counter(status for status, _ in health)
    print(f"  /healthz meanwhile: {dict(sorted(codes.items()))}, "
          f"worst {max(t for _, t in health) * 1000:.0f} ms")  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
