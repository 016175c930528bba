"""The delivery chart is drawn in a child process: a real PNG of the right size, and every way
the child can fail is a ChartError, never a hang or a crash of the caller."""

from __future__ import annotations

import io
import struct
import subprocess
import sys
import time

import pytest
from PIL import Image

from charts.renderer import PNG_SIGNATURE, ChartError, ChartRenderer

PAYLOAD = {
    "title": "Spring sale",
    "subtitle": "from 2026-12-01 09:00 UTC",
    "seconds": [0, 30, 60, 90],
    "sent": [0, 40, 90, 100],
    "delivered": [0, 20, 70, 92],
    "failed": [0, 1, 4, 8],
    "reasons": [["30003: The phone is switched off", 5], ["Opted out (STOP)", 2], ["Other", 1]],
}


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height from the PNG's header (IHDR, the first chunk)."""
    assert png[:8] == PNG_SIGNATURE and png[12:16] == b"IHDR"
    return struct.unpack(">II", png[16:24])


async def test_a_chart_is_a_600_by_300_png_that_decodes() -> None:
    began = time.monotonic()
    png = await ChartRenderer().render(PAYLOAD)
    print(f"drawn in {time.monotonic() - began:.2f} s, {len(png):,} bytes")
    assert png_size(png) == (600, 300)
    image = Image.open(io.BytesIO(png))
    image.load()  # decodes every pixel: a truncated or corrupt file fails here
    assert image.format == "PNG" and image.size == (600, 300)
    assert 5_000 < len(png) < 100_000
    # Not a blank canvas: the curves and words put many colours on it.
    colours = image.convert("RGB").getcolors(maxcolors=100_000) or []
    assert len(colours) > 20


async def test_a_campaign_without_failures_has_no_reasons_box() -> None:
    png = await ChartRenderer().render({**PAYLOAD, "reasons": [], "failed": [0, 0, 0, 0]})
    assert png_size(png) == (600, 300)


async def test_an_interpreter_that_does_not_exist() -> None:
    with pytest.raises(ChartError, match="could not start"):
        await ChartRenderer(python="/nonexistent/python3").render(PAYLOAD)


async def test_a_child_that_takes_too_long_is_killed() -> None:
    began = time.monotonic()
    with pytest.raises(ChartError, match="longer than"):
        await ChartRenderer(timeout=0.05).render(PAYLOAD)
    assert time.monotonic() - began < 2


async def test_a_child_that_fails_says_why() -> None:
    with pytest.raises(ChartError, match="exited with 1: KeyError"):
        await ChartRenderer().render({"title": "no data"})


async def test_an_answer_that_is_not_a_png() -> None:
    with pytest.raises(ChartError, match="not a PNG"):
        await ChartRenderer(python="/bin/echo").render(PAYLOAD)


def test_the_worker_and_the_web_process_never_import_matplotlib() -> None:
    code = (
        "import sys, worker.main, worker.reporting, bot.app, bot.api.chart\n"
        "assert 'matplotlib' not in sys.modules, 'matplotlib was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
