"""Send 1,000 one-segment messages over 4 numbers at 5 MPS through the real pacer, without HTTP.

    .venv/bin/python bench/pacing_fidelity.py [--tasks 50] [--scale 1] [--redis-url URL]

N concurrent tasks (as a worker's send loop would) take recipients from one queue; each reserves a
slot on Redis (preferring the recipient's sticky number), sleeps until it, and records the send.
Prints the total duration against the carrier minimum (1,000 / 20 MPS = 50 s; target ratio
<= 1.02) and, per number, the most segments in any 1-second window (must be <= its MPS): for the
booked instants on Redis's clock, and for the instants the tasks woke to send on this process's
clock. `--scale 10` multiplies every MPS by 10 to run in a tenth of the time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from redis.asyncio import Redis

from campaigns.senders import preferred_senders
from worker.pacing import Pacer

NUMBERS = ["+14155550100", "+14155550101", "+14155550102", "+14155550103"]


@dataclass(frozen=True, slots=True)
class Sent:
    phone: str
    sender: str
    at: float  # booked start, Redis clock
    sent: float  # when the task woke to send, time.monotonic()


class CountingPacer(Pacer):
    """The real pacer, counting its Redis round trips."""

    calls = 0

    async def reserve(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.calls += 1
        return await super().reserve(*args, **kwargs)

    async def next_free(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.calls += 1
        return await super().next_free(*args, **kwargs)


def busiest(instants: Sequence[float], width: float = 1.0) -> int:
    """Most instants in any window [t, t + width)."""
    ordered = sorted(instants)
    most, first = 0, 0
    for last, instant in enumerate(ordered):
        while ordered[first] <= instant - width:
            first += 1
        most = max(most, last - first + 1)
    return most


async def sender_task(
    pacer: Pacer, pool: list[tuple[str, float]], queue: asyncio.Queue[str], sends: list[Sent]
) -> None:
    weights = [(sender, round(mps)) for sender, mps in pool]
    while not queue.empty():
        phone = queue.get_nowait()
        sticky = preferred_senders(phone, weights)[0]
        while True:
            slot = await pacer.reserve(pool, 1, sticky=sticky)
            if slot is not None:
                break
            await asyncio.sleep(await pacer.next_free(pool))
        await asyncio.sleep(slot.wait)
        sends.append(Sent(phone, slot.sender, slot.at, time.monotonic()))


async def run(recipients: int, mps: float, tasks: int, scale: float, url: str) -> None:
    redis = Redis.from_url(url)
    prefix = f"bench-pacing-{uuid.uuid4().hex[:12]}:"
    pacer = CountingPacer(redis, prefix=prefix)
    await pacer.prepare()  # as a worker does at startup: a fresh namespace is free at once
    pool = [(number, mps * scale) for number in NUMBERS]
    queue: asyncio.Queue[str] = asyncio.Queue()
    for i in range(recipients):
        queue.put_nowait(f"+4477{i:08d}")
    sends: list[Sent] = []
    started = time.monotonic()
    try:
        await asyncio.gather(*(sender_task(pacer, pool, queue, sends) for _ in range(tasks)))
    finally:
        await redis.delete(pacer.schedule_key)
        await redis.aclose()

    total_mps = sum(rate for _, rate in pool)
    minimum = recipients / total_mps
    # Until the last number to finish is free again, as for the minimum.
    took = max(s.sent + 1 / (mps * scale) for s in sends) - started
    lateness = [s.sent - s.at for s in sends]
    spread = max(lateness) - min(lateness)
    weights = [(sender, round(rate)) for sender, rate in pool]
    sticky = sum(s.sender == preferred_senders(s.phone, weights)[0] for s in sends)

    if scale != 1:
        print(f"SCALED RUN: every MPS x{scale:g} ({mps * scale:g} MPS per number)")
    print(
        f"recipients           {recipients:,} one-segment, {len(NUMBERS)} numbers at "
        f"{mps * scale:g} MPS, {tasks} tasks"
    )
    print(f"carrier minimum      {minimum:7.2f} s   ({recipients:,} / {total_mps:g} MPS)")
    print(f"total duration       {took:7.2f} s")
    print(f"ratio                {took / minimum:7.4f}     target <= 1.02")
    print(f"sent from sticky     {sticky / len(sends):7.1%}")
    print(f"Redis calls          {pacer.calls / len(sends):7.2f} per message")
    print(f"wake-up lateness     {spread * 1000:7.1f} ms spread (max - min of woke - booked)")
    per_number = Counter(s.sender for s in sends)
    print("most segments in any 1-second window, per number (must be <= MPS):")
    print("  booked: slot starts on Redis's clock, window 1 s")
    print(f"  woke:   when tasks woke to send, window 1 s - {spread * 1000:.1f} ms (the spread)")
    print("  strict: when tasks woke to send, window 1 s (slots are exactly 1/MPS apart, so")
    print("          any difference in wake-up lateness can put MPS + 1 into a strict window)")
    for number in NUMBERS:
        own = [s for s in sends if s.sender == number]
        booked = busiest([s.at for s in own])
        woke = busiest([s.sent for s in own], 1.0 - spread)
        strict = busiest([s.sent for s in own])
        print(
            f"  {number}  booked {booked:3d}   woke {woke:3d}   strict {strict:3d}   "
            f"({per_number[number]} messages, MPS {mps * scale:g})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=1000)
    parser.add_argument("--mps", type=float, default=5, help="per number (before --scale)")
    parser.add_argument("--tasks", type=int, default=50)
    parser.add_argument("--scale", type=float, default=1, help="multiply every MPS to run faster")
    parser.add_argument(
        "--redis-url", default=os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    )
    args = parser.parse_args()
    asyncio.run(run(args.recipients, args.mps, args.tasks, args.scale, args.redis_url))


if __name__ == "__main__":
    main()
