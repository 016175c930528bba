"""What the demo shows: in a terminal, #campaigns as Alice sees it, redrawn in place as messages
arrive and change, with the latest steps below it; elsewhere (CI, a pipe) plain lines."""

from __future__ import annotations

import shutil
import sys
from typing import TextIO

CLEAR = "\x1b[H\x1b[J"  # cursor home, clear to the end of the screen
BOLD, DIM, RESET = "\x1b[1m", "\x1b[2m", "\x1b[0m"
STEPS_SHOWN = 6


class Screen:
    def __init__(self, live: bool, out: TextIO = sys.stdout) -> None:
        self.live = live
        self.out = out
        self.steps: list[str] = []
        self.channel = ""
        self.modal: list[str] | None = None  # a modal open over the channel, while it is open

    def step(self, text: str) -> None:
        """One thing that happened, in a line: a person's action, a handset's text."""
        self.steps.append(text)
        if self.live:
            self._draw()
        else:
            print(f"- {text}", file=self.out, flush=True)

    def show(self, channel: str) -> None:
        """The channel's transcript now; redrawn only when it changed."""
        if channel == self.channel:
            return
        self.channel = channel
        if self.live:
            self._draw()

    @property
    def reading_pause(self) -> float:
        """How long a person looks at a modal before acting: on a screen, long enough to read."""
        return 3.0 if self.live else 0.0

    def block(self, title: str, text: str) -> None:
        """A modal or a report, whole: live, over the channel until `close`; else printed."""
        if self.live:
            self.modal = [f"{BOLD}{title}{RESET}", *_indent(text).split("\n")]
            self._draw()
        else:
            print(f"\n{title}\n" + _indent(text), file=self.out, flush=True)

    def close(self) -> None:
        if self.modal is not None:
            self.modal = None
            self._draw()

    def say(self, text: str = "") -> None:
        """A line after the live part is over (the final counts, the URLs)."""
        print(text, file=self.out, flush=True)

    def _draw(self) -> None:
        columns, rows = shutil.get_terminal_size((100, 40))
        head = [
            f"{BOLD}Textcast demo{RESET} {DIM}· Slack as Alice sees it, from the stand-in{RESET}"
        ]
        foot = [DIM + "─" * min(columns, 100) + RESET]
        foot += [f"{DIM}▸{RESET} {step}"[: columns + 8] for step in self.steps[-STEPS_SHOWN:]]
        room = max(5, rows - len(head) - len(foot) - 1)
        shown = self.modal if self.modal is not None else self.channel.rstrip("\n").splitlines()
        body = [line[:columns] for line in shown]
        if len(body) > room and self.modal is not None:  # a modal reads from its top
            body = [*body[: room - 1], f"{DIM}… {len(body) - room + 1} lines below{RESET}"]
        elif len(body) > room:  # keep the newest: the thread's end is where things happen
            body = [f"{DIM}… {len(body) - room + 1} lines above{RESET}", *body[-room + 1 :]]
        self.out.write(CLEAR + "\n".join(head + body + foot) + "\n")
        self.out.flush()


def _indent(text: str) -> str:
    return "\n".join(f"  {line}" if line else "" for line in text.rstrip("\n").split("\n"))
