"""`python -m worker` polling its queue as arq does on its own, for bench/scale_out.py's "before".

    python bench/plain_poll_worker.py [ARGS…]

SteadyWorker skips the jobs it knows run in another worker (worker/elsewhere.py); here every
queued id is asked about at every poll again, one at a time, as before that change.
"""

from __future__ import annotations

import runpy
import sys

from arq.worker import Worker

from worker.main import SteadyWorker


async def start_jobs(self: SteadyWorker, job_ids: list[bytes]) -> None:
    for one in job_ids:
        await Worker.start_jobs(self, [one])


if __name__ == "__main__":
    SteadyWorker.start_jobs = start_jobs  # type: ignore[method-assign]
    sys.argv = ["worker", *sys.argv[1:]]
    runpy.run_module("worker", run_name="__main__", alter_sys=True)
