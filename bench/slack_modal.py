"""The compose modal submitted with a 100,000-row CSV, against a real `textcast bot` process.

    .venv/bin/python bench/slack_modal.py [--rows 100000] [--times 10] [--redis-url URL]

The Slack stand-in runs in this process (the bench reads its views and files directly); the
web process runs on its own, as in production (SQLite in a temporary folder, its own Redis
namespace). Each round types `/sms new`, uploads the CSV in the modal and presses Preview, as
Slack would send it, then waits for the preview to replace the checking view. Meanwhile another
client asks the same web process `GET /healthz` every 20 ms.

Prints the acknowledgement latency of the submission (p50 and p99 over the rounds; target p99
under 300 ms), the time from Preview pressed to the preview in place (target under 5 s), and
the longest /healthz answer during the rounds (target under 100 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from pathlib import Path
from typing import Any

import aiohttp
from web_process import bench_env, start_bot, until_healthy

from sandbox.slack import ALICE, BOT_TOKEN, CAMPAIGNS, SIGNING_SECRET, SlackSandbox, requests
from sandbox.slack.views import apply_submission_answer

ROOT = Path(__file__).resolve().parents[1]


def csv_of(rows: int) -> str:
    lines = (f"+1212{200 + i // 10_000:03d}{i % 10_000:04d},Name{i}" for i in range(rows))
    return "phone,first_name\n" + "\n".join(lines) + "\n"


async def post(session: aiohttp.ClientSession, base: str, request: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    async with session.post(f"{base}/slack/events", data=request.body,
                            headers=request.headers) as response:  # fmt: skip
        text = await response.text()
        took = time.perf_counter() - started
        assert response.status == 200, text
    return took, (await response.json() if text else None)


async def until(condition: Any, timeout: float) -> Any:
    async with asyncio.timeout(timeout):
        while not (found := condition()):
            await asyncio.sleep(0.01)
    return found


def top(slack: SlackSandbox, callback_id: str) -> dict[str, Any] | None:
    stack = slack.modal_stack(ALICE)
    return stack[-1] if stack and stack[-1]["callback_id"] == callback_id else None


async def watch_health(base: str, worst: list[float], stop: asyncio.Event) -> None:
    async with aiohttp.ClientSession() as session:
        while not stop.is_set():
            started = time.perf_counter()
            async with session.get(f"{base}/healthz") as health:
                await health.read()
            worst.append(time.perf_counter() - started)
            await asyncio.sleep(0.02)


async def one_round(
    session: aiohttp.ClientSession, base: str, slack: SlackSandbox, file_id: str
) -> tuple[float, float]:
    slack.close_view(ALICE, everything=True)
    await post(session, base, requests.slash_command(SIGNING_SECRET, "new", sandbox_url=slack.url))
    compose = await until(lambda: top(slack, "sms_compose"), 5)
    values = {"name": "Bench", "sender": "+14155550100", "file": [slack.file_object(file_id)],
              "message": "Hi {{first_name}}, see you soon", "when": "now", "consent": ["yes"]}  # fmt: skip
    submitted = requests.view_submission(SIGNING_SECRET, compose, values, sandbox_url=slack.url)
    pressed = time.perf_counter()
    ack, answer = await post(session, base, submitted)
    apply_submission_answer(slack, compose["id"], answer)
    await until(lambda: top(slack, "sms_preview"), 60)
    return ack, time.perf_counter() - pressed


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--times", type=int, default=10)
    parser.add_argument(
        "--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    args = parser.parse_args()
    slack = await SlackSandbox().start()
    env = bench_env(args.redis_url, SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET,
                    SLACK_API_URL=slack.url, SLACK_NOTIFY_CHANNEL=CAMPAIGNS)  # fmt: skip
    bot = start_bot(env)
    base = f"http://127.0.0.1:{env['PORT']}"
    data = csv_of(args.rows)
    upload = slack.add_file("big.csv", data)
    try:
        await until_healthy(base)
        async with aiohttp.ClientSession() as session:
            await one_round(session, base, slack, upload.id)  # warm-up, not counted
            health: list[float] = []
            stop = asyncio.Event()
            watcher = asyncio.create_task(watch_health(base, health, stop))
            acks, previews = [], []
            for _ in range(args.times):
                ack, shown = await one_round(session, base, slack, upload.id)
                acks.append(ack)
                previews.append(shown)
            stop.set()
            await watcher
    finally:
        bot.terminate()
        bot.wait(timeout=10)
        await slack.stop()
    acks.sort()
    p99 = acks[min(len(acks) - 1, round(len(acks) * 0.99) - 1)]
    print(f"{args.rows:,}-row CSV ({len(data) / 1e6:.1f} MB), {args.times} submissions:")
    print(f"  acknowledgement: p50 {statistics.median(acks) * 1000:.0f} ms, "
          f"p99 {p99 * 1000:.0f} ms (target under 300 ms)")  # fmt: skip
    print(f"  preview in place: median {statistics.median(previews):.2f} s, "
          f"worst {max(previews):.2f} s (target under 5 s)")  # fmt: skip
    print(f"  /healthz meanwhile: {len(health)} answers, median "
          f"{statistics.median(health) * 1000:.0f} ms, worst {max(health) * 1000:.0f} ms "
          "(target under 100 ms)")  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
