"""A redis-server of the test's own, on a free port: to flush it, kill it and start it again.

The shared Redis at 127.0.0.1:6379 serves every test run on the machine at once: a test that
stops or flushes Redis does it to a server of its own, without persistence, so that one started
again comes back empty, as a restarted Redis without persistence does in production.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from redis.asyncio import Redis
from redis.exceptions import RedisError

from tests.ports import free_port


@dataclass
class PrivateRedis:
    port: int
    folder: Path
    process: asyncio.subprocess.Process | None = field(default=None)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        """Start the server (empty: it keeps nothing on disk) and wait until it answers."""
        assert self.process is None or self.process.returncode is not None
        executable = shutil.which("redis-server")
        assert executable, "redis-server is not installed"
        self.process = await asyncio.create_subprocess_exec(
            executable, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", str(self.folder),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        client = Redis.from_url(self.url)
        try:
            async with asyncio.timeout(10):
                while True:
                    try:
                        if await client.ping():
                            return
                    except (OSError, RedisError):
                        await asyncio.sleep(0.05)
        finally:
            await client.aclose()

    async def kill(self) -> None:
        """Gone at once, as a crashed server or a dropped network: connections are reset."""
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()

    async def flushall(self) -> None:
        client = Redis.from_url(self.url)
        try:
            await client.flushall()
        finally:
            await client.aclose()


@asynccontextmanager
async def private_redis(folder: Path) -> AsyncIterator[PrivateRedis]:
    server = PrivateRedis(free_port(), folder)
    await server.start()
    try:
        yield server
    finally:
        await server.kill()
