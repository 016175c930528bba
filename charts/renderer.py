"""Drawing a chart in a short-lived child process, from async code (the worker, the web process).

The child (`python -m charts.draw`) imports matplotlib, draws, writes the PNG and exits: the tens
of MB it takes are its own and are given back at once. A child that takes too long is killed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TIMEOUT_SECONDS = 30.0  # a few seconds of work on a busy machine; past this something is wrong
CONCURRENT = 2  # charts drawn at once per process: each child holds ~100 MB while it runs
_ROOT = str(Path(__file__).resolve().parents[1])  # so the child finds `charts` uninstalled too


class ChartError(Exception):
    """The chart could not be drawn: the child failed, timed out, or answered no PNG."""


@dataclass
class ChartRenderer:
    python: str = sys.executable
    timeout: float = TIMEOUT_SECONDS
    _slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(CONCURRENT))

    async def render(self, payload: dict[str, Any]) -> bytes:
        """The PNG for `payload` (see charts.payload); raises ChartError."""
        async with self._slots:
            return await self._run(json.dumps(payload).encode())

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
