"""The delivery chart's figure, read as data rather than pixels: each line is told apart by its
dash pattern and marker as well as its colour, the times are clock times in the creator's zone
(UTC, said so, without one), every label lies inside the image, and the cancelled are counted."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from matplotlib import dates, pyplot
from matplotlib.figure import Figure
from matplotlib.text import Text

from campaigns.service.timeline import DeliveryTimeline, ReasonCount, TimelinePoint
from charts.draw import figure_of
from charts.payload import UNKNOWN_ZONE, chart_payload

START = datetime(2026, 12, 1, 17, 0, tzinfo=UTC)  # 09:00 in Los Angeles, 17:00 in London
LOS_ANGELES = ZoneInfo("America/Los_Angeles")
POINTS = tuple(
    TimelinePoint(60.0 * i, min(100, 12 * i), min(92, 10 * i), min(8, i)) for i in range(0, 31)
)


def timeline(name: str = "Spring sale", **changes: Any) -> DeliveryTimeline:
    fields: dict[str, Any] = {
        "campaign_id": "smsc_x", "name": name, "status": "done", "start": START,
        "points": POINTS, "reasons": (ReasonCount("30003: The phone is switched off", 5),),
        "total": 220, "awaiting_receipt": 0, "cancelled": 120,
    }  # fmt: skip
    return DeliveryTimeline(**{**fields, **changes})


@pytest.fixture
def drawn() -> Iterator[list[Figure]]:
    figures: list[Figure] = []
    yield figures
    for figure in figures:
        pyplot.close(figure)


def laid_out(figures: list[Figure], payload: dict[str, Any]) -> Figure:
    figure = figure_of(payload)
    figures.append(figure)
    figure.canvas.draw()  # tick labels exist once drawn
    return figure


def test_each_line_has_its_own_dash_pattern_marker_and_colour(drawn: list[Figure]) -> None:
    figure = laid_out(drawn, chart_payload(timeline(), final=True, zone="Europe/London"))
    lines = [line for line in figure.axes[0].get_lines() if len(line.get_xdata())]
    assert len(lines) == 3
    for look in (lambda line: line.get_linestyle(), lambda line: line.get_marker(),
                 lambda line: line.get_color()):  # fmt: skip
        assert len({look(line) for line in lines}) == 3
    assert all(line.get_marker() not in (None, "", "None") for line in lines)


def test_times_are_the_creators_clock_times(drawn: list[Figure]) -> None:
    payload = chart_payload(timeline(), final=True, zone="America/Los_Angeles")
    assert payload["subtitle"] == "from 2026-12-01 09:00 America/Los_Angeles"
    figure = laid_out(drawn, payload)
    axes = figure.axes[0]
    assert axes.get_xlabel() == "time in America/Los_Angeles"
    ticks = [(t.get_loc(), t.label1.get_text()) for t in axes.xaxis.get_major_ticks()]
    shown = [(loc, text) for loc, text in ticks if text]
    assert len(shown) >= 3
    for loc, text in shown:
        assert text == f"{dates.num2date(loc).astimezone(LOS_ANGELES):%H:%M}"
        assert text.startswith("09:")  # the campaign ran 09:00 to 09:30 there (17:00 UTC)


def test_without_the_creators_zone_it_is_utc_and_says_so(drawn: list[Figure]) -> None:
    for zone in (None, "Not/AZone"):
        payload = chart_payload(timeline(), final=True, zone=zone)
        assert payload["zone"] == "UTC" and payload["subtitle"] == "from 2026-12-01 17:00 UTC"
        figure = laid_out(drawn, payload)
        axes = figure.axes[0]
        assert axes.get_xlabel() == UNKNOWN_ZONE
        shown = [t.label1.get_text() for t in axes.xaxis.get_major_ticks() if t.label1.get_text()]
        assert shown and all(text.startswith("17:") for text in shown)


@pytest.mark.parametrize(
    "name",
    [
        "Spring sale",
        "Winter flu jab reminders for every patient registered at the Riverside and Hillcrest "
        "surgeries who has not yet booked, second round, December",  # cut off before
    ],
)
def test_no_label_is_cut_off(drawn: list[Figure], name: str) -> None:
    reasons = (
        ReasonCount("30007: Carrier filtered the message as spam or …", 430),
        ReasonCount("30003: The phone is switched off or out of …", 75),
        ReasonCount("Opted out (STOP)", 7),
        ReasonCount("Other", 3),
    )
    figure = laid_out(drawn, chart_payload(timeline(name, reasons=reasons), final=False))
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    edge = figure.bbox
    texts = [t for t in figure.findobj(Text) if t.get_visible() and t.get_text().strip()]
    assert len(texts) > 10
    for text in texts:
        box = text.get_window_extent(renderer)
        assert edge.x0 <= box.x0 and box.x1 <= edge.x1, text.get_text()
        assert edge.y0 <= box.y0 and box.y1 <= edge.y1, text.get_text()
    [title] = [t.get_text() for t in texts if t.get_text().startswith(name[:20])]
    assert title.startswith(name[:20]) and "receipts still arriving" in title


def test_the_cancelled_are_counted(drawn: list[Figure]) -> None:
    figure = laid_out(drawn, chart_payload(timeline(), final=True))
    legend = [t.get_text() for t in figure.axes[0].get_legend().get_texts()]
    assert "cancelled, not sent (120)" in legend
    none = laid_out(drawn, chart_payload(timeline(cancelled=0), final=True))
    assert not [t for t in none.axes[0].get_legend().get_texts() if "cancelled" in t.get_text()]
