"""Sticky sender choice: a recipient keeps its number, and each number gets its share of recipients."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter

import pytest

from campaigns.senders import preferred_senders, sticky_sender

POOL = [("+14155550100", 1), ("+14155550101", 2), ("+14155550102", 3)]
PHONES = [f"+4477{i:08d}" for i in range(20_000)]


def firsts(pool: list[tuple[str, int]]) -> list[str]:
    return [preferred_senders(phone, pool)[0] for phone in PHONES]


def test_the_same_phone_gets_the_same_order_whatever_the_pool_order() -> None:
    order = preferred_senders("+447700900123", POOL)
    assert sorted(order) == sorted(sender for sender, _ in POOL)
    assert preferred_senders("+447700900123", POOL) == order
    assert preferred_senders("+447700900123", list(reversed(POOL))) == order


def test_each_number_is_first_for_a_share_proportional_to_its_mps() -> None:
    counts = Counter(firsts(POOL))
    total = sum(weight for _, weight in POOL)
    for sender, weight in POOL:
        share = counts[sender] / len(PHONES)
        assert share == pytest.approx(weight / total, rel=0.05), (sender, share)


def test_adding_a_number_moves_only_the_phones_it_takes() -> None:
    pool = [(f"+1415555010{i}", 5) for i in range(4)]
    before = firsts(pool)
    after = firsts([*pool, ("+14155550199", 5)])
    moved = [(old, new) for old, new in zip(before, after, strict=True) if old != new]
    # Equal weights: the new number should take about 1/5 of the phones, and only those move.
    assert len(moved) / len(PHONES) == pytest.approx(1 / 5, abs=0.02)
    assert all(new == "+14155550199" for _, new in moved)


def test_removing_a_number_moves_only_its_own_phones() -> None:
    before = firsts(POOL)
    after = firsts(POOL[:2])
    assert all(old == new for old, new in zip(before, after, strict=True) if old != POOL[2][0])


def test_a_non_positive_weight_is_refused() -> None:
    with pytest.raises(ValueError, match="must be positive"):
        preferred_senders("+447700900123", [("+14155550100", 0)])


def test_the_order_is_the_same_in_another_process_with_another_hash_seed() -> None:
    phones = PHONES[:200]
    script = (
        "import json, sys\n"
        "from campaigns.senders import preferred_senders\n"
        "phones, pool = json.loads(sys.stdin.read())\n"
        "print(json.dumps([preferred_senders(p, [tuple(s) for s in pool]) for p in phones]))\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    done = subprocess.run(
        [sys.executable, "-c", script],
        input=json.dumps([phones, POOL]),
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert json.loads(done.stdout) == [preferred_senders(phone, POOL) for phone in phones]


def test_the_sticky_sender_is_the_first_preferred_one() -> None:
    pool = [("+14155550100", 1), ("+14155550101", 5), ("+14155550102", 10), ("+14155550103", 5)]
    for i in range(2_000):
        phone = f"+447400{i:06d}"
        assert sticky_sender(phone, pool) == preferred_senders(phone, pool)[0]


def test_a_recipient_keeps_the_number_earlier_versions_gave_it() -> None:
    # What the sticky choice was before it was computed once per pool (StickyPicker): a change
    # of hash would move recipients to new numbers between one campaign and the next.
    weights = [1, 5, 25, 25, 10, 3]
    pool = [(f"+141555501{i:02d}", w) for i, w in enumerate(weights)]
    before = "4 2 3 4 2 5 2 4 2 2 4 2 2 3 1 2 3 4 3 4".split()
    picked = [sticky_sender(f"+4477009{i:05d}", pool) for i in range(0, 40_000, 2_000)]
    assert picked == [f"+141555501{n.zfill(2)}" for n in before]
