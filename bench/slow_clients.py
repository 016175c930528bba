"""Slow clients against a `textcast bot` process: issue 21's figures, re-run.

    .venv/bin/python bench/slow_clients.py [--idle 300] [--half-sent 260] [--files 256]

1. `--idle` connections that send nothing: how long until the web process has closed them all.
2. Under a limit of `--files` open files (the process's own take about 13), `--half-sent`
   connections that send half a request's headers, then one `GET /healthz`: how long it waits.
3. What the process logged meanwhile: lines and bytes, and tracebacks among them.

The connections come from 10 loopback addresses (127.0.0.1 to 127.0.0.10), so that with the
default MAX_CONNECTIONS_PER_ADDRESS (32) they are all admitted and the deadline is what closes
them; `--one-address` sends them all from 127.0.0.1 to see the cap instead. Settings from the
environment (REQUEST_TIMEOUT_SECONDS, ...) are passed on to the process. Needs Redis at
REDIS_URL (default redis://127.0.0.1:6379/0).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from web_process import ROOT, bench_env, until_healthy

HALF = b"GET /healthz HTTP/1.1\r\nHost: textcast\r\n"
HEALTHZ = b"GET /healthz HTTP/1.1\r\nHost: textcast\r\nConnection: close\r\n\r\n"


def start_bot(env: dict[str, str], log: Path, files: int | None) -> subprocess.Popen[bytes]:
    def limit() -> None:
        if files is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (files, files))

    with log.open("wb") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "textcast.cli", "bot"], env=env, cwd=ROOT,
            stdout=output, stderr=subprocess.STDOUT, preexec_fn=limit,
        )  # fmt: skip


async def open_many(port: int, count: int, sent: bytes, one_address: bool) -> list:
    streams = []
    for i in range(count):
        source = "127.0.0.1" if one_address else f"127.0.0.{i % 10 + 1}"
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0)), 5
            )
        except (OSError, TimeoutError):
            continue
        writer.write(sent)
        streams.append((reader, writer))
    return streams


async def until_closed(reader: asyncio.StreamReader, limit: float) -> float:
    started = time.monotonic()
    try:
        async with asyncio.timeout(limit):
            while await reader.read(65536):
                pass
    except (ConnectionResetError, TimeoutError):
        pass
    return time.monotonic() - started


async def healthz_seconds(port: int, limit: float) -> float | None:
    started = time.monotonic()
    try:
        async with asyncio.timeout(limit):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(HEALTHZ)
            answer = await reader.read()
            writer.close()
    except (OSError, TimeoutError):
        return None
    return time.monotonic() - started if answer.startswith(b"HTTP/1.1 200") else None


def log_figures(log: Path) -> str:
    text = log.read_text(errors="replace")
    return (
        f"{len(text.splitlines()):,} log lines, {len(text.encode()):,} bytes, "
        f"{text.count('Traceback'):,} tracebacks"
    )


async def idle_run(args: argparse.Namespace, redis_url: str, folder: Path) -> None:
    env = bench_env(redis_url, **passed_settings())
    log = folder / "idle.log"
    bot = start_bot(env, log, None)
    port = int(env["PORT"])
    try:
        await until_healthy(f"http://127.0.0.1:{port}")
        started = time.monotonic()
        streams = await open_many(port, args.idle, b"", args.one_address)
        waits = await asyncio.gather(*(until_closed(r, args.limit) for r, _ in streams))
        elapsed = time.monotonic() - started
        open_at_end = sum(1 for wait in waits if wait >= args.limit)
        print(
            f"{len(streams)} idle connections: all closed {elapsed:.1f} s after the first opened "
            f"(each open {min(waits):.1f}-{max(waits):.1f} s; {open_at_end} still open at "
            f"{args.limit:g} s); {log_figures(log)}"
        )
        for _, writer in streams:
            writer.close()
    finally:
        bot.terminate()
        bot.wait(20)


async def files_run(args: argparse.Namespace, redis_url: str, folder: Path) -> None:
    env = bench_env(redis_url, **passed_settings())
    log = folder / "files.log"
    bot = start_bot(env, log, args.files)
    port = int(env["PORT"])
    try:
        await until_healthy(f"http://127.0.0.1:{port}")
        own = len(os.listdir(f"/proc/{bot.pid}/fd"))
        streams = await open_many(port, args.half_sent, HALF, args.one_address)
        await asyncio.sleep(0.5)
        held = len(os.listdir(f"/proc/{bot.pid}/fd"))
        waited = await healthz_seconds(port, args.limit)
        shown = f"{waited:.2f} s" if waited is not None else f"no answer in {args.limit:g} s"
        await asyncio.sleep(1)
        print(
            f"{len(streams)} half-sent connections under a {args.files}-file limit (the process "
            f"held {own} files idle, {held} after they came): /healthz answered in {shown}; "
            f"{log_figures(log)}"
        )
        for _, writer in streams:
            writer.close()
    finally:
        bot.terminate()
        try:
            bot.wait(20)
        except subprocess.TimeoutExpired:
            bot.kill()
    print(f"  logged: {log}")


def passed_settings() -> dict[str, str]:
    names = ("REQUEST_TIMEOUT_SECONDS", "KEEPALIVE_TIMEOUT_SECONDS", "MAX_CONNECTIONS_PER_ADDRESS")
    return {name: os.environ[name] for name in names if name in os.environ}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idle", type=int, default=300)
    parser.add_argument("--half-sent", type=int, default=260)
    parser.add_argument("--files", type=int, default=256)
    parser.add_argument("--limit", type=float, default=60.0, help="give up waiting after (s)")
    parser.add_argument("--one-address", action="store_true")
    args = parser.parse_args()
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    folder = Path(os.environ.get("TMPDIR", "/tmp")) / f"textcast-slow-{os.getpid()}"
    folder.mkdir()
    await idle_run(args, redis_url, folder)
    await files_run(args, redis_url, folder)


if __name__ == "__main__":
    asyncio.run(main())
