"""A worker without Slack (no SLACK_BOT_TOKEN) runs every job a web process may queue: the jobs
that only tell Slack something finish with nothing to tell, instead of failing."""

from __future__ import annotations

import inspect
from types import SimpleNamespace

from worker.jobs import RUNTIME, request_approval_job, show_change_job
from worker.reporting import Reporter
from worker.runtime import NoReporting, Reporting


async def test_jobs_that_tell_slack_finish_without_it() -> None:
    ctx = {RUNTIME: SimpleNamespace(reporter=NoReporting())}
    assert await show_change_job(ctx, "cmp_1") == "shown"
    assert await request_approval_job(ctx, "cmp_1", 2) == "no Slack"


def test_the_no_slack_reporter_answers_everything_the_reporter_is_asked() -> None:
    asked = {name for name, _ in inspect.getmembers(Reporting) if not name.startswith("_")}
    assert asked <= {name for name in dir(NoReporting) if not name.startswith("_")}
    assert asked <= {name for name in dir(Reporter) if not name.startswith("_")}
