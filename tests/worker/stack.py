"""The whole product on one machine: the web app, a real arq worker, the Twilio stand-in.

Everything talks over real HTTP and real Redis, with its own Redis namespace per test.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import aiohttp
from aiohttp.test_utils import TestClient, TestServer
from arq.connections import ArqRedis
from arq.worker import Worker
from twilio.rest import Client

from bot.app import create_web_app
from bot.runtime import Runtime
from campaigns.db import Database
from campaigns.models import Campaign
from campaigns.recipients import check_recipient_list
from campaigns.service import (
    Context,
    NewCampaign,
    create_api_key,
    create_campaign,
    get_campaign,
)
from campaigns.service.sending import start_campaign
from campaigns.settings import Settings
from campaigns.status import FINISHED
from sandbox import slack as slack_stand_in
from sandbox import twilio as twilio_sandbox
from tests.conftest import make_settings
from tests.ports import free_port
from tests.redis_namespaces import new_namespace
from worker.gateway import DEPARTURES
from worker.main import create_worker
from worker.runtime import WorkerRuntime
from worker.twilio_client import close_twilio_client, create_twilio_client

SENDERS = {"+14155550100": 50.0, "+14155550101": 50.0, "+14155550102": 50.0}


@dataclass
class Stack:
    env: dict[str, str]  # the settings, as a worker process would get them
    settings: Settings
    twilio: twilio_sandbox.RunningTwilioSandbox
    web: TestClient
    bot: Runtime
    token: str
    slack: slack_stand_in.SlackSandbox | None = None
    workers: list[tuple[Worker, asyncio.Task[Any]]] = field(default_factory=list)

    @property
    def ctx(self) -> Context:
        return self.bot.ctx

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def create(self, **body: Any) -> str:
        response = await self.web.post("/v1/sms/campaigns", json=body, headers=self.auth)
        assert response.status == 201, await response.text()
        return (await response.json())["campaign_id"]

    async def start_worker(self, **overrides: Any) -> Worker:
        worker = create_worker(self.settings, handle_signals=False, **overrides)
        task = asyncio.create_task(worker.async_run())
        self.workers.append((worker, task))
        return worker

    async def start_worker_process(
        self, log_path: Path, extra_env: dict[str, str] | None = None, *, yields_cpu: bool = False
    ) -> asyncio.subprocess.Process:
        """`python -m worker` in its own process, as in production (`extra_env`: e.g. a faked
        clock).

        `yields_cpu`: the worker runs at a lower priority than this process, where the stand-in
        notes when each request arrives. Real Twilio is never short of CPU because of our
        workers; on this 2-core machine the stand-in can be, and a stand-in that wakes late
        notes requests that left evenly as if they came together. Pacing is judged by when
        requests leave the workers (`departures`), as it must be: a starved worker only sends
        later."""
        log = log_path.open("ab")
        # Each create's departure is logged: pacing is judged by it (see `departures`).
        env = {**os.environ, **self.env, "LOG_DEPARTURES": "true", **(extra_env or {})}
        command = [sys.executable, "-m", "worker"]
        if yields_cpu:
            command = ["nice", "-n", "10", *command]  # exec'd: the same process, signals reach it
        return await asyncio.create_subprocess_exec(*command, env=env, stdout=log, stderr=log)

    async def stop_workers(self) -> None:
        for worker, task in self.workers:
            # As arq's close() does, but a job cancelled mid-way does not fail the test: close()
            # gathers the cancelled jobs without return_exceptions.
            worker.handle_sig(signal.SIGUSR1)
            await asyncio.gather(*worker.tasks.values(), return_exceptions=True)
            worker.tasks.clear()
            await worker.close()
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        self.workers.clear()

    def twilio_client(self) -> Client:
        """The real twilio SDK, pointed at the stand-in: for sending from outside Textcast."""
        return create_twilio_client(
            self.twilio.account_sid, self.twilio.auth_token, self.twilio.url
        )

    async def close_twilio_client(self, client: Client) -> None:
        await close_twilio_client(client)

    async def stored_sids(self, campaign_id: str) -> dict[str, str | None]:
        """Each recipient's phone and the SID Textcast holds for it."""
        detail = await get_campaign(self.ctx, campaign_id, recipients_limit=1000)
        return {r.phone: r.twilio_sid for r in detail.recipients}

    async def until_finished(self, campaign_id: str, timeout: float = 30.0) -> None:
        # At least 2 minutes, whatever the test says: only a failure waits that long, and on a
        # machine whose CPU is taken (two CI runs and stress on 2 cores) niced worker processes
        # took over 2 minutes to send what takes seconds here.
        detail = None
        try:
            async with asyncio.timeout(max(timeout, 180)):
                while True:
                    detail = await get_campaign(self.ctx, campaign_id, recipients_limit=1)
                    if detail.view.campaign.status in FINISHED:
                        return
                    await asyncio.sleep(0.1)
        except TimeoutError:
            if detail is None:
                raise
            # Where it stood says why: paused (and the reason), or still sending, and how far.
            campaign, counts = detail.view.campaign, detail.view.counts
            raise AssertionError(
                f"campaign {campaign_id} not finished: {campaign.status} "
                f"({campaign.pause_reason or 'no pause reason'}), {counts}"
            ) from None


@asynccontextmanager
async def running_stack(
    db: Database,
    senders: dict[str, float] | None = None,
    *,
    callbacks: bool = False,
    slack: bool = False,
    service: str | None = None,
    **overrides: Any,
) -> AsyncIterator[Stack]:
    """`senders`: number -> MPS, for both Textcast's settings and the stand-in's carrier.

    `callbacks`: Twilio posts delivery receipts to the web app (PUBLIC_BASE_URL is set);
    otherwise the worker polls for them. `slack`: the worker reports to the Slack stand-in.
    `service`: a Messaging Service SID (MG...) with all the senders, configured on both sides.
    """
    senders = senders or SENDERS
    port = free_port()
    namespace = new_namespace()
    services = {service: tuple(senders)} if service else {}
    twilio = await twilio_sandbox.start(
        config=twilio_sandbox.SandboxConfig(
            numbers=dict(senders), messaging_services=services, seed=1
        )
    )
    values: dict[str, Any] = {
        "DATABASE_URL": db.url,
        "REDIS_NAMESPACE": namespace,
        "TWILIO_ACCOUNT_SID": twilio.account_sid,
        "TWILIO_AUTH_TOKEN": twilio.auth_token,
        "TWILIO_API_URL": twilio.url,
        "SENDER_NUMBERS": ",".join(f"{n}:{int(m)}" for n, m in senders.items()),
        "TWILIO_TIMEOUT_SECONDS": 2.0,
        "RECLAIM_AFTER_SECONDS": 3.0,
        "UNKNOWN_OUTCOME_WAIT_SECONDS": 3.0,
        "UNKNOWN_OUTCOME_LIMIT_SECONDS": 60.0,
        "SWEEP_SECONDS": 1,
    }
    if callbacks:
        values["PUBLIC_BASE_URL"] = f"http://127.0.0.1:{port}"
    if service:
        values["TWILIO_MESSAGING_SERVICE_SID"] = service
        values["TWILIO_MESSAGING_SERVICE_MPS"] = int(sum(senders.values()))
    slack_sandbox = await slack_stand_in.start() if slack else None
    if slack_sandbox is not None:
        values.update(
            SLACK_API_URL=slack_sandbox.url,
            SLACK_BOT_TOKEN=slack_stand_in.BOT_TOKEN,
            SLACK_SIGNING_SECRET=slack_stand_in.SIGNING_SECRET,
            SLACK_NOTIFY_CHANNEL=slack_stand_in.CAMPAIGNS,
            PROGRESS_INTERVAL_SECONDS=0.5,
        )
    values.update(overrides)
    settings = make_settings(**values)
    env = {name: str(value) for name, value in values.items()}
    env.update(DEFAULT_REGION="GB", PRICE_PER_SEGMENT="0.0079")
    env.setdefault("SEND_HOURS", settings.SEND_HOURS)
    bot = await Runtime.start(settings, db=db)
    key = await create_api_key(bot.ctx, "tests", "test")
    web = TestClient(TestServer(create_web_app(bot), port=port))
    await web.start_server()
    stack = Stack(env, settings, twilio, web, bot, key.token, slack=slack_sandbox)
    try:
        yield stack
    finally:
        await stack.stop_workers()
        await web.close()
        await bot.redis.aclose()
        await twilio.stop()
        if slack_sandbox is not None:
            await slack_sandbox.stop()


class TwilioAccount(Protocol):
    """Where a Twilio stand-in is and how to sign in to it."""

    @property
    def url(self) -> str: ...
    @property
    def account_sid(self) -> str: ...
    @property
    def auth_token(self) -> str: ...


@dataclass
class StandInProcess:
    """`textcast sandbox` in a process of its own, observed over HTTP. What it records is not
    skewed by this process: a test that stalls its own event loop would delay the arrival
    times of a stand-in running in it, too."""

    env: dict[str, str]
    http: aiohttp.ClientSession

    @property
    def url(self) -> str:
        return self.env["TWILIO_API_URL"]

    @property
    def account_sid(self) -> str:
        return self.env["TWILIO_ACCOUNT_SID"]

    @property
    def auth_token(self) -> str:
        return self.env["TWILIO_AUTH_TOKEN"]

    async def get(self, path: str) -> Any:
        async with self.http.get(self.url + path) as response:
            response.raise_for_status()
            return await response.json()

    async def post(self, path: str, body: dict[str, Any]) -> Any:
        async with self.http.post(self.url + path, json=body) as response:
            response.raise_for_status()
            return await response.json()


@asynccontextmanager
async def stand_in_process(senders: dict[str, float]) -> AsyncIterator[StandInProcess]:
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "SLACK_", "SENDER_"))
    }
    environment["SENDER_NUMBERS"] = ",".join(f"{n}:{int(m)}" for n, m in senders.items())
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "textcast.cli", "sandbox", "--twilio-port", "0",
        "--slack-port", "0", stdout=asyncio.subprocess.PIPE, env=environment,
    )  # fmt: skip
    assert process.stdout is not None
    exported: dict[str, str] = {}
    try:
        async with asyncio.timeout(60):  # an interpreter's start takes seconds on a busy machine
            while "SLACK_NOTIFY_CHANNEL" not in exported:
                line = (await process.stdout.readline()).decode()
                assert line, "textcast sandbox exited early"
                if line.startswith("export "):
                    name, _, value = line.removeprefix("export ").strip().partition("=")
                    exported[name] = value
        async with aiohttp.ClientSession() as http:
            yield StandInProcess(exported, http)
    finally:
        process.send_signal(signal.SIGINT)
        await process.wait()


@asynccontextmanager
async def worker_runtime(
    db: Database, twilio: TwilioAccount, senders: dict[str, float], **overrides: Any
) -> AsyncIterator[WorkerRuntime]:
    """A worker process's runtime, in this process: for driving one `Driver` by hand."""
    namespace = new_namespace()
    settings = make_settings(**{
        "DATABASE_URL": db.url, "REDIS_NAMESPACE": namespace,
        "SENDER_NUMBERS": ",".join(f"{n}:{int(m)}" for n, m in senders.items()),
        "TWILIO_ACCOUNT_SID": twilio.account_sid, "TWILIO_AUTH_TOKEN": twilio.auth_token,
        "TWILIO_API_URL": twilio.url, "TWILIO_TIMEOUT_SECONDS": 2.0, "RECLAIM_AFTER_SECONDS": 3.0,
        "UNKNOWN_OUTCOME_WAIT_SECONDS": 3.0, "UNKNOWN_OUTCOME_LIMIT_SECONDS": 60.0, **overrides,
    })  # fmt: skip
    # Named, so a test can cut this runtime's connections (CLIENT KILL) and no one else's.
    redis = ArqRedis.from_url(settings.REDIS_URL, client_name=namespace)
    rt = await WorkerRuntime.start(settings, redis, db=db)
    try:
        yield rt
    finally:
        await close_twilio_client(rt.gateway.client)
        await redis.aclose()


async def new_running_campaign(
    ctx: Context, recipients: list[dict[str, Any]], senders: list[str], template: str = "Hi {{n}}"
) -> Campaign:
    """A campaign sent now, started as its start job would start it."""
    view = await create_campaign(
        ctx,
        NewCampaign(
            name="Test", message_template=template,
            recipients=check_recipient_list(recipients, "GB"), from_numbers=senders,
            send_at=None, source="api", consent_confirmed=True,
        ),
        "test",
    )  # fmt: skip
    started = await start_campaign(ctx, view.campaign.id)
    assert started.campaign is not None
    return started.campaign


def people(count: int, start: int = 0) -> list[dict[str, Any]]:
    """Valid UK mobile numbers (+447400000000 on), enough for any test; they reach only the stand-in."""
    return [{"phone": f"+447400{start + i:06d}", "variables": {"n": str(i)}} for i in range(count)]


def departures(logs: list[Path]) -> dict[str, list[float]]:
    """When each create left a worker process started with LOG_DEPARTURES, by sender as the log
    shows it (masked, "+14*******100"), from every log: the clock the promise is about."""
    left: dict[str, list[float]] = {}
    for log in logs:
        for line in log.read_text().splitlines():
            _, found, rest = line.partition(" worker.departures: ")
            if found:
                sender, _, at = rest.rpartition(" at ")
                left.setdefault(sender, []).append(float(at))
    return left


@dataclass(frozen=True, slots=True)
class Departure:
    """A create as it left a send loop running in this process."""

    sender: str
    to: str
    at: float  # this process's monotonic clock: the event loop's
    wall: float


class _DepartureRecorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.left: list[Departure] = []

    def emit(self, record: logging.LogRecord) -> None:
        # The monotonic time read as the create was written, before this log record was made.
        sender, wall = record.args  # type: ignore[misc]
        left = getattr(record, "left", None) or time.monotonic()
        self.left.append(Departure(sender, getattr(record, "to", ""), left, wall))


@asynccontextmanager
async def recorded_departures() -> AsyncIterator[list[Departure]]:
    """Every create that leaves a send loop in this process while open (a `Driver` or a worker
    from `Stack.start_worker`), in order: the clock pacing and "nothing sent after" are judged
    on, where the stand-in may note a request late when it is short of CPU."""
    logger = logging.getLogger(DEPARTURES)
    recorder, level, propagate = _DepartureRecorder(), logger.level, logger.propagate
    logger.addHandler(recorder)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False  # a line per create would flood a failed test's log
    try:
        yield recorder.left
    finally:
        logger.removeHandler(recorder)
        logger.setLevel(level)
        logger.propagate = propagate


def left_from(departures: list[Departure], sender: str) -> list[float]:
    """When each create from `sender` left, on the monotonic clock."""
    return [d.at for d in departures if d.sender == sender]


def most_in_a_second(times: list[float]) -> int:
    """The most of `times` in any window of one second (half-open)."""
    times = sorted(times)
    most = first = 0
    for last, at in enumerate(times):
        while at - times[first] >= 1.0:
            first += 1
        most = max(most, last - first + 1)
    return most
