"""The demo's processes: the stand-ins for Slack and Twilio, the web process and a worker, each a
`textcast` command of its own as in production, logging to a file in the demo's folder."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp


class ProcessFailedError(RuntimeError):
    """A process exited or never answered; the message names it and its log."""


@dataclass
class Processes:
    folder: Path
    env: dict[str, str]
    running: dict[str, asyncio.subprocess.Process] = field(default_factory=dict)

    def log(self, name: str) -> Path:
        return self.folder / f"{name}.log"

    async def run(self, name: str, *args: str) -> str:
        """Run `textcast ARGS` to the end; its output, or ProcessFailedError."""
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "textcast", *args, env=self.env, cwd=self.folder,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        output = (await process.communicate())[0].decode()
        self.log(name).write_text(output)
        if process.returncode != 0:
            raise ProcessFailedError(f"textcast {' '.join(args)} failed: {output.strip()}")
        return output

    async def start(self, name: str, *args: str) -> None:
        """Start `textcast ARGS` in the background, its output going to NAME.log."""
        with self.log(name).open("wb") as log:
            self.running[name] = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "textcast", *args, env=self.env, cwd=self.folder,
                stdout=log, stderr=asyncio.subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip

    async def wait_for(self, name: str, url: str, timeout: float = 30.0) -> None:
        """Until GET `url` answers 2xx, or ProcessFailedError if `name` exits or time runs out."""
        process = self.running[name]
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
            for _ in range(int(timeout / 0.1)):
                if process.returncode is not None:
                    break
                with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                    async with session.get(url) as answer:
                        if answer.status < 300:
                            return
                await asyncio.sleep(0.1)
        tail = self.log(name).read_text(errors="replace").strip().splitlines()[-5:]
        state = "exited" if process.returncode is not None else "did not answer"
        raise ProcessFailedError(
            f"{name} {state}; the end of {self.log(name)}:\n" + "\n".join(tail)
        )

    def exited(self) -> list[str]:
        """The background processes that have stopped on their own."""
        return [name for name, p in self.running.items() if p.returncode is not None]

    async def first_exit(self) -> str:
        """Waits until a background process stops; says which, with the end of its log."""
        while not (gone := self.exited()):
            await asyncio.sleep(0.2)
        tail = self.log(gone[0]).read_text(errors="replace").strip().splitlines()[-5:]
        return f"the {gone[0]} process exited; the end of {self.log(gone[0])}:\n" + "\n".join(tail)

    async def stop(self) -> None:
        """SIGTERM each, as a deploy would, then SIGKILL what is still up after 10 seconds."""
        for process in self.running.values():
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        for process in self.running.values():
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                await process.wait()
