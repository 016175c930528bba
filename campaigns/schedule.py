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
    send_at = send_at.astimezone(UTC)
    if send_at - now < MIN_SCHEDULE_AHEAD:
        raise LimitError(
            "Schedule at least 15 minutes ahead, or send now: the earliest time is "
            f"{_utc_text(now + MIN_SCHEDULE_AHEAD)}.",
            field="scheduled_at",
        )
    if send_at - now > MAX_SCHEDULE_AHEAD:
        raise LimitError(
            "Schedule at most 7 days ahead: the latest time is "
            f"{_utc_text(now + MAX_SCHEDULE_AHEAD)}.",
            field="scheduled_at",
        )
    return send_at
