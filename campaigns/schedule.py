"""When a campaign may be sent: now, or at least 15 minutes and at most 7 days ahead."""

from __future__ import annotations

from datetime import UTC, datetime

from campaigns.errors import InputError, LimitError
from campaigns.limits import MAX_SCHEDULE_AHEAD, MIN_SCHEDULE_AHEAD


def _utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def check_send_time(send_at: datetime | None, now: datetime) -> datetime | None:
    """Return the send time in UTC (None: now), or raise with the earliest or latest allowed."""
    if send_at is None:
        return None
    if send_at.tzinfo is None:
        raise InputError(
            "The send time has no time zone: give it in UTC (ending in Z) or with an offset.",
            field="scheduled_at",
        )
    try:
        send_at = send_at.astimezone(UTC)
    except OverflowError:  # 9999-12-31 at -14:00 is in the year 10000, which datetime cannot hold
        raise (_too_late(now) if send_at.year > 1 else _too_early(now)) from None
    if send_at - now < MIN_SCHEDULE_AHEAD:
        raise _too_early(now)
    if send_at - now > MAX_SCHEDULE_AHEAD:
        raise _too_late(now)
    return send_at


def _too_early(now: datetime) -> LimitError:
    return LimitError(
        "Schedule at least 15 minutes ahead, or send now: the earliest time is "
        f"{_utc_text(now + MIN_SCHEDULE_AHEAD)}.",
        field="scheduled_at",
    )


def _too_late(now: datetime) -> LimitError:
    return LimitError(
        f"Schedule at most 7 days ahead: the latest time is {_utc_text(now + MAX_SCHEDULE_AHEAD)}.",
        field="scheduled_at",
    )
