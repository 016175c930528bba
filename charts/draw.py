"""`python -m charts.draw`: JSON on stdin, the delivery chart as PNG on stdout.

The only module that imports matplotlib. It runs in a child process of its own (see
`charts.renderer`), so its memory is given back when it exits.

Read by people who cannot tell the colours apart too: each line has its own dash pattern and
marker as well as its colour. Times are clock times in the zone the payload names (the creator's),
and nothing drawn is cut off at the image's edges.
"""

from __future__ import annotations

import io
import json
import sys
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import matplotlib

matplotlib.use("Agg")  # no display, no GUI toolkit: the same on a server and in CI

from matplotlib import dates, pyplot  # after the backend is chosen
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.ticker import StrMethodFormatter

WIDTH, HEIGHT, DPI = 6.0, 3.0, 100  # 600 x 300 px: readable in a Slack thread, a few tens of kB
MARGIN = 4  # pixels kept free at each edge of the image
MARKERS_PER_LINE = 8  # enough to tell the lines apart, few enough not to hide the curve


# (colour, dash pattern, marker): no two lines share any of the three.
STYLES = {
    "sent": ("#4a6fa5", "-", "o"),
    "delivered": ("#2e8b57", "--", "s"),
    "failed": ("#c0392b", ":", "^"),
}


def zone_of(data: dict[str, Any]) -> ZoneInfo:
    try:
        return ZoneInfo(str(data.get("zone") or "UTC"))
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def figure_of(data: dict[str, Any]) -> Figure:
    """The chart for `data` (charts.payload.chart_payload's shape), laid out, not yet saved."""
    pyplot.rcParams.update({"font.family": "DejaVu Sans", "font.size": 8})  # ships with matplotlib
    figure, axes = pyplot.subplots(figsize=(WIDTH, HEIGHT), dpi=DPI)
    zone = zone_of(data)
    start = datetime.fromtimestamp(float(data.get("start") or 0), tz=UTC)
    seconds = [float(s) for s in data["seconds"]]
    times = [start + timedelta(seconds=s) for s in seconds]
    every = max(len(times) // MARKERS_PER_LINE, 1)
    for series, (colour, dashes, marker) in STYLES.items():
        values = data[series]
        axes.plot(times, values, color=colour, linestyle=dashes, marker=marker, markersize=4,
                  markevery=every, linewidth=1.5,
                  label=f"{series} ({values[-1] if values else 0:,})")  # fmt: skip
    cancelled = int(data.get("cancelled") or 0)
    if cancelled:  # not a curve: they were never sent; a legend line says how many
        axes.plot([], [], linestyle="none", marker="x", color="#555555",
                  label=f"cancelled, not sent ({cancelled:,})")  # fmt: skip
    span = (seconds[-1] if seconds else 0.0) - (seconds[0] if seconds else 0.0)
    axes.xaxis.set_major_locator(dates.AutoDateLocator(tz=zone, maxticks=7))
    axes.xaxis.set_major_formatter(
        dates.DateFormatter("%d %b %H:%M" if span >= 86400 else "%H:%M", tz=zone)
    )
    axes.set_xlabel(str(data.get("zone_label") or "time (UTC)"))
    axes.set_ylabel("messages")
    axes.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    axes.set_ylim(bottom=0)
    if times:
        axes.set_xlim(left=times[0])
    axes.grid(alpha=0.3)
    title = axes.set_title(f"{data['title']}\n{data['subtitle']}", fontsize=9, loc="left")
    axes.legend(loc="best", fontsize=7, framealpha=0.9)  # where it hides the fewest points
    reasons = data.get("reasons") or []
    if reasons:  # beside the plot, so it never hides a curve
        lines = [f"{label}: {count:,}" for label, count in reasons]
        figure.text(0.68, 0.5, "Why messages failed\n\n" + "\n".join(lines), ha="left",
                    va="center", fontsize=6.5, wrap=True)  # fmt: skip
    _fit(figure, title, right=0.66 if reasons else 1.0)
    return figure


def _fit(figure: Figure, title: Text, *, right: float) -> None:
    """Lay the plot out so every label is inside the image: tight layout, then a title too wide
    for the image is shortened (a long campaign name) until it fits."""
    figure.tight_layout(rect=(0, 0, right, 1))
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    width = figure.bbox.width - 2 * MARGIN
    name, rest = title.get_text().split("\n", 1)
    while name and title.get_window_extent(renderer).x1 > width:
        name = name[:-2]
        title.set_text(f"{name.rstrip()}…\n{rest}")
    figure.tight_layout(rect=(0, 0, right, 1))


def draw(data: dict[str, Any]) -> bytes:
    """The chart for `data` as PNG bytes."""
    figure = figure_of(data)
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=DPI)
    pyplot.close(figure)
    return out.getvalue()


def main() -> None:
    data = json.load(sys.stdin)
    sys.stdout.buffer.write(draw(data))
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    main()
