"""Work that takes more than a few milliseconds of CPU runs off the event loop, a few at a time.

Reading a 10 MB recipient list takes seconds of CPU; on the event loop it would hold up every
other request of the process, Slack's (answered within 3 s or shown as failed) and Twilio's
callbacks among them. A small thread pool runs such work instead. Threads share the GIL, but the
loop gets it back every few milliseconds (Python's switch interval), which is all it needs to
answer; a process pool would also have to copy the result, 100,000 recipients, back.

At most `WORKERS` run at once and `MAX_WAITING` more wait their turn; beyond that a request is
refused with `Busy` (the API answers 503 with Retry-After) instead of queueing without end.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from campaigns.errors import Busy

WORKERS = 2  # the machines we run on have two cores; more threads would only queue for the GIL
MAX_WAITING = 8

P = ParamSpec("P")
T = TypeVar("T")

_pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="textcast-cpu")
_lock = threading.Lock()
_taken = 0  # running or waiting


async def off_loop(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run `fn(*args, **kwargs)` in the pool and wait for it without blocking the loop."""
    global _taken
    with _lock:
        if _taken >= WORKERS + MAX_WAITING:
            raise Busy("Textcast is busy reading other large requests: try again in a few seconds.")
        _taken += 1
    # Released when the work ends (or is cancelled before it starts), not when the caller stops
    # waiting: a client that hangs up does not stop a thread, and its place stays taken till then.
    work = _pool.submit(functools.partial(fn, *args, **kwargs))
    work.add_done_callback(_release)
    return await asyncio.wrap_future(work)


def _release(_work: Future[object]) -> None:
    global _taken
    with _lock:
        _taken -= 1
