"""The worker's arq loop and Redis errors: what `SteadyWorker` fixes in arq, one call at a time.

The whole worker riding out a Redis restart is in test_recovery.py; this is the place arq keeps
for a job it starts, which a Redis error would leak for good.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from arq.connections import ArqRedis, RedisSettings, create_pool
from arq.constants import in_progress_key_prefix
from arq.worker import func
from redis.exceptions import RedisError

from tests.conftest import make_settings
from tests.worker.private_redis import private_redis
from worker.main import create_worker


async def test_a_redis_error_while_a_job_starts_costs_the_worker_no_place(tmp_path: Path) -> None:
    async with private_redis(tmp_path) as server:
        settings = make_settings(REDIS_URL=server.url)
        pool = await create_pool(RedisSettings.from_dsn(server.url))
        worker = create_worker(settings, handle_signals=False, max_jobs=1, redis_pool=pool)
        try:
            await pool.enqueue_job("sweep", _queue_name=worker.queue_name)
            job_ids = await pool.zrangebyscore(worker.queue_name, "-inf", "+inf")
            await server.kill()  # between the read of the queue and the start of the job
            with pytest.raises(RedisError):
                await worker.start_jobs(job_ids)
            # Before, arq kept the place: with max_jobs=1 this worker would never run a job again.
            assert worker.job_counter == 0
            assert not worker.sem.locked()
        finally:
            await pool.aclose()


async def _commands(pool: ArqRedis) -> int:
    """Commands the server has run, but INFO (this count's own)."""
    stats = await pool.info("commandstats")
    return sum(v["calls"] for name, v in stats.items() if name != "cmdstat_info")


async def _idle(ctx: dict[str, Any]) -> None:
    return None


async def test_a_poll_asks_once_about_jobs_running_elsewhere_and_sees_one_given_back(
    tmp_path: Path,
) -> None:
    """arq asks about every job in the queue at every poll, four commands each, and jobs run for
    minutes: with many workers each running some, the polls grew with the square of the workers.
    A job known to run elsewhere costs nothing more; all of them, one command a poll."""
    async with private_redis(tmp_path) as server:
        settings = make_settings(REDIS_URL=server.url)
        pool = await create_pool(RedisSettings.from_dsn(server.url))
        worker = create_worker(
            settings, handle_signals=False, redis_pool=pool, functions=[func(_idle, name="idle")],
            on_startup=None, on_shutdown=None,
        )  # fmt: skip
        try:
            for n in range(5):  # five jobs another worker runs: their in-progress keys are set
                await pool.enqueue_job("idle", _job_id=f"j{n}", _queue_name=worker.queue_name)
                await pool.psetex(f"{in_progress_key_prefix}j{n}", 60_000, b"1")
            queued = await pool.zrangebyscore(worker.queue_name, "-inf", "+inf")
            await worker.start_jobs(queued)  # arq asks about each, once
            assert not worker.tasks
            before = await _commands(pool)
            for _ in range(10):
                await worker.start_jobs(queued)
            assert await _commands(pool) - before == 10  # before: 4 x 5 x 10 = 200
            await pool.delete(f"{in_progress_key_prefix}j3")  # given back (its worker stopped)
            await worker.start_jobs(queued)
            assert set(worker.tasks) == {"j3"}  # seen at the next poll, and started here
            await asyncio.gather(*worker.tasks.values())
        finally:
            await pool.aclose()
