"""A cancel or an opt-out is in effect before the person who made it is told.

A send loop starts a create only while its last reads of what could stop it (its campaign's
status, and the recent opt-outs) began less than STATE_VALIDITY ago on its own monotonic clock
(worker/engine.py, `_fresh`). So once a cancel or an opt-out is committed (and, for an opt-out,
announced to the loops), waiting STATE_VALIDITY and a margin outlasts every read that began
before it: each loop has either seen it or stopped starting creates. Only then is the person
told. What can still reach Twilio after is a create that passed its check just before and was
on its way out of the client.

The wait is made here, in the service call, so that every way in (the API, Slack, a STOP
texted) has it; Slack's listeners acknowledge Slack first, so it never delays that.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

# How old a send loop's last read of its campaign's state (or of the opt-outs) may be when it
# starts a create. Loops read every 0.1 s: a read may be slow by this much less before the
# sending pauses for it.
STATE_VALIDITY = 0.4
# Added to the wait: the two clocks are different processes' (on different machines), and the
# loop compares `<` where the sleep may wake a clock tick early.
MARGIN = 0.1


class StopNews(Protocol):
    """Tells every send loop that a number opted out (the worker's local set of recent
    opt-outs: bot/stops.py). True once it is surely told."""

    async def opted_out(self, phone: str) -> bool: ...


async def until_in_effect() -> None:
    """Return once no send loop can start a create on what was there before the commit."""
    await asyncio.sleep(STATE_VALIDITY + MARGIN)
