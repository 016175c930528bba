"""The suppression list of 100,000 opted-out numbers, read out of a real web process.

    .venv/bin/python bench/optouts_100k.py [--rows 100000] [--postgres URL] [--redis-url URL]

Stores `--rows` opt-outs (a tenth of them with a second STOP, a twentieth opted back in and out
again, and a thousand more numbers opted back in, so not listed) in a fresh database (SQLite in a
temporary folder, or a new database on the PostgreSQL server at `--postgres`), starts
`textcast bot` on it, and measures over HTTP:

1. one page of `GET /v1/sms/optouts` (the default 100, and `limit=1000`): time and bytes;
2. a walk through every page (`limit=1000`, following `next_cursor`): time, every number once;
3. the CSV export (`?format=csv`, the file `/v1/sms/optouts.csv` streams): time, bytes, rows;
4. ten walks at once, then ten exports at once, while another process asks `GET /healthz`
   every 20 ms: the web process's peak memory (VmRSS sampled every 10 ms) and /healthz's
   answer times.

Before paging (issue 21), one request returned the whole list: 12.9 MB in 1.8 s, and ten at once
took the process to 1.32 GB with /healthz answering in 10.4 s. Targets: a page under 0.1 s; the
process's peak under +100 MB with ten exports; the worst /healthz under 0.5 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import asyncpg
from sqlalchemy import insert
from web_process import bench_env, start_bot, textcast, until_healthy

from campaigns.db import Database
from campaigns.models import OptOut, OptOutEvent

ROOT = Path(__file__).resolve().parents[1]
PAGE_TARGET_S = 0.1
GROWTH_TARGET_MB = 100
HEALTHZ_TARGET_S = 0.5
CONCURRENT = 10

# Asks /healthz every 20 ms until its stdin closes, then prints the answer times (JSON). A process
# of its own, so the ten downloads this benchmark reads do not slow its clock.
PROBE = """
import json, sys, threading, time, urllib.request
done, times = threading.Event(), []
threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
while not done.is_set():
    started = time.perf_counter()
    try:
        urllib.request.urlopen(sys.argv[1] + "/healthz", timeout=30).read()
    except Exception:
        pass
    times.append(time.perf_counter() - started)
    done.wait(0.02)
print(json.dumps(times))
"""


async def load(url: str, rows: int) -> None:
    """The opt-outs, written straight into the database in the order they happened."""
    db = Database(url)
    phones = [f"+4477{i:08d}" for i in range(rows)]
    again = phones[::10]  # texted STOP a second time
    back = phones[::20]  # opted back in, then out again
    gone = [f"+4478{i:08d}" for i in range(1_000)]  # opted out, then back in: not listed
    events = [(p, True) for p in phones + gone] + [(p, True) for p in again]
    events += [(p, False) for p in back] + [(p, True) for p in back] + [(p, False) for p in gone]
    at = datetime.now(UTC)
    async with db.transaction() as session:
        for start in range(0, len(events), 10_000):
            await session.execute(insert(OptOutEvent), [
                {"phone": p, "opted_out": out, "source": "sms", "keyword": "STOP" if out else
                 "START", "at": at} for p, out in events[start : start + 10_000]
            ])  # fmt: skip
        states = [(p, True) for p in phones] + [(p, False) for p in gone]
        for start in range(0, len(states), 10_000):
            await session.execute(insert(OptOut), [
                {"phone": p, "opted_out": out, "updated_at": at}
                for p, out in states[start : start + 10_000]
            ])  # fmt: skip
    await db.dispose()


class PeakRss:
    """The web process's resident memory, sampled every 10 ms in a thread: the peak of a phase
    (VmHWM would keep the peak of every phase before)."""

    def __init__(self, pid: int) -> None:
        self.path, self.peak_kb, self._stop = Path(f"/proc/{pid}/status"), 0, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak_kb = max(self.peak_kb, rss_kb(self.path))
            self._stop.wait(0.01)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def rss_kb(status: Path) -> int:
    for line in status.read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


async def get(http: aiohttp.ClientSession, url: str, **params: str) -> tuple[bytes, float]:
    started = time.perf_counter()
    async with http.get(url, params=params) as answer:
        data = await answer.read()
        assert answer.status == 200, data[:300]
    return data, time.perf_counter() - started


async def walk(http: aiohttp.ClientSession, base: str) -> tuple[list[str], int]:
    """Every number in the list, following next_cursor (a server without paging answers the
    whole list at once and no cursor); and the bytes read."""
    phones: list[str] = []
    size, params = 0, {"limit": "1000"}
    while True:
        data, _ = await get(http, f"{base}/v1/sms/optouts", **params)
        size += len(data)
        page = json.loads(data)
        phones += [row["phone"] for row in page["optouts"]]
        if not page.get("next_cursor"):
            return phones, size
        params = {"limit": "1000", "cursor": page["next_cursor"]}


async def export(http: aiohttp.ClientSession, base: str) -> tuple[int, int]:
    """Bytes and lines of the CSV export, read in 64 KB pieces."""
    size = lines = 0
    async with http.get(f"{base}/v1/sms/optouts", params={"format": "csv"}) as answer:
        assert answer.status == 200, await answer.text()
        async for chunk in answer.content.iter_chunked(64 * 1024):
            size, lines = size + len(chunk), lines + chunk.count(b"\n")
    return size, lines


async def at_once(
    base: str, pid: int, work: Callable[[], Awaitable[object]]
) -> tuple[float, float, list[float]]:
    """`CONCURRENT` of `work` together: seconds, the process's peak MB, /healthz times."""
    probe = subprocess.Popen([sys.executable, "-c", PROBE, base], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)  # fmt: skip
    await asyncio.sleep(0.2)  # a few answers before, for comparison
    with PeakRss(pid) as rss:
        started = time.perf_counter()
        await asyncio.gather(*(work() for _ in range(CONCURRENT)))
        took = time.perf_counter() - started
    out, _ = probe.communicate("")
    return took, rss.peak_kb / 1024, json.loads(out)


def healthz_line(times: list[float]) -> str:
    p99 = (
        statistics.quantiles(times, n=100, method="inclusive")[98] if len(times) >= 2 else times[0]
    )
    worst = max(times)
    verdict = "PASS" if worst < HEALTHZ_TARGET_S else "FAIL"
    return (f"median {statistics.median(times):.3f} s, p99 {p99:.3f} s, worst {worst:.3f} s"
            f" ({len(times)} asked)   target < {HEALTHZ_TARGET_S} s   {verdict}")  # fmt: skip


async def new_postgres(server: str) -> str:
    """A fresh database on the server (asyncpg URL), dropped by `drop_postgres`."""
    name = f"bench_optouts_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(server.replace("postgresql+asyncpg", "postgresql"))
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    return f"{server.rsplit('/', 1)[0]}/{name}"


async def drop_postgres(url: str) -> None:
    server, name = url.rsplit("/", 1)
    admin = await asyncpg.connect(f"{server}/postgres".replace("postgresql+asyncpg", "postgresql"))
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


async def run(rows: int, redis_url: str, postgres: str | None) -> None:
    database = await new_postgres(postgres) if postgres else None
    try:
        env = bench_env(redis_url, **({"DATABASE_URL": database} if database else {}))
        await load(env["DATABASE_URL"], rows)
        token = textcast(env, "apikey", "create", "bench").split("Bearer ")[1].split()[0]
        base = f"http://127.0.0.1:{env['PORT']}"
        bot = start_bot(env)
        try:
            await until_healthy(base, tries=600)  # a loaded machine starts slowly
            await measure(base, token, bot.pid, rows, env["DATABASE_URL"].split(":")[0])
        finally:
            bot.terminate()
            bot.wait()
    finally:
        if database:
            await drop_postgres(database)


async def measure(base: str, token: str, pid: int, rows: int, database: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    timeout = aiohttp.ClientTimeout(total=600)
    async with aiohttp.ClientSession(headers=headers, timeout=timeout) as http:
        await get(http, f"{base}/v1/sms/optouts", limit="1")  # warm: routes, key check, a read
        print(f"opt-outs listed      {rows:,} ({database})")
        start_mb = rss_kb(Path(f"/proc/{pid}/status")) / 1024
        for limit in ("100", "1000"):
            runs = [await get(http, f"{base}/v1/sms/optouts", limit=limit) for _ in range(5)]
            took = statistics.median(t for _, t in runs)
            verdict = "PASS" if took < PAGE_TARGET_S else "FAIL"
            print(f"one page, limit={limit:<5} {took:6.3f} s (median of 5), "
                  f"{len(runs[0][0]) / 1e3:,.1f} KB   target < {PAGE_TARGET_S} s   {verdict}")  # fmt: skip

        started = time.perf_counter()
        phones, size = await walk(http, base)
        took = time.perf_counter() - started
        once = "PASS" if len(phones) == len(set(phones)) == rows else "FAIL"
        print(f"walk, every page     {took:6.2f} s, {size / 1e6:.1f} MB, {len(phones):,} numbers"
              f" ({len(set(phones)):,} different)   each once: {once}")  # fmt: skip

        started = time.perf_counter()
        size, lines = await export(http, base)
        took = time.perf_counter() - started
        whole = "PASS" if lines == rows + 1 else "FAIL"
        print(f"CSV export           {took:6.2f} s, {size / 1e6:.1f} MB, {lines - 1:,} rows"
              f"   whole: {whole}")  # fmt: skip

        print(f"web process          {start_mb:.0f} MB resident before the ten at once")
        _, _, idle = await at_once(base, pid, lambda: asyncio.sleep(3))
        print(f"  /healthz, nothing else asked: {healthz_line(idle)}")
        for label, work in (("ten walks at once", lambda: walk(http, base)),
                            ("ten exports at once", lambda: export(http, base))):  # fmt: skip
            took, peak_mb, times = await at_once(base, pid, work)
            growth = peak_mb - start_mb
            verdict = "PASS" if growth < GROWTH_TARGET_MB else "FAIL"
            print(f"{label:<20} {took:6.2f} s; peak {peak_mb:.0f} MB (+{growth:.0f} MB)"
                  f"   target < +{GROWTH_TARGET_MB} MB   {verdict}")  # fmt: skip
            print(f"  /healthz meanwhile {healthz_line(times)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument(
        "--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    parser.add_argument("--postgres", help="e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    asyncio.run(run(args.rows, args.redis_url, args.postgres))


if __name__ == "__main__":
    main()
