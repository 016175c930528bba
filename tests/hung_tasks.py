"""What a test's asyncio tasks wait on, printed shortly before pytest-timeout stops it.

pytest-timeout dumps the threads' stacks, and a test stuck in asyncio shows there only as the
main thread in the event loop (once: a task that ignored its cancel while the loop closed, at a
test's teardown). Ten seconds before the limit, this prints every unfinished task and its
stack to stderr, from a thread of its own.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Generator
from typing import Any

import pytest

MARGIN = 10.0  # seconds before pytest-timeout's limit


def _limit(item: pytest.Item) -> float:
    marker = item.get_closest_marker("timeout")
    if marker is not None and marker.args:
        return float(marker.args[0])
    try:
        return float(item.config.getini("timeout") or 0)
    except ValueError:
        return 0.0


def _unfinished() -> list[asyncio.Task[Any]]:
    tasks = getattr(asyncio.tasks, "_all_tasks", None) or getattr(
        asyncio.tasks, "_scheduled_tasks", ()
    )
    for _ in range(5):  # the event loop's thread may change the set while it is read
        try:
            return [task for task in list(tasks) if not task.done()]
        except RuntimeError:
            continue
    return []


def _dump(nodeid: str) -> None:
    tasks = _unfinished()
    print(f"\n--- {nodeid}: {len(tasks)} unfinished asyncio tasks, {MARGIN:.0f} s before the "
          "timeout ---", file=sys.stderr)  # fmt: skip
    for task in tasks:
        print(repr(task), file=sys.stderr)
        try:
            task.print_stack(limit=20, file=sys.stderr)
        except Exception as error:  # read from another thread: best effort
            print(f"  (no stack: {error!r})", file=sys.stderr)
    sys.stderr.flush()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None]:
    limit = _limit(item)
    timer = None
    if limit > MARGIN:
        timer = threading.Timer(limit - MARGIN, _dump, args=(item.nodeid,))
        timer.daemon = True
        timer.start()
    try:
        yield
    finally:
        if timer is not None:
            timer.cancel()
