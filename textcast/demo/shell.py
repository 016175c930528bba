"""`textcast demo --keep-running`: after the campaign, everything stays up for the user to try:
the API with a key, `/sms` commands typed here (sent as signed Slack requests), until Ctrl-C."""

from __future__ import annotations

import asyncio
import difflib
import shlex
import sys
from typing import TYPE_CHECKING

import aiohttp

from textcast.demo.person import Person
from textcast.demo.screen import Screen

if TYPE_CHECKING:
    from textcast.demo.run import Stack

SHOWN_SETTINGS = (
    "DATABASE_URL", "REDIS_URL", "REDIS_NAMESPACE", "SENDER_NUMBERS", "TWILIO_API_URL",
    "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "SLACK_API_URL", "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET", "SLACK_NOTIFY_CHANNEL", "PUBLIC_BASE_URL", "PORT", "DEFAULT_REGION",
)  # fmt: skip


def instructions(stack: Stack) -> list[str]:
    web = stack.web_url
    lines = [
        "",
        "Everything is still running:",
        f"  web process (API, Slack's and Twilio's webhooks)  {web}   health: {web}/healthz",
        f"  Slack stand-in   {stack.slack_origin}   #campaigns: {stack.slack_origin}/_sandbox/transcript/C0CAMPAIGNS",
        f"  Twilio stand-in  {stack.twilio_url}   every message: {stack.twilio_url}/sandbox/messages",
        "",
        "In another shell, these point textcast and curl at the demo:",
    ]
    lines += [f"export {name}={shlex.quote(stack.env[name])}" for name in SHOWN_SETTINGS]
    lines += [
        f"export KEY={shlex.quote(stack.api_key)}",
        "",
        'curl -H "Authorization: Bearer $KEY" "$PUBLIC_BASE_URL/v1/sms/campaigns"',
        "textcast audit                      # who did what",
        "",
    ]
    return lines


def typed_lines() -> asyncio.Queue[str | None]:
    """Lines typed on standard input, read by the event loop as they come: no thread blocked in
    readline, so Ctrl-C stops the demo at once."""
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue[str | None] = asyncio.Queue()

    def read() -> None:
        line = sys.stdin.readline()
        if not line:  # end of input (Ctrl-D): nothing more will come
            loop.remove_reader(sys.stdin.fileno())
        lines.put_nowait(line or None)

    loop.add_reader(sys.stdin.fileno(), read)
    return lines


async def keep_running(stack: Stack, screen: Screen) -> None:
    for line in instructions(stack):
        screen.say(line)
    if not sys.stdin.isatty():
        screen.say("Stop it with Ctrl-C.")
        await asyncio.Event().wait()  # until a signal cancels the demo
        return
    screen.say("Type a /sms command as Alice in #campaigns (/sms help, /sms list, /sms status ID);")
    screen.say("what changes in the channel is printed. Ctrl-C stops everything.")
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as http:
        alice = Person(http, stack.slack_origin, stack.web_url)
        lines = typed_lines()
        while True:
            print("/sms> ", end="", flush=True)
            typed = await lines.get()
            if typed is None:
                screen.say("\nNo more input; still running. Stop it with Ctrl-C.")
                await asyncio.Event().wait()
            line = (typed or "").strip()
            if not line:
                continue
            words = line.removeprefix("/sms").strip()
            before = await alice.sees()
            await alice.command(words)
            await asyncio.sleep(1.0)  # Textcast answers in the background; give it a second
            after = await alice.sees()
            for changed in difflib.ndiff(before.splitlines(), after.splitlines()):
                if changed.startswith("+ "):
                    screen.say(changed[2:])
