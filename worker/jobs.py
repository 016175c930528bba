"""The worker's arq jobs: start a campaign, drive its sending, and the sweep that recovers both.

The database is the truth: Redis holds only the queue, pacing and heartbeats, so after a Redis
flush or a dead worker the sweep finds due and running campaigns again and picks them up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy import select

from bot.jobs import (
    HANDLE_INBOUND,
    REFRESH_DIGEST,
    REQUEST_APPROVAL,
    SEND_TEST,
    SHOW_CHANGE,
    START_CAMPAIGN,
    enqueue_approval_request,
    enqueue_start,
    job_id,
    queue_name,
)
from campaigns.models import Campaign
from campaigns.service.approval import awaiting_without_request
from campaigns.service.claims import has_unsettled_claims
from campaigns.service.sending import (
    StartDecision,
    campaigns_to_drive,
    campaigns_to_settle,
    start_campaign,
)
from campaigns.service.status_news import status_news_key
from campaigns.status import FINISHED, CampaignStatus
from worker.engine import Driver
from worker.inbound import handle_inbound, refresh_digest, requeue_unhandled
from worker.inbound_poll import backstop_due, poll_inbound, polling_inbound
from worker.runtime import WorkerRuntime
from worker.settling import Settler
from worker.status_poll import poll_due_statuses
from worker.test_send import send_test

log = logging.getLogger(__name__)

DRIVE_CAMPAIGN = "drive_campaign"
RUNTIME = "textcast"  # the key of the WorkerRuntime in arq's job context
# A process that already runs a loop for a campaign offers a second one to other worker processes
# this many times (about HANDOFF_DEFER_SECONDS apart) before running it itself: 4 s at most.
HANDOFFS = 20
HANDOFF_DEFER_SECONDS = 0.2
SUMMARIES_PER_RUN = 100
_driving_here: set[str] = set()  # campaigns this process runs a send loop for


def _heartbeat_seconds(rt: WorkerRuntime) -> int:
    """How long a send loop's heartbeat lasts: two sweeps, so a dead worker's loop is restarted
    by the second sweep after it died. A live loop refreshes it every third of this."""
    return max(3, 2 * rt.settings.SWEEP_SECONDS)


def _heartbeat_key(rt: WorkerRuntime, campaign_id: str, shard: int) -> str:
    return f"{rt.namespace}:driving:{campaign_id}:{shard}"


async def enqueue_drivers(rt: WorkerRuntime, campaign_id: str, *, first: int = 0) -> int:
    """Start the campaign's send loops (from shard `first`) that nobody is running; returns how
    many were started."""
    started = 0
    for shard in range(first, rt.settings.WORKER_DRIVERS_PER_CAMPAIGN):
        if await _take_heartbeat(rt, campaign_id, shard):
            await _enqueue_drive(rt, campaign_id, shard)
            started += 1
    return started


async def _take_heartbeat(rt: WorkerRuntime, campaign_id: str, shard: int) -> bool:
    # Taken before the loop is queued or run, so the sweep does not start a second one.
    key = _heartbeat_key(rt, campaign_id, shard)
    return bool(await rt.redis.set(key, "queued", nx=True, ex=_heartbeat_seconds(rt)))


async def _enqueue_drive(
    rt: WorkerRuntime, campaign_id: str, shard: int, handoffs: int = 0
) -> None:
    await rt.redis.enqueue_job(
        DRIVE_CAMPAIGN,
        campaign_id,
        shard,
        handoffs,
        _job_id=job_id(rt.namespace, "drive", campaign_id, shard, uuid.uuid4().hex[:8]),
        _queue_name=queue_name(rt.namespace),
        _defer_by=_handoff_delay() if handoffs else None,
    )


def _handoff_delay() -> float:
    # Whichever process polls the queue first once the offer is due takes it. With a fixed delay
    # the offering process's poll can fall just after it every time (both poll every 0.1 s, in a
    # steady phase), so it takes back every offer; a random delay gives each poller its turn.
    return HANDOFF_DEFER_SECONDS * random.uniform(0.5, 1.5)


async def start_campaign_job(ctx: dict[str, Any], campaign_id: str, version: int) -> str:
    rt: WorkerRuntime = ctx[RUNTIME]
    started = await start_campaign(rt.ctx, campaign_id, version)
    if started.decision is StartDecision.LATE:
        log.warning("campaign %s started too late: waiting for a person to decide", campaign_id)
        await rt.reporter.late(campaign_id)
    elif started.decision is StartDecision.SEND:
        # This job runs the first send loop itself: queued, it would wait for the next poll of
        # the queue (up to poll_delay) before the first message went.
        here = await _take_heartbeat(rt, campaign_id, 0)
        loops = await enqueue_drivers(rt, campaign_id, first=1)
        log.info("campaign %s started: %d send loops", campaign_id, loops + here)
        if here:
            await drive_campaign_job(ctx, campaign_id, 0)
    return started.decision


async def drive_campaign_job(
    ctx: dict[str, Any], campaign_id: str, shard: int, handoffs: int = 0
) -> str:
    rt: WorkerRuntime = ctx[RUNTIME]
    key = _heartbeat_key(rt, campaign_id, shard)
    if campaign_id in _driving_here and handoffs < HANDOFFS:
        # Spread a campaign's loops over worker processes when there are several.
        await rt.redis.set(key, "queued", ex=_heartbeat_seconds(rt))
        await _enqueue_drive(rt, campaign_id, shard, handoffs + 1)
        return "offered to another worker"
    _driving_here.add(campaign_id)
    beat = asyncio.create_task(_keep_beating(rt, key))
    try:
        started = await start_campaign(rt.ctx, campaign_id)
        if started.decision is StartDecision.LATE:
            # Every worker was down for a long while: the rest is not sent without asking.
            log.warning("campaign %s stalled too long: waiting for a person to decide", campaign_id)
            await rt.reporter.late(campaign_id)
            return "paused: stalled too long"
        if started.decision is not StartDecision.SEND or started.campaign is None:
            return "nothing to do"
        log.info("worker %s drives campaign %s (loop %d)", rt.worker_id, campaign_id, shard)
        more = await Driver(rt, started.campaign).run()
        if more:  # the slice is over: a fresh job goes on, so no single job runs for hours
            await rt.redis.set(key, "queued", ex=_heartbeat_seconds(rt))
            await _enqueue_drive(rt, campaign_id, shard)
            return "continued"
        return "stopped"
    finally:
        _driving_here.discard(campaign_id)
        beat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beat
        # Redis away: the heartbeat expires by itself, and a sweep looks at the campaign then.
        with contextlib.suppress(RedisError, OSError):
            if not (await rt.redis.get(key) or b"").startswith(b"queued"):
                await rt.redis.delete(key)


async def _keep_beating(rt: WorkerRuntime, key: str) -> None:
    """Refresh the loop's heartbeat while it runs. Redis away: the loop goes on (its claims are
    in the database) and the heartbeat is written again once Redis is back; if that is more
    than the heartbeat's life later, a sweep may start a second loop meanwhile, which the
    claims keep from sending anyone twice."""
    every = _heartbeat_seconds(rt)
    away = False
    while True:
        try:
            await rt.redis.set(key, rt.worker_id, ex=every)
        except (RedisError, OSError) as error:
            if not away:
                log.warning("could not refresh the heartbeat %s (%r); trying again", key, error)
            away = True
            await asyncio.sleep(min(1.0, every / 3))
            continue
        away = False
        await asyncio.sleep(every / 3)


async def sweep(ctx: dict[str, Any]) -> dict[str, int]:
    """Re-enqueue due campaigns and resume running ones that no worker is driving."""
    rt: WorkerRuntime = ctx[RUNTIME]
    due = resumed = 0
    for campaign in await campaigns_to_drive(rt.ctx):
        if campaign.status == CampaignStatus.SCHEDULED:
            await enqueue_start(rt.redis, rt.namespace, campaign.id, campaign.version)
            due += 1
        else:
            resumed += await enqueue_drivers(rt, campaign.id)
    texts = await requeue_unhandled(rt)
    for campaign_id, version in await awaiting_without_request(rt.ctx):
        await enqueue_approval_request(rt.redis, rt.namespace, campaign_id, version)
    if due or resumed or texts:
        log.info("sweep: %d due campaigns queued, %d send loops resumed, %d texts handed on",
                 due, resumed, texts)  # fmt: skip
    return {"due": due, "resumed": resumed, "texts": texts}


async def settle_stopped(ctx: dict[str, Any]) -> int:
    """Settle unknown outcomes and dead loops' claims in paused and cancelled campaigns, which no
    send loop drives: looked up in Twilio as a loop would, so none stays in limbo."""
    rt: WorkerRuntime = ctx[RUNTIME]
    settled = 0
    for campaign in await campaigns_to_settle(rt.ctx):
        if not await has_unsettled_claims(rt.ctx, campaign.id):
            continue
        done, _ = await Settler(rt, campaign, token=uuid.uuid4().hex).settle()
        settled += done.adopted + done.absent + done.given_up
    return settled


async def poll_statuses_job(ctx: dict[str, Any]) -> int:
    """Ask Twilio about messages not yet final: soon without PUBLIC_BASE_URL (Twilio cannot
    call back), else RECEIPT_BACKSTOP_SECONDS after sending, for callbacks that were lost."""
    rt: WorkerRuntime = ctx[RUNTIME]
    return await poll_due_statuses(rt.ctx, rt.gateway.client, redis=rt.redis)


async def poll_inbound_job(ctx: dict[str, Any]) -> int:
    """Without PUBLIC_BASE_URL Twilio cannot post replies and STOPs: fetch them instead. With
    it, the same poll runs now and then as a backstop, for texts whose webhook failed (Twilio
    does not post an incoming message twice)."""
    rt: WorkerRuntime = ctx[RUNTIME]
    if not polling_inbound(rt) and not await backstop_due(rt):
        return 0
    return await poll_inbound(rt)


async def refresh_summaries(ctx: dict[str, Any]) -> int:
    """Bring finished campaigns' Slack summaries up to date as late delivery receipts arrive."""
    rt: WorkerRuntime = ctx[RUNTIME]
    ids = await rt.redis.spop(status_news_key(rt.settings), SUMMARIES_PER_RUN) or []
    refreshed = 0
    for raw in ids:
        campaign_id = raw.decode() if isinstance(raw, bytes) else str(raw)
        async with rt.ctx.db.read() as session:
            status = await session.scalar(select(Campaign.status).where(Campaign.id == campaign_id))
        if status in FINISHED:  # a running campaign's progress message is kept fresh by its loop
            await rt.reporter.refresh_summary(campaign_id)
            refreshed += 1
    return refreshed


async def send_test_job(
    ctx: dict[str, Any], campaign_id: str, phone: str, user_id: str, test_id: int | None = None
) -> str:
    return await send_test(ctx[RUNTIME], campaign_id, phone, user_id, test_id)


async def handle_inbound_job(ctx: dict[str, Any], inbound_id: int) -> str:
    return await handle_inbound(ctx[RUNTIME], inbound_id)


async def refresh_digest_job(ctx: dict[str, Any], key: str) -> str:
    return await refresh_digest(ctx[RUNTIME], key)


async def request_approval_job(ctx: dict[str, Any], campaign_id: str, version: int) -> str:
    rt: WorkerRuntime = ctx[RUNTIME]
    return await rt.reporter.ask_approval(campaign_id, version)


async def show_change_job(
    ctx: dict[str, Any], campaign_id: str, change: dict[str, Any] | None = None
) -> str:
    rt: WorkerRuntime = ctx[RUNTIME]
    await rt.reporter.changed(campaign_id, change)
    return "shown"


JOB_FUNCTIONS = {
    SHOW_CHANGE: show_change_job,
    REQUEST_APPROVAL: request_approval_job,
    START_CAMPAIGN: start_campaign_job,
    DRIVE_CAMPAIGN: drive_campaign_job,
    SEND_TEST: send_test_job,
    HANDLE_INBOUND: handle_inbound_job,
    REFRESH_DIGEST: refresh_digest_job,
}
