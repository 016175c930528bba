"""The delivery chart's cost: the timeline query over a 100,000-recipient campaign, the drawing
in its child process (time and peak memory), and what the calling process gains (nothing).

    .venv/bin/python bench/chart.py [--recipients N]

DATABASE_URL (a PostgreSQL one, say) is used if set; otherwise a fresh SQLite file. The campaign
is stored through the service layer, then its rows are given sent, delivered and failed times
spread over 40 minutes with a few UPDATEs (sending it for real is bench/sending.py's job).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
from sqlalchemy import make_url, text

from campaigns import migrate
from campaigns.db import Database
from campaigns.recipients import check_recipient_list
from campaigns.service import Context, NewCampaign, create_campaign
from campaigns.service.timeline import delivery_timeline
from campaigns.settings import Settings
from charts.payload import chart_payload
from charts.renderer import ChartRenderer

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def rss_mb() -> tuple[float, float]:
    """This process's resident memory now (VmRSS) and at its peak (VmHWM)."""
    status = Path("/proc/self/status").read_text()
    now, peak = (int(re.search(rf"^{k}:\s+(\d+) kB", status, re.M)[1]) for k in ("VmRSS", "VmHWM"))  # type: ignore[index]
    return now / 1024, peak / 1024


async def campaign(ctx: Context, count: int) -> str:
    people = [{"phone": f"+447400{i:06d}"} for i in range(count)]
    view = await create_campaign(
        ctx,
        NewCampaign(
            name="Benchmark chart", message_template="Hi, 20% off this week",
            recipients=check_recipient_list(people, "GB"), from_numbers=["+14155550100"],
            send_at=None, source="api", consent_confirmed=True,
        ),
        "bench",
        launch=False,
    )  # fmt: skip
    cid = view.campaign.id
    # Sent over 20 minutes in input order; 90% delivered, 7% undelivered (two codes), 3% failed
    # at submission, each settled a little after it was sent.
    epoch = START.timestamp()
    async with ctx.db.transaction() as session:
        for row_sql in _spread_sql(ctx.db.dialect, count):
            await session.execute(text(row_sql), {"cid": cid, "epoch": epoch})
    return cid


def _spread_sql(dialect: str, count: int) -> list[str]:
    if dialect == "postgresql":
        at = "to_timestamp(:epoch + {offset})"
    else:
        at = "strftime('%Y-%m-%d %H:%M:%f', :epoch + {offset}, 'unixepoch')"
    sent = at.format(offset=f"(id % {count}) * 1200.0 / {count}")
    settled = at.format(offset=f"(id % {count}) * 1200.0 / {count} + 30 + (id % 97) * 12")
    return [
        f"UPDATE recipients SET status = 'delivered', twilio_sid = 'SM' || id, sent_at = {sent}, "
        f"updated_at = {settled} WHERE campaign_id = :cid",
        "UPDATE recipients SET status = 'undelivered', error_code = 30003 + (id % 2) * 4 "
        "WHERE campaign_id = :cid AND id % 100 < 7",
        "UPDATE recipients SET status = 'failed', error_code = 21211, twilio_sid = NULL, "
        "sent_at = NULL WHERE campaign_id = :cid AND id % 100 >= 97",
    ]


@asynccontextmanager
async def database(tmp: str) -> AsyncIterator[str]:
    """A database of the benchmark's own: a SQLite file, or a new database next to
    DATABASE_URL's (dropped afterwards; the one DATABASE_URL names is left alone)."""
    base = os.environ.get("DATABASE_URL")
    if not base or not base.startswith("postgresql"):
        yield f"sqlite+aiosqlite:///{Path(tmp) / 'chart.db'}"
        return
    name = f"textcast_bench_{uuid.uuid4().hex[:12]}"
    dsn = make_url(base).set(drivername="postgresql").render_as_string(hide_password=False)
    admin = await asyncpg.connect(dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def run(count: int) -> None:
    with tempfile.TemporaryDirectory(prefix="textcast-bench-chart-") as tmp:
        async with database(tmp) as url:
            await measure(url, count, tmp)


async def measure(url: str, count: int, tmp: str) -> None:
    settings = Settings(_env_file=None, DATABASE_URL=url, SENDER_NUMBERS="+14155550100",
                        DEFAULT_REGION="GB")  # type: ignore[call-arg]  # fmt: skip
    db = Database(url)
    await migrate.upgrade(db)
    ctx = Context(db=db, settings=settings)
    try:
        cid = await campaign(ctx, count)
        print(f"{count:,} recipients on {db.dialect}")
        before, _ = rss_mb()
        began = time.perf_counter()
        timeline = await delivery_timeline(ctx, cid)
        query = time.perf_counter() - began
        print(f"  timeline query        {query * 1000:7.0f} ms  ({len(timeline.points)} points, "
              f"{len(timeline.reasons)} reasons)")  # fmt: skip
        # The child's own peak, measured by time(1) around it: getrusage's figure for
        # children would count the pages a forked child shares with this process.
        peaks = Path(tmp) / "peaks"
        wrapper = Path(tmp) / "python"
        wrapper.write_text(f'#!/bin/sh\nexec /usr/bin/time -f %M -a -o {peaks} '
                           f'{sys.executable} "$@"\n')  # fmt: skip
        wrapper.chmod(0o755)
        renderer = ChartRenderer(python=str(wrapper))
        times = []
        for _ in range(3):
            began = time.perf_counter()
            png = await renderer.render(chart_payload(timeline, final=True))
            times.append(time.perf_counter() - began)
        child_peak = max(int(line) for line in peaks.read_text().split()) / 1024
        if out := os.environ.get("CHART_PNG"):
            await asyncio.to_thread(Path(out).write_bytes, png)
        after, peak = rss_mb()
        print(f"  drawing (child)       {min(times) * 1000:7.0f} ms best of 3, "
              f"{max(times) * 1000:.0f} ms worst; {len(png):,} bytes")  # fmt: skip
        print(f"  child peak RSS        {child_peak:7.0f} MB")
        print(f"  this process RSS      {before:7.0f} MB before, {after:.0f} MB after "
              f"(peak {peak:.0f} MB); matplotlib imported here: "
              f"{'yes' if 'matplotlib' in sys.modules else 'no'}")  # fmt: skip
    finally:
        await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=100_000)
    asyncio.run(run(parser.parse_args().recipients))


if __name__ == "__main__":
    main()
