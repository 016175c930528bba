"""Import a 100,000-row CSV through the service layer into SQLite and time the preview.

    .venv/bin/python bench/import_100k.py [--rows 100000] [--database-url URL]

Prints the time of each stage, rows per second from bytes to a ready preview, and the process's
peak memory (max RSS). Target on the 2-core reference machine: preview ready in under 5 s and
under 300 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import tempfile
import time
from pathlib import Path

from campaigns import migrate
from campaigns.db import Database
from campaigns.recipients import parse_recipients
from campaigns.service import Context, NewCampaign, create_campaign, preview_campaign
from campaigns.settings import Settings

CITIES = ["Leeds", "York", "Bath", "Hull", "Derby", "Truro", "Ely", "Wells"]


def make_csv(rows: int) -> bytes:
    lines = ["first_name,phone,city"]
    lines += [f"Person{i},+4477{i:08d},{CITIES[i % len(CITIES)]}" for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


async def run(rows: int, url: str) -> None:
    data = make_csv(rows)
    db = Database(url)
    await migrate.upgrade(db)
    settings = Settings(_env_file=None, SENDER_NUMBERS="+14155550100:10,+14155550101:10")  # type: ignore[call-arg]
    ctx = Context(db=db, settings=settings)
    baseline = peak_rss_mb()

    started = time.perf_counter()
    report = parse_recipients(data, "GB")
    parsed = time.perf_counter()
    view = await create_campaign(
        ctx,
        NewCampaign(
            name="Benchmark",
            message_template="Hi {{first_name}}, your {{city}} clinic has new hours. Reply STOP to opt out",
            recipients=report,
            from_numbers=["all"],
            send_at=None,
            source="api",
            consent_confirmed=True,
        ),
        "bench",
        launch=False,
    )
    created = time.perf_counter()
    preview = await preview_campaign(ctx, view.campaign.id)
    done = time.perf_counter()
    await db.dispose()

    total = done - started
    print(
        f"rows                 {rows:,} ({len(data) / 1e6:.1f} MB CSV), {preview.view.counts.total:,} stored"
    )
    print(f"parse + validate     {parsed - started:6.2f} s")
    print(f"store (service)      {created - parsed:6.2f} s")
    print(f"preview              {done - created:6.2f} s")
    print(f"bytes to preview     {total:6.2f} s   ({rows / total:,.0f} rows/s)   target < 5 s")
    print(
        f"peak memory (RSS)    {peak_rss_mb():6.0f} MB  (interpreter and imports: {baseline:.0f} MB)   target < 300 MB"
    )
    print(f"segments {preview.stats.total_segments:,}, cost {preview.cost} {preview.currency}, "
          f"send time {preview.send_duration}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        asyncio.run(run(args.rows, url))


if __name__ == "__main__":
    main()
