"""Starting everything, playing the scenario, reporting, and stopping everything again."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from campaigns.settings import Settings
from sandbox import slack, twilio
from textcast.demo.person import Person, StuckError
from textcast.demo.processes import Processes, ProcessFailedError
from textcast.demo.redis_server import DemoRedis, NoRedisError, demo_redis, free_port
from textcast.demo.scenario import (
    HELP_TEXT,
    SENDERS,
    Api,
    Outcome,
    Scenario,
    Twilio,
    differences,
)
from textcast.demo.screen import Screen
from textcast.demo.shell import keep_running


@dataclass
class Stack:
    """Where everything the demo started listens."""

    folder: Path
    redis: DemoRedis
    web_url: str
    twilio_url: str
    slack_origin: str
    api_key: str
    env: dict[str, str]


def _namespace() -> str:
    """The demo's Redis keys: apart from any Textcast install that shares the Redis."""
    return f"textcast-demo-{os.getpid()}"


def _environment(folder: Path, redis_url: str, ports: dict[str, int]) -> dict[str, str]:
    """The processes' settings: the user's own Textcast settings are left out on purpose, so the
    demo never sends through a real account or writes to a real database."""
    env = {k: v for k, v in os.environ.items() if k not in Settings.model_fields}
    web = f"http://127.0.0.1:{ports['web']}"
    env.update(
        DATABASE_URL=f"sqlite+aiosqlite:///{folder / 'textcast.db'}",
        REDIS_URL=redis_url,
        REDIS_NAMESPACE=_namespace(),
        PORT=str(ports["web"]),
        PUBLIC_BASE_URL=web,
        SENDER_NUMBERS=SENDERS,
        DEFAULT_REGION="US",
        TWILIO_API_URL=f"http://127.0.0.1:{ports['twilio']}",
        TWILIO_ACCOUNT_SID=twilio.DEFAULT_ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=twilio.DEFAULT_AUTH_TOKEN,
        SLACK_API_URL=f"http://127.0.0.1:{ports['slack']}/api/",
        SLACK_BOT_TOKEN=slack.BOT_TOKEN,
        SLACK_SIGNING_SECRET=slack.SIGNING_SECRET,
        SLACK_NOTIFY_CHANNEL=slack.CAMPAIGNS,
        HELP_TEXT=HELP_TEXT,
        PROGRESS_INTERVAL_SECONDS="1",
        # The demo runs at whatever hour it is here; the patients' phones are in California.
        SEND_HOURS="any",  # Slack allows it for one message; it looks alive
    )
    return env


# A port found free can be taken by another program before our process binds it (CI ran the
# tests of two databases at once, and the sandbox of one demo found its port in use).
PORT_TRIES = 3


async def start_stack(processes: Processes, folder: Path, redis: DemoRedis) -> Stack:
    """The stand-ins, the web process and a worker, up; on new ports if one was taken meanwhile."""
    for attempt in range(1, PORT_TRIES + 1):
        try:
            return await _start_on_free_ports(processes, folder, redis)
        except ProcessFailedError as error:
            if attempt == PORT_TRIES or "address already in use" not in str(error).lower():
                raise
            await processes.stop()
            processes.running.clear()
    raise AssertionError("unreachable")


async def _start_on_free_ports(processes: Processes, folder: Path, redis: DemoRedis) -> Stack:
    ports = {name: free_port() for name in ("web", "twilio", "slack")}
    env = _environment(folder, redis.url, ports)
    processes.env = env
    web_url = env["PUBLIC_BASE_URL"]
    twilio_url = env["TWILIO_API_URL"]
    slack_origin = f"http://127.0.0.1:{ports['slack']}"
    await processes.start(
        "sandbox", "sandbox", "--twilio-port", str(ports["twilio"]),
        "--slack-port", str(ports["slack"]),
    )  # fmt: skip
    await processes.wait_for("sandbox", f"{twilio_url}/sandbox/summary")
    await processes.wait_for("sandbox", f"{slack_origin}/_sandbox/calls")
    await processes.run("db-upgrade", "db", "upgrade")
    created = await processes.run("apikey", "apikey", "create", "demo")
    key = re.search(r"Bearer (\S+)", created)
    if key is None:
        raise ProcessFailedError(f"textcast apikey create printed no key: {created}")
    await processes.start("web", "bot")
    await processes.start("worker", "worker")
    await processes.wait_for("web", f"{web_url}/healthz")
    return Stack(folder, redis, web_url, twilio_url, slack_origin, key.group(1), env)


def _report(screen: Screen, seen: Outcome, stack: Stack) -> list[str]:
    wrong = differences(seen)
    screen.say()
    screen.say(
        f"Check-up reminders: {seen.total} recipients · {seen.delivered} delivered · "
        f"{seen.failed} failed ({', '.join(f'{k}: {v}' for k, v in sorted(seen.failures.items()))})"
        f" · {seen.pending} pending · {seen.cancelled} cancelled"
    )
    screen.say(
        f"Texts back: {seen.replies} reply (answered from Slack: "
        f"{'delivered' if seen.answer_reached else 'NOT delivered'}) · {seen.opt_outs} STOP · "
        f"{seen.duplicates} duplicate messages"
    )
    if wrong:
        screen.say("NOT as expected:")
        for line in wrong:
            screen.say(f"  {line}")
    else:
        screen.say("Every count is as expected.")
    screen.say(f"Logs of every process, and the database: {stack.folder}")
    return wrong


async def _play(screen: Screen, stack: Stack, processes: Processes) -> tuple[Outcome | None, str]:
    """The scenario's outcome, or why it could not finish: stuck, or a process gone."""
    timeout = aiohttp.ClientTimeout(total=15)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        alice = Person(http, stack.slack_origin, stack.web_url)
        scenario = Scenario(
            alice, Twilio(http, stack.twilio_url), Api(http, stack.web_url, stack.api_key), screen
        )
        playing = asyncio.create_task(scenario.play())
        exit_watch = asyncio.create_task(processes.first_exit())
        try:
            await asyncio.wait({playing, exit_watch}, return_when=asyncio.FIRST_COMPLETED)
            if not playing.done():  # a process died: the scenario would only wait for it
                playing.cancel()
                with contextlib.suppress(asyncio.CancelledError, StuckError, aiohttp.ClientError):
                    await playing  # let it finish with the session still open
                return None, exit_watch.result()
            return playing.result(), ""
        except (StuckError, aiohttp.ClientError) as error:
            return None, str(error)
        finally:
            exit_watch.cancel()
            if not screen.live and not processes.exited():
                screen.block("#campaigns, as Alice sees it at the end:", await alice.sees())


async def demo(keep: bool, live: bool) -> int:
    screen = Screen(live)
    folder = Path(tempfile.mkdtemp(prefix="textcast-demo-"))
    redis_url = os.environ.get("REDIS_URL") or str(Settings.model_fields["REDIS_URL"].default)
    processes = Processes(folder, {})
    redis: DemoRedis | None = None
    try:
        redis = await demo_redis(redis_url, folder)
        screen.say(f"Textcast demo in {folder}: SQLite there, Redis: {redis.description}.")
        stack = await start_stack(processes, folder, redis)
        screen.say("Started the Slack and Twilio stand-ins, the web process and a worker.")
        seen, stuck = await _play(screen, stack, processes)
        if seen is None:
            screen.say(f"The demo could not finish: {stuck}")
            screen.say(f"Logs of every process, and the database: {folder}")
            return 1
        wrong = _report(screen, seen, stack)
        if processes.exited():
            screen.say(f"Exited early: {', '.join(processes.exited())} (see their logs)")
            return 1
        if keep:
            await keep_running(stack, screen)
        return 1 if wrong else 0
    except (NoRedisError, ProcessFailedError) as error:
        screen.say(f"textcast demo: {error}")
        return 1
    finally:
        await processes.stop()
        if redis is not None:
            await redis.forget(_namespace())
            await redis.stop()


def run_demo(*, keep_running: bool = False) -> int:
    live = sys.stdout.isatty() and os.environ.get("CI", "").lower() not in ("1", "true")
    loop = asyncio.new_event_loop()
    main = loop.create_task(demo(keep_running, live))
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, main.cancel)
    try:
        return loop.run_until_complete(main)
    except asyncio.CancelledError:
        print("\nStopped; everything the demo started is stopped too.")
        return 130
    finally:
        with contextlib.suppress(Exception):
            loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
