"""How many Twilio status callbacks one web process ingests per second.

    .venv/bin/python bench/status_callbacks.py [--recipients 20000] [--connections 200]
        [--database-url URL] [--callbacks-per-recipient 1|2|3] [--client plain|aiohttp]
        [--profile FILE]

Starts the web process (the real `Runtime` and `create_web_app`, a fresh SQLite database
migrated with `campaigns.migrate.upgrade`, real Redis) on a local port, stores a campaign of N
recipients with their Twilio SIDs written straight into the database, then fires the callbacks
from a separate process over `--connections` keep-alive connections, each signed as Twilio signs
it (`RequestValidator.compute_signature` over PUBLIC_BASE_URL). Prints callbacks ingested per
second, from the first request to the last answer (and an answer is only sent once its update
is committed), the SQL statements the web process sent per callback (target: at most 0.05, on
PostgreSQL), and checks that every recipient ended in the status it was sent.

The load generator writes its HTTP/1.1 requests by hand on asyncio streams: aiohttp's client
(`--client aiohttp`) needs about twice the CPU per request, and on a 2-core machine it tops out
below what the server takes, so it would measure itself. Target on the 2-core reference
machine: 3,000 callbacks/s or more.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import multiprocessing
import statistics
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import statement_counter
from aiohttp import ClientSession, TCPConnector, web
from sqlalchemy import func, select, update
from twilio.request_validator import RequestValidator

from bot.app import create_web_app
from bot.runtime import Runtime
from bot.twilio.batcher import BATCHER
from campaigns import migrate
from campaigns.db import Database
from campaigns.models import Recipient
from campaigns.recipients import check_recipient_list
from campaigns.service import NewCampaign, create_campaign
from campaigns.service.status_news import status_news_key
from campaigns.settings import Settings

AUTH_TOKEN = "0123456789abcdef0123456789abcdef"
ACCOUNT_SID = "AC" + "5a4db0c5" * 4
SENDER = "+14155550100"
# Twilio calls the address people configure, which a proxy forwards here: signatures cover it.
PUBLIC_BASE_URL = "https://textcast.example.com"
PATH = "/twilio/status"

Plan = list[tuple[str, str, str, int | None]]  # (sid, Twilio status, to, error code)


def outcome(index: int) -> tuple[str, int | None]:
    """What happened to the index-th message: mostly delivered, some carrier failures."""
    if index % 20 == 7:
        return "undelivered", 30003
    if index % 50 == 3:
        return "failed", 30008
    return "delivered", None


def sid_of(recipient_id: int) -> str:
    return f"SM{recipient_id:032x}"


# The load generator (a separate process) ----------------------------------------------------


def fire(url: str, plan: Plan, connections: int, client: str, results: Any) -> None:
    results.put(asyncio.run(_fire(url, plan, connections, client)))


def _signed(plan: Plan) -> list[tuple[bytes, str]]:
    """Each callback's form body and X-Twilio-Signature, as Twilio would post them."""
    validator = RequestValidator(AUTH_TOKEN)
    signed = []
    for sid, status, to, code in plan:
        params = {
            "AccountSid": ACCOUNT_SID,
            "ApiVersion": "2010-04-01",
            "From": SENDER,
            "MessageSid": sid,
            "MessageStatus": status,
            "SmsSid": sid,
            "SmsStatus": status,
            "To": to,
        }
        if code is not None:
            params["ErrorCode"] = str(code)
        signature = validator.compute_signature(PUBLIC_BASE_URL + PATH, params)
        signed.append((urlencode(params).encode(), signature))
    return signed


async def _fire(url: str, plan: Plan, connections: int, client: str) -> dict[str, Any]:
    signed = _signed(plan)
    answers: Counter[int] = Counter()
    latencies: list[float] = []
    pending = iter(signed)
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80

    async def plain_connection() -> None:
        # HTTP/1.1 with keep-alive, one request at a time, written by hand: aiohttp's client
        # costs about twice the CPU per request, and tops out below what the server takes.
        reader, writer = await asyncio.open_connection(host, port)
        head = f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        head += "Content-Type: application/x-www-form-urlencoded\r\n"
        try:
            for body, signature in pending:
                sent = time.perf_counter()
                writer.write(
                    f"{head}X-Twilio-Signature: {signature}\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )
                status = int((await reader.readline()).split()[1])
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                if length:
                    await reader.readexactly(length)
                answers[status] += 1
                latencies.append(time.perf_counter() - sent)
        finally:
            writer.close()

    async def aiohttp_connection(session: ClientSession) -> None:
        for body, signature in pending:
            sent = time.perf_counter()
            headers = {
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": signature,
            }
            async with session.post(url, data=body, headers=headers) as response:
                await response.read()
                answers[response.status] += 1
            latencies.append(time.perf_counter() - sent)

    started = time.perf_counter()
    if client == "aiohttp":
        async with ClientSession(connector=TCPConnector(limit=connections)) as session:
            started = time.perf_counter()
            await asyncio.gather(*(aiohttp_connection(session) for _ in range(connections)))
    else:
        await asyncio.gather(*(plain_connection() for _ in range(connections)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "elapsed": elapsed,
        "answers": dict(answers),
        "p50": statistics.median(latencies),
        "p99": latencies[int(len(latencies) * 0.99) - 1],
    }


# The web process and the database ------------------------------------------------------------


async def store_campaign(runtime: Runtime, recipients: int, per_recipient: int) -> tuple[str, Plan]:
    phones = [f"+4477{i:08d}" for i in range(recipients)]
    view = await create_campaign(
        runtime.ctx,
        NewCampaign(
            name="Benchmark",
            message_template="Your appointment is tomorrow. Reply STOP to opt out.",
            recipients=check_recipient_list([{"phone": phone} for phone in phones], "GB"),
            from_numbers=[SENDER],
            send_at=None,
            source="api",
            consent_confirmed=True,
        ),
        "bench",
    )
    async with runtime.db.read() as session:
        rows = (
            await session.execute(
                select(Recipient.id, Recipient.phone)
                .where(Recipient.campaign_id == view.campaign.id)
                .order_by(Recipient.id)
            )
        ).all()
    async with runtime.db.transaction() as session:  # as the sender stores what Twilio answered
        await session.execute(
            update(Recipient),
            [{"id": rid, "status": "queued", "twilio_sid": sid_of(rid)} for rid, _ in rows],
        )
    plan: Plan = []
    steps = {1: [], 2: ["sent"], 3: ["sending", "sent"]}[per_recipient]
    for index, (rid, phone) in enumerate(rows):
        status, code = outcome(index)
        plan += [(sid_of(rid), step, phone, None) for step in steps]
        plan.append((sid_of(rid), status, phone, code))
    return view.campaign.id, plan


async def check(runtime: Runtime, campaign_id: str, plan: Plan) -> Counter[str]:
    expected = {sid: (status, code) for sid, status, _, code in plan}
    async with runtime.db.read() as session:
        rows = await session.execute(
            select(Recipient.twilio_sid, Recipient.status, Recipient.error_code).where(
                Recipient.campaign_id == campaign_id
            )
        )
        wrong = [sid for sid, status, code in rows if expected[sid] != (status, code)]
        counts = await session.execute(
            select(Recipient.status, func.count())
            .where(Recipient.campaign_id == campaign_id)
            .group_by(Recipient.status)
        )
        by_status = Counter({status: count for status, count in counts})
    if wrong:
        raise SystemExit(f"{len(wrong)} recipients ended in the wrong status, e.g. {wrong[0]}")
    return by_status


async def run(
    recipients: int,
    connections: int,
    url: str | None,
    per_recipient: int,
    client: str,
    profile: str | None,
) -> None:
    statement_counter.count_this_process()
    with tempfile.TemporaryDirectory() as tmp:
        database_url = url or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        db = Database(database_url)
        await migrate.upgrade(db)
        namespace = f"bench-{uuid.uuid4().hex[:8]}"
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            DATABASE_URL=database_url,
            REDIS_NAMESPACE=namespace,
            PUBLIC_BASE_URL=PUBLIC_BASE_URL,
            TWILIO_ACCOUNT_SID=ACCOUNT_SID,
            TWILIO_AUTH_TOKEN=AUTH_TOKEN,
            SENDER_NUMBERS=SENDER,
        )
        runtime = await Runtime.start(settings, db=db)
        runner = web.AppRunner(create_web_app(runtime), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        try:
            campaign_id, plan = await store_campaign(runtime, recipients, per_recipient)
            results = multiprocessing.get_context("spawn").Queue()
            loader = multiprocessing.get_context("spawn").Process(
                target=fire,
                args=(f"http://127.0.0.1:{port}{PATH}", plan, connections, client, results),
            )
            before = statement_counter.snapshot()
            profiler = cProfile.Profile() if profile else None
            if profiler is not None:
                profiler.enable()
            loader.start()
            fired = await asyncio.get_running_loop().run_in_executor(None, results.get)
            loader.join()
            if profiler is not None:
                profiler.disable()
                profiler.dump_stats(profile)
            batches = runner.app[BATCHER].batches
            used = statement_counter.snapshot() - before
            by_status = await check(runtime, campaign_id, plan)
        finally:
            await runner.cleanup()
            await runtime.redis.delete(status_news_key(settings))
            await runtime.close()

    sent = len(plan)
    rate = sent / fired["elapsed"]
    print(
        f"callbacks            {sent:,} signed, {connections} connections ({client} client), from another process"
    )
    print(f"answers              {fired['answers']}")
    print(
        f"ingested in          {fired['elapsed']:6.2f} s   ({rate:,.0f} callbacks/s)   target >= 3,000/s"
    )
    print(
        f"batches              {batches:6,}   (mean {sent / max(batches, 1):,.0f} callbacks per batch)"
    )
    statements = sum(n for what, n in used.items() if what != "COMMIT")
    print(
        f"SQL statements       {statements / sent:6.3f} per callback   target <= 0.05   "
        f"({', '.join(f'{what} {n:,}' for what, n in used.most_common(4))})"
    )
    print(f"latency p50 / p99    {fired['p50'] * 1000:6.1f} ms / {fired['p99'] * 1000:.1f} ms")
    summary = ", ".join(f"{count:,} {status}" for status, count in sorted(by_status.items()))
    print(f"recipients           {recipients:,}: {summary}; every one as sent")
    if fired["answers"] != {204: sent}:
        raise SystemExit("some callbacks were not answered 204")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipients", type=int, default=20_000)
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--callbacks-per-recipient", type=int, choices=(1, 2, 3), default=1)
    parser.add_argument(
        "--client",
        choices=("plain", "aiohttp"),
        default="plain",
        help="the load generator's HTTP client (aiohttp's is the slower of the two)",
    )
    parser.add_argument("--profile", metavar="FILE", help="cProfile the web process into FILE")
    args = parser.parse_args()
    asyncio.run(
        run(
            args.recipients,
            args.connections,
            args.database_url,
            args.callbacks_per_recipient,
            args.client,
            args.profile,
        )
    )


if __name__ == "__main__":
    main()
