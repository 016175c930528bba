"""A 5,000-recipient campaign's thread: its texts back in one digest, at the suite's scale x 20.

    .venv/bin/python bench/texts_digest.py [--recipients 5000]

Plays tests/worker/large_thread.py (the suite plays it with 250 recipients): a campaign sent
through a real arq worker to the Twilio stand-in, then 50 replies and 7 STOPs by signed webhook,
an opt-out from Slack and the "See all" modal; every step is asserted as in the test. Prints how
long the sending and the final summary took, and how many digest messages and edits there were.
Uses REDIS_URL's Redis (a namespace of its own, removed after) and a SQLite file of its own.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the scenario is the test suite's

from campaigns import migrate  # noqa: E402
from campaigns.db import Database  # noqa: E402
from tests.redis_namespaces import forget_all_taken  # noqa: E402
from tests.worker.large_thread import play_large_thread  # noqa: E402


async def run(recipients: int, url: str) -> None:
    db = Database(url)
    try:
        await migrate.upgrade(db)
        thread = await play_large_thread(db, recipients)
    finally:
        await db.dispose()
        forget_all_taken()
    print(f"{thread.recipients:,} recipients")
    print(f"   sent, from creation until done:     {thread.sending_seconds:6.1f} s")
    print(f"   until the final summary and chart:  {thread.summary_seconds:6.1f} s")
    print(f"   digest messages for 57 texts back:  {thread.digest_messages:6d}")
    print(f"   edits of it during the burst:       {thread.digest_edits:6d}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--recipients", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(run(args.recipients, f"sqlite+aiosqlite:///{folder}/bench.db"))


if __name__ == "__main__":
    main()
