"""`textcast demo --keep-running`'s shell, typed at through a pseudo-terminal: the demo's own
processes (stand-ins, web process, worker), a person at the keyboard, and what the terminal shows.
The scenario is not played first: the shell is what these tests are about."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import pty
import sys
import termios
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.conftest import make_settings
from textcast.demo.processes import Processes
from textcast.demo.redis_server import demo_redis
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
