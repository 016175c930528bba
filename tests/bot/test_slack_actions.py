"""The notice buttons through the real request path: signed Slack requests over HTTP into the
running web app, Bolt verifying them, the Slack stand-in as Slack, the real database and Redis."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer
from arq.connections import ArqRedis

from bot.app import create_web_app
from bot.blocks.actions import CANCEL_CAMPAIGN, RESUME_CAMPAIGN, SEND_NOW
from bot.jobs import queue_name, start_job_id
from bot.runtime import Runtime
from bot.slack import create_slack_app
from campaigns.db import Database
from campaigns.recipients import check_recipient_list
from campaigns.service import NewCampaign, create_campaign, get_campaign
from campaigns.service.sending import pause_campaign, start_campaign
from campaigns.settings import Settings
from campaigns.status import CampaignStatus, RecipientStatus
from sandbox.slack import (
    ALICE,
    BOB,
    BOT_TOKEN,
    CAMPAIGNS,
    CAROL,
    SENDERS_GROUP,
    SIGNING_SECRET,
    Message,
    SlackSandbox,
    requests,
)
from tests.bot.conftest import Api, slack_settings
from tests.conftest import Clock, make_settings
from tests.sandbox.slack_fixtures import slack_config_fixture, slack_fixture  # noqa: F401
from worker.reporting import Reporter
from worker.slack_client import create_slack_client

SENDER = "+14155550100"


@pytest.fixture
def api_settings(slack: SlackSandbox, request: pytest.FixtureRequest) -> Settings:
    return slack_settings(slack.url, request)


async def campaign(web: Api, clock: Clock, *, late: bool = False) -> str:
    """A campaign of 10 the engine paused (or, `late`, found hours after its start time)."""
    ctx = web.runtime.ctx
    people = [{"phone": f"+4477009{i:05d}"} for i in range(10)]
    view = await create_campaign(
        ctx,
        NewCampaign(
            name="March promotion",
            message_template="20% off cleanings this month. Reply STOP to opt out",
            recipients=check_recipient_list(people, "GB"),
            from_numbers=[SENDER],
            send_at=clock.now.replace(hour=10) if late else None,
            source="slack",
            consent_confirmed=True,
            channel_id=CAMPAIGNS,
        ),
        "slack:U0BOB",
    )
    if late:
        clock.advance(hours=4)
    started = await start_campaign(ctx, view.campaign.id, view.campaign.version)
    if not late:
        await pause_campaign(ctx, view.campaign.id, "30 of the last 50 messages failed.")
    assert started.campaign is not None
    return view.campaign.id


async def notice(web: Api, slack: SlackSandbox, campaign_id: str, *, late: bool = False) -> Message:
    """The worker posts the progress message and the notice in its thread, as in production."""
    settings = web.runtime.settings
    reporter = Reporter(
        web.runtime.ctx, create_slack_client(settings), web.runtime.redis, interval=60
    )
    await (reporter.late if late else reporter.paused)(campaign_id)
    progress = slack.messages(CAMPAIGNS)[0]
    [posted] = slack.thread(CAMPAIGNS, progress.ts)
    return posted


async def click(
    web: Api, slack: SlackSandbox, action_id: str, message: Message | dict[str, Any], **more: Any
) -> ClientResponse:
    request = requests.block_actions(
        SIGNING_SECRET, action_id, message=message, sandbox_url=slack.url, **more
    )
    return await web.client.post("/slack/events", data=request.body, headers=request.headers)


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """The listener answers Slack first and acts after: wait for what it does."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)


async def status_of(web: Api, campaign_id: str) -> tuple[str, int]:
    campaign = (await get_campaign(web.runtime.ctx, campaign_id, recipients_limit=1)).view.campaign
    return campaign.status, campaign.version


async def queued_jobs(redis: ArqRedis, namespace: str) -> list[str]:
    return [job.decode() for job in await redis.zrange(queue_name(namespace), 0, -1)]


# -- the buttons


async def test_resume_runs_the_campaign_and_enqueues_its_start(
    web: Api, slack: SlackSandbox, clock: Clock
) -> None:
    campaign_id = await campaign(web, clock)
    paused_version = (await status_of(web, campaign_id))[1]
    posted = await notice(web, slack, campaign_id)
    response = await click(web, slack, RESUME_CAMPAIGN, posted)
    assert response.status == 200, await response.text()
    await until(lambda: bool(slack.calls("response_url")))

    status, version = await status_of(web, campaign_id)
    assert (status, version) == (CampaignStatus.RUNNING, paused_version + 1)
    namespace = web.runtime.settings.REDIS_NAMESPACE
    assert await queued_jobs(web.runtime.redis, namespace) == [
        start_job_id(namespace, campaign_id, version)
    ]
    updated = slack.message(CAMPAIGNS, posted.ts)
    assert not [b for b in updated.blocks if b["type"] == "actions"]
    transcript = slack.transcript(CAMPAIGNS)
    assert (
        "      @Bob Jones :double_vertical_bar: *March promotion* is paused. 30 of the last 50 "
        "messages "
        "failed.\n"
        "      Nothing more is sent until someone resumes or cancels it.\n"
        "      :arrow_forward: Resumed by @Alice Smith\n"
    ) in transcript
    assert slack.ephemeral(CAMPAIGNS) == []


async def test_send_now_starts_a_late_campaign(web: Api, slack: SlackSandbox, clock: Clock) -> None:
    campaign_id = await campaign(web, clock, late=True)
    assert (await status_of(web, campaign_id))[0] == CampaignStatus.PAUSED
    posted = await notice(web, slack, campaign_id, late=True)
    response = await click(web, slack, SEND_NOW, posted, user_id=BOB)
    assert response.status == 200
    await until(lambda: bool(slack.calls("response_url")))

    status, version = await status_of(web, campaign_id)
    assert status == CampaignStatus.RUNNING
    namespace = web.runtime.settings.REDIS_NAMESPACE
    assert await queued_jobs(web.runtime.redis, namespace) == [
        start_job_id(namespace, campaign_id, version)
    ]
    assert ":arrow_forward: Sending now, as @Bob Jones decided" in slack.transcript(CAMPAIGNS)


async def test_cancel_cancels_and_the_progress_message_says_so(
    web: Api, slack: SlackSandbox, clock: Clock
) -> None:
    campaign_id = await campaign(web, clock)
    posted = await notice(web, slack, campaign_id)
    response = await click(web, slack, CANCEL_CAMPAIGN, posted)
    assert response.status == 200
    await until(lambda: bool(slack.calls("response_url")))  # the listener's last step

    detail = await get_campaign(web.runtime.ctx, campaign_id, recipients_limit=20)
    assert detail.view.campaign.status == CampaignStatus.CANCELLED
    assert detail.view.campaign.cancelled_by == f"slack:{ALICE}"
    assert {r.status for r in detail.recipients} == {RecipientStatus.CANCELLED}
    namespace = web.runtime.settings.REDIS_NAMESPACE
    assert await queued_jobs(web.runtime.redis, namespace) == []
    transcript = slack.transcript(CAMPAIGNS)
    assert ":no_entry_sign: Cancelled by @Alice Smith: 10 messages will not be sent" in transcript
    progress = slack.messages(CAMPAIGNS)[0]
    assert progress.blocks[1]["text"]["text"].startswith(f"*Cancelled* by <@{ALICE}>")
    assert "[Cancel]" not in transcript and "[Resume]" not in transcript


async def test_a_second_click_on_a_finished_campaign_is_explained_to_the_clicker_only(
    web: Api, slack: SlackSandbox, clock: Clock
) -> None:
    campaign_id = await campaign(web, clock)
    posted = await notice(web, slack, campaign_id)
    stale_copy = posted.to_dict("T0SANDBOX")  # what Bob's Slack still shows
    await click(web, slack, CANCEL_CAMPAIGN, posted)
    await until(lambda: len(slack.calls("response_url")) == 1)
    before = await status_of(web, campaign_id)

    for n, action in enumerate((RESUME_CAMPAIGN, CANCEL_CAMPAIGN), start=1):
        response = await click(web, slack, action, stale_copy, channel_id=CAMPAIGNS, user_id=BOB)
        assert response.status == 200
        await until(lambda n=n: len(slack.ephemeral(CAMPAIGNS)) == n)

    assert await status_of(web, campaign_id) == before
    explained = slack.ephemeral(CAMPAIGNS)
    assert {m.ephemeral_to for m in explained} == {BOB}
    assert [m.text for m in explained] == [
        "Campaign 'March promotion' is cancelled, not paused.",
        "Campaign 'March promotion' is already cancelled.",
    ]
    assert "Cancelled by @Alice Smith" in slack.transcript(CAMPAIGNS)  # the notice is unchanged
    namespace = web.runtime.settings.REDIS_NAMESPACE
    assert await queued_jobs(web.runtime.redis, namespace) == []


async def test_an_unknown_campaign_is_explained(web: Api, slack: SlackSandbox) -> None:
    message = {
        "ts": "1700000000.000100",
        "text": "old notice",
        "blocks": [
            {
                "type": "actions",
                "block_id": "b",
                "elements": [
                    {
                        "type": "button",
                        "action_id": RESUME_CAMPAIGN,
                        "value": "smsc_gone",
                        "text": {"type": "plain_text", "text": "Resume"},
                    }
                ],
            }
        ],
    }
    response = await click(web, slack, RESUME_CAMPAIGN, message, channel_id=CAMPAIGNS)
    assert response.status == 200
    await until(lambda: bool(slack.ephemeral(CAMPAIGNS)))
    [explained] = slack.ephemeral(CAMPAIGNS, ALICE)
    assert explained.text == "No campaign 'smsc_gone': check the id (it starts with smsc_)."


async def test_a_forged_signature_gets_401_and_changes_nothing(
    web: Api, slack: SlackSandbox, clock: Clock
) -> None:
    campaign_id = await campaign(web, clock)
    posted = await notice(web, slack, campaign_id)
    calls = len(slack.calls())
    forged = requests.block_actions(
        "not-the-signing-secret", CANCEL_CAMPAIGN, message=posted, sandbox_url=slack.url
    )
    response = await web.client.post("/slack/events", data=forged.body, headers=forged.headers)
    assert response.status == 401
    genuine = requests.block_actions(
        SIGNING_SECRET, CANCEL_CAMPAIGN, message=posted, sandbox_url=slack.url
    )
    tampered = genuine.body.replace(b"smsc_", b"smsc_x")  # signed, then changed on the way
    response = await web.client.post("/slack/events", data=tampered, headers=genuine.headers)
    assert response.status == 401
    await asyncio.sleep(0.2)
    assert (await status_of(web, campaign_id))[0] == CampaignStatus.PAUSED
    assert len(slack.calls()) == calls


@pytest.mark.parametrize(
    ("api_settings", "clicker"),
    [
        ({"ALLOWED_SLACK_USERS": BOB}, ALICE),
        ({"ALLOWED_SLACK_USERGROUP": SENDERS_GROUP}, CAROL),
    ],
    indirect=["api_settings"],
)
async def test_someone_not_allowed_to_cancel_is_told_and_nothing_changes(
    web: Api, slack: SlackSandbox, clock: Clock, clicker: str
) -> None:
    campaign_id = await campaign(web, clock)
    posted = await notice(web, slack, campaign_id)
    await click(web, slack, CANCEL_CAMPAIGN, posted, user_id=clicker)
    await until(lambda: bool(slack.ephemeral(CAMPAIGNS)))
    [explained] = slack.ephemeral(CAMPAIGNS, clicker)
    assert explained.text.startswith(
        "You are not one of the people who may create, send, edit or cancel"
    )
    assert (await status_of(web, campaign_id))[0] == CampaignStatus.PAUSED
    assert "[Resume] [Cancel]" in slack.transcript(CAMPAIGNS)

    await click(web, slack, CANCEL_CAMPAIGN, posted, user_id=BOB)  # Bob may
    await until(lambda: len(slack.calls("response_url")) == 2)
    assert (await status_of(web, campaign_id))[0] == CampaignStatus.CANCELLED


# -- configuration


@pytest.mark.parametrize(
    "half_of_slack",
    [{}, {"SLACK_BOT_TOKEN": BOT_TOKEN}, {"SLACK_SIGNING_SECRET": SIGNING_SECRET}],
)
async def test_without_both_slack_settings_there_is_no_slack_route(
    db: Database, clock: Clock, half_of_slack: dict[str, str]
) -> None:
    runtime = await Runtime.start(make_settings(**half_of_slack), db=db, clock=clock)
    client = TestClient(TestServer(create_web_app(runtime)))
    await client.start_server()
    try:
        assert create_slack_app(runtime) is None
        request = requests.url_verification(SIGNING_SECRET, "abc")
        response = await client.post("/slack/events", data=request.body, headers=request.headers)
        assert response.status == 404
        assert (await client.get("/healthz")).status in (200, 503)  # the rest still runs
    finally:
        await client.close()
        await runtime.redis.aclose()


async def test_slack_answers_its_url_check_once_configured(web: Api) -> None:
    request = requests.url_verification(SIGNING_SECRET, "abc")
    response = await web.client.post("/slack/events", data=request.body, headers=request.headers)
    assert response.status == 200
    assert await response.json() == {"challenge": "abc"}
