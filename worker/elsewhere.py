"""Jobs another worker is running: asked about once per poll, not once per job.

arq keeps a job's id in the queue until the job ends, and each worker's poll (ten a second)
asks about every id it reads: WATCH, EXISTS and ZSCORE on the job, then UNWATCH, four commands
per job in progress anywhere. A campaign's drive jobs run for minutes, so with W workers each
running campaigns the polls cost 40 x W x (jobs running) commands a second: they grow with the
square of the workers (issue 24 measured 42 to 46 a second per worker and running job).

A worker remembers the ids arq found running elsewhere. At each poll one EXISTS over their
in-progress keys tells whether all of them still run: if so they are skipped; if any ended or
was given back (a worker that stopped leaves its job in the queue for another), all are
forgotten and arq asks about each again, at once, as it always did. So a job given back is
seen at the next poll, and the cost per poll is one command, whatever the number of jobs.
"""

from __future__ import annotations

from arq.constants import in_progress_key_prefix
from redis.asyncio import Redis


class RunningElsewhere:
    """Ids of jobs in the queue that another worker holds (their in-progress key is set)."""

    def __init__(self) -> None:
        self._ids: set[str] = set()

    def remember(self, job_id: str) -> None:
        self._ids.add(job_id)

    def __contains__(self, job_id: object) -> bool:
        return job_id in self._ids

    async def still_running(self, redis: Redis, queued: set[str]) -> None:
        """Keep only the ids still in the queue and, if one of those no longer runs anywhere,
        none: arq then asks about each (one EXISTS here, for all of them)."""
        self._ids &= queued
        if not self._ids:
            return
        keys = [in_progress_key_prefix + job_id for job_id in self._ids]
        if await redis.exists(*keys) != len(keys):
            self._ids.clear()
