"""`python -m charts.draw`: JSON on stdin, the delivery chart as PNG on stdout.

The only module that imports matplotlib. It runs in a child process of its own (see
`charts.renderer`), so its memory is given back when it exits.
"""

from __future__ import annotations

import io
import json
import sys
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display, no GUI toolkit: the same on a server and in CI

from matplotlib import pyplot  # after the backend is chosen
from matplotlib.ticker import StrMethodFormatter

WIDTH, HEIGHT, DPI = 6.0, 3.0, 100  # 600 x 300 px: readable in a Slack thread, a few tens of kB
COLOURS = {"sent": "#4a6fa5", "delivered": "#2e8b57", "failed": "#c0392b"}


def _scale(seconds: list[float]) -> tuple[list[float], str]:
    """The time axis in the unit that suits the campaign's length."""
    span = max(seconds, default=0.0)
    if span >= 2 * 3600:
        return [s / 3600 for s in seconds], "hours"
    if span >= 120:
        return [s / 60 for s in seconds], "minutes"
    return seconds, "seconds"


def draw(data: dict[str, Any]) -> bytes:
    """The chart for `data` (charts.payload.chart_payload's shape), as PNG bytes."""
    pyplot.rcParams.update({"font.family": "DejaVu Sans", "font.size": 8})  # ships with matplotlib
    figure, axes = pyplot.subplots(figsize=(WIDTH, HEIGHT), dpi=DPI)
    times, unit = _scale([float(s) for s in data["seconds"]])
    for series, colour in COLOURS.items():
        values = data[series]
        axes.plot(times, values, color=colour, linewidth=1.5,
                  label=f"{series} ({values[-1] if values else 0:,})")  # fmt: skip
    axes.set_xlabel(f"{unit} after the first message")
    axes.set_ylabel("messages")
    axes.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    axes.set_ylim(bottom=0)
    axes.set_xlim(left=0)
    axes.grid(alpha=0.3)
    axes.set_title(f"{data['title']}\n{data['subtitle']}", fontsize=9, loc="left")
    axes.legend(loc="upper left", fontsize=7, frameon=False)
    figure.tight_layout()
    reasons = data.get("reasons") or []
    if reasons:  # beside the plot, so it never hides a curve
        figure.subplots_adjust(right=0.66)
        lines = [f"{label}: {count:,}" for label, count in reasons]
        figure.text(0.68, 0.5, "Why messages failed\n\n" + "\n".join(lines), ha="left",
                    va="center", fontsize=6.5, wrap=True)  # fmt: skip
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
