"""A template that cannot fit, sent with a large list: how long until it is refused, and does
Slack still get its previews while ten such requests are in hand?

    .venv/bin/python bench/heavy_templates.py [--recipients 20000] [--value 100] [--redis-url URL]

Starts `textcast bot` as its own process (SQLite in a temporary folder, its own Redis namespace)
with the Slack stand-in in this process. The request is the one issue 21 reported: a template of
2,000 `{{a}}` and 20,000 recipients, each with a value for `a` (`--value` characters), so every
message would be thousands of characters over Twilio's 1,600.

1. One such create over HTTP: the seconds until it is answered (422).
2. Ten at once, and meanwhile a person presses Preview in Slack's compose modal with two pasted
   numbers: whether the preview comes (or the form comes back saying Textcast is busy), how long
   it took, and the longest /healthz answer meanwhile.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from typing import Any

import aiohttp
from slack_modal import post, top, until, watch_health
from web_process import bench_env, start_bot, textcast, until_healthy

from sandbox.slack import ALICE, BOT_TOKEN, CAMPAIGNS, SIGNING_SECRET, SlackSandbox, requests
from sandbox.slack.views import apply_submission_answer


def heavy_body(recipients: int, value: int) -> dict[str, Any]:
    return {
        "name": "Heavy",
        "from_number": "+14155550100",
        "message_template": "{{a}}" * 2000,
        "recipients": [
            {"phone": f"+1212{200 + i // 10_000:03d}{i % 10_000:04d}", "variables": {"a": "x" * value}}
            for i in range(recipients)
        ],
    }  # fmt: skip


async def create(session: aiohttp.ClientSession, base: str, token: str, body: dict) -> tuple[int, float]:  # fmt: skip
    started = time.perf_counter()
    headers = {"Authorization": f"Bearer {token}"}
    async with session.post(f"{base}/v1/sms/campaigns", json=body, headers=headers) as response:
        await response.read()
        return response.status, time.perf_counter() - started


async def slack_preview(session: aiohttp.ClientSession, base: str, slack: SlackSandbox) -> tuple[str, float]:  # fmt: skip
    """Preview pressed with two pasted numbers: what the modal shows next, and after how long."""
    slack.close_view(ALICE, everything=True)
    await post(session, base, requests.slash_command(SIGNING_SECRET, "new", sandbox_url=slack.url))
    compose = await until(lambda: top(slack, "sms_compose"), 10)
    values = {"name": "Quick", "sender": "+14155550100", "message": "Hi, see you soon",
              "paste": "+12125550100\n+12125550101", "when": "now", "consent": ["yes"]}  # fmt: skip
    pressed = time.perf_counter()
    _, answer = await post(session, base, requests.view_submission(
        SIGNING_SECRET, compose, values, sandbox_url=slack.url))  # fmt: skip
    apply_submission_answer(slack, compose["id"], answer)

    def settled() -> str | None:
        view = slack.modal_stack(ALICE)[-1]
        if view["callback_id"] == "sms_preview":
            return "preview"
        if view["callback_id"] == "sms_compose" and "busy" in str(view["blocks"]).lower():
            return "busy"
        return None

    shown = await until(settled, 300)
    return shown, time.perf_counter() - pressed


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=20_000)
    parser.add_argument("--value", type=int, default=100, help="characters in each value of a")
    parser.add_argument(
        "--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    args = parser.parse_args()
    slack = await SlackSandbox().start()
    env = bench_env(args.redis_url, SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET,
                    SLACK_API_URL=slack.url, SLACK_NOTIFY_CHANNEL=CAMPAIGNS)  # fmt: skip
    token = textcast(env, "apikey", "create", "bench").split("Bearer ")[1].split()[0]
    bot = start_bot(env)
    base = f"http://127.0.0.1:{env['PORT']}"
    body = heavy_body(args.recipients, args.value)
    try:
        await until_healthy(base)
        async with aiohttp.ClientSession() as session:
            status, took = await create(session, base, token, body)
            print(f"one create, 2,000 x {{{{a}}}}, {args.recipients:,} recipients, values of "
                  f"{args.value} characters: answered {status} in {took:.2f} s")  # fmt: skip
            health: list[float] = []
            stop = asyncio.Event()
            watcher = asyncio.create_task(watch_health(base, health, stop))
            heavy = [asyncio.create_task(create(session, base, token, body)) for _ in range(10)]
            await asyncio.sleep(0.5)  # the ten are in hand
            shown, preview_took = await slack_preview(session, base, slack)
            answers = await asyncio.gather(*heavy)
            stop.set()
            await watcher
    finally:
        bot.terminate()
        bot.wait(timeout=10)
        await slack.stop()
    statuses = sorted(status for status, _ in answers)
    print(f"ten at once: answered {statuses} within {max(t for _, t in answers):.2f} s")
    print(f"  Slack preview pressed meanwhile: {shown} after {preview_took:.2f} s")
    print(f"  /healthz meanwhile: {len(health)} answers, worst {max(health) * 1000:.0f} ms")


if __name__ == "__main__":
    asyncio.run(main())
