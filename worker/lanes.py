"""One sender number's booked send slots, and the requests waiting for them, in time order.

The pacer in Redis books slots; a lane hands them out. A request goes at its slot's time. Woken
a little late (the event loop was busy), the requests due go at once, all of them, and the
number's schedule moves back by as much (`Pacer.push_back`), so that no second holds more than
its MPS and no slot is lost. The same happens on time when the process has lately been slow to
write what it hands out (worker/lag.py): the requests would reach the wire late. Woken very late (a stall: a long GC pause, a blocking call, a
stopped process), the slots whose time has passed are given up, for every campaign on the
number, but the requests behind them are not: each moves up to the next slot this lane booked,
and only the ones left without a slot are booked again, in one round trip.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Generic, TypeVar

# A request may go this long after its slot as it is: the 2% pacing margin leaves 20 ms in every
# second (see worker/engine.py), half of it for lateness here and half for what follows the last
# check (the network, and the turn of the event loop on which the request is written).
MAX_LATENESS = 0.010
# A request's own task starts on a later turn of the event loop than its hand-out: it may start
# up to this long after the soonest its slot may be before it is booked again. Most of the 2%
# margin's 20 ms, the rest for what follows the last check (CI16, loaded: two workers' creates
# spent all 20 ms and more, six in 0.999 s on a 5 MPS number).
MAX_START_DELAY = 0.015
# Later than MAX_LATENESS, up to PUSH_LIMIT, the requests go with the schedule pushed back (the pacer's
# 0.25 s horizon plus this must stay under a second: see Pacer.push_back). Later still, the loop
# was stalled and has a backlog to catch up on: requests due in the next RECOVERY seconds would
# be written late, behind it, so their slots are given up too.
PUSH_LIMIT = 0.250
RECOVERY = 0.020

Item = TypeVar("Item")


@dataclass
class Due(Generic[Item]):
    """What a lane hands out at a given moment."""

    go: list[tuple[Item, float]] = field(default_factory=list)  # (request, its slot's time)
    push: float = 0.0  # seconds to push the number's schedule back before they go
    pushed: bool = False  # they go only once the schedule is pushed back (by `push` and more)
    cost: int = 0  # their segments, all together
    again: list[Item] = field(default_factory=list)  # lost their slot: to be booked again


@dataclass(slots=True)
class Booked:
    due: float  # the slot's start on this event loop's clock, at the latest: never early
    cost: int  # segments the slot was booked for
    # The soonest the slot may truly start: Redis's clock is known on the loop's only to within
    # the quickest recent round trip (worker/redis_clock.py). Lateness is judged from it.
    earliest: float = 0.0

    def __post_init__(self) -> None:
        self.earliest = min(self.earliest, self.due)


@dataclass
class Lane(Generic[Item]):
    sender: str
    slots: deque[Booked] = field(default_factory=deque)
    waiting: deque[tuple[Item, int]] = field(default_factory=deque)  # (item, its cost), in order
    lost: int = 0  # slots given up because the loop woke too late for them

    def __len__(self) -> int:
        return len(self.waiting)

    def add(self, item: Item, cost: int, due: float, earliest: float | None = None) -> None:
        """Queue `item` for a slot booked at `due` for `cost` segments (slots come in order);
        `earliest`: the soonest the slot may truly start (see worker/redis_clock.py)."""
        self.slots.append(Booked(due, cost, due if earliest is None else earliest))
        self.waiting.append((item, cost))

    def next_due(self) -> float | None:
        return self.slots[0].due if self.slots else None

    def take_due(self, now: float, lag: float = 0.0) -> Due[Item]:
        """What goes now (each with its slot's time), how far the schedule must be pushed back
        first, and what lost its slot and must be booked again (oldest first).

        `lag`: how long the process takes these days to write a request it hands out (see
        worker/lag.py). If that would write them past MAX_START_DELAY, the schedule is pushed
        back first too, even if they are on time now. Call it at or after `next_due()`.
        """
        due = 0
        while due < len(self.slots) and self.slots[due].due <= now:
            if self.waiting[due][1] > self.slots[due].cost:  # mixed sizes after a repack
                return Due(again=self._repack(now))
            due += 1
        if not due:
            return Due()
        # Judged from the soonest the slot may truly start: a request must never leave more
        # than MAX_START_DELAY after the pacer's instant, however slowly its booking came back.
        late = now - self.slots[0].earliest
        if late > PUSH_LIMIT:
            return Due(again=self._repack(now + RECOVERY + MAX_LATENESS))
        go: list[tuple[Item, float]] = []
        cost = 0
        for _ in range(due):
            item, size = self.waiting.popleft()
            go.append((item, self.slots.popleft().earliest))
            cost += size
        if late <= MAX_LATENESS and late + lag <= MAX_START_DELAY:
            return Due(go=go)
        return Due(go=go, push=max(late, 0.0), cost=cost, pushed=True)

    def _repack(self, now: float) -> list[Item]:
        """Give up the slots whose time has passed by `now`, and hand the rest out again in order,
        each to the next request it is big enough for; the requests left over are returned."""
        fresh: list[Booked | None] = [s for s in self.slots if now - s.earliest <= MAX_LATENESS]
        pairs: list[tuple[Booked, tuple[Item, int]]] = []
        rebook: list[Item] = []
        first = 0  # fresh[:first] are all taken
        for item, cost in self.waiting:
            while first < len(fresh) and fresh[first] is None:
                first += 1
            # The soonest slot left that is big enough (the first, unless sizes are mixed).
            index = next(
                (
                    i
                    for i in range(first, len(fresh))
                    if (slot := fresh[i]) is not None and slot.cost >= cost
                ),
                None,
            )
            if index is None:
                rebook.append(item)
                continue
            slot = fresh[index]
            assert slot is not None
            fresh[index] = None
            pairs.append((slot, (item, cost)))
        pairs.sort(key=lambda pair: pair[0].due)
        self.lost += len(self.slots) - len(pairs)
        self.slots = deque(slot for slot, _ in pairs)
        self.waiting = deque(waiting for _, waiting in pairs)
        return rebook

    def drain(self) -> list[Item]:
        """Everything still waiting (the loop is stopping); their slots are given up."""
        items = [item for item, _ in self.waiting]
        self.slots.clear()
        self.waiting.clear()
        return items

    def remove(self, ids: set[int]) -> list[Item]:
        """Take out the waiting items whose `id` is in `ids`, with their slots."""
        slots: deque[Booked] = deque()
        kept: deque[tuple[Item, int]] = deque()
        gone: list[Item] = []
        for slot, (item, cost) in zip(self.slots, self.waiting, strict=True):
            if getattr(item, "id", None) in ids:
                gone.append(item)
            else:
                slots.append(slot)
                kept.append((item, cost))
        self.slots, self.waiting = slots, kept
        return gone
