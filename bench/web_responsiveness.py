"""Does the web process still answer while it reads a large upload?

    .venv/bin/python bench/web_responsiveness.py [--rows 100000] [--redis-url URL]

Starts `textcast bot` as its own process (SQLite in a temporary folder, its own Redis namespace),
then sends two creates over HTTP while another client asks `GET /healthz` every 20 ms:

1. `recipients_csv` of 100,000 invalid numbers (about 1.6 MB): answered 422, nothing stored.
2. `recipients_csv` of 100,000 valid numbers with a name each (about 2.4 MB): answered 201.

For each it prints how long the create took and the /healthz answer times meanwhile (median,
99th percentile, worst). Slack shows an error when an app takes more than 3 s to answer;
Twilio's callbacks wait too. Target: the worst /healthz under 0.5 s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from pathlib import Path

import aiohttp
from web_process import bench_env, start_bot, textcast, until_healthy

ROOT = Path(__file__).resolve().parents[1]


async def measure(base: str, token: str, body: dict, label: str) -> None:
    gaps: list[float] = []
    async with aiohttp.ClientSession() as session:

        async def create() -> tuple[int, float]:
            started = time.perf_counter()
            headers = {"Authorization": f"Bearer {token}"}
            async with session.post(f"{base}/v1/sms/campaigns", json=body, headers=headers) as r:
                await r.read()
                return r.status, time.perf_counter() - started

        upload = asyncio.create_task(create())
        while not upload.done():
            started = time.perf_counter()
            async with session.get(f"{base}/healthz") as health:
                await health.read()
            gaps.append(time.perf_counter() - started)
            await asyncio.sleep(0.02)
        status, took = await upload
    gaps.sort()
    p99 = gaps[min(len(gaps) - 1, int(len(gaps) * 0.99))]
    print(
        f"{label}: answered {status} in {took:.2f} s; /healthz asked {len(gaps)} times "
        f"meanwhile: median {statistics.median(gaps) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, "
        f"worst {gaps[-1] * 1000:.0f} ms"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument(
        "--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    args = parser.parse_args()
    env = bench_env(args.redis_url)
    token = textcast(env, "apikey", "create", "bench").split("Bearer ")[1].split()[0]
    bot = start_bot(env)
    base = f"http://127.0.0.1:{env['PORT']}"
    try:
        await until_healthy(base)
        common = {"name": "Bench", "message_template": "Hi {{name}}", "from_number": "+14155550100"}
        invalid = "phone\n" + "\n".join(f"not-a-number-{i}" for i in range(args.rows))
        await measure(base, token, {**common, "recipients_csv": invalid},
                      f"{args.rows:,} invalid numbers ({len(invalid) / 1e6:.1f} MB)")  # fmt: skip
        valid = "phone,name\n" + "\n".join(
            f"+1212{200 + i // 10_000:03d}{i % 10_000:04d},Name{i}" for i in range(args.rows)
        )
        await measure(base, token, {**common, "recipients_csv": valid},
                      f"{args.rows:,} valid numbers ({len(valid) / 1e6:.1f} MB)")  # fmt: skip
    finally:
        bot.terminate()
        bot.wait(timeout=10)


if __name__ == "__main__":
    asyncio.run(main())
