"""A sender's lane: requests go at their slots' times; a late wake-up costs the slots it covered,
and what waits behind moves up into the slots that are left."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from worker.lanes import MAX_LATENESS, STALL, Lane


@dataclass(frozen=True)
class Item:
    id: int


def lane_of(count: int, *, every: float = 0.1, cost: int = 1) -> Lane[Item]:
    lane: Lane[Item] = Lane("+14155550100")
    for i in range(count):
        lane.add(Item(i), cost, due=1.0 + i * every)
    return lane


def test_requests_go_at_their_slots_in_order() -> None:
    lane = lane_of(3)
    assert lane.next_due() == 1.0
    go, again = lane.take_due(1.0)
    assert (go, again) == ([(Item(0), 1.0)], [])
    go, again = lane.take_due(1.1 + MAX_LATENESS / 2)  # a little late: still in time
    assert [item for item, _ in go] == [Item(1)] and again == []
    go, again = lane.take_due(1.2)
    assert [item for item, _ in go] == [Item(2)] and again == []
    assert len(lane) == 0 and lane.lost == 0


def test_a_late_wake_up_loses_the_slots_it_covered_and_the_rest_move_up() -> None:
    lane = lane_of(6)  # slots at 1.0, 1.1, ... 1.5
    go, again = lane.take_due(1.25)  # woke 250 ms late: 1.0, 1.1 and 1.2 have gone by
    assert go == []
    assert again == [Item(3), Item(4), Item(5)]  # the last three have no slot left
    assert lane.lost == 3
    # The first three take the slots that were left, in order.
    assert [(item, slot.due) for (item, _), slot in zip(lane.waiting, lane.slots, strict=True)] == [
        (Item(0), 1.3), (Item(1), 1.4), (Item(2), 1.5),
    ]  # fmt: skip


def test_a_slot_too_small_is_skipped_for_a_bigger_message() -> None:
    lane: Lane[Item] = Lane("+14155550100")
    lane.add(Item(0), 2, due=1.0)
    lane.add(Item(1), 1, due=1.2)
    lane.add(Item(2), 1, due=1.3)
    go, again = lane.take_due(1.15)  # the 2-segment slot at 1.0 is gone
    assert go == []
    # Item 0 needs 2 segments: no slot left fits it; the two small ones keep theirs.
    assert [(item, slot.due) for (item, _), slot in zip(lane.waiting, lane.slots, strict=True)] == [
        (Item(1), 1.2), (Item(2), 1.3),
    ]  # fmt: skip
    assert again == [Item(0)] and lane.lost == 1


def test_removed_items_take_their_slots_with_them() -> None:
    lane = lane_of(4)
    assert lane.remove({1, 3}) == [Item(1), Item(3)]
    assert [item for item, _ in lane.waiting] == [Item(0), Item(2)]
    assert [slot.due for slot in lane.slots] == [1.0, 1.2]
    assert lane.drain() == [Item(0), Item(2)] and lane.next_due() is None


def test_after_a_stall_the_slots_due_while_the_loop_catches_up_are_given_up_too() -> None:
    lane = lane_of(6, every=0.01)  # slots at 1.00, 1.01, ... 1.05
    go, again = lane.take_due(1.02 + STALL)  # a stall: 70 ms late for the first
    assert go == [] and len(again) == 6 and lane.lost == 6  # 1.00-1.05 all within recovery
    lane = lane_of(10, every=0.02)  # 1.00 ... 1.18
    go, again = lane.take_due(1.045)  # late, but no stall: only what has gone by is lost
    assert lane.lost == 2 and lane.next_due() == pytest.approx(1.04)
