"""Work that takes more than a few milliseconds of CPU runs off the event loop, a few at a time.

Reading a 10 MB recipient list takes seconds of CPU; on the event loop it would hold up every
other request of the process, Slack's (answered within 3 s or shown as failed) and Twilio's
callbacks among them. A small thread pool runs such work instead. Threads share the GIL, but the
loop gets it back every few milliseconds (Python's switch interval), which is all it needs to
answer; a process pool would also have to copy the result, 100,000 recipients, back.

Work comes in two lanes, each with a thread of its own and its own places:

- `bulk`: requests from programs (the HTTP API marks its requests with `bulk_work()`). A script
  can send ten 10 MB lists at once; they wait their turn behind one another.
- interactive, the default: a person waiting (Slack's previews, with 3 seconds to answer).
  Ten API requests in hand never make a Slack preview wait behind them, nor refuse it.

One thread each, not more: the machines we run on have two cores, and more threads would only
queue for the GIL (and make the event loop wait longer for it). In each lane `WORKERS` run at
once and `MAX_WAITING` more wait their turn; beyond that the work is refused with `Busy` (the API
answers 503 with Retry-After) instead of queueing without end.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import ParamSpec, TypeVar

from campaigns.errors import Busy

WORKERS = 1  # per lane: two lanes, two cores
MAX_WAITING = 9

P = ParamSpec("P")
T = TypeVar("T")


@dataclass
class _Lane:
    name: str
    pool: ThreadPoolExecutor
    taken: int = 0  # running or waiting
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self) -> None:
        with self.lock:
            if self.taken >= WORKERS + MAX_WAITING:
                raise Busy(
                    "Textcast is busy reading other large requests: try again in a few seconds."
                )
            self.taken += 1

    def release(self, _work: Future[object]) -> None:
        with self.lock:
            self.taken -= 1


def _lane(name: str) -> _Lane:
    return _Lane(
        name, ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix=f"textcast-{name}")
    )


_INTERACTIVE = _lane("cpu")
_BULK = _lane("cpu-bulk")
_current: ContextVar[_Lane] = ContextVar("offload_lane", default=_INTERACTIVE)


@contextmanager
def bulk_work() -> Iterator[None]:
    """Work started inside (and in tasks started from it) goes in the bulk lane."""
    token = _current.set(_BULK)
    try:
        yield
    finally:
        _current.reset(token)


async def off_loop(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run `fn(*args, **kwargs)` in the caller's lane and wait for it without blocking the loop."""
    lane = _current.get()
    lane.take()
    # Released when the work ends (or is cancelled before it starts), not when the caller stops
    # waiting: a client that hangs up does not stop a thread, and its place stays taken till then.
    work = lane.pool.submit(functools.partial(fn, *args, **kwargs))
    work.add_done_callback(lane.release)
    return await asyncio.wrap_future(work)
