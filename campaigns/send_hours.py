"""Sending hours: the time of day a recipient may be texted, in their own time zone.

`SEND_HOURS` (and a campaign's own `send_hours`) is `HH:MM-HH:MM` (seconds optional), read in
each recipient's local time, or `any`. The zone comes from the recipient's `time_zone` column
(a contact record's, or the CSV's) when it names one, else from the number: phonenumbers maps a
number to its zones, and a number that maps to several gets only the hours all of them allow,
because we cannot tell which one the phone is in. Daylight-saving changes are zoneinfo's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from phonenumbers.tzdata import TIMEZONE_DATA, TIMEZONE_LONGEST_PREFIX

ANY = "any"
_HOURS = re.compile(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*-\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*$")
# Variable names (compared without case, spaces or underscores) that hold a recipient's zone.
_ZONE_VARIABLES = frozenset({"timezone", "tz", "zone"})
_UNKNOWN = "Etc/Unknown"
_LOOK_AHEAD_DAYS = 3  # every window opens within a day; three cover any zone's DST change
ZONE_PREFIX_LENGTH = 1 + TIMEZONE_LONGEST_PREFIX  # "+" and the digits the zone table reads


@dataclass(frozen=True, slots=True)
class SendHours:
    """A daily window in local time: `start` up to (not including) `end`. A window whose end
    is before its start runs overnight (22:00-06:00)."""

    start: time
    end: time

    def __str__(self) -> str:
        return f"{_clock(self.start)}-{_clock(self.end)}"

    def allows(self, local: time) -> bool:
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end


def _clock(value: time) -> str:
    return f"{value:%H:%M:%S}" if value.second else f"{value:%H:%M}"


def parse_send_hours(text: str) -> SendHours | None:
    """`08:00-21:00` as SendHours, `any` as None; ValueError saying what is wrong otherwise."""
    if text.strip().lower() == ANY:
        return None
    match = _HOURS.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not sending hours: write them like 08:00-21:00, or any")
    h1, m1, s1, h2, m2, s2 = match.groups()
    try:
        start = time(int(h1), int(m1), int(s1 or 0))
        end = time(int(h2), int(m2), int(s2 or 0))
    except ValueError:
        raise ValueError(f"{text!r}: hours run from 00:00 to 23:59") from None
    if start == end:
        raise ValueError(f"{text!r} is an empty window: the start and the end are the same")
    return SendHours(start, end)


@lru_cache(maxsize=1024)
def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


@lru_cache(maxsize=1)
def _known_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def zone_variable(variables: Mapping[str, str]) -> str | None:
    """The IANA zone named by a `time_zone` (or `timezone`, `tz`) variable, if it is one."""
    if not isinstance(variables, Mapping):  # a damaged row: judged by its number alone
        return None
    for name, value in variables.items():
        if not isinstance(name, str) or not isinstance(value, str):
            continue
        key = name.lower().replace("_", "").replace(" ", "").replace("-", "")
        if key in _ZONE_VARIABLES and value.strip() in _known_zones():
            return value.strip()
    return None


def zones_for(phone: str, variables: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The zones a recipient may be in: their own record's, else every zone of the number."""
    named = zone_variable(variables or {})
    if named is not None:
        return (named,)
    return _number_zones(phone[:ZONE_PREFIX_LENGTH])


@lru_cache(maxsize=65_536)
def _number_zones(prefix: str) -> tuple[str, ...]:
    """phonenumbers' zone table, by the longest prefix it knows (the lookup reads no further
    digits, so numbers that share this many share their zones). Read directly: the library's
    own lookup first works out the number's type, ten times slower, for the same table."""
    digits = prefix.lstrip("+")
    for length in range(min(len(digits), TIMEZONE_LONGEST_PREFIX), 0, -1):
        found = TIMEZONE_DATA.get(digits[:length])
        if found:
            return tuple(sorted(z for z in found if z != _UNKNOWN and _zone(z) is not None))
    return ()


def main_zone(zones: Sequence[str]) -> str:
    """The zone to name for a number's several: the shortest (London among the British Isles')."""
    return min(zones, key=lambda z: (len(z), z))


def zone_label(zones: Sequence[str]) -> str:
    first = main_zone(zones)
    others = len(zones) - 1
    return f"{first} and {others} other zone{'s' if others > 1 else ''}" if others else first


def _allowed(at: datetime, zones: Sequence[ZoneInfo], hours: SendHours) -> bool:
    return all(hours.allows(at.astimezone(zone).time().replace(microsecond=0)) for zone in zones)


def _openings(now: datetime, zone: ZoneInfo, hours: SendHours) -> list[datetime]:
    """When the window opens in `zone` over the next days, as UTC instants after `now`."""
    today = now.astimezone(zone).date()
    found = []
    for offset in range(_LOOK_AHEAD_DAYS + 1):
        day: date = today + timedelta(days=offset)
        # A start in a spring-forward gap (02:30 on the night 02:00 becomes 03:00) is read with
        # the offset before the change (03:30): at most the gap's length late, never early.
        opening = datetime.combine(day, hours.start, tzinfo=zone).astimezone(UTC)
        if opening > now:
            found.append(opening)
    return found


def next_allowed(now: datetime, zones: Sequence[str], hours: SendHours | None) -> datetime | None:
    """None when a recipient in `zones` may be texted at `now`; else the first instant (UTC)
    when every one of the zones is inside its window. No zone known: the hours cannot be
    judged, and the number is treated as allowed (the preview says how many)."""
    if hours is None:
        return None
    resolved = [z for z in (_zone(name) for name in zones) if z is not None]
    if not resolved or _allowed(now, resolved, hours):
        return None
    candidates = sorted({t for zone in resolved for t in _openings(now, zone, hours)})
    for candidate in candidates:
        if _allowed(candidate, resolved, hours):
            return candidate
    # The zones' windows never overlap (zones far apart, a short window): the first zone's.
    return candidates[0] if candidates else None


def window_closes(now: datetime, zones: Sequence[str], hours: SendHours | None) -> datetime | None:
    """When the sending hours a recipient in `zones` is inside at `now` close (UTC): the first
    instant after `now` when one of the zones leaves its window. None when there is nothing to
    close: no hours, no zone known, or outside them already.

    Around a daylight-saving change the end is read both ways (an hour repeated, an hour
    skipped) and the earlier taken: a message may be held a little early, never sent late."""
    if hours is None:
        return None
    resolved = [z for z in (_zone(name) for name in zones) if z is not None]
    if not resolved or not _allowed(now, resolved, hours):
        return None
    return min(_first_end(now, zone, hours) for zone in resolved)


def _first_end(now: datetime, zone: ZoneInfo, hours: SendHours) -> datetime:
    today = now.astimezone(zone).date()
    for offset in range(-1, _LOOK_AHEAD_DAYS + 1):
        local = datetime.combine(today + timedelta(days=offset), hours.end, tzinfo=zone)
        early, late = sorted(local.replace(fold=f).astimezone(UTC) for f in (0, 1))
        if early > now:
            return early
        if late > now:  # an end in a skipped hour: the window closes when the clocks jump
            return _first_outside(now, late, zone, hours)
    return now  # not reached: a window always ends within a day


def _first_outside(
    inside: datetime, outside: datetime, zone: ZoneInfo, hours: SendHours
) -> datetime:
    """The first whole second after `inside` when `zone` is out of its window (by `outside`)."""
    while (outside - inside).total_seconds() > 1:
        middle = inside + (outside - inside) / 2
        if _allowed(middle, [zone], hours):
            inside = middle
        else:
            outside = middle
    return outside


def effective_hours(campaign_hours: str | None, default: str) -> SendHours | None:
    """A campaign's own sending hours when it has them, else the setting's."""
    return parse_send_hours(campaign_hours if campaign_hours else default)
