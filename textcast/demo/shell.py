"""`textcast demo --keep-running`: after the campaign, everything stays up for the user to try:
the API with a key, `/sms` commands typed here (sent as signed Slack requests; `/sms new`'s form
is filled in here), until Ctrl-C. What changes in #campaigns is printed, whoever changed it."""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import json
import os
import shlex
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import aiohttp

from textcast.demo.feed import ChannelFeed
from textcast.demo.form import Ask, ComposeAtTerminal
from textcast.demo.person import Person, StuckError
from textcast.demo.scenario import view_text
from textcast.demo.screen import Screen

if TYPE_CHECKING:
    from textcast.demo.run import Stack

PROMPT = "/sms> "
API_EXAMPLE = {
    "name": "Hello from the API",
    "from_number": "+14155550100",
    "message_template": "Hello from the demo. Reply STOP to opt out.",
    "recipients": [{"phone": "+15105550190"}, {"phone": "+15105550191"}],
}

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
        "# a campaign of your own (it shows in #campaigns like one made in Slack):",
        'curl -X POST -H "Authorization: Bearer $KEY" -H "Content-Type: application/json" \\',
        f"  -d '{json.dumps(API_EXAMPLE)}' \\",
        '  "$PUBLIC_BASE_URL/v1/sms/campaigns"',
        "textcast audit                      # who did what",
        "",
    ]
    return lines


@contextlib.contextmanager
def typed_lines() -> Iterator[asyncio.Queue[str | None]]:
    """Lines typed in the terminal, read by the event loop as they come: no thread blocked in
    readline, so Ctrl-C stops the demo at once. Read from the descriptor, not through
    sys.stdin's buffer: lines pasted at once come in one read, and a buffer would keep all but
    the first where the event loop never looks. None stands for Ctrl-D, after which a terminal
    reads on."""
    loop = asyncio.get_running_loop()
    fd = sys.stdin.fileno()
    lines: asyncio.Queue[str | None] = asyncio.Queue()
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    pending = ""

    def read() -> None:
        nonlocal pending
        try:
            data = os.read(fd, 4096)
        except OSError:  # the terminal is gone: nothing more will come
            loop.remove_reader(fd)
            data = b""
        if not data:
            lines.put_nowait(None)
            return
        pending += decoder.decode(data)
        *complete, pending = pending.split("\n")
        for line in complete:
            lines.put_nowait(line)

    loop.add_reader(fd, read)
    try:
        yield lines
    finally:
        loop.remove_reader(fd)


async def keep_running(stack: Stack, screen: Screen) -> None:
    for line in instructions(stack):
        screen.say(line)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as http:
        alice = Person(http, stack.slack_origin, stack.web_url)
        feed = ChannelFeed(alice, screen)
        await feed.start()
        following = asyncio.create_task(feed.follow())
        try:
            if not sys.stdin.isatty():
                screen.say("What changes in #campaigns is printed here. Stop it with Ctrl-C.")
                await asyncio.Event().wait()  # until a signal cancels the demo
            screen.say(
                "Type a /sms command as Alice in #campaigns (/sms new, /sms list, /sms help);"
            )
            screen.say("what changes in the channel is printed. Ctrl-C stops everything.")
            await _commands(alice, feed, screen)
        finally:
            following.cancel()


async def _commands(alice: Person, feed: ChannelFeed, screen: Screen) -> None:
    with typed_lines() as lines:

        async def ask(question: str) -> str | None:
            screen.out.write(question)
            screen.out.flush()
            return await lines.get()

        while True:
            feed.prompt = PROMPT
            typed = await ask(PROMPT)
            feed.prompt = ""
            if typed is None:
                screen.say("\nStill running: Ctrl-C stops everything.")
                continue
            words = typed.strip().removeprefix("/sms").strip()
            if not words:
                continue
            try:
                await _command(alice, feed, screen, words, ask)
            except (StuckError, ValueError, aiohttp.ClientError) as error:
                screen.say(f"That did not go through: {error}")


async def _command(alice: Person, feed: ChannelFeed, screen: Screen, words: str, ask: Ask) -> None:
    """`/sms WORDS` as Alice, and what it changes: `/sms new`'s form is filled in here."""
    before = await alice.top_modal()
    if words.split()[0].lower() == "new":
        with feed.held():  # the channel's changes would break into the questions
            await alice.command(words)
            await ComposeAtTerminal(alice, ask, screen.say).run(before)
    else:
        await alice.command(words)
    await asyncio.sleep(1.0)  # Textcast answers in the background; give it a second
    if words.split()[0].lower() != "new":
        await _window_opened(alice, screen, before)
    await feed.catch_up()


async def _window_opened(alice: Person, screen: Screen, before: dict[str, Any] | None) -> None:
    """A window the command opened in Slack (`/sms edit`'s form): shown, and where it waits."""
    top = await alice.top_modal()
    if top is None or (before is not None and top["id"] == before["id"]):
        return
    title = (top.get("title") or {}).get("text", "")
    screen.say(f"Textcast opened a window in Slack: {title}")
    screen.say(view_text(top))
    screen.say(
        "Only /sms new's form is filled in here; this one waits in the Slack stand-in: "
        f"{alice.slack}/_sandbox/views/{alice.user}"
    )
