"""Asking Twilio for delivery statuses: for installs Twilio cannot call back (no PUBLIC_BASE_URL),
and as the backstop for the status callbacks of those it can.

`poll_statuses` is meant to be called from a periodic job, as often as every few seconds. Each
call fetches the messages that are due a check, applies what Twilio says, and returns.

Twilio does not promise to post a lost status callback again, so with PUBLIC_BASE_URL the same
schedule holds every message too, only later: its first check comes RECEIPT_BACKSTOP_SECONDS after
it was sent, and no check comes sooner than that after the one before. A message whose callback
arrived is final by then and is dropped from the schedule without a request to Twilio.

When to check a message again is kept in Redis, not in the database: a sorted set
`{REDIS_NAMESPACE}:poll` (member: recipient id, score: the Unix time it is next due) and a hash
`{REDIS_NAMESPACE}:poll:checks` (how often each was checked). A message is first checked
`BACKOFF_SECONDS[0]` after it was sent, then ever less often (5 s, 15 s, 1 min, 5 min, then
every 30 min), and given up after `max_age` without news (it stays `sent`, which counts as not
delivered). Redis may be flushed: the set is rebuilt from the database when it is missing, and
new messages are added to it from the database every `SYNC_SECONDS`. Several workers may call
this at once: a message is leased to one caller while it is being checked.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from redis.asyncio import Redis
from sqlalchemy import or_, select
from twilio.rest import Client

from campaigns.delivery_errors import OPTED_OUT
from campaigns.models import Campaign, Recipient
from campaigns.service import Context, StatusUpdate, apply_status_updates
from campaigns.service.status_news import record_refused_numbers, status_news_key
from campaigns.settings import Settings
from campaigns.status import (
    FAILURES,
    FINAL,
    RANK,
    TWILIO_STATUS,
    CampaignStatus,
    RecipientStatus,
    error_of,
)

log = logging.getLogger(__name__)

BACKOFF_SECONDS = (5, 15, 60, 300, 1800)  # before the 1st, 2nd, 3rd, 4th check, then each
SYNC_SECONDS = 15  # how often new messages are looked for in the database
LEASE_SECONDS = 60  # a message being checked is not handed to another caller for this long
DEFAULT_MAX_AGE = timedelta(hours=72)
DEFAULT_CONCURRENCY = 20
CATCH_UP_SECONDS = 4.0  # a job's rounds while messages are due: less than the 5 s between jobs
POLLED = (RecipientStatus.QUEUED, RecipientStatus.SENT)  # not final, and Twilio has them
NEVER_SENT = (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED)
_ADD_CHUNK = 10_000

# Takes the due members (lowest score first) and pushes them a lease into the future, in one
# step, so two workers polling at once never fetch the same message.
_CLAIM = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, member in ipairs(due) do
    redis.call('ZADD', KEYS[1], 'XX', ARGV[3], member)
end
return due
"""


@dataclass(frozen=True, slots=True)
class PollKeys:
    schedule: str  # sorted set: recipient id -> Unix time of its next check
    checks: str  # hash: recipient id -> checks made
    synced: str  # present while the schedule is fresh enough not to look for new messages

    @classmethod
    def of(cls, settings: Settings) -> PollKeys:
        base = f"{settings.REDIS_NAMESPACE}:poll"
        return cls(schedule=base, checks=f"{base}:checks", synced=f"{base}:synced")


@dataclass(frozen=True, slots=True)
class _InFlight:
    id: int
    sid: str
    phone: str
    campaign_id: str
    status: RecipientStatus


def next_delay(checks: int, settings: Settings) -> int:
    """Seconds to wait before the next check of a message checked `checks` times so far.

    With status callbacks (PUBLIC_BASE_URL) never sooner than RECEIPT_BACKSTOP_SECONDS: the
    callback is how the status should come, and a check is only for one that was lost.
    """
    delay = BACKOFF_SECONDS[min(checks, len(BACKOFF_SECONDS) - 1)]
    if not polling_needed(settings):
        return max(delay, settings.RECEIPT_BACKSTOP_SECONDS)
    return delay


def polling_needed(settings: Settings) -> bool:
    """Without PUBLIC_BASE_URL Twilio has nowhere to post statuses, so the worker must ask
    about every message soon; with it, only about those whose callback never came."""
    return not settings.PUBLIC_BASE_URL


async def poll_statuses(
    ctx: Context,
    twilio_client: Client,
    *,
    redis: Redis,
    batch: int = 100,
    max_age: timedelta = DEFAULT_MAX_AGE,
    concurrency: int = DEFAULT_CONCURRENCY,
) -> int:
    """Check up to `batch` due messages with Twilio; returns how many recipients moved."""
    keys = PollKeys.of(ctx.settings)
    now = ctx.now()
    cutoff = now - max_age
    await _sync(ctx, redis, keys, cutoff)
    claimed = [int(member) for member in await _claim(redis, keys, now, batch)]
    if not claimed:
        return 0
    rows = await _in_flight(ctx, claimed, cutoff)
    done = [rid for rid in claimed if rid not in rows]  # final by now, or too old to chase
    fetched = await _fetch_all(twilio_client, list(rows.values()), concurrency)
    updates: list[StatusUpdate] = []
    refused: list[tuple[str, str | None]] = []
    moved_campaigns: set[str] = set()
    still: list[int] = []
    for row, (status, code) in fetched:
        if status is None or RANK[status] <= RANK[row.status]:
            still.append(row.id)
            continue
        stored_code, reason = error_of(status, code)
        updates.append(StatusUpdate(status, row.sid, error_code=stored_code, error_reason=reason))
        moved_campaigns.add(row.campaign_id)
        if status in FAILURES and code == OPTED_OUT:
            refused.append((row.phone, row.campaign_id))
        (done if status in FINAL else still).append(row.id)
    moved = await apply_status_updates(ctx, updates) if updates else 0
    if refused:
        await record_refused_numbers(ctx, refused)
    await _reschedule(redis, keys, now, done, still, ctx.settings)
    if moved:
        await _publish(redis, ctx.settings, moved_campaigns)
    return moved


async def poll_due_statuses(
    ctx: Context,
    twilio_client: Client,
    *,
    redis: Redis,
    batch: int = 100,
    budget: float = CATCH_UP_SECONDS,
) -> int:
    """`poll_statuses`, again while messages are due, for up to `budget` seconds: a backlog (a
    large campaign's messages, all reaching RECEIPT_BACKSTOP_SECONDS together) drains at the
    pace Twilio answers rather than one batch per run. Returns how many recipients moved."""
    loop = asyncio.get_running_loop()
    until = loop.time() + budget
    keys = PollKeys.of(ctx.settings)
    moved = await poll_statuses(ctx, twilio_client, redis=redis, batch=batch)
    while loop.time() < until and await redis.zcount(keys.schedule, "-inf", ctx.now().timestamp()):
        moved += await poll_statuses(ctx, twilio_client, redis=redis, batch=batch)
    return moved


async def _sync(ctx: Context, redis: Redis, keys: PollKeys, cutoff: datetime) -> None:
    """Add messages sent since the last look; rebuild the whole schedule if it is gone."""
    first = next_delay(0, ctx.settings)
    # Never looked for later than its first check is due (a backstop shorter than SYNC_SECONDS).
    every = min(SYNC_SECONDS, first) if not polling_needed(ctx.settings) else SYNC_SECONDS
    missing = not await redis.exists(keys.schedule)
    if not missing and not await redis.set(keys.synced, "1", nx=True, ex=every):
        return
    if missing:
        await redis.set(keys.synced, "1", ex=every)
    async with ctx.db.read() as session:
        rows = await session.execute(
            select(Recipient.id, Recipient.updated_at)
            .join(Campaign, Campaign.id == Recipient.campaign_id)
            .where(
                Campaign.status.not_in(NEVER_SENT),
                or_(Campaign.finished_at.is_(None), Campaign.finished_at >= cutoff),
                Recipient.status.in_(POLLED),
                Recipient.twilio_sid.is_not(None),
                or_(Recipient.updated_at.is_(None), Recipient.updated_at >= cutoff),
            )
        )
        # Due `first` seconds after the message was sent (or last moved): after a flush, the
        # oldest come first and the ones just sent are not asked about too early.
        fallback = ctx.now().timestamp()
        due = {
            str(rid): (updated.timestamp() if updated else fallback) + first
            for rid, updated in rows
        }
    items = list(due.items())
    for start in range(0, len(items), _ADD_CHUNK):
        await redis.zadd(keys.schedule, dict(items[start : start + _ADD_CHUNK]), nx=True)
    if missing and items:
        log.info("status polling: schedule rebuilt with %d messages", len(items))


async def _claim(redis: Redis, keys: PollKeys, now: datetime, batch: int) -> list[bytes | str]:
    t = now.timestamp()
    claim = redis.register_script(_CLAIM)
    return await claim(keys=[keys.schedule], args=[t, batch, t + LEASE_SECONDS])


async def _in_flight(ctx: Context, ids: Sequence[int], cutoff: datetime) -> dict[int, _InFlight]:
    async with ctx.db.read() as session:
        rows = await session.execute(
            select(
                Recipient.id,
                Recipient.twilio_sid,
                Recipient.phone,
                Recipient.campaign_id,
                Recipient.status,
            ).where(
                Recipient.id.in_(list(ids)),
                Recipient.status.in_(POLLED),
                Recipient.twilio_sid.is_not(None),
                or_(Recipient.updated_at.is_(None), Recipient.updated_at >= cutoff),
            )
        )
        return {
            row.id: _InFlight(
                row.id, row.twilio_sid, row.phone, row.campaign_id, RecipientStatus(row.status)
            )
            for row in rows
        }


async def _fetch_all(
    client: Client, rows: Sequence[_InFlight], concurrency: int
) -> list[tuple[_InFlight, tuple[RecipientStatus | None, int | None]]]:
    gate = asyncio.Semaphore(concurrency)
    failures: list[str] = []

    async def fetch(row: _InFlight) -> tuple[RecipientStatus | None, int | None]:
        async with gate:
            try:
                message = await client.messages(row.sid).fetch_async()
            except Exception as error:  # a 404, a 429, a timeout: asked again after its backoff
                failures.append(f"recipient {row.id}: {error!r}")
                return None, None
        status = TWILIO_STATUS.get(str(message.status or ""))
        # The SDK hands back a garbled error_code as it came (a string): not a code to store.
        code = message.error_code if isinstance(message.error_code, int) else None
        return status, code

    results = await asyncio.gather(*(fetch(row) for row in rows))
    if failures:
        log.warning("status polling: %d fetches failed, e.g. %s", len(failures), failures[0])
    return list(zip(rows, results, strict=True))


async def _reschedule(
    redis: Redis,
    keys: PollKeys,
    now: datetime,
    done: Iterable[int],
    still: Iterable[int],
    settings: Settings,
) -> None:
    done, still = list(done), list(still)
    async with redis.pipeline(transaction=False) as pipe:
        if done:
            pipe.zrem(keys.schedule, *done)
            pipe.hdel(keys.checks, *done)
        for rid in still:
            pipe.hincrby(keys.checks, str(rid), 1)
        counts = await pipe.execute()
    checks = counts[2 if done else 0 :]
    if still:
        t = now.timestamp()
        due = {
            str(rid): t + next_delay(int(n), settings) for rid, n in zip(still, checks, strict=True)
        }
        await redis.zadd(keys.schedule, due, xx=True)


async def _publish(redis: Redis, settings: Settings, campaign_ids: set[str]) -> None:
    try:
        await redis.sadd(status_news_key(settings), *campaign_ids)
    except Exception as error:  # a hint for Slack refreshes; the statuses are stored
        log.warning("could not publish status news: %r", error)
