"""What the child process is told to draw: a DeliveryTimeline as plain JSON-able data."""

from __future__ import annotations

from typing import Any

from campaigns.service.timeline import DeliveryTimeline


def chart_payload(timeline: DeliveryTimeline, *, final: bool) -> dict[str, Any]:
    """The chart's data and words; `final`: every receipt Textcast will wait for is in."""
    if timeline.start is None:
        subtitle = "nothing sent yet"
    else:
        subtitle = f"from {timeline.start:%Y-%m-%d %H:%M} UTC"
        subtitle += "" if final else " · receipts still arriving"
    return {
        "title": timeline.name,
        "subtitle": subtitle,
        "seconds": [p.seconds for p in timeline.points],
        "sent": [p.sent for p in timeline.points],
        "delivered": [p.delivered for p in timeline.points],
        "failed": [p.failed for p in timeline.points],
        "reasons": [[r.label, r.count] for r in timeline.reasons],
    }
