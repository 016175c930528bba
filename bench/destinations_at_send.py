"""What the send loop pays to check destinations again at send time, per message.

    .venv/bin/python bench/destinations_at_send.py [--claims 500] [--rounds 40]

Times `Driver._refused_destinations` on claims of UK and US mobiles (a claim holds at most 500),
for a campaign whose list was checked against today's ALLOWED_COUNTRIES when it was read, and
for one stored before destinations were checked (or before the setting was narrowed), which is
checked message by message. No database, Redis or Twilio: only the check itself.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from campaigns.service.claims import Claimed
from campaigns.settings import Settings
from worker.engine import Driver, Work


def claims(count: int) -> list[Work]:
    now = datetime.now(UTC)
    phones = [f"+447400{i:06d}" if i % 2 else f"+1212555{i % 10_000:04d}" for i in range(count)]
    return [
        Work(Claimed(id=i, phone=phone, variables={}, segments=1, sender=None, claimed_at=now,
                     unknown_since=None, taken_at=None, closes_at=None))
        for i, phone in enumerate(phones)
    ]  # fmt: skip


def driver(settings: Settings, import_report: dict[str, Any]) -> Driver:
    """A Driver with only what the check reads (no runtime, nothing started)."""
    loop = object.__new__(Driver)
    loop.campaign = SimpleNamespace(source="api", import_report=import_report)  # type: ignore[assignment]
    loop.rt = SimpleNamespace(settings=settings)  # type: ignore[assignment]
    recheck = getattr(Driver, "_destinations_to_recheck", None)  # not in the code before
    if recheck is not None:
        started = time.perf_counter()
        loop.recheck = recheck(loop)
        print(f"   once per loop, at its start: {(time.perf_counter() - started) * 1e6:.1f} µs")
    return loop


def per_message(loop: Driver, batch: list[Work], rounds: int) -> float:
    started = time.perf_counter()
    for _ in range(rounds):
        loop._refused_destinations(batch)
    return (time.perf_counter() - started) / (rounds * len(batch)) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--claims", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    settings = Settings(_env_file=None, SENDER_NUMBERS="+14155550100", ALLOWED_COUNTRIES="GB,US")  # type: ignore[call-arg]
    batch = claims(args.claims)
    checked = {"checked_destinations": {"countries": ["GB", "US"]}}  # as a list read today is
    for name, report in (("list checked when read", checked), ("list stored unchecked", {})):
        print(f"{name}:")
        loop = driver(settings, report)
        cost = per_message(loop, batch, args.rounds)
        print(
            f"   per message in the send loop: {cost:.2f} µs ({args.claims} claims x {args.rounds})"
        )


if __name__ == "__main__":
    main()
