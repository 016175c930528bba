"""Who may approve, through the real request path: Alice schedules a campaign, Bob changes it in
Slack (`/sms edit`) or a system changes it over the API, and the approval request the worker
posts is answered with signed Slack requests. An editor cannot approve their own edit, the
request names who changed it, and a request for an older version approves nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import ClientResponse

from bot.blocks.approval import APPROVE, REJECT, REJECT_REASON, REJECT_VIEW
from bot.blocks.compose import COMPOSE
from bot.blocks.preview import CONFIRM, PREVIEW
from campaigns.recipients import check_recipient_list
from campaigns.service import NewCampaign, create_campaign, get_campaign
from campaigns.settings import Settings
from campaigns.status import CampaignStatus
from sandbox.slack import (
    ALICE,
    BOB,
    CAMPAIGNS,
    CAROL,
    SIGNING_SECRET,
    Message,
    SlackSandbox,
    requests,
)
from sandbox.slack.views import apply_submission_answer
from tests.bot.conftest import Api, slack_settings
from tests.conftest import Clock
from tests.sandbox.slack_fixtures import slack_config_fixture, slack_fixture  # noqa: F401
from worker.reporting import Reporter
from worker.slack_client import create_slack_client

SENDER = "+14155550100"
# The review's figures: caps of 1.00 a campaign and 5.00 a month; approvals asked above 500
# recipients, so a small campaign goes straight to scheduled and the caps ask for approval.
CAPS = {"MAX_CAMPAIGN_COST": "1.00", "MONTHLY_BUDGET": "5.00", "APPROVAL_ABOVE_RECIPIENTS": "500"}
EMOJI = "Open day on Saturday \N{GRINNING FACE} Reply STOP to opt out"


@pytest.fixture
def clock() -> Clock:
    """Starts at the real time: whether an approval came after the campaign's time is judged on
    the database's clock, which tests do not move."""
    return Clock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def api_settings(slack: SlackSandbox, request: pytest.FixtureRequest) -> Settings:
    return slack_settings(slack.url, request, **CAPS)


def numbers(count: int) -> list[str]:
    return [f"+4477009{i:05d}" for i in range(count)]


async def until(condition: Callable[[], Any], timeout: float = 5.0) -> Any:
    async with asyncio.timeout(timeout):
        while not (found := condition()):
            await asyncio.sleep(0.02)
    return found


async def alices_campaign(web: Api, clock: Clock, recipients: int = 2) -> str:
    view = await create_campaign(
        web.runtime.ctx,
        NewCampaign(
            name="Open day", message_template="Open day on Saturday. Reply STOP to opt out",
            recipients=check_recipient_list([{"phone": p} for p in numbers(recipients)], "GB"),
            from_numbers=[SENDER], send_at=clock.now + timedelta(hours=2), source="slack",
            consent_confirmed=True, channel_id=CAMPAIGNS,
        ),
        f"slack:{ALICE}",
    )  # fmt: skip
    return view.campaign.id


async def post(web: Api, request: requests.SlackRequest) -> ClientResponse:
    response = await web.client.post("/slack/events", data=request.body, headers=request.headers)
    assert response.status == 200, await response.text()
    return response


def top_view(slack: SlackSandbox, user: str) -> dict[str, Any] | None:
    stack = slack.modal_stack(user)
    return stack[-1] if stack else None


def showing(slack: SlackSandbox, user: str, callback_id: str) -> Callable[[], Any]:
    def check() -> dict[str, Any] | None:
        view = top_view(slack, user)
        return view if view and view["callback_id"] == callback_id else None

    return check


async def submit(
    web: Api, slack: SlackSandbox, view: dict[str, Any], values: dict[str, Any], user: str
) -> dict[str, str]:
    request = requests.view_submission(SIGNING_SECRET, view, values, user_id=user,
                                       sandbox_url=slack.url)  # fmt: skip
    response = await post(web, request)
    text = await response.text()
    return apply_submission_answer(slack, view["id"], await response.json() if text else None)


async def edit_in_slack(web: Api, slack: SlackSandbox, campaign_id: str, user: str) -> None:
    """`/sms edit`, 180 numbers and an emoji message pasted, Preview, Confirm: as Bob did."""
    await post(web, requests.slash_command(SIGNING_SECRET, f"edit {campaign_id}", user_id=user,
                                           sandbox_url=slack.url))  # fmt: skip
    form = await until(showing(slack, user, COMPOSE))
    values = {"paste": "\n".join(numbers(180)), "message": EMOJI}
    assert await submit(web, slack, form, values, user) == {}
    preview = await until(showing(slack, user, PREVIEW))
    await post(web, requests.block_actions(SIGNING_SECRET, CONFIRM, view=preview, user_id=user,
                                           sandbox_url=slack.url))  # fmt: skip
    await until(lambda: "needs a second person's approval" in str(top_view(slack, user)))


async def ask_approval(web: Api, slack: SlackSandbox, campaign_id: str) -> Message:
    """The worker's job: the request for the campaign's current version, in the channel."""
    reporter = Reporter(web.runtime.ctx, create_slack_client(web.runtime.settings),
                        web.runtime.redis, interval=60)  # fmt: skip
    campaign = (await get_campaign(web.runtime.ctx, campaign_id)).view.campaign
    assert await reporter.ask_approval(campaign_id, campaign.version) == "asked"
    return [m for m in slack.messages(CAMPAIGNS) if "Approve:" in str(m.blocks)][-1]


def card(slack: SlackSandbox, ts: str) -> str:
    [found] = [m for m in slack.messages(CAMPAIGNS) if m.ts == ts]
    return str(found.blocks)


async def press(web: Api, slack: SlackSandbox, message: Message, user: str) -> None:
    await post(web, requests.block_actions(SIGNING_SECRET, APPROVE, message=message, user_id=user,
                                           sandbox_url=slack.url))  # fmt: skip


async def status_of(web: Api, campaign_id: str) -> tuple[str, int]:
    campaign = (await get_campaign(web.runtime.ctx, campaign_id)).view.campaign
    return campaign.status, campaign.version


async def test_an_editor_cannot_approve_their_own_edit_and_a_third_person_can(
    web: Api, slack: SlackSandbox, clock: Clock
) -> None:
    campaign_id = await alices_campaign(web, clock)
    assert (await status_of(web, campaign_id))[0] == CampaignStatus.SCHEDULED  # 2 numbers: fine

    await edit_in_slack(web, slack, campaign_id, BOB)
    detail = await get_campaign(web.runtime.ctx, campaign_id)
    assert detail.view.counts.total == 180
    assert detail.view.campaign.status == CampaignStatus.AWAITING_APPROVAL
    assert "MAX_CAMPAIGN_COST" in (detail.view.campaign.approval_reason or "")

    asked = await ask_approval(web, slack, campaign_id)
    assert f"Created by <@{ALICE}>. *Changed by <@{BOB}>.*" in card(slack, asked.ts)

    await press(web, slack, asked, BOB)
    [told] = await until(lambda: slack.ephemeral(CAMPAIGNS, BOB))
    assert told.text.startswith("You changed this campaign since it was last approved")
    assert (await status_of(web, campaign_id))[0] == CampaignStatus.AWAITING_APPROVAL
    assert "Approved by" not in card(slack, asked.ts)

    await press(web, slack, asked, CAROL)
    await until(lambda: "Approved by" in card(slack, asked.ts))
    assert (await status_of(web, campaign_id))[0] == CampaignStatus.SCHEDULED
    assert f"Approved by <@{CAROL}>" in card(slack, asked.ts)


async def test_an_api_edit_asks_again_though_it_was_approved_and_an_old_request_decides_nothing(
    web: Api, slack: SlackSandbox, clock: Clock
) -> None:
    campaign_id = await alices_campaign(web, clock, recipients=180)  # over the cap: asks
    first = await ask_approval(web, slack, campaign_id)
    await press(web, slack, first, CAROL)
    await until(lambda: "Approved by" in card(slack, first.ts))
    status, version = await status_of(web, campaign_id)
    assert status == CampaignStatus.SCHEDULED

    # Over the API, a longer message: still over the cap, and Carol's approval was for the old one.
    longer = {"message_template": EMOJI + " See you there, with the whole team!"}
    patched = await web.client.patch(f"/v1/sms/campaigns/{campaign_id}", json=longer,
                                     headers={**web.auth, "If-Match": f'"{version}"'})  # fmt: skip
    assert patched.status == 200, await patched.text()
    assert (await patched.json())["status"] == "awaiting_approval"
    second = await ask_approval(web, slack, campaign_id)
    key = web.key_id
    assert f"*Changed by API key {key} since <@{CAROL}> approved it.*" in card(slack, second.ts)

    # Changed again before anyone answers: the request on screen is for the version before.
    patched = await web.client.patch(f"/v1/sms/campaigns/{campaign_id}", headers=web.auth,
                                     json={"name": "Open day (180 people)"})  # fmt: skip
    assert patched.status == 200, await patched.text()
    _, newest = await status_of(web, campaign_id)
    await press(web, slack, second, CAROL)
    [told] = await until(lambda: slack.ephemeral(CAMPAIGNS, CAROL))
    assert "was changed after this request was posted, so nothing was approved" in told.text
    await until(lambda: "out of date" in card(slack, second.ts))
    shown = card(slack, second.ts)
    assert "Open day (180 people)" in shown and "campaign_approve" not in shown  # no buttons
    assert await status_of(web, campaign_id) == (CampaignStatus.AWAITING_APPROVAL, newest)

    third = await ask_approval(web, slack, campaign_id)  # the new version asked about anew
    await press(web, slack, third, ALICE)  # Alice made no version since Carol's approval
    await until(lambda: "Approved by" in card(slack, third.ts))
    assert (await status_of(web, campaign_id))[0] == CampaignStatus.SCHEDULED


def thread_of(slack: SlackSandbox, message: Message) -> list[str]:
    """The texts in the campaign's thread (the request is posted after its progress message)."""
    [progress] = [m for m in slack.messages(CAMPAIGNS) if "Approve:" not in str(m.blocks)][:1]
    return [m.text for m in slack.thread(CAMPAIGNS, progress.ts)]


@pytest.mark.parametrize(
    ("api_settings", "asked"),
    [
        ({"APPROVERS_SLACK_USERGROUP": "S0APPROVERS"}, "<!subteam^S0APPROVERS>"),
        # Only those who may send can approve; Alice made it, so Bob and Carol are asked.
        ({"ALLOWED_SLACK_USERS": f"{ALICE},{BOB},{CAROL}"}, f"<@{BOB}> and <@{CAROL}>"),
        ({"ALLOWED_SLACK_USERGROUP": "S0SENDERS"}, "<!subteam^S0SENDERS>"),
        ({}, "<!here>"),
    ],
    indirect=["api_settings"],
)
async def test_the_approvers_are_mentioned_on_the_request(
    web: Api, slack: SlackSandbox, clock: Clock, asked: str
) -> None:
    campaign_id = await alices_campaign(web, clock, recipients=180)
    request = await ask_approval(web, slack, campaign_id)
    assert request.text.startswith(f"{asked} Approval needed: Open day")  # what notifies
    assert f"{asked}: please approve or reject it." in card(slack, request.ts)
    assert "APPROVERS_SLACK_USERGROUP" not in card(slack, request.ts)


async def test_the_creator_is_told_who_approved(
    web: Api, slack: SlackSandbox, clock: Clock
) -> None:
    campaign_id = await alices_campaign(web, clock, recipients=180)
    request = await ask_approval(web, slack, campaign_id)
    await press(web, slack, request, CAROL)
    await until(lambda: "Approved by" in card(slack, request.ts))
    told = await until(lambda: [t for t in thread_of(slack, request) if "Approved by" in t])
    assert told == [f"<@{ALICE}> :white_check_mark: Approved by <@{CAROL}>"]


async def test_reject_asks_why_and_the_creator_is_told_who_and_why(
    web: Api, slack: SlackSandbox, clock: Clock
) -> None:
    campaign_id = await alices_campaign(web, clock, recipients=180)
    request = await ask_approval(web, slack, campaign_id)
    await post(web, requests.block_actions(SIGNING_SECRET, REJECT, message=request,
                                           user_id=CAROL, sandbox_url=slack.url))  # fmt: skip
    modal = await until(showing(slack, CAROL, REJECT_VIEW))
    assert "Rejecting *Open day* cancels it: nothing is sent." in str(modal["blocks"])
    assert (modal["submit"]["text"], modal["close"]["text"]) == ("Reject", "Keep it")
    assert (await status_of(web, campaign_id))[0] == CampaignStatus.AWAITING_APPROVAL

    # Slack requires the field; spaces are no reason either.
    errors = await submit(web, slack, modal, {REJECT_REASON: "   "}, CAROL)
    assert errors == {REJECT_REASON: "Say why, so whoever made it knows what to change."}
    assert (await status_of(web, campaign_id))[0] == CampaignStatus.AWAITING_APPROVAL

    reason = "Too many people for a Saturday: <!channel> split it in two"
    assert await submit(web, slack, modal, {REJECT_REASON: reason}, CAROL) == {}
    assert (await status_of(web, campaign_id))[0] == CampaignStatus.CANCELLED
    await until(lambda: "Rejected by" in card(slack, request.ts))
    shown = card(slack, request.ts)
    assert f"Rejected by <@{CAROL}>" in shown and "campaign_reject" not in shown
    told = await until(lambda: [t for t in thread_of(slack, request) if "Rejected by" in t])
    assert told == [
        f"<@{ALICE}> :x: Rejected by <@{CAROL}>: cancelled, nothing was sent. Why:\n"
        "> Too many people for a Saturday: &lt;!channel&gt; split it in two"
    ]


async def test_an_edit_by_someone_else_is_told_to_the_creator(
    web: Api, slack: SlackSandbox, clock: Clock
) -> None:
    """Bob changes Alice's campaign in Slack: Alice is told who changed what. It has no thread
    yet (nothing was posted for it), so in her direct messages with Textcast."""
    campaign_id = await alices_campaign(web, clock)
    await edit_in_slack(web, slack, campaign_id, BOB)
    [told] = await until(lambda: slack.messages("D" + ALICE[1:]))
    assert told.text == (
        f"<@{ALICE}> :pencil2: <@{BOB}> changed *Open day*: the message and the recipients. "
        "It waits for a second person's approval again."
    )
