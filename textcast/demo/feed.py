"""#campaigns after the demo's campaign, as lines: whatever appears or changes in the channel is
printed as it happens, whoever caused it (a /sms command typed here, a campaign created over the
HTTP API, a text from a phone, the worker's progress)."""

from __future__ import annotations

import asyncio
import contextlib
import difflib
from collections.abc import Iterator

import aiohttp

from sandbox.slack.transcript import REPLY
from textcast.demo.person import Person
from textcast.demo.screen import Screen

POLL_SECONDS = 0.5


class ChannelFeed:
    def __init__(self, person: Person, screen: Screen) -> None:
        self.person = person
        self.screen = screen
        self.shown = ""  # the transcript as last printed
        self.prompt = ""  # a prompt waiting for input, written again under what is printed
        self._holds = 0
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        """From now on: what the channel holds already is not printed again."""
        self.shown = await self.person.sees()

    async def follow(self) -> None:
        """Print the channel's changes until cancelled."""
        while True:
            await asyncio.sleep(POLL_SECONDS)
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                await self.catch_up()

    async def catch_up(self) -> None:
        """Print what changed since the last time (nothing while held)."""
        async with self._lock:  # two reads at once would print the same change twice
            if self._holds:
                return
            now = await self.person.sees()
            added = changes(self.shown, now)
            self.shown = now
            if added:
                # Under a prompt, start on a line of its own and put the prompt back after.
                self.screen.say(("\n" if self.prompt else "") + "\n".join(added))
                if self.prompt:
                    self.screen.out.write(self.prompt)
                    self.screen.out.flush()

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """Nothing is printed inside (a form being filled in); the changes come after."""
        self._holds += 1
        try:
            yield
        finally:
            self._holds -= 1


def changes(before: str, after: str) -> list[str]:
    """The lines to print for what `after` has that `before` had not: a new message whole; an
    edited one as its first two lines (who, and what it is about) and the lines that changed."""
    old, new = _entries(before), _entries(after)
    lines: list[str] = []
    parent_shown = -1  # the last top-level message printed, by its index in `new`
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for kind, i1, i2, j1, j2 in matcher.get_opcodes():
        if kind not in ("insert", "replace"):
            continue
        for j in range(j1, j2):
            if _is_reply(new[j]):  # under the first lines of its thread's message
                parent = max((p for p in range(j) if not _is_reply(new[p])), default=j)
                if parent not in (parent_shown, j):
                    lines += new[parent][:2]
                    parent_shown = parent
            else:
                parent_shown = j
            k = i1 + j - j1
            previous = old[k] if kind == "replace" and k < i2 else None
            lines += list(new[j]) if previous is None else _edited(previous, new[j])
    return lines


def _is_reply(entry: tuple[str, ...]) -> bool:
    return entry[0].lstrip().startswith(REPLY)


def _edited(previous: tuple[str, ...], entry: tuple[str, ...]) -> list[str]:
    context = list(entry[:2])
    differing = [
        line[2:]
        for line in difflib.ndiff(list(previous[2:]), list(entry[2:]))
        if line.startswith("+ ") and line[2:].strip()
    ]
    return context + differing


def _entries(transcript: str) -> list[tuple[str, ...]]:
    """The transcript cut into messages: each starts at its author's line (a thread reply's at
    its arrow), its content indented under it."""
    entries: list[list[str]] = []
    for line in transcript.splitlines():
        # A blank line belongs to the message it is in (a section's empty line).
        starts = (bool(line) and not line.startswith(" ")) or line.lstrip().startswith(REPLY)
        if starts or not entries:
            entries.append([line])
        else:
            entries[-1].append(line)
    return [tuple(entry) for entry in entries]
