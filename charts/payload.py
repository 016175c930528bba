"""What the child process is told to draw: a DeliveryTimeline as plain JSON-able data."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from campaigns.service.timeline import DeliveryTimeline

UTC_NAME = "UTC"
UNKNOWN_ZONE = "times in UTC: the creator's time zone is not known"


def known_zone(zone: str | None) -> str | None:
    """`zone` if it names a time zone this machine knows, else None."""
    if not zone:
        return None
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return zone


def chart_payload(
    timeline: DeliveryTimeline, *, final: bool, zone: str | None = None
) -> dict[str, Any]:
    """The chart's data and words; `final`: every receipt Textcast will wait for is in; `zone`:
    the creator's time zone (from Slack), the times are shown in; without one, UTC, and it says
    so."""
    shown = known_zone(zone)
    tz = ZoneInfo(shown or UTC_NAME)
    label = f"time in {shown}" if shown else UNKNOWN_ZONE
    if timeline.start is None:
        subtitle = "nothing sent yet"
    else:
        local = timeline.start.astimezone(tz)
        subtitle = f"from {local:%Y-%m-%d %H:%M} {shown or UTC_NAME}"
        subtitle += "" if final else " · receipts still arriving"
    return {
        "title": timeline.name,
        "subtitle": subtitle,
        "start": timeline.start.timestamp() if timeline.start else 0.0,
        "zone": shown or UTC_NAME,
        "zone_label": label,
        "seconds": [p.seconds for p in timeline.points],
        "sent": [p.sent for p in timeline.points],
        "delivered": [p.delivered for p in timeline.points],
        "failed": [p.failed for p in timeline.points],
        "cancelled": timeline.cancelled,
        "reasons": [[r.label, r.count] for r in timeline.reasons],
    }
