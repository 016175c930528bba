"""Handing campaigns to the worker: arq jobs, named by string so the web process needs no worker code.

A start job's id carries the campaign's version: an edit, a pause or a cancel bumps the version,
so a job enqueued for an older one finds nothing to do (and arq refuses a second job with the same
id, so enqueueing twice is harmless).

The change a job follows is stored before it is enqueued, and the worker's sweep finds due and
running campaigns and unasked approvals in the database: a Redis that is away when one of those
is enqueued loses nothing, so the enqueue logs it and the request that made the change succeeds
(failing it after the change was stored would invite a retry that creates the campaign twice).
A change shown in Slack (`enqueue_show_change`) is then shown at the next one; a test send, which
nothing else would send, is refused to the person (and its record settled as not sent).
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, ParamSpec

from arq.connections import ArqRedis
from redis.exceptions import RedisError

from campaigns.status import CampaignStatus

log = logging.getLogger(__name__)
Params = ParamSpec("Params")


def _left_to_the_sweep(
    enqueue: Callable[Params, Awaitable[None]],
) -> Callable[Params, Awaitable[None]]:
    """Redis away: log it and go on (see the module's docstring)."""

    @functools.wraps(enqueue)
    async def wrapper(*args: Params.args, **kwargs: Params.kwargs) -> None:
        try:
            await enqueue(*args, **kwargs)
        except (RedisError, OSError) as error:
            log.warning("%s: Redis did not answer (%r); the stored change stands",
                        enqueue.__name__, error)  # fmt: skip

    return wrapper


START_CAMPAIGN = "start_campaign"


def queue_name(namespace: str) -> str:
    return f"{namespace}:queue"


def job_id(namespace: str, *parts: object) -> str:
    """An arq job id. arq keeps a job under `arq:job:ID` (and its in-progress, retry and result
    keys beside it) in one space for the whole Redis, whatever the queue, and refuses a second
    job with an id it holds: every id starts with the namespace, or two installs sharing a
    Redis would each skip the jobs the other enqueued first (a restored copy of a database
    holds the same campaign ids)."""
    return ":".join([namespace, *(str(part) for part in parts)])


def start_job_id(namespace: str, campaign_id: str, version: int) -> str:
    return job_id(namespace, "start", campaign_id, f"v{version}")


@_left_to_the_sweep
async def enqueue_start(
    redis: ArqRedis, namespace: str, campaign_id: str, version: int, at: datetime | None = None
) -> None:
    """Start the campaign at `at` (None: now); the worker's sweep would find it anyway.

    A time already past runs the job now. arq keeps a job's key for a day past its time, and a
    time more than a day gone would give the key a negative expiry, which Redis refuses; and
    whatever the clocks say (the service's, arq's), the start job decides from the database
    whether the campaign is due, so running it early is only ever a no-op.
    """
    if at is not None and at <= datetime.now(UTC):
        at = None
    await redis.enqueue_job(
        START_CAMPAIGN,
        campaign_id,
        version,
        _job_id=start_job_id(namespace, campaign_id, version),
        _defer_until=at,
        _queue_name=queue_name(namespace),
    )


REQUEST_APPROVAL = "request_approval"


@_left_to_the_sweep
async def enqueue_approval_request(
    redis: ArqRedis, namespace: str, campaign_id: str, version: int
) -> None:
    """Ask a second person to approve the campaign (one request per version)."""
    await redis.enqueue_job(
        REQUEST_APPROVAL,
        campaign_id,
        version,
        _job_id=job_id(namespace, "approval", campaign_id, f"v{version}"),
        _queue_name=queue_name(namespace),
    )


async def enqueue_confirmed(redis: ArqRedis, namespace: str, campaign: Any) -> None:
    """What follows a confirmation: the start (now or at its time), or, for a campaign awaiting
    approval, the request for it."""
    if campaign.status == CampaignStatus.AWAITING_APPROVAL:
        await enqueue_approval_request(redis, namespace, campaign.id, campaign.version)
    else:
        await enqueue_start(redis, namespace, campaign.id, campaign.version, campaign.scheduled_at)


SHOW_CHANGE = "show_change"


@_left_to_the_sweep
async def enqueue_show_change(
    redis: ArqRedis,
    namespace: str,
    campaign_id: str,
    version: int,
    change: dict[str, Any] | None = None,
) -> None:
    """Show a change made over the API (an edit, a cancel) in Slack: the campaign's progress
    message, if it has one, and the Home tabs; `change` (bot.blocks.changes.change_of):
    who made it and what, told in its thread when it was not its creator. Slack's own buttons
    show and tell at once."""
    await redis.enqueue_job(
        SHOW_CHANGE,
        campaign_id,
        change,
        _job_id=job_id(namespace, "show", campaign_id, f"v{version}"),
        _queue_name=queue_name(namespace),
    )


SEND_TEST = "send_test"


async def enqueue_test(
    redis: ArqRedis, namespace: str, campaign_id: str, phone: str, user_id: str, test_id: int
) -> None:
    """One test message of the campaign to `phone`, for `user_id`, recorded as `test_id`
    (campaigns/service/test_sends.py): sent by the worker like any other (paced, through the
    gateway), never a recipient of the campaign."""
    await redis.enqueue_job(
        SEND_TEST, campaign_id, phone, user_id, test_id,
        _job_id=job_id(namespace, "test", uuid.uuid4().hex), _queue_name=queue_name(namespace),
    )  # fmt: skip


HANDLE_INBOUND = "handle_inbound"


def inbound_job_id(namespace: str, inbound_id: int) -> str:
    return job_id(namespace, "inbound", inbound_id)


async def enqueue_inbound(redis: ArqRedis, namespace: str, inbound_id: int) -> None:
    """The Slack side of a text a recipient sent (a notice or the reply in its thread). Named by
    the text's id, so Twilio posting it twice enqueues it once; the worker's sweep finds any the
    queue lost, and the job itself does nothing for a text already handled."""
    await redis.enqueue_job(
        HANDLE_INBOUND, inbound_id, _job_id=inbound_job_id(namespace, inbound_id),
        _queue_name=queue_name(namespace),
    )  # fmt: skip


REFRESH_DIGEST = "refresh_digest"


def digest_every(settings: Any) -> float:
    """Seconds between two edits of one digest of texts: twice the progress message's interval
    (3 s by default: at most 10 edits a minute per campaign)."""
    return max(2 * float(settings.PROGRESS_INTERVAL_SECONDS), 1.0)


@_left_to_the_sweep
async def enqueue_digest(
    redis: ArqRedis, namespace: str, key: str, *, every: float, later: bool = False
) -> None:
    """Refresh the digest of texts `key` (campaigns.service.texts_digest) at the end of the
    current slot of `every` seconds (`later`: of the next one). The job is named by the slot,
    so every text of a slot shares one refresh, and a digest is edited at most once a slot."""
    now = datetime.now(UTC).timestamp()
    slot = int(now // every) + (1 if later else 0)
    await redis.enqueue_job(
        REFRESH_DIGEST, key, _job_id=job_id(namespace, "digest", key, slot),
        _defer_until=datetime.fromtimestamp((slot + 1) * every, UTC),
        _queue_name=queue_name(namespace),
    )  # fmt: skip
