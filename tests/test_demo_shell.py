"""`textcast demo --keep-running`'s shell, typed at through a pseudo-terminal: the demo's own
processes (stand-ins, web process, worker), a person at the keyboard, and what the terminal shows.
The scenario is not played first: the shell is what these tests are about."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import pty
import socket
import sys
import termios
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.conftest import make_settings
from textcast.demo import run
from textcast.demo.processes import Processes
from textcast.demo.redis_server import demo_redis, free_port
from textcast.demo.run import Stack, start_stack
from textcast.demo.screen import Screen
from textcast.demo.shell import keep_running

READY = "Ctrl-C stops everything."


@dataclass
class Terminal:
    stack: Stack
    out: io.StringIO
    keyboard: int  # the pseudo-terminal's other end: what is written there is typed
    http: aiohttp.ClientSession

    async def shows(self, text: str, after: int = 0, timeout: float = 20.0) -> int:
        """Where `text` appears on the screen (past `after`), once it does."""
        try:
            async with asyncio.timeout(timeout):
                while (found := self.out.getvalue().find(text, after)) < 0:
                    await asyncio.sleep(0.1)
        except TimeoutError:
            pytest.fail(f"the terminal never showed {text!r}; it shows:\n{self.out.getvalue()}")
        return found

    def type(self, typed: str) -> None:
        """`typed`, then Enter."""
        os.write(self.keyboard, f"{typed}\n".encode())

    async def answer(self, question: str, typed: str, after: int = 0) -> int:
        """Once `question` is asked, type `typed`; where the question ends."""
        found = await self.shows(question, after)
        self.type(typed)
        return found + len(question)

    async def api(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.stack.api_key}"}
        url = f"{self.stack.web_url}{path}"
        async with self.http.request(method, url, headers=headers, **kwargs) as answer:
            assert answer.status < 300, await answer.text()
            return await answer.json()


@pytest.fixture
async def terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Terminal]:
    keyboard, tty = pty.openpty()
    attributes = termios.tcgetattr(tty)
    attributes[3] &= ~termios.ECHO  # what is typed is not written back to `keyboard`
    termios.tcsetattr(tty, termios.TCSANOW, attributes)
    stdin = os.fdopen(tty, "r")
    monkeypatch.setattr(sys, "stdin", stdin)
    redis = await demo_redis(make_settings().REDIS_URL, tmp_path)
    processes = Processes(tmp_path, {})
    out = io.StringIO()
    running: asyncio.Task[None] | None = None
    try:
        stack = await start_stack(processes, tmp_path, redis)
        running = asyncio.create_task(keep_running(stack, Screen(False, out)))
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as http:
            terminal = Terminal(stack, out, keyboard, http)
            await terminal.shows(READY)
            yield terminal
    finally:
        if running is not None:
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running
        await processes.stop()
        await redis.forget(processes.env.get("REDIS_NAMESPACE", "none"))
        await redis.stop()
        stdin.close()
        os.close(keyboard)


async def test_a_campaign_made_over_the_api_shows_in_the_terminal(terminal: Terminal) -> None:
    """Before, the terminal printed only the channel's changes in the second after a command
    typed there: a campaign made with curl never showed."""
    body = {
        "name": "Made with curl",
        "from_number": "+14155550100",
        "message_template": "Hello from the API. Reply STOP to opt out.",
        "recipients": [{"phone": "+15105550190"}, {"phone": "+15105550191"}],
    }
    created = await terminal.api("POST", "/v1/sms/campaigns", json=body)
    assert created["status"] in ("scheduled", "running")
    await terminal.shows("Made with curl")


async def test_sms_new_is_filled_in_at_the_terminal_then_previewed_and_confirmed(
    terminal: Terminal, tmp_path: Path
) -> None:
    """Before, `/sms new` opened the form in the Slack stand-in and the terminal said nothing."""
    people = tmp_path / "people.csv"
    people.write_text("phone,first_name\n+15105550190,Ann\n+15105550191,Bob\n")
    terminal.type("/sms new")
    at = await terminal.answer("Campaign name", "Typed in the terminal")
    at = await terminal.answer("Number of your choice [1]", "", at)  # the first: All numbers
    at = await terminal.answer("Recipients", str(people), at)
    at = await terminal.answer("Message", "Hi {{first_name}}, see you soon. Reply STOP to opt out.", at)  # fmt: skip
    at = await terminal.answer("When: now, or a date and time in Europe/London", "", at)
    at = await terminal.answer("agree to receive texts from you? (y/n)", "y", at)
    preview_at = await terminal.shows("Hi Ann, see you soon.", at, timeout=30)
    at = await terminal.answer("Confirm: send 2? (y/n)", "y", preview_at)
    await terminal.shows("Typed in the terminal", at)  # the progress message, in #campaigns
    campaigns = (await terminal.api("GET", "/v1/sms/campaigns"))["campaigns"]
    made = [c for c in campaigns if c["name"] == "Typed in the terminal"]
    assert len(made) == 1 and made[0]["status"] in ("running", "done")
    assert made[0]["total_count"] == 2
    transcript = terminal.out.getvalue()[preview_at:]
    assert "2 recipients will be texted" in transcript


async def test_a_refused_answer_is_asked_again_and_no_means_not_sent(terminal: Terminal) -> None:
    terminal.type("/sms new")
    at = await terminal.answer("Campaign name", "Bad date")
    at = await terminal.answer("Number of your choice", "", at)
    at = await terminal.answer("Recipients", "+15105550190", at)
    at = await terminal.answer("Message", "Hello. Reply STOP to opt out.", at)
    at = await terminal.answer("When", "2001-01-01 09:00", at)  # in the past
    at = await terminal.answer("(y/n)", "y", at)
    refused = await terminal.shows("Textcast refused the form", at)
    at = await terminal.answer("When", "now", refused)
    at = await terminal.answer("Confirm: send 1? (y/n)", "n", at)
    assert "Campaign name" not in terminal.out.getvalue()[refused:at]  # only what was refused
    await terminal.shows("Not sent: the campaign stays a draft.", at)
    campaigns = (await terminal.api("GET", "/v1/sms/campaigns?status=draft"))["campaigns"]
    assert [c["name"] for c in campaigns] == ["Bad date"]


async def test_a_window_it_cannot_fill_in_is_shown_and_said_where_it_waits(
    terminal: Terminal,
) -> None:
    """`/sms edit ID` opens the edit form in Slack: before, the terminal said nothing of it."""
    later = datetime.now(UTC) + timedelta(hours=2)
    body = {
        "name": "Edit me",
        "from_number": "+14155550100",
        "message_template": "Hello. Reply STOP to opt out.",
        "recipients": [{"phone": "+15105550190"}],
        "schedule_type": "schedule",
        "scheduled_at": later.isoformat(),
    }
    created = await terminal.api("POST", "/v1/sms/campaigns", json=body)
    terminal.type(f"/sms edit {created['campaign_id']}")
    at = await terminal.shows("Textcast opened a window in Slack: Edit campaign")
    await terminal.shows("/_sandbox/views/U0ALICE", at)


async def test_the_stack_starts_on_new_ports_when_one_is_taken_before_it_binds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A port found free can be taken by another program before the stand-in binds it (CI13: the
    demo's sandbox exited with "address already in use"): the stack starts again elsewhere."""
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    first = iter([taken.getsockname()[1]])  # the first port handed out is one in use
    monkeypatch.setattr(run, "free_port", lambda: next(first, None) or free_port())
    redis = await demo_redis(make_settings().REDIS_URL, tmp_path)
    processes = Processes(tmp_path, {})
    try:
        stack = await start_stack(processes, tmp_path, redis)
        async with aiohttp.ClientSession() as http, http.get(f"{stack.web_url}/healthz") as health:
            assert health.status == 200
        assert str(taken.getsockname()[1]) not in stack.web_url
    finally:
        taken.close()
        await processes.stop()
        await redis.forget(processes.env.get("REDIS_NAMESPACE", "none"))
        await redis.stop()
