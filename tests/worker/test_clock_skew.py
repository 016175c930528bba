"""A worker whose own clock is wrong still starts campaigns on the database's clock: a real
`python -m worker` process whose clock runs 20 minutes fast (libfaketime), against PostgreSQL.

On SQLite the database's clock is the process's own (SQLite runs inside it), so a faked process
clock is the database's clock there, and there is nothing to disagree about.
"""

from __future__ import annotations

import asyncio
import glob
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from campaigns.db import Database
from campaigns.service import get_campaign
from tests.conftest import ON_POSTGRES
from tests.worker.stack import people, running_stack

pytestmark = pytest.mark.skipif(
    not ON_POSTGRES,
    reason="on SQLite the database's clock is the worker process's own: a faked process clock "
    "is the database's clock, so there is no skew to test",
)

FAST = "+20m"
LIBFAKETIME = sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1"))


def fast_clock() -> dict[str, str]:
    """The environment that makes a process's clock run 20 minutes fast, checked to work."""
    if not LIBFAKETIME:
        pytest.skip("libfaketime is not installed (apt-get install faketime; .ci/run does)")
    env = {"LD_PRELOAD": LIBFAKETIME[0], "FAKETIME": FAST}
    shown = subprocess.run(
        [sys.executable, "-c", "import time; print(time.time())"],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    ahead = float(shown.stdout) - time.time()
    assert 1_190 < ahead < 1_210, f"libfaketime did not move the clock: {ahead:.0f} s ahead"
    return env


async def test_a_fast_worker_starts_what_is_due_and_not_what_is_16_minutes_ahead(
    db: Database, tmp_path: Path
) -> None:
    async with running_stack(db, senders={"+14155550100": 20.0}) as stack:
        later = (datetime.now(UTC) + timedelta(minutes=16)).isoformat()
        ahead = await stack.create(
            name="Later", message_template="Not yet", recipients=people(3),
            from_number="+14155550100", schedule_type="schedule", scheduled_at=later,
        )  # fmt: skip
        worker = await stack.start_worker_process(tmp_path / "worker.log", fast_clock())
        try:
            due = await stack.create(
                name="Now", message_template="Now", recipients=people(3, 10),
                from_number="+14155550100",
            )  # fmt: skip
            await stack.until_finished(due, timeout=20)
            # The worker's clock says the first is 4 minutes past its time: its start job (which
            # arq, on that clock, runs at once) and a few sweeps must all leave it waiting.
            await asyncio.sleep(3 * stack.settings.SWEEP_SECONDS)
        finally:
            worker.send_signal(signal.SIGTERM)
            await worker.wait()
        sent = [m.body for m in stack.twilio.sandbox.messages()]
        assert sent.count("Now") == 3
        assert "Not yet" not in sent, f"{sent.count('Not yet')} messages sent 16 minutes early"
        detail = await get_campaign(stack.ctx, ahead, recipients_limit=1)
        assert detail.view.campaign.status == "scheduled"
        assert (
            await get_campaign(stack.ctx, due, recipients_limit=1)
        ).view.campaign.status == "done"
