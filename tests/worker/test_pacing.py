"""Pacing on the real Redis: no number ever exceeds its MPS, and no capacity is left idle.

Every send is checked twice. The booked starts (`Slot.at`, on Redis's clock) must hold exactly: at
most MPS segments in any 1-second window. The instants the loop woke to send (the sending
process's clock) must never come before their slot; how late they come depends on the machine's
load, so they are checked over a window shortened by the spread of that lateness, in which they
can only exceed the MPS if they did not follow their slots.

No time is lost: a slot that had to wait starts exactly when the number's previous one ended.
Where the number was idle, the next slot was handed out at once (no wait): the sender asked
late, as a loop starved by a busy machine does. Judged on the pacer's own answers, this holds
under any load; the time a whole run takes does not.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import math
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from tests.redis_namespaces import new_namespace, redis_url
from worker.pacing import LONGEST_MESSAGE, PACING_SCRIPT, Pacer

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url())
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
async def prefix(redis: Redis) -> AsyncIterator[str]:
    # Removed after the test with the rest of its namespace (tests/redis_namespaces.py).
    yield f"{new_namespace()}:"


async def prepared(redis: Redis, **options: Any) -> Pacer:
    """A pacer on a namespace a worker has started on (a fresh one is otherwise taken for one
    just flushed: see worker/pacing.py)."""
    pacer = Pacer(redis, **options)
    await pacer.prepare()
    return pacer


@dataclass(frozen=True, slots=True)
class Sent:
    sender: str
    cost: int
    at: float  # booked start, Redis clock
    sent: float  # when the loop woke to send, the sending process's clock
    wait: float = 0.0  # how far ahead the slot was when booked (0: free at once)


async def take(
    pacer: Pacer,
    candidates: Sequence[tuple[str, float]],
    cost: int,
    *,
    sticky: str | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Sent:
    """What a worker does per message: reserve (or sleep until a slot is near), sleep, send."""
    while (slot := await pacer.reserve(candidates, cost, sticky=sticky)) is None:
        await asyncio.sleep(await pacer.next_free(candidates))
    await asyncio.sleep(slot.wait)
    return Sent(slot.sender, cost, slot.at, clock(), slot.wait)


async def send_all(
    pacer: Pacer, candidates: Sequence[tuple[str, float]], costs: Sequence[int]
) -> list[Sent]:
    return [await take(pacer, candidates, cost) for cost in costs]


def busiest(starts: Sequence[tuple[float, int]], mps: float, width: float = 1.0) -> int:
    """Most segments in any window [t, t + width): a message's k-th segment goes at start + k/MPS."""
    segments = sorted(start + k / mps for start, cost in starts for k in range(cost))
    most, first = 0, 0
    for last, instant in enumerate(segments):
        while segments[first] <= instant - width:
            first += 1
        most = max(most, last - first + 1)
    return most


async def redis_now(redis: Redis) -> float:
    seconds, microseconds = await redis.time()
    return seconds + microseconds / 1e6


async def clock_offset(redis: Redis, clock: Callable[[], float] = time.monotonic) -> float:
    """At most `clock` minus Redis's clock: a send with `sent - at` below this went early."""
    before = clock()
    return before - await redis_now(redis)


def lateness_spread(sends: Sequence[Sent]) -> float:
    # The clocks' offset cancels out: only how much later one send woke than another is left.
    lateness = [s.sent - s.at for s in sends]
    return max(lateness) - min(lateness)


def assert_paced(sends: Sequence[Sent], mps: float, offset: float) -> None:
    early = offset - min(s.sent - s.at for s in sends)
    assert early < 0.001, f"a send went {early:.4f} s before its slot"
    assert busiest([(s.at, s.cost) for s in sends], mps) <= mps
    # A woken send lies within `spread` of its slot, so a window `spread` shorter than a second
    # maps into one second of slots (less a microsecond for the floats' rounding). A machine so
    # busy that sleeps overshoot by a second apart leaves no such window: the slots, and no send
    # before its slot, are then the whole check.
    spread = lateness_spread(sends)
    if spread < 1.0 - 1e-6:
        woke = busiest([(s.sent, s.cost) for s in sends], mps, 1.0 - spread - 1e-6)
        assert woke <= mps, f"{woke} woke in {1.0 - spread:.3f} s (sleeps {spread:.3f} s apart)"


def assert_no_time_lost(sends: Sequence[Sent], mps: float) -> None:
    """One number's sends, in order: each that waited for its slot starts when the one before
    ended (a microsecond for Redis's clock); a gap only follows a sender that asked late."""
    for before, after in itertools.pairwise(sends):
        free = before.at + before.cost / mps
        assert after.wait == 0.0 or after.at <= free + 1e-5, (before, after)


def duration(sends: Sequence[Sent], mps: float) -> float:
    """From the first send until the number is free again after the last one."""
    return sends[-1].sent + sends[-1].cost / mps - sends[0].sent


def test_busiest_counts_each_segment_at_its_own_instant() -> None:
    assert busiest([(0.0, 1), (0.5, 1), (1.0, 1)], 2) == 2
    assert busiest([(0.0, 1), (0.5, 1), (0.999, 1)], 2) == 3
    assert busiest([(0.0, 3)], 3) == 3  # at 0, 1/3 and 2/3
    assert busiest([(0.0, 4)], 2) == 2  # at 0, 0.5 | 1.0, 1.5


async def test_one_sender_is_spaced_at_its_mps_and_loses_no_time(redis: Redis, prefix: str) -> None:
    pacer = await prepared(redis, prefix=prefix)
    offset = await clock_offset(redis)
    sends = await send_all(pacer, [("+14155550100", 50)], [1] * 100)
    assert_paced(sends, 50, offset)
    assert_no_time_lost(sends, 50)
    assert duration(sends, 50) >= 100 / 50 - lateness_spread(sends)


async def test_a_message_costs_its_segments(redis: Redis, prefix: str) -> None:
    pacer = await prepared(redis, prefix=prefix)
    offset = await clock_offset(redis)
    sends = await send_all(pacer, [("+14155550100", 30)], [3] * 15)
    assert_paced(sends, 30, offset)
    assert_no_time_lost(sends, 30)  # three segments' time each


async def test_a_message_longer_than_a_second_of_mps_goes_then_holds_the_number(
    redis: Redis, prefix: str
) -> None:
    pacer = await prepared(redis, prefix=prefix)
    sender = [("+14155550100", 30.0)]
    first = await pacer.reserve(sender, 45)
    assert first is not None and first.wait == 0.0
    assert await pacer.reserve(sender, 1) is None
    assert 1.25 < await pacer.next_free(sender) <= 1.5


CHILD = """
import asyncio, json, sys, time
from redis.asyncio import Redis
from tests.worker.test_pacing import take
from worker.pacing import Pacer

async def send_until(pacer, mps, end):
    while (sent := await take(pacer, [("+14155550100", mps)], 1, clock=time.time)).sent < end:
        print(json.dumps([sent.at, sent.sent]))

async def main(url, prefix, mps, seconds, tasks):
    redis = Redis.from_url(url)
    pacer = Pacer(redis, prefix=prefix)
    await redis.ping()
    print("ready", flush=True)
    start = float(await asyncio.to_thread(sys.stdin.readline))  # the same for both
    await asyncio.sleep(start - time.time())
    await asyncio.gather(*(send_until(pacer, mps, start + seconds) for _ in range(tasks)))
    await redis.aclose()

url, prefix, mps, seconds, tasks = sys.argv[1:]
asyncio.run(main(url, prefix, float(mps), float(seconds), int(tasks)))
"""


async def test_two_processes_share_one_number_without_exceeding_or_wasting_it(
    redis: Redis, prefix: str
) -> None:
    mps, seconds = 40, 2.0
    # A few sends in flight per process, as in the worker: a late wake-up then loses no capacity.
    args = [redis_url(), prefix, str(mps), str(seconds), "3"]
    offset = await clock_offset(redis, time.time)
    await prepared(redis, prefix=prefix)
    pipes = {"stdin": asyncio.subprocess.PIPE, "stdout": asyncio.subprocess.PIPE}
    children = [
        await asyncio.create_subprocess_exec(sys.executable, "-c", CHILD, *args, cwd=ROOT, **pipes)
        for _ in range(2)
    ]
    # Both start together once both are up: an interpreter's start takes a second or more on a
    # busy machine, and one that missed the start would prove nothing.
    async with asyncio.timeout(60):
        for child in children:
            assert child.stdout is not None and await child.stdout.readline() == b"ready\n"
    start = time.time() + 0.2
    for child in children:
        assert child.stdin is not None
        child.stdin.write(f"{start}\n".encode())
        await child.stdin.drain()
    outputs = [await child.communicate() for child in children]
    assert [child.returncode for child in children] == [0, 0]
    per_process = [
        [Sent("+14155550100", 1, *json.loads(line)) for line in out.splitlines()]
        for out, _ in outputs
    ]
    sends = [s for sends in per_process for s in sends]
    assert_paced(sends, mps, offset)
    assert len(sends) >= 0.95 * mps * seconds, len(sends)
    assert all(len(own) >= 0.3 * len(sends) for own in per_process), [len(p) for p in per_process]


async def test_several_numbers_add_up_and_each_keeps_its_own_mps(redis: Redis, prefix: str) -> None:
    pool = [("+14155550100", 20.0), ("+14155550101", 20.0), ("+14155550102", 20.0)]
    pacer = await prepared(redis, prefix=prefix)
    offset = await clock_offset(redis)
    sends = await send_all(pacer, pool, [1] * 90)
    for sender, mps in pool:
        own = [s for s in sends if s.sender == sender]
        # About a third each: the soonest free goes next, and a late wake-up may change which.
        assert len(own) >= 25, [s.sender for s in sends]
        assert_paced(own, mps, offset)
    # They add up: a message waits only while every number is busy, and then for the first
    # number free again.
    free: dict[str, float] = {}
    for sent in sends:
        soonest = min(free.get(sender, -math.inf) for sender, _ in pool)
        assert sent.wait == 0.0 or sent.at <= soonest + 1e-5, sent
        free[sent.sender] = sent.at + 1 / 20


# The tests below make their calls back to back and read the outcome from the numbers' order.
# Rates are slow so that even a 200 ms stall of a busy machine between calls changes nothing.


async def test_the_sticky_number_is_kept_until_it_is_saturated(redis: Redis, prefix: str) -> None:
    a, b, c = "+14155550100", "+14155550101", "+14155550102"
    pool = [(a, 2.0), (b, 2.0), (c, 2.0)]
    pacer = await prepared(redis, prefix=prefix, horizon=1.2)
    slots = [await pacer.reserve(pool, 1, sticky=b, tolerance=5.0) for _ in range(5)]
    # b books 0, 0.5 and 1 s ahead; at 1.5 s it is beyond the horizon, and a and c, free now,
    # take over even though b is well within the tolerance.
    assert [slot.sender if slot else None for slot in slots] == [b, b, b, a, c]
    assert [slot.wait if slot else None for slot in slots][3:] == [0.0, 0.0]


async def test_the_sticky_number_is_abandoned_beyond_the_tolerance(
    redis: Redis, prefix: str
) -> None:
    a, b, c = "+14155550100", "+14155550101", "+14155550102"
    pool = [(a, 2.0), (b, 2.0), (c, 2.0)]
    pacer = await prepared(redis, prefix=prefix, horizon=5.0)
    slots = [await pacer.reserve(pool, 1, sticky=b, tolerance=0.6) for _ in range(5)]
    # b at 0 and 0.5 s; at 1 s it is too far behind a and c, which are free now. Once a is booked
    # to 0.5 s, b at 1 s is back within the tolerance of the soonest.
    assert [slot.sender if slot else None for slot in slots] == [b, b, a, c, b]
    unknown = await pacer.reserve(pool, 1, sticky="+14155550199")
    assert unknown is not None and unknown.sender in (a, c)


async def test_nothing_is_booked_beyond_the_horizon(redis: Redis, prefix: str) -> None:
    slow, fast = "+14155550100", "+14155550101"
    pool = [(slow, 1.25), (fast, 2.5)]
    pacer = await prepared(redis, prefix=prefix, horizon=1.0)
    slots = [await pacer.reserve(pool, 1) for _ in range(6)]
    # slow books 0 and 0.8 s ahead, fast 0, 0.4 and 0.8 s; then slow is at 1.6 s, fast at 1.2 s.
    assert [slot.sender if slot else None for slot in slots] == [slow, fast, fast, slow, fast, None]
    fields = [sender for sender, _ in pool]
    before = await redis.hmget(pacer.schedule_key, fields)
    assert await pacer.reserve(pool, 1) is None
    assert await redis.hmget(pacer.schedule_key, fields) == before

    fast_free = int(before[1]) / 1e6  # the key holds when fast is free again, in Redis time
    earlier = await redis_now(redis)
    wait = await pacer.next_free(pool)
    later = await redis_now(redis)
    assert fast_free - later - 1e-6 <= wait <= fast_free - earlier + 1e-6
    assert await pacer.next_free([("+14155550199", 1.0)]) == 0.0


async def test_every_number_is_paced_in_one_key_and_free_once_its_time_has_passed(
    redis: Redis, prefix: str
) -> None:
    pacer = await prepared(redis, prefix=prefix)
    pool = [(f"+141555501{i:02d}", 10.0) for i in range(20)]
    slots = await pacer.reserve_many(pool, [(2, None)] * 20)
    assert len({slot.sender for slot in slots}) == 20
    # One hash for the twenty numbers: a booking reads and writes them in a command each.
    assert [key async for key in redis.scan_iter(match=f"{prefix}*")] == [
        pacer.schedule_key.encode()
    ]
    await asyncio.sleep(0.25)  # two segments at 10 MPS: the numbers are free again
    assert await pacer.next_free(pool) == 0.0
    again = await pacer.reserve_many(pool, [(1, None)] * 20)
    assert [slot.wait for slot in again] == [0.0] * 20


async def test_after_a_flush_pacing_starts_behind_every_slot_booked_before_it(
    redis: Redis, prefix: str
) -> None:
    pacer = await prepared(redis, prefix=prefix)
    sender = [("+14155550100", 50.0)]
    await send_all(pacer, sender, [1] * 5)
    for _ in range(50):
        if await pacer.reserve(sender, 1) is None:
            break  # booked up to the horizon
    else:
        pytest.fail("the horizon never filled up")
    held_until = int(await redis.hget(pacer.schedule_key, "+14155550100")) / 1e6  # Redis time
    # A flush: every key (the schedule, with its epoch), and the scripts.
    await redis.delete(*[key async for key in redis.scan_iter(match=f"{prefix}*")])
    await redis.script_flush()
    sha = hashlib.sha1(PACING_SCRIPT.encode()).hexdigest()
    assert await redis.script_exists(sha) == [False]
    flushed_at = await redis_now(redis)
    # The slots booked before are still held by whoever booked them: nothing new goes among them.
    assert await pacer.reserve(sender, 1) is None
    assert await redis.script_exists(sha) == [True]
    guard = pacer.horizon + LONGEST_MESSAGE / 50
    assert guard - 0.05 <= await pacer.next_free(sender) <= guard
    offset = await clock_offset(redis)
    sends = await send_all(pacer, sender, [1] * 20)
    assert_paced(sends, 50, offset)
    assert sends[0].at >= held_until
    assert sends[0].at - flushed_at <= guard + 0.05  # ...and not much later
    # Once that is over, a number without a key is only idle: free at once.
    assert await pacer.next_free([("+14155550199", 50.0)]) == 0.0


async def test_pushing_back_after_a_flush_starts_behind_the_slots_booked_before(
    redis: Redis, prefix: str
) -> None:
    pacer = await prepared(redis, prefix=prefix, horizon=0.25)
    await redis.delete(pacer.schedule_key)  # flushed
    flushed_at = await redis_now(redis)
    await pacer.push_back("+14155550100", 10.0, delay=0.1, cost=1)
    tat = int(await redis.hget(pacer.schedule_key, "+14155550100")) / 1e6
    guard = 0.25 + LONGEST_MESSAGE / 10
    assert flushed_at + guard + 0.1 <= tat <= flushed_at + guard + 0.15


async def test_a_batch_books_what_one_call_per_message_would(redis: Redis, prefix: str) -> None:
    a, b, c = "+14155550100", "+14155550101", "+14155550102"
    pool = [(a, 2.0), (b, 2.0), (c, 2.0)]
    stickies = [b, b, None, c, a, b, b, b]
    one_by_one = await prepared(redis, prefix=prefix + "one:", horizon=5.0)
    singles = [await one_by_one.reserve(pool, 1, sticky=s, tolerance=0.6) for s in stickies]
    batched = await prepared(redis, prefix=prefix + "batch:", horizon=5.0)
    slots = await batched.reserve_many(pool, [(1, s) for s in stickies], tolerance=0.6)
    assert [slot.sender for slot in slots] == [slot.sender if slot else None for slot in singles]
    # One instant for the whole batch: each number's slots are exactly 1/MPS apart.
    for sender in (a, b, c):
        starts = [slot.at for slot in slots if slot.sender == sender]
        assert all(
            abs(later - earlier - 0.5) < 1e-5 for earlier, later in itertools.pairwise(starts)
        )
    waits = {round(slot.at - slot.wait, 3) for slot in slots}  # the script's instant, recovered
    assert len(waits) == 1


async def test_a_batch_books_only_up_to_the_horizon(redis: Redis, prefix: str) -> None:
    sender = [("+14155550100", 4.0)]
    pacer = await prepared(redis, prefix=prefix, horizon=1.0)
    slots = await pacer.reserve_many(sender, [(1, None)] * 10)
    # 0, 0.25, 0.5, 0.75 and 1.0 s ahead; the sixth would start beyond the horizon.
    assert [round(slot.wait, 3) for slot in slots] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert await pacer.reserve_many(sender, [(1, None)] * 3) == []
    assert 1.0 < await pacer.next_free(sender) <= 1.25
    with pytest.raises(ValueError, match="segment"):
        await pacer.reserve_many(sender, [(1, None), (0, None)])


async def test_a_batch_counts_each_message_by_its_segments(redis: Redis, prefix: str) -> None:
    pacer = await prepared(redis, prefix=prefix, horizon=2.0)
    costs = [3, 1, 4]
    slots = await pacer.reserve_many([("+14155550100", 10.0)], [(cost, None) for cost in costs])
    assert [round(slot.wait, 3) for slot in slots] == [0.0, 0.3, 0.4]
    assert busiest([(s.at, cost) for s, cost in zip(slots, costs, strict=True)], 10) <= 10


async def test_pushing_back_moves_every_later_slot_and_covers_the_burst(
    redis: Redis, prefix: str
) -> None:
    sender = [("+14155550100", 10.0)]
    pacer = await prepared(redis, prefix=prefix, horizon=2.0)
    before = await pacer.reserve_many(sender, [(1, None)] * 3)  # 0.0, 0.1, 0.2 from now
    await pacer.push_back("+14155550100", 10.0, delay=0.5, cost=1)
    (after,) = await pacer.reserve_many(sender, [(1, None)])
    assert after.at - before[-1].at == pytest.approx(0.1 + 0.5, abs=0.01)
    # An idle number: the burst that goes now is covered, whatever the delay.
    idle = await prepared(redis, prefix=prefix + "idle:", horizon=2.0)
    await idle.push_back("+14155550100", 10.0, delay=0.001, cost=5)
    (next_one,) = await idle.reserve_many(sender, [(1, None)])
    assert next_one.wait == pytest.approx(0.5, abs=0.02)


async def test_a_slot_booked_on_a_slow_answer_is_placed_by_the_quick_ones(
    redis: Redis, prefix: str
) -> None:
    """The pacer's wait counts from its script's instant, somewhere in the round trip. A reply
    read 60 ms late (a starved loop) dated from its answer would put its slot 60 ms late beside
    the slots of quick bookings: the loop's clock is learnt from the quick ones."""
    sender = [("+14155550100", 10.0)]
    pacer = await prepared(redis, prefix=prefix, horizon=2.0)
    loop = asyncio.get_running_loop()
    (quick,) = await pacer.reserve_many(sender, [(1, None)])
    assert 0 <= quick.due - quick.earliest < 0.05  # within its own round trip
    run = pacer._run

    async def read_late(*args: Any, **kwargs: Any) -> list[tuple[int, int, int]]:
        reply = await run(*args, **kwargs)
        await asyncio.sleep(0.060)
        return reply

    pacer._run = read_late  # type: ignore[method-assign]
    (slow,) = await pacer.reserve_many(sender, [(1, None)])
    answered = loop.time()
    assert slow.at - quick.at == pytest.approx(0.1, abs=1e-5)
    # Where the quick booking put Redis's clock, up to its round trip and the drift allowed.
    assert slow.due - quick.due == pytest.approx(0.1, abs=quick.due - quick.earliest + 0.001)
    assert slow.due < answered + slow.wait - 0.040  # not dated from the late answer
