"""`textcast worker`: the arq worker, configured from Textcast's settings."""

from __future__ import annotations

import gc
import logging
from typing import Any

from arq import cron
from arq.connections import RedisSettings
from arq.cron import CronJob
from arq.worker import Worker, func

from bot.jobs import queue_name
from campaigns.settings import Settings
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
    """A unique cron job every `seconds`, named within the namespace. arq keys a unique cron run
    by its name and time alone (`arq:job:cron:NAME:MS`), in every queue: two installs sharing one
    Redis would otherwise each skip the runs the other enqueued first."""
    name = f"cron:{namespace}:{job.__name__}"
    return cron(job, name=name, second=_every(seconds), unique=True, **options)


def _every(seconds: int) -> set[int]:
    """The seconds of each minute a cron job runs on, about `seconds` apart (arq's cron runs on
    seconds of the minute; 7 gives 0, 7, ... 56, then 0 again four seconds later)."""
    return set(range(0, 60, seconds)) if seconds < 60 else {0}


def create_worker(settings: Settings, *, own_process: bool = False, **overrides: Any) -> Worker:
    return Worker(**worker_options(settings, own_process=own_process, **overrides))


def tune_garbage_collector() -> None:
    """Freeze what startup made (modules, the ORM's metadata, the SDKs' clients: all of it lives
    as long as the process), so full collections stop walking it, and collect the young
    generation less often. Together they were a sixth of a busy worker's CPU."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_GENERATION, older, oldest)


def run(settings: Settings) -> None:
    logging.getLogger("arq.worker").setLevel(logging.WARNING)
    create_worker(settings, own_process=True).run()
