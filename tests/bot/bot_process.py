"""`textcast bot` in a process of its own, for tests that need the real listening socket: its
file limit and umask can be set, and everything it logs is kept in a file to read after."""

from __future__ import annotations

import asyncio
import os
import resource
import signal
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.ports import free_port
from tests.redis_namespaces import new_namespace


@dataclass
class BotProcess:
    port: int
    pid: int
    log: Path

    def logged(self) -> str:
        return self.log.read_text(errors="replace")


def _in_child(files: int | None, umask: int | None) -> Callable[[], None]:
    def before_exec() -> None:
        if files is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (files, files))
        if umask is not None:
            os.umask(umask)

    return before_exec


@asynccontextmanager
async def bot_process(
    database_url: str,
    log: Path,
    *,
    files: int | None = None,
    umask: int | None = None,
    **settings: object,
) -> AsyncIterator[BotProcess]:
    """Start `textcast bot` on `database_url` (migrated) with `settings`, under a limit of
    `files` open files and `umask` when given; stop it with SIGTERM after."""
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TWILIO_"))},
        "DATABASE_URL": database_url,
        "REDIS_NAMESPACE": new_namespace(),
        "PORT": str(port),
        **{name: str(value) for name, value in settings.items()},
    }
    with log.open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "textcast.cli", "bot",
            env=env, stdout=output, stderr=asyncio.subprocess.STDOUT,
            preexec_fn=_in_child(files, umask),
        )  # fmt: skip
    bot = BotProcess(port, process.pid, log)
    try:
        # Only a failure waits this long: a starved machine (two CI runs and stress on 2 cores)
        # took over 30 s to start the process.
        async with asyncio.timeout(120):
            while "is listening on port" not in bot.logged():
                assert process.returncode is None, bot.logged()
                await asyncio.sleep(0.05)
        yield bot
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 20)
            except TimeoutError:
                process.kill()
                await process.wait()
