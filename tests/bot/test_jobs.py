"""Start jobs whatever the clocks say: a time long past is started now, never refused."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from arq.connections import ArqRedis, RedisSettings, create_pool

from bot.jobs import enqueue_start, queue_name, start_job_id
from tests.redis_namespaces import new_namespace, redis_url


@pytest.fixture
async def redis() -> AsyncIterator[tuple[ArqRedis, str]]:
    namespace = new_namespace()
    pool = await create_pool(RedisSettings.from_dsn(redis_url()))
    yield pool, namespace
    await pool.aclose()


@pytest.mark.parametrize("ago", [timedelta(seconds=5), timedelta(days=2), timedelta(days=400)])
async def test_a_start_time_already_past_is_started_now(
    redis: tuple[ArqRedis, str], ago: timedelta
) -> None:
    pool, namespace = redis
    await enqueue_start(pool, namespace, "smsc_x", 1, datetime.now(UTC) - ago)
    score = await pool.zscore(queue_name(namespace), start_job_id(namespace, "smsc_x", 1))
    assert score is not None and abs(score / 1000 - time.time()) < 5  # due now, not back then
    assert await pool.pttl(f"arq:job:{start_job_id(namespace, 'smsc_x', 1)}") > 0


async def test_a_start_time_ahead_is_deferred_to_it(redis: tuple[ArqRedis, str]) -> None:
    pool, namespace = redis
    at = datetime.now(UTC) + timedelta(hours=2)
    await enqueue_start(pool, namespace, "smsc_x", 1, at)
    score = await pool.zscore(queue_name(namespace), start_job_id(namespace, "smsc_x", 1))
    assert score == pytest.approx(at.timestamp() * 1000, abs=1)
