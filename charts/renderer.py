"""Drawing a chart in a short-lived child process, from async code (the worker, the web process).

The child (`python -m charts.draw`) imports matplotlib, draws, writes the PNG and exits: the tens
of MB it takes are its own and are given back at once. A child that takes too long is killed.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import sys
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
NICENESS = 10  # of 19: the process that asked answers its requests before the child draws
# The child runs at NICENESS: on a machine whose cores are all busy it gets a fraction of one.
# A chart drawn in 1.7 s unloaded took 19 s beside `stress --cpu 4` on 2 cores, and a test's
# final chart was lost under two CI runs and stress (killed at 30 s, it is not drawn again).
# Past this, something is wrong with the child, not with the machine.
TIMEOUT_SECONDS = 120.0
CONCURRENT = 2  # charts drawn at once per process: each child holds ~100 MB while it runs
KEPT = 64  # charts kept drawn, the last asked for: about 40 kB each
_ROOT = str(Path(__file__).resolve().parents[1])  # so the child finds `charts` uninstalled too


class ChartError(Exception):
    """The chart could not be drawn: the child failed, timed out, or answered no PNG."""


@dataclass
class ChartRenderer:
    python: str = sys.executable
    timeout: float = TIMEOUT_SECONDS
    kept: int = KEPT
    _slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(CONCURRENT))
    # The PNGs drawn last, by a digest of what they show: the same data is never drawn twice
    # while it is kept (a chart asked for again and again while its campaign is quiet).
    _drawn: OrderedDict[str, bytes] = field(default_factory=OrderedDict)

    async def render(self, payload: dict[str, Any]) -> bytes:
        """The PNG for `payload` (see charts.payload); raises ChartError."""
        data = json.dumps(payload, sort_keys=True).encode()
        key = hashlib.sha256(data).hexdigest()
        if (png := self._drawn.get(key)) is not None:
            self._drawn.move_to_end(key)
            return png
        async with self._slots:
            png = await self._run(data)
        self._drawn[key] = png
        while len(self._drawn) > self.kept:
            self._drawn.popitem(last=False)
        return png

    async def _run(self, data: bytes) -> bytes:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            p for p in (_ROOT, os.environ.get("PYTHONPATH", "")) if p)}  # fmt: skip
        env.setdefault("MPLBACKEND", "Agg")
        try:
            child = await asyncio.create_subprocess_exec(
                self.python, "-m", "charts.draw",
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE, env=env,
            )  # fmt: skip
        except OSError as error:
            raise ChartError(f"could not start {self.python!r}: {error}") from error
        _lower_priority(child.pid)
        try:
            async with asyncio.timeout(self.timeout):
                out, err = await child.communicate(data)
        except TimeoutError:
            child.kill()
            await child.wait()
            raise ChartError(f"the chart took longer than {self.timeout:g} s") from None
        except BaseException:  # cancelled: never leave the child behind
            if child.returncode is None:
                child.kill()
                await child.wait()
            raise
        if child.returncode != 0:
            last = err.decode(errors="replace").strip().splitlines()[-1:] or ["no message"]
            raise ChartError(f"the chart child exited with {child.returncode}: {last[0]}")
        if not out.startswith(PNG_SIGNATURE):
            raise ChartError("the chart child answered something that is not a PNG")
        return out


def _lower_priority(pid: int) -> None:
    """A drawing is half a second of a core, mostly importing matplotlib: two at once on a
    two-core machine kept the web process waiting for a core to answer /healthz (worst 472 ms
    under 60 chart requests over 60 campaigns; 82 ms with the children niced)."""
    try:
        os.setpriority(os.PRIO_PROCESS, pid, NICENESS)
    except OSError:  # already gone (it failed at once), or not allowed here: drawn as it is
        pass
