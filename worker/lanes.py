"""One sender number's booked send slots, and the requests waiting for them, in time order.

The pacer in Redis books slots; a lane hands them out. A request goes at its slot's time, or not
at all: woken later than MAX_LATENESS (the event loop was busy), it would bunch up with the next
ones and could put more than the number's MPS into one second. A late slot is lost (its time has
passed, for every campaign on the number), but the requests behind it are not: each moves up to
the next slot this lane booked, so a stall of the event loop costs the slots it covered and no
more, and only the requests left without a slot at the end are booked again, in one round trip.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Generic, TypeVar

# A request may go this long after its slot: the 2% pacing margin leaves 20 ms in every second
# (see worker/engine.py), half of it for lateness here and half for what follows the last check
# (the network, and the turn of the event loop on which the request is written).
MAX_LATENESS = 0.010
# Woken this late, the event loop was stalled (a long GC pause, a blocking call) and has a
# backlog to catch up on: requests due in the next RECOVERY seconds would be written late, after
# it, so their slots are given up too. A stall costs its slots and one or two more.
STALL = 0.050
RECOVERY = 0.020

Item = TypeVar("Item")


@dataclass(slots=True)
class Booked:
    due: float  # the slot's start on this event loop's clock
    cost: int  # segments the slot was booked for


@dataclass
class Lane(Generic[Item]):
    sender: str
    slots: deque[Booked] = field(default_factory=deque)
    waiting: deque[tuple[Item, int]] = field(default_factory=deque)  # (item, its cost), in order
    lost: int = 0  # slots given up because the loop woke too late for them

    def __len__(self) -> int:
        return len(self.waiting)

    def add(self, item: Item, cost: int, due: float) -> None:
        """Queue `item` for a slot booked at `due` for `cost` segments (slots come in order)."""
        self.slots.append(Booked(due, cost))
        self.waiting.append((item, cost))

    def next_due(self) -> float | None:
        return self.slots[0].due if self.slots else None

    def take_due(self, now: float) -> tuple[list[tuple[Item, float]], list[Item]]:
        """What may go now (each with its slot's time), and what lost its slot and must be
        booked again (oldest first). Call it at or after `next_due()`.
        """
        go: list[tuple[Item, float]] = []
        while self.slots and self.slots[0].due <= now:
            late = now - self.slots[0].due
            if late > MAX_LATENESS or self.waiting[0][1] > self.slots[0].cost:
                return go, self._repack(now + RECOVERY + MAX_LATENESS if late > STALL else now)
            go.append((self.waiting.popleft()[0], self.slots.popleft().due))
        return go, []

    def _repack(self, now: float) -> list[Item]:
        """Give up the slots whose time has passed by `now`, and hand the rest out again in order,
        each to the next request it is big enough for; the requests left over are returned."""
        fresh: list[Booked | None] = [s for s in self.slots if now - s.due <= MAX_LATENESS]
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
