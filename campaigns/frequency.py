"""The frequency cap: at most N campaign messages to one number in a rolling window, counting
every campaign (`FREQUENCY_CAP=1/24h`; also minutes `m` and days `d`). Test sends and one-to-one
replies from Slack are not campaign messages and neither count nor are capped."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

FREQUENCY_CAP = "frequency_cap"  # the reason a capped recipient fails with
_CAP = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*([mhd])\s*$", re.IGNORECASE)
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


@dataclass(frozen=True, slots=True)
class FrequencyCap:
    messages: int
    window: timedelta

    def __str__(self) -> str:
        seconds = int(self.window.total_seconds())
        for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
            if seconds % size == 0:
                return f"{self.messages}/{seconds // size}{unit}"
        return f"{self.messages}/{seconds // 60}m"  # pragma: no cover - whole minutes only

    def describe(self) -> str:
        """'1 message in 24 hours'."""
        seconds = int(self.window.total_seconds())
        hours, days = seconds / 3_600, seconds / 86_400
        minutes = seconds // 60
        span = (f"{days:g} days" if days >= 2 and days.is_integer()
                else f"{hours:g} hour{'s' if hours != 1 else ''}" if hours >= 1
                else f"{minutes} minute{'s' if minutes != 1 else ''}")  # fmt: skip
        return f"{self.messages} message{'s' if self.messages != 1 else ''} in {span}"


def parse_frequency_cap(text: str | None) -> FrequencyCap | None:
    """`1/24h` as a cap; empty or None: no cap. ValueError saying how to write it otherwise."""
    if text is None or not text.strip():
        return None
    match = _CAP.match(text)
    if match is None:
        raise ValueError(
            f"{text!r} is not a frequency cap: write messages/window, like 1/24h, 2/7d or 1/90m"
        )
    count, size, unit = int(match.group(1)), int(match.group(2)), match.group(3).lower()
    if count < 1 or size < 1:
        raise ValueError(f"{text!r}: the messages and the window must be at least 1")
    return FrequencyCap(count, timedelta(**{_UNITS[unit]: size}))
