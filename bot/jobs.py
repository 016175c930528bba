"""Handing campaigns to the worker: arq jobs, named by string so the web process needs no worker code.

A start job's id carries the campaign's version: an edit, a pause or a cancel bumps the version,
so a job enqueued for an older one finds nothing to do (and arq refuses a second job with the same
id, so enqueueing twice is harmless).
"""

from __future__ import annotations

from datetime import datetime

from arq.connections import ArqRedis

START_CAMPAIGN = "start_campaign"


def queue_name(namespace: str) -> str:
    return f"{namespace}:queue"


def start_job_id(campaign_id: str, version: int) -> str:
    return f"start:{campaign_id}:v{version}"


async def enqueue_start(
    redis: ArqRedis, namespace: str, campaign_id: str, version: int, at: datetime | None = None
) -> None:
    """Start the campaign at `at` (None: now); the worker's sweep would find it anyway."""
    await redis.enqueue_job(
        START_CAMPAIGN,
        campaign_id,
        version,
        _job_id=start_job_id(campaign_id, version),
        _defer_until=at,
        _queue_name=queue_name(namespace),
    )
