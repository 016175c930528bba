"""Scaling out on PostgreSQL: what each message costs the database, and how it grows.

    .venv/bin/python bench/scale_out.py [--only 1,2,3,4,5] [--quick] [--database-url URL]
                                        [--redis-url URL] [--pgbouncer] [--callbacks-at-once N]

1. Database work per message. One worker process sends a campaign to the stand-in (10 numbers
   at 1,000 MPS, no latency, so pacing is not what limits) while one web process takes every
   status callback the stand-in's carrier posts (queued, sent, delivered). Both processes run
   under `bench/statement_counter.py`, which counts every statement they send to PostgreSQL
   (an executemany once per row, as the server runs it). Targets: at most 0.1 statements per
   message sent by the worker, at most 0.05 per status callback taken by the web process.
   The stand-in posts 16 callbacks at once, each waiting for its answer (`--callbacks-at-once`:
   another number; Twilio documents no limit, its callbacks come from many hosts at once).
2. The plans of the worker's once-a-second settle queries (`quarantine_expired`, `take_checks`,
   `next_check_in`) on a campaign of 100,000 recipients, half of them submitted and still
   queued (their callbacks not in), before and after ANALYZE. Target: no plan reads the
   campaign's queued rows (a scan that grows with the campaign); each reads only the rows
   claimed or waiting for a lookup.

3. Redis commands a second with 1, 2, 4 and 8 worker processes, idle and then with as many
   campaigns sending slowly (their drive jobs running), before (arq's own polling, through
   `bench/plain_poll_worker.py`) and after. Target: growing with the workers, not their square.
4. Pacing-bound: 6,000 recipients over 20 numbers at 25 MPS, driven by 1, 2 and 4 worker
   processes (a send loop in each): messages a second against the carrier minimum, the most
   creates one number sent in any second (judged by when they left the workers, from their
   LOG_DEPARTURES lines) and Redis commands per message. Targets (issue 24, not met yet):
   within 2% of the minimum whatever the workers, never over a number's MPS, at most 2 Redis
   commands per message.
5. Latency-bound: 100,000 recipients over 20 numbers at 1,000 MPS with 150 ms on every create,
   driven by 1, 2 and 4 worker processes, each under the statement counter: messages a second
   and how they scale, SQL statements, Redis commands and worker CPU per message, duplicates.
   `--pgbouncer`: the workers reach PostgreSQL through PgBouncer in transaction mode
   (`DATABASE_POOL_MODE=transaction`, tests/pgbouncer.py starts it).

Each part has its own PostgreSQL database (created, migrated with `campaigns.migrate.upgrade`,
dropped afterwards), its own stand-in process and its own Redis namespace (parts 3 and 4: a
Redis server of their own, whose command counts are theirs alone). `--quick` runs
smaller sizes and says so.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
from redis.asyncio import Redis
from sending import (
    FAST,
    Part,
    Sandbox,
    Sent,
    check_sent,
    clean_env,
    cpu_seconds,
    draft,
    figure,
    part,
    sandbox,
    send,
    worker,
)
from sqlalchemy import event, func, select, text
from web_process import ROOT, free_port, until_healthy

from bot.jobs import enqueue_start
from campaigns.models import UNSETTLED, Recipient
from campaigns.service import Context, launch_campaign
from campaigns.service.claims import (
    has_unsettled_claims,
    next_check_in,
    quarantine_expired,
    take_checks,
)
from worker.engine import PACING_MARGIN

sys.path.insert(0, str(ROOT))  # the tests' private Redis server serves here too
from tests.pgbouncer import start_pgbouncer
from tests.worker.private_redis import private_redis
from tests.worker.stack import departures

BENCH = Path(__file__).resolve().parent
COUNTER = str(BENCH / "statement_counter.py")
STATEMENTS_TARGET = 0.1  # per message sent
CALLBACK_STATEMENTS_TARGET = 0.05  # per status callback taken


# A PostgreSQL database of its own ---------------------------------------------------------------


def _admin_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


@asynccontextmanager
async def database(url: str) -> AsyncIterator[str]:
    """A new, empty database on the server `url` names; its SQLAlchemy URL. Dropped after."""
    name = f"bench_scale_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(_admin_dsn(url))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield url.rsplit("/", 1)[0] + "/" + name
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


# Counting statements in a running process -------------------------------------------------------


def read_counts(path: Path) -> Counter[str]:
    try:
        return Counter(json.loads(path.read_text()))
    except FileNotFoundError:
        return Counter()


async def settled_counts(path: Path) -> Counter[str]:
    """The counts once the process has written them again (it does every half second)."""
    await asyncio.sleep(0.6)
    return read_counts(path)


def statements(counts: Counter[str]) -> int:
    return sum(n for what, n in counts.items() if what != "COMMIT")


def busiest(counts: Counter[str], per: int, top: int = 4) -> str:
    kinds = [(what, n) for what, n in counts.most_common() if what != "COMMIT"][:top]
    return ", ".join(f"{what} {n / per:.3f}" for what, n in kinds)


@asynccontextmanager
async def web(bench: Part, counts: Path, port: int) -> AsyncIterator[str]:
    """`textcast bot` under the counter, on `port`; its base URL."""
    log = bench.workdir / "web.log"
    with log.open("ab") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, COUNTER, str(counts), "-m", "textcast.cli", "bot",
            env=clean_env(**bench.env, PORT=str(port), HOST="127.0.0.1"),
            cwd=bench.workdir, stdout=out, stderr=out,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        await until_healthy(base, tries=300)
        yield base
    finally:
        process.terminate()
        await process.wait()


# Part 1: database work per message --------------------------------------------------------------


async def callbacks_taken(stand_in: Sandbox, timeout: float = 900) -> int:
    """Wait until the stand-in's carrier has settled every message and posted every callback;
    how many it posted."""
    deadline = time.monotonic() + timeout
    while True:
        stats = await stand_in.get("/sandbox/summary")
        if (not stats["in_flight"] and not stats["callbacks_pending"]) or (
            time.monotonic() > deadline
        ):
            return stats["callbacks_posted"]
        await asyncio.sleep(0.25)


async def database_work(
    quick: bool, database_url: str, redis_url: str, workdir: Path, at_once: int = 16
) -> None:
    count = 3_000 if quick else 20_000
    quick_note = " (QUICK)" if quick else ""
    print(f"1. Database work: {count:,} messages, one worker and one web process{quick_note}")
    async with (
        sandbox(FAST, workdir) as stand_in,
        database(database_url) as url,
        part(stand_in, FAST, redis_url, url) as bench,
    ):
        await stand_in.post("/sandbox/carrier", {"callback_concurrency": at_once})
        worker_counts, web_counts = bench.workdir / "worker.json", bench.workdir / "web.json"
        campaign_id = await draft(bench.ctx, count)
        port = free_port()
        # Both processes: the web process checks each callback's signature against it.
        bench.env["PUBLIC_BASE_URL"] = f"http://127.0.0.1:{port}"
        # The stand-in posts every callback from one address, with no proxy in between to hold
        # them to the web process's cap on one address's connections (the README's set-up).
        cap = int(bench.env.get("MAX_CONNECTIONS_PER_ADDRESS", "32"))
        bench.env["MAX_CONNECTIONS_PER_ADDRESS"] = str(max(cap, 2 * at_once))
        async with web(bench, web_counts, port):
            async with worker(bench, command=(COUNTER, str(worker_counts), "-m", "worker")):
                before, web_before = await settled_counts(worker_counts), read_counts(web_counts)
                sent = await send(bench, stand_in, campaign_id)
                check_sent(sent)
                after = await settled_counts(worker_counts)
                started = time.monotonic()
                posted = await callbacks_taken(stand_in)
                waited = time.monotonic() - started
                web_after = await settled_counts(web_counts)
                statuses = await final_statuses(bench.ctx, campaign_id)
    used, web_used = after - before, web_after - web_before
    per_message = statements(used) / sent.messages
    figure("sent", f"{sent.messages:,} messages at {sent.rate:,.0f}/s")
    figure(
        "SQL per message (worker)",
        f"{per_message:.3f}",
        f"<= {STATEMENTS_TARGET}",
        per_message <= STATEMENTS_TARGET,
    )
    figure("commits per message (worker)", f"{used['COMMIT'] / sent.messages:.3f}")
    print(f"   (the most frequent, per message: {busiest(used, sent.messages)})")
    per_callback = statements(web_used) / max(posted, 1)
    figure(
        "SQL per callback (web)",
        f"{per_callback:.3f}",
        f"<= {CALLBACK_STATEMENTS_TARGET}",
        per_callback <= CALLBACK_STATEMENTS_TARGET,
    )
    print(
        f"   ({posted:,} callbacks; the most frequent, per callback: "
        f"{busiest(web_used, max(posted, 1))}; "
        f"{posted / max(web_used['COMMIT'], 1):.1f} callbacks a transaction, the stand-in posting "
        f"{at_once} at a time; the last posted {waited:.0f} s after the last message was sent)"
    )
    print(f"   (recipients' statuses at the end: {dict(statuses)})")


async def final_statuses(ctx: Context, campaign_id: str) -> Counter[str]:
    async with ctx.db.read() as session:
        rows = await session.execute(
            select(Recipient.status, func.count())
            .where(Recipient.campaign_id == campaign_id)
            .group_by(Recipient.status)
        )
        return Counter({status: n for status, n in rows})


# Part 2: the settle queries' plans ----------------------------------------------------------

SETTLE_INDEX = "ix_recipients_unsettled"
HELD, QUARANTINED = 500, 100  # claims a loop holds, and recipients waiting for a lookup


async def settle_statements(ctx: Context, campaign_id: str) -> list[tuple[str, Any]]:
    """The statements the worker's settle questions send, as they send them (none changes
    anything here: no lease has run out, no lookup is due)."""
    asked: list[tuple[str, Any]] = []

    def grab(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT") and "recipients" in statement:
            asked.append((statement, parameters))

    engine = ctx.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", grab)
    try:
        assert await quarantine_expired(ctx, campaign_id, wait=5) == 0
        assert await take_checks(ctx, campaign_id, token="bench", lease=30, limit=50) == []
        await next_check_in(ctx, campaign_id)
        await has_unsettled_claims(ctx, campaign_id)
    finally:
        event.remove(engine, "before_cursor_execute", grab)
    return asked


async def stage(ctx: Context, campaign_id: str, count: int) -> None:
    """Half the campaign submitted and still queued (no callback yet), a loop's claims held, a
    few waiting for a lookup, the rest pending: a large campaign halfway through."""
    submitted = count // 2
    async with ctx.db.transaction() as session:
        first = await session.scalar(
            select(func.min(Recipient.id)).where(Recipient.campaign_id == campaign_id)
        )
        await session.execute(
            text(
                "UPDATE recipients SET status = 'queued', twilio_sid = 'SM' || id, sent_at = now() "
                "WHERE campaign_id = :c AND id < :held"
            ),
            {"c": campaign_id, "held": first + submitted},
        )
        await session.execute(
            text(
                "UPDATE recipients SET status = 'queued', claim_token = 'loop', claimed_at = now(), "
                "lease_until = now() + interval '30 seconds' "
                "WHERE campaign_id = :c AND id >= :held AND id < :waiting"
            ),
            {"c": campaign_id, "held": first + submitted,
             "waiting": first + submitted + HELD},
        )  # fmt: skip
        await session.execute(
            text(
                "UPDATE recipients SET status = 'queued', unknown_since = now(), "
                "check_at = now() + interval '60 seconds' "
                "WHERE campaign_id = :c AND id >= :waiting AND id < :rest"
            ),
            {"c": campaign_id, "waiting": first + submitted + HELD,
             "rest": first + submitted + HELD + QUARANTINED},
        )  # fmt: skip


async def explain(ctx: Context, asked: list[tuple[str, Any]]) -> list[tuple[float, str]]:
    """Each statement run under EXPLAIN ANALYZE (rolled back: FOR UPDATE locks nothing for
    long): its time in ms and its plan's nodes."""
    found = []
    async with ctx.db.engine.connect() as connection:
        for statement, parameters in asked:
            transaction = await connection.begin()
            rows = await connection.exec_driver_sql(
                f"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) {statement}", parameters
            )
            lines = list(rows.scalars())
            await transaction.rollback()
            ms = next(float(line.split()[2]) for line in lines if "Execution Time" in line)
            nodes = [
                line.strip().removeprefix("->").strip()
                for line in lines
                if ("Scan" in line or "Index" in line) and "Cond" not in line
            ]
            found.append((ms, "; ".join(nodes)))
    return found


def print_plans(label: str, plans: list[tuple[float, str]], names: list[str]) -> bool:
    print(f"   {label}:")
    reads_queue = False
    for name, (ms, plan) in zip(names, plans, strict=True):
        scans = SETTLE_INDEX not in plan or "Seq Scan" in plan
        reads_queue |= scans
        print(f"     {name:<20} {ms:7.2f} ms  {plan}")
    return not reads_queue


async def settle_plans(quick: bool, database_url: str, redis_url: str, workdir: Path) -> None:
    count = 20_000 if quick else 100_000
    quick_note = " (QUICK)" if quick else ""
    print(
        f"2. Settle queries: a campaign of {count:,}, {count // 2:,} submitted and queued, "
        f"{HELD} held, {QUARANTINED} waiting for a lookup{quick_note}"
    )
    names = ["quarantine_expired", "take_checks", "next_check_in", "has_unsettled_claims"]
    async with (
        sandbox(FAST, workdir) as stand_in,
        database(database_url) as url,
        part(stand_in, FAST, redis_url, url) as bench,
    ):
        ctx = bench.ctx
        async with ctx.db.transaction() as session:  # statistics only when this bench says
            await session.execute(text("ALTER TABLE recipients SET (autovacuum_enabled = false)"))
        campaign_id = await draft(ctx, count)
        await stage(ctx, campaign_id, count)
        asked = await settle_statements(ctx, campaign_id)
        plans = {}
        for analysed in (False, True):
            plans[analysed, True] = await explain(ctx, asked)
            await index(ctx, drop=True)  # as it was before migration 0016
            plans[analysed, False] = await explain(ctx, asked)
            await index(ctx, drop=False)
            async with ctx.db.engine.connect() as connection:
                await connection.execute(text("ANALYZE recipients"))
                await connection.commit()
    ok = True
    for analysed in (False, True):
        when = "analysed" if analysed else "never analysed"
        print_plans(f"{when}, without the partial index (before migration 0016)",
                    plans[analysed, False], names)  # fmt: skip
        ok &= print_plans(f"{when}, with it", plans[analysed, True], names)
    figure("queued rows read", "none" if ok else "some", "none", ok)


async def index(ctx: Context, *, drop: bool) -> None:
    """Drop the partial index, or make it again as migration 0016 does."""
    async with ctx.db.transaction() as session:
        if drop:
            await session.execute(text(f"DROP INDEX {SETTLE_INDEX}"))
        else:
            await session.execute(
                text(f"CREATE INDEX {SETTLE_INDEX} ON recipients (campaign_id, check_at, id) "
                     f"WHERE {UNSETTLED}")
            )  # fmt: skip


# Part 3: Redis polling ------------------------------------------------------------------------


@asynccontextmanager
async def alone(
    senders: dict[str, int], database_url: str, workdir: Path
) -> AsyncIterator[tuple[Sandbox, Part, Redis, AsyncExitStack]]:
    """A part on a Redis server of its own (its command counts are the part's alone): the
    stand-in, the part, a client of that Redis, and a stack for the workers started in it."""
    async with (
        private_redis(workdir) as redis_server,
        sandbox(senders, workdir) as stand_in,
        database(database_url) as url,
        part(stand_in, senders, redis_server.url, url) as bench,
        AsyncExitStack() as stack,
    ):
        client = Redis.from_url(redis_server.url)
        try:
            yield stand_in, bench, client, stack
        finally:
            await client.aclose()


ONE_SLOW = {"+14155550100": 1}  # one number at 1 MPS, shared: each campaign runs for minutes
POLLERS = {"after": ("-m", "worker"), "before": (str(BENCH / "plain_poll_worker.py"),)}


async def redis_commands(redis: Redis) -> Counter[str]:
    stats = await redis.info("commandstats")
    return Counter({name.removeprefix("cmdstat_"): v["calls"] for name, v in stats.items()
                    if name != "cmdstat_info"})  # fmt: skip


async def commands_a_second(redis: Redis, seconds: float) -> tuple[float, Counter[str]]:
    before = await redis_commands(redis)
    await asyncio.sleep(seconds)
    used = await redis_commands(redis) - before
    return sum(used.values()) / seconds, used


async def running_campaigns(bench: Part, stand_in: Sandbox, count: int) -> None:
    """`count` campaigns launched, each with a send loop running (their drive jobs in arq)."""
    ids = [await draft(bench.ctx, 200) for _ in range(count)]
    for campaign_id in ids:
        view = await launch_campaign(bench.ctx, campaign_id, "bench", consent_confirmed=True)
        await enqueue_start(bench.redis, bench.namespace, campaign_id, view.campaign.version)
    async with asyncio.timeout(60):
        while (await stand_in.get("/sandbox/summary"))["messages"] < count:
            await asyncio.sleep(0.2)


async def polling(
    workers: int, poller: str, window: float, database_url: str, workdir: Path
) -> tuple[float, float, Counter[str]]:
    """Commands a second with `workers` worker processes, idle and then busy."""
    async with alone(ONE_SLOW, database_url, workdir) as (stand_in, bench, redis, stack):
        for n in range(workers):
            await stack.enter_async_context(worker(bench, f"worker{n}", POLLERS[poller]))
        await asyncio.sleep(2)  # past the start-up sweeps
        idle, _ = await commands_a_second(redis, window)
        await running_campaigns(bench, stand_in, workers)
        busy, used = await commands_a_second(redis, window)
    return idle, busy, used


async def redis_polling(quick: bool, database_url: str, workdir: Path) -> None:
    sizes = [1, 2, 4] if quick else [1, 2, 4, 8]
    window = 5.0 if quick else 10.0
    quick_note = " (QUICK)" if quick else ""
    print(
        f"3. Redis polling: commands a second over {window:.0f} s, with N workers idle, then with "
        f"N campaigns sending (one number at 1 MPS between them){quick_note}"
    )
    print(f"   {'workers':<9}{'idle before':>12}{'idle after':>12}{'busy before':>13}"
          f"{'busy after':>12}   busiest after")  # fmt: skip
    for workers in sizes:
        old_idle, old_busy, _ = await polling(workers, "before", window, database_url, workdir)
        idle, busy, used = await polling(workers, "after", window, database_url, workdir)
        top = ", ".join(f"{name} {n / window:.0f}" for name, n in used.most_common(3))
        print(
            f"   {workers:<9}{old_idle:>12.0f}{idle:>12.0f}{old_busy:>13.0f}{busy:>12.0f}   {top}"
        )


# Part 4: pacing-bound campaigns with more workers ---------------------------------------------

PACED = {f"+1415555{index:04d}": 25 for index in range(100, 120)}  # 20 numbers at 25 MPS


def busiest_second(times: list[float]) -> int:
    """The most of `times` in any one-second window."""
    times = sorted(times)
    most, start = 0, 0
    for end, at in enumerate(times):
        while at - times[start] >= 1.0:
            start += 1
        most = max(most, end - start + 1)
    return most


async def paced_run(workers: int, count: int, database_url: str, workdir: Path) -> PacedRun:
    """One campaign over PACED, driven by `workers` processes (a send loop in each): what was
    sent, the most creates one number sent in any second, and Redis commands per message."""
    async with alone(PACED, database_url, workdir) as (stand_in, bench, redis, stack):
        bench.env.update(LOG_DEPARTURES="true", WORKER_DRIVERS_PER_CAMPAIGN=str(workers))
        campaign_id = await draft(bench.ctx, count)
        logs = []
        for n in range(workers):
            running = await stack.enter_async_context(worker(bench, f"worker{n}"))
            logs.append(running.log)
        before = await redis_commands(redis)
        sent = await send(bench, stand_in, campaign_id)
        used = await redis_commands(redis) - before
        check_sent(sent)
        most = max(busiest_second(times) for times in departures(logs).values())
        lost, pushed = given_up(logs)
    top = ", ".join(f"{name} {n / sent.messages:.2f}" for name, n in used.most_common(4))
    return PacedRun(sent, most, sum(used.values()) / sent.messages, top, lost, pushed)


@dataclass
class PacedRun:
    sent: Sent
    most: int  # the most creates one number sent in any second
    redis: float  # Redis commands a message
    top: str  # the commands most used, a message each
    lost: int  # send slots given up, every loop together
    pushed: float  # seconds the numbers' schedules were moved back, every loop together


GIVEN_UP = re.compile(
    r"(\d+) send slots given up, and the numbers' schedules moved back ([\d.]+) s"
)


def given_up(logs: list[Path]) -> tuple[int, float]:
    """What the send loops logged as they ended: slots given up, seconds pushed back."""
    found = [GIVEN_UP.search(line) for log in logs for line in log.read_text().splitlines()]
    return (
        sum(int(match[1]) for match in found if match),
        sum(float(match[2]) for match in found if match),
    )


async def paced(quick: bool, database_url: str, workdir: Path) -> None:
    count = 1_500 if quick else 6_000
    total_mps = sum(PACED.values())
    minimum = count / total_mps
    quick_note = " (QUICK)" if quick else ""
    print(
        f"4. Pacing-bound: {count:,} recipients over {len(PACED)} numbers at "
        f"{next(iter(PACED.values()))} MPS (carrier minimum {minimum:.1f} s), one send loop per "
        f"worker{quick_note}"
    )
    print(f"   {'workers':<9}{'messages/s':>11}{'x minimum':>11}{'x paced':>9}{'most a second':>15}"
          f"{'Redis per message':>19}")  # fmt: skip
    paced_minimum = minimum / (1 - PACING_MARGIN)
    runs = []
    for workers in (1, 2, 4):
        run = await paced_run(workers, count, database_url, workdir)
        runs.append((workers, run))
        print(f"   {workers:<9}{run.sent.rate:>11.0f}{run.sent.seconds / minimum:>11.3f}"
              f"{run.sent.seconds / paced_minimum:>9.3f}{run.most:>9} of {next(iter(PACED.values()))}{run.redis:>19.2f}")  # fmt: skip
    for workers, run in runs:
        print(f"   ({workers} worker{'s' if workers > 1 else ''}: {run.lost} slots given up and "
              f"{run.pushed:.2f} s of pushing back in all; first create after "
              f"{run.sent.first * 1000:.0f} ms; Redis a message: {run.top})")  # fmt: skip
    print(
        f"   (the engine paces {PACING_MARGIN:.0%} under each number's MPS, so "
        f"{1 / (1 - PACING_MARGIN):.4f} x minimum is the least it can take: 'x paced' is against "
        "that; a second is judged by when creates left the workers)"
    )


# Part 5: latency-bound scale-out ----------------------------------------------------------------

LATENT = {f"+1415556{index:04d}": 1_000 for index in range(100, 120)}  # 20 numbers at 1,000 MPS
LATENCY_MS = 150


@dataclass
class ScaleRun:
    sent: Sent
    statements: float  # per message, every worker's together
    redis: float  # commands per message
    cpu_ms: float  # worker CPU per message, every worker's together


async def scale_run(
    workers: int, count: int, database_url: str, workdir: Path, pooled: bool
) -> ScaleRun:
    """One campaign over LATENT with 150 ms on every create, driven by `workers` processes (a
    send loop in each), each under the statement counter; through PgBouncer if `pooled`."""
    async with alone(LATENT, database_url, workdir) as (stand_in, bench, redis, stack):
        await stand_in.post("/sandbox/faults", {"latency_ms": LATENCY_MS})
        bench.env.update(WORKER_DRIVERS_PER_CAMPAIGN=str(workers))
        if pooled:
            pooler = await start_pgbouncer(bench.env["DATABASE_URL"], 4)
            stack.push_async_callback(pooler.stop)
            bench.env.update(DATABASE_URL=pooler.url, DATABASE_POOL_MODE="transaction")
        campaign_id = await draft(bench.ctx, count)
        counts = [bench.workdir / f"worker{n}.json" for n in range(workers)]
        running = [
            await stack.enter_async_context(
                worker(bench, f"worker{n}", command=(COUNTER, str(path), "-m", "worker"))
            )
            for n, path in enumerate(counts)
        ]
        before = [await settled_counts(path) for path in counts]
        cpu_before = [cpu_seconds(w.process.pid) for w in running]
        redis_before = await redis_commands(redis)
        sent = await send(bench, stand_in, campaign_id)
        redis_used = await redis_commands(redis) - redis_before
        cpu = sum(cpu_seconds(w.process.pid) - c for w, c in zip(running, cpu_before, strict=True))
        used: Counter[str] = Counter()
        for path, counted in zip(counts, before, strict=True):
            used += await settled_counts(path) - counted
        check_sent(sent)
    per = sent.messages
    return ScaleRun(sent, statements(used) / per, sum(redis_used.values()) / per, cpu * 1000 / per)


async def scale_out(quick: bool, database_url: str, workdir: Path, pooled: bool) -> None:
    count = 10_000 if quick else 100_000
    quick_note = " (QUICK)" if quick else ""
    through = ", through PgBouncer in transaction mode (4 server connections)" if pooled else ""
    print(
        f"5. Latency-bound: {count:,} recipients over {len(LATENT)} numbers at 1,000 MPS, "
        f"{LATENCY_MS} ms on every create, one send loop per worker{through}{quick_note}"
    )
    print(f"   {'workers':<9}{'messages/s':>11}{'scale':>7}{'SQL/message':>13}"
          f"{'Redis/message':>15}{'CPU ms/message':>16}{'duplicates':>12}")  # fmt: skip
    first = None
    for workers in (1, 2, 4):
        run = await scale_run(workers, count, database_url, workdir, pooled)
        first = first or run.sent.rate
        print(f"   {workers:<9}{run.sent.rate:>11.0f}{run.sent.rate / first:>7.2f}"
              f"{run.statements:>13.3f}{run.redis:>15.2f}{run.cpu_ms:>16.3f}"
              f"{run.sent.duplicates:>12}")  # fmt: skip


# Running --------------------------------------------------------------------------------------


async def run(
    parts: set[int], quick: bool, database_url: str, redis_url: str, pooled: bool, at_once: int
) -> None:
    workdir = Path(os.environ.get("TMPDIR", "/tmp"))
    print(f"Scale-out benchmark on PostgreSQL, {os.cpu_count()} cores")
    if 1 in parts:
        await database_work(quick, database_url, redis_url, workdir, at_once)
    if 2 in parts:
        await settle_plans(quick, database_url, redis_url, workdir)
    if 3 in parts:
        await redis_polling(quick, database_url, workdir)
    if 4 in parts:
        await paced(quick, database_url, workdir)
    if 5 in parts:
        await scale_out(quick, database_url, workdir, pooled)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="1,2,3,4,5", help="parts to run, e.g. 1,3")
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
        ),
        help="a PostgreSQL server to make the benchmark's databases on",
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument(
        "--pgbouncer", action="store_true", help="part 5's workers reach PostgreSQL through one"
    )
    parser.add_argument(
        "--callbacks-at-once",
        type=int,
        default=16,
        help="status callbacks the stand-in posts at once in part 1 (default 16)",
    )
    args = parser.parse_args()
    parts = {int(p) for p in args.only.split(",")}
    asyncio.run(
        run(parts, args.quick, args.database_url, args.redis_url, args.pgbouncer,
            args.callbacks_at_once)
    )  # fmt: skip


if __name__ == "__main__":
    main()
