"""A sender's lane: requests go at their slots' times; a little late, they go at once with the
number's schedule pushed back; after a stall, the slots it covered are lost and what waits behind
moves up into the slots that are left."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from worker.lanes import MAX_LATENESS, MAX_START_DELAY, PUSH_LIMIT, RECOVERY, Lane


@dataclass(frozen=True)
class Item:
    id: int


def lane_of(count: int, *, every: float = 0.1, cost: int = 1) -> Lane[Item]:
    lane: Lane[Item] = Lane("+14155550100")
    for i in range(count):
        lane.add(Item(i), cost, due=1.0 + i * every)
    return lane


def items(pairs: list[tuple[Item, float]]) -> list[Item]:
    return [item for item, _ in pairs]


def test_requests_go_at_their_slots_in_order() -> None:
    lane = lane_of(3)
    assert lane.next_due() == 1.0
    handed = lane.take_due(1.0)
    assert (handed.go, handed.push, handed.again) == ([(Item(0), 1.0)], 0.0, [])
    handed = lane.take_due(1.1 + MAX_LATENESS / 2)  # a little late: as it is
    assert items(handed.go) == [Item(1)] and handed.push == 0.0
    assert items(lane.take_due(1.2).go) == [Item(2)]
    assert len(lane) == 0 and lane.lost == 0


def test_woken_late_the_due_requests_go_at_once_with_the_schedule_pushed_back() -> None:
    lane = lane_of(6, every=0.01, cost=2)  # 1.00 ... 1.05
    handed = lane.take_due(1.032)  # 32 ms late for the first: four are due
    assert items(handed.go) == [Item(0), Item(1), Item(2), Item(3)]
    assert handed.push == pytest.approx(0.032) and handed.cost == 8
    assert handed.again == [] and lane.lost == 0  # no slot lost
    assert lane.next_due() == pytest.approx(1.04)  # the rest keep theirs


def test_a_process_that_writes_requests_late_pushes_the_schedule_back_even_on_time() -> None:
    lane = lane_of(3)
    handed = lane.take_due(1.0, lag=MAX_START_DELAY / 2)  # written within the slot's allowance
    assert items(handed.go) == [Item(0)] and not handed.pushed
    # Busier now: a request handed out on time would be written 30 ms late, and lose its slot.
    handed = lane.take_due(1.1, lag=0.030)
    assert items(handed.go) == [Item(1)] and handed.pushed
    assert handed.push == 0.0 and handed.cost == 1  # on time: the lag is what moves it back
    handed = lane.take_due(1.2 + MAX_LATENESS / 2, lag=MAX_START_DELAY - MAX_LATENESS / 4)
    assert handed.pushed and handed.push == pytest.approx(MAX_LATENESS / 2)
    assert lane.lost == 0


def test_after_a_stall_the_slots_it_covered_are_lost_and_the_rest_move_up() -> None:
    lane = lane_of(6)  # slots at 1.0, 1.1, ... 1.5
    handed = lane.take_due(1.0 + PUSH_LIMIT + 0.04)  # a stall: 290 ms late
    assert handed.go == [] and handed.push == 0.0
    # 1.0-1.3 have gone by (1.3 within the recovery after the stall): four have no slot left.
    assert handed.again == [Item(2), Item(3), Item(4), Item(5)]
    assert lane.lost == 4
    assert [(item, slot.due) for (item, _), slot in zip(lane.waiting, lane.slots, strict=True)] == [
        (Item(0), 1.4), (Item(1), 1.5),
    ]  # fmt: skip
    assert RECOVERY + MAX_LATENESS < 0.1  # (what the numbers above assume)


def test_a_slot_too_small_is_skipped_for_a_bigger_message() -> None:
    lane: Lane[Item] = Lane("+14155550100")
    lane.add(Item(0), 2, due=1.0)
    lane.add(Item(1), 1, due=1.3)
    lane.add(Item(2), 1, due=1.4)
    handed = lane.take_due(1.0 + PUSH_LIMIT + 0.01)  # a stall: the 2-segment slot is gone
    # Item 0 needs 2 segments: no slot left fits it; the two small ones keep theirs.
    assert [(item, slot.due) for (item, _), slot in zip(lane.waiting, lane.slots, strict=True)] == [
        (Item(1), 1.3), (Item(2), 1.4),
    ]  # fmt: skip
    assert handed.again == [Item(0)] and lane.lost == 1


def test_removed_items_take_their_slots_with_them() -> None:
    lane = lane_of(4)
    assert lane.remove({1, 3}) == [Item(1), Item(3)]
    assert [item for item, _ in lane.waiting] == [Item(0), Item(2)]
    assert [slot.due for slot in lane.slots] == [1.0, 1.2]
    assert lane.drain() == [Item(0), Item(2)] and lane.next_due() is None


def test_a_slot_known_only_roughly_is_judged_late_from_the_soonest_it_may_be() -> None:
    """Redis's clock is known on the loop's only to within a round trip: a slot goes at the
    latest it may be, and must leave within MAX_START_DELAY of the soonest (CI16: six creates in
    0.999 s at 5 MPS from two workers); when the two are far apart, the schedule is pushed."""
    lane: Lane[Item] = Lane("+14155550100")
    lane.add(Item(0), 1, due=1.0, earliest=0.998)  # known closely: as it is
    lane.add(Item(1), 1, due=1.2, earliest=1.2 - MAX_LATENESS - 0.002)  # known roughly
    assert lane.next_due() == 1.0  # never early
    quick = lane.take_due(1.0)
    assert quick.go == [(Item(0), 0.998)] and not quick.pushed
    slow = lane.take_due(1.2)
    assert slow.go == [(Item(1), pytest.approx(1.2 - MAX_LATENESS - 0.002))]
    assert slow.pushed and slow.push == pytest.approx(MAX_LATENESS + 0.002)
