"""`textcast worker`: the arq worker, configured from Textcast's settings.

arq's own loop stops the process at the first Redis error (its poll of the queue, its health
record, its cron enqueues all raise through `Worker.main`): `SteadyWorker` rides it out, so a
Redis that restarts, even one that comes back empty, never stops a worker. The database is the
truth: once Redis answers again, the sweep queues whatever the queue lost.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import logging
import time
from typing import Any

from arq import cron
from arq.connections import RedisSettings
from arq.cron import CronJob
from arq.worker import Worker, func
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.jobs import job_id, queue_name
from campaigns.errors import TextcastError
from campaigns.settings import Settings, without_password
from worker.elsewhere import RunningElsewhere
from worker.gateway import DEPARTURES
from worker.jobs import (
    JOB_FUNCTIONS,
    RUNTIME,
    poll_inbound_job,
    poll_statuses_job,
    refresh_summaries,
    settle_stopped,
    sweep,
)
from worker.runtime import WorkerRuntime

log = logging.getLogger(__name__)

# What a Redis that is away (refused, reset, timed out) raises through redis-py.
REDIS_ERRORS = (RedisError, OSError)
# Of those, the ones that mean Redis did not answer (a refused password too: its reason says so).
REDIS_AWAY = (RedisConnectionError, RedisTimeoutError)
# How long the worker waits before it asks a Redis that did not answer again.
REDIS_RETRY_SECONDS = 1.0

# A drive job hands over to a fresh one every 10 minutes, so this only bounds a stuck job.
JOB_TIMEOUT_SECONDS = 900
# Objects the young generation holds before it is collected (Python's default is 700). Sending
# allocates a few hundred per message; collecting every few messages cost ~5% of the CPU.
YOUNG_GENERATION = 10_000


def worker_options(
    settings: Settings, *, own_process: bool = False, **overrides: Any
) -> dict[str, Any]:
    """The arq Worker's arguments (tests pass overrides, e.g. a shorter poll delay).

    `own_process`: the worker is the whole process (`textcast worker`), so it may tune the
    process's garbage collector; tests that run a worker inside pytest leave it alone.
    """

    async def on_startup(ctx: dict[str, Any]) -> None:
        ctx[RUNTIME] = await WorkerRuntime.start(settings, ctx["redis"])
        if own_process:
            tune_garbage_collector()
        log.info("worker %s started", ctx[RUNTIME].worker_id)

    async def on_shutdown(ctx: dict[str, Any]) -> None:
        if RUNTIME in ctx:
            await ctx[RUNTIME].close()

    every = settings.SWEEP_SECONDS
    space = settings.REDIS_NAMESPACE
    options: dict[str, Any] = {
        "functions": [func(job, name=name) for name, job in JOB_FUNCTIONS.items()],
        "cron_jobs": [
            _cron(space, sweep, every, run_at_startup=True, timeout=60),
            _cron(space, settle_stopped, every, timeout=120),
            _cron(space, poll_statuses_job, 5, timeout=120),
            _cron(space, refresh_summaries, 10, timeout=120),
            _cron(space, poll_inbound_job, settings.INBOUND_POLL_SECONDS, timeout=120),
        ],
        "on_startup": on_startup,
        "on_shutdown": on_shutdown,
        "redis_settings": RedisSettings.from_dsn(settings.REDIS_URL),
        "queue_name": queue_name(settings.REDIS_NAMESPACE),
        "max_jobs": 100,
        "job_timeout": JOB_TIMEOUT_SECONDS,
        "keep_result": 0,
        "poll_delay": 0.1,  # a campaign sent "now" starts within a second
        "max_tries": 1000,  # a job cut short by a shutdown is retried, not dropped
    }
    options.update(overrides)
    return options


def _cron(namespace: str, job: Any, seconds: int, **options: Any) -> CronJob:
    """A unique cron job every `seconds`, named within the namespace. arq's id for a unique cron
    run is its name and time alone (`arq:job:NAME:MS`), in one space for the whole Redis: two
    installs sharing one Redis would otherwise each skip the runs the other enqueued first."""
    name = job_id(namespace, "cron", job.__name__)
    return cron(_steady(job), name=name, second=_every(seconds), unique=True, **options)


def _steady(job: Any) -> Any:
    """A periodic job that Redis failed under (it went away mid-run) ends with one line, not
    arq's traceback: the next run, a second or so after Redis is back, does the work."""

    @functools.wraps(job)
    async def run(ctx: dict[str, Any]) -> Any:
        try:
            return await job(ctx)
        except REDIS_ERRORS as error:
            log.warning("%s stopped: Redis did not answer (%r)", job.__name__, error)
            return None

    return run


def _every(seconds: int) -> set[int]:
    """The seconds of each minute a cron job runs on, about `seconds` apart (arq's cron runs on
    seconds of the minute; 7 gives 0, 7, ... 56, then 0 again four seconds later)."""
    return set(range(0, 60, seconds)) if seconds < 60 else {0}


class SteadyWorker(Worker):
    """arq's Worker, which waits for Redis when it is away instead of exiting.

    Overrides only the poll (each turn of arq's main loop: read the queue, start jobs, record
    health, enqueue cron jobs) and the start of jobs, where arq leaks a place on a Redis error
    and asks Redis about every job in progress anywhere at every poll (worker/elsewhere.py).
    """

    _away_since: float | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._elsewhere = RunningElsewhere()

    async def _poll_iteration(self) -> None:
        try:
            await super()._poll_iteration()
        except REDIS_ERRORS as error:
            # Also a job's own Redis calls (arq's bookkeeping around it): arq re-raises them here.
            if self._away_since is None:
                self._away_since = time.monotonic()
                log.warning("Redis is away (%r): the worker waits for it and goes on", error)
            await asyncio.sleep(REDIS_RETRY_SECONDS)
            return
        if self._away_since is not None:
            log.warning("Redis is back after %.1f s", time.monotonic() - self._away_since)
            self._away_since = None

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        """arq's, but for jobs that run here or, for sure, elsewhere: it asks about neither."""
        queued = {one.decode(): one for one in job_ids}
        await self._elsewhere.still_running(self.pool, set(queued))
        for queued_id, one in queued.items():
            if queued_id in self._elsewhere or self._running_here(queued_id):
                continue
            room = self.job_counter < self.max_jobs
            before = self.tasks.get(queued_id)
            try:
                await super().start_jobs([one])
            except REDIS_ERRORS:
                # arq took a place for the job (its semaphore, its count) before the Redis calls
                # that failed, and gives it back only when a job it started ends: given back
                # here, or every outage would leave the worker one job fewer to run.
                self.job_counter -= 1
                self.sem.release()
                raise
            if room and self.tasks.get(queued_id) is before:
                self._elsewhere.remember(queued_id)  # in progress in another worker

    def _running_here(self, queued_id: str) -> bool:
        task = self.tasks.get(queued_id)
        return task is not None and not task.done()

    async def close(self) -> None:
        try:
            await super().close()
        except REDIS_ERRORS as error:
            # Redis away as the worker stops: its health key expires by itself.
            log.warning("stopping without Redis (%r)", error)
            if self.on_shutdown and self._pool is not None:
                await self.on_shutdown(self.ctx)


def create_worker(settings: Settings, *, own_process: bool = False, **overrides: Any) -> Worker:
    return SteadyWorker(**worker_options(settings, own_process=own_process, **overrides))


def tune_garbage_collector() -> None:
    """Freeze what startup made (modules, the ORM's metadata, the SDKs' clients: all of it lives
    as long as the process), so full collections stop walking it, and collect the young
    generation less often. Together they were a sixth of a busy worker's CPU."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_GENERATION, older, oldest)


class RedisNotAnswering(TextcastError):
    """Redis did not answer as the worker started; the message names its address."""


def run(settings: Settings) -> None:
    logging.getLogger("arq.worker").setLevel(logging.WARNING)
    # arq logs each of its five tries to reach Redis at start; the line that says what is wrong
    # is the one below, after the last.
    logging.getLogger("arq.connections").setLevel(logging.ERROR)
    if settings.LOG_DEPARTURES:
        logging.getLogger(DEPARTURES).setLevel(logging.DEBUG)
    try:
        create_worker(settings, own_process=True).run()
    except RedisError as error:
        # Only while starting: once running, SteadyWorker waits for a Redis that goes away.
        url = without_password(settings.REDIS_URL)
        what = "is not answering" if isinstance(error, REDIS_AWAY) else "refused the worker"
        raise RedisNotAnswering(f"Redis at {url} {what} ({error})") from None
