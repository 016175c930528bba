"""The worker's arq loop and Redis errors: what `SteadyWorker` fixes in arq, one call at a time.

The whole worker riding out a Redis restart is in test_recovery.py; this is the place arq keeps
for a job it starts, which a Redis error would leak for good.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from arq.connections import RedisSettings, create_pool
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
