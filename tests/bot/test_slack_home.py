"""App Home, the workspace check and Slack's retries, through signed requests into the running
web app against the Slack stand-in."""

from __future__ import annotations

import asyncio
import re
import time
from datetime import timedelta
from typing import Any

import pytest

from bot.blocks.home import HOME_CANCEL, HOME_NEW
from bot.blocks.home_refresh import (
    MAX_HOMES,
    MIN_INTERVAL,
    RECENT_DAYS,
    note_opened,
    recent_home_users,
    settle_home_refreshes,
)
from campaigns.db import Database
from campaigns.recipients import check_recipient_list
from campaigns.service import NewCampaign, create_campaign, get_campaign
from campaigns.settings import Settings
from campaigns.status import CampaignStatus
from sandbox.slack import ALICE, BOB, CAMPAIGNS, CAROL, SIGNING_SECRET, SlackSandbox, requests
from tests.bot.conftest import Api, slack_settings
from tests.bot.test_slack_compose import showing, sms, top_view, until
from tests.conftest import Clock
from tests.sandbox.slack_fixtures import slack_config_fixture, slack_fixture  # noqa: F401

ALICE_DM = "D" + ALICE[1:]  # the app's direct messages with Alice


@pytest.fixture
def api_settings(slack: SlackSandbox, request: pytest.FixtureRequest) -> Settings:
    return slack_settings(slack.url, request, DEFAULT_REGION="GB")


async def scheduled(web: Api, clock: Clock, name: str = "Spring sale") -> str:
    view = await create_campaign(
        web.runtime.ctx,
        NewCampaign(name=name, message_template="Hi",
                    recipients=check_recipient_list([{"phone": "+447700900001"}], "GB"),
                    from_numbers=["+14155550100"], send_at=clock.now + timedelta(days=1), source="slack",
                    consent_confirmed=True, channel_id=CAMPAIGNS),
        "slack:U0BOB",
    )  # fmt: skip
    return view.campaign.id


async def post(web: Api, request: requests.SlackRequest) -> Any:
    response = await web.client.post("/slack/events", data=request.body, headers=request.headers)
    return response


async def test_home_shows_campaigns_and_cancel_refreshes_it(
    web: Api, slack: SlackSandbox, clock: Clock, db: Database
) -> None:
    campaign_id = await scheduled(web, clock)
    opened = requests.event_callback(SIGNING_SECRET,
                                     {"type": "app_home_opened", "user": ALICE, "tab": "home"})  # fmt: skip
    assert (await post(web, opened)).status == 200
    home = await until(lambda: slack.home_view(ALICE))
    assert "Spring sale" in str(home["blocks"]) and "Scheduled" in str(home["blocks"])
    opened_home = await recent_home_users(web.runtime.redis, web.runtime.settings.REDIS_NAMESPACE)
    assert opened_home == [ALICE]
    published = len(slack.calls("views.publish"))

    click = requests.block_actions(SIGNING_SECRET, HOME_CANCEL, view=home, sandbox_url=slack.url)
    assert (await post(web, click)).status == 200
    await until(lambda: len(slack.calls("views.publish")) > published)
    assert (await get_campaign(web.runtime.ctx, campaign_id)).view.campaign.status == (
        CampaignStatus.CANCELLED
    )
    home = slack.home_view(ALICE)
    assert "Nothing is scheduled" in str(home["blocks"]) and "Cancelled" in str(home["blocks"])


def published_to(slack: SlackSandbox, since: int = 0) -> dict[str, int]:
    """How many times each person's tab was published, counting calls from `since` on."""
    counts: dict[str, int] = {}
    for call in slack.calls("views.publish")[since:]:
        counts[call.args["user_id"]] = counts.get(call.args["user_id"], 0) + 1
    return counts


async def test_a_change_refreshes_only_tabs_opened_recently_and_never_hundreds(
    web: Api, slack: SlackSandbox, clock: Clock
) -> None:
    """Those who opened Home in the last RECENT_DAYS, at most MAX_HOMES of them (the most
    recent): not everyone who ever opened it. (Before: every one of them, up to 200.)"""
    redis, namespace = web.runtime.redis, web.runtime.settings.REDIS_NAMESPACE
    campaign_id = await scheduled(web, clock)
    for user in (ALICE, BOB, CAROL):
        await post(web, requests.event_callback(
            SIGNING_SECRET, {"type": "app_home_opened", "user": user, "tab": "home"}))  # fmt: skip
    home = await until(lambda: len(slack.calls("views.publish")) == 3 and slack.home_view(ALICE))
    long_ago = time.time() - (RECENT_DAYS + 1) * 86400
    await note_opened(redis, namespace, CAROL, when=long_ago)  # Carol last looked 8 days ago
    for n in range(300):  # and 300 people who looked long ago
        await note_opened(redis, namespace, f"U0PAST{n:03}", when=long_ago - n)
    published = len(slack.calls("views.publish"))

    await post(web, requests.block_actions(SIGNING_SECRET, HOME_CANCEL, value=campaign_id,
                                           view=home, sandbox_url=slack.url))  # fmt: skip
    await until(lambda: published_to(slack, published) == {ALICE: 1, BOB: 1})
    assert "Cancelled" in str(slack.home_view(BOB)["blocks"])
    assert "Scheduled" in str(slack.home_view(CAROL)["blocks"])  # fresh when she next opens it
    assert set(await recent_home_users(redis, namespace)) == {ALICE, BOB}  # old visits forgotten

    # However many opened it recently, one change publishes at most MAX_HOMES tabs.
    for n in range(MAX_HOMES + 20):
        slack.add_user(f"U0NEW{n:03}", f"new{n}", f"New Person {n}")
        await note_opened(redis, namespace, f"U0NEW{n:03}")
    await asyncio.sleep(MIN_INTERVAL)  # the pause after the last refresh
    published = len(slack.calls("views.publish"))
    second = await scheduled(web, clock, "Autumn sale")
    await post(web, requests.block_actions(SIGNING_SECRET, HOME_CANCEL, value=second,
                                           view=home, sandbox_url=slack.url))  # fmt: skip
    await until(lambda: len(slack.calls("views.publish")) - published >= MAX_HOMES, timeout=30)
    await asyncio.sleep(0.5)
    assert len(slack.calls("views.publish")) - published == MAX_HOMES


async def test_those_who_opened_home_before_an_upgrade_still_get_refreshes(
    web: Api, slack: SlackSandbox, clock: Clock
) -> None:
    """Visitors kept by an earlier version (a plain set, without when) count as recent once."""
    redis, namespace = web.runtime.redis, web.runtime.settings.REDIS_NAMESPACE
    await redis.sadd(f"{namespace}:slack:home-users", ALICE, BOB)
    campaign_id = await scheduled(web, clock)
    await post(web, requests.event_callback(
        SIGNING_SECRET, {"type": "app_home_opened", "user": BOB, "tab": "home"}))  # fmt: skip
    home = await until(lambda: slack.home_view(BOB))
    published = len(slack.calls("views.publish"))
    await post(web, requests.block_actions(SIGNING_SECRET, HOME_CANCEL, user_id=BOB,
                                           value=campaign_id, view=home, sandbox_url=slack.url))  # fmt: skip
    await until(lambda: published_to(slack, published) == {ALICE: 1, BOB: 1})
    assert not await redis.exists(f"{namespace}:slack:home-users")


async def test_changes_in_quick_succession_refresh_each_tab_twice_not_once_each(
    web: Api, slack: SlackSandbox, clock: Clock
) -> None:
    """Three cancels within a second: each tab is published at once and once more at the end
    of the pause, showing all three. (Before: once per change.)"""
    campaigns = [await scheduled(web, clock, f"Sale {n}") for n in range(3)]
    for user in (ALICE, BOB):
        await post(web, requests.event_callback(
            SIGNING_SECRET, {"type": "app_home_opened", "user": user, "tab": "home"}))  # fmt: skip
    home = await until(lambda: slack.home_view(BOB) and slack.home_view(ALICE))
    published = len(slack.calls("views.publish"))
    for campaign_id in campaigns:
        click = requests.block_actions(SIGNING_SECRET, HOME_CANCEL, user_id=BOB, value=campaign_id,
                                       view=home, sandbox_url=slack.url)  # fmt: skip
        assert (await post(web, click)).status == 200
    await until(lambda: published_to(slack, published) == {ALICE: 1, BOB: 1})
    await until(
        lambda: published_to(slack, published) == {ALICE: 2, BOB: 2}, timeout=MIN_INTERVAL + 5
    )
    await settle_home_refreshes()
    await asyncio.sleep(0.5)
    assert published_to(slack, published) == {ALICE: 2, BOB: 2}
    for campaign_id in campaigns:
        assert (await get_campaign(web.runtime.ctx, campaign_id)).view.campaign.status == (
            CampaignStatus.CANCELLED
        )
    assert "Nothing is scheduled" in str(slack.home_view(ALICE)["blocks"])


async def test_home_new_campaign_opens_the_modal(web: Api, slack: SlackSandbox) -> None:
    opened = requests.event_callback(SIGNING_SECRET,
                                     {"type": "app_home_opened", "user": ALICE, "tab": "home"})  # fmt: skip
    await post(web, opened)
    home = await until(lambda: slack.home_view(ALICE))
    click = requests.block_actions(SIGNING_SECRET, HOME_NEW, view=home, sandbox_url=slack.url)
    await post(web, click)
    await until(showing(slack, "sms_compose"))


@pytest.mark.parametrize("api_settings", [{"ALLOWED_SLACK_USERS": BOB}], indirect=True)
async def test_someone_not_allowed_is_told_when_they_open_a_new_campaign(
    web: Api, slack: SlackSandbox
) -> None:
    """Told at once, with whom to ask, not after filling the form in: from /sms new and from
    App Home's New campaign alike. Bob, who may, gets the form."""
    await sms(web, slack, "new")
    told = await until(showing(slack, "sms_notice"))
    text = str(told["blocks"])
    assert "You are not one of the people who may create" in text and f"<@{BOB}>" in text
    assert "ALLOWED_SLACK" not in text  # no setting names
    assert slack.calls("users.info") == []  # nothing read for a form that is not shown

    # Alice's Home shows her no New campaign button; one from a tab opened before she was
    # removed from the allowed (here: Bob's) is answered the same way.
    opened = requests.event_callback(SIGNING_SECRET,
                                     {"type": "app_home_opened", "user": BOB, "tab": "home"})  # fmt: skip
    await post(web, opened)
    home = await until(lambda: slack.home_view(BOB))
    opens = len(slack.calls("views.open"))
    click = requests.block_actions(SIGNING_SECRET, HOME_NEW, view=home, user_id=ALICE,
                                   sandbox_url=slack.url)  # fmt: skip
    await post(web, click)
    await until(lambda: len(slack.calls("views.open")) > opens)
    assert top_view(slack)["callback_id"] == "sms_notice"

    await sms(web, slack, "new", user_id=BOB)
    await until(lambda: (view := top_view(slack, BOB)) and view["callback_id"] == "sms_compose")


@pytest.mark.parametrize("api_settings", [{"ALLOWED_SLACK_USERS": BOB}], indirect=True)
async def test_home_shows_its_buttons_only_to_those_who_may_use_them(
    web: Api, slack: SlackSandbox, clock: Clock
) -> None:
    await scheduled(web, clock)
    for user in (ALICE, BOB):
        opened = requests.event_callback(
            SIGNING_SECRET, {"type": "app_home_opened", "user": user, "tab": "home"}
        )
        await post(web, opened)
    alices = str((await until(lambda: slack.home_view(ALICE)))["blocks"])
    bobs = str((await until(lambda: slack.home_view(BOB)))["blocks"])
    assert "Spring sale" in alices and "Spring sale" in bobs
    assert HOME_NEW not in alices and HOME_CANCEL not in alices
    assert f"To send or cancel a campaign, ask <@{BOB}>" in alices
    assert HOME_NEW in bobs and HOME_CANCEL in bobs and "ask <@" not in bobs

    # A refresh (here: Bob cancels from Home) keeps each person's own tab.
    click = requests.block_actions(SIGNING_SECRET, HOME_CANCEL, user_id=BOB,
                                   view=slack.home_view(BOB), sandbox_url=slack.url)  # fmt: skip
    published = len(slack.calls("views.publish"))
    assert (await post(web, click)).status == 200
    await until(lambda: len(slack.calls("views.publish")) >= published + 2)
    assert HOME_CANCEL not in str(slack.home_view(ALICE)["blocks"])
    assert HOME_NEW in str(slack.home_view(BOB)["blocks"])


@pytest.mark.parametrize(
    "api_settings", [{"ALLOWED_SLACK_USERS": BOB, "ACCESS_CONTACT": "S0FRONTDESK"}], indirect=True
)
async def test_someone_not_allowed_is_told_to_ask_the_contact_for_access(
    web: Api, slack: SlackSandbox, clock: Clock
) -> None:
    """With a person or group named to ask for access, the notice at /sms new and App Home name
    it (not the allowed people, and never a setting)."""
    await scheduled(web, clock)
    await sms(web, slack, "new")
    told = str((await until(showing(slack, "sms_notice")))["blocks"])
    assert "ask <!subteam^S0FRONTDESK> for access" in told
    assert f"<@{BOB}>" not in told and "ACCESS_CONTACT" not in told
    opened = requests.event_callback(SIGNING_SECRET,
                                     {"type": "app_home_opened", "user": ALICE, "tab": "home"})  # fmt: skip
    await post(web, opened)
    home = str((await until(lambda: slack.home_view(ALICE)))["blocks"])
    assert "To send or cancel a campaign, ask <!subteam^S0FRONTDESK>." in home
    assert HOME_NEW not in home


async def test_a_request_from_another_workspace_is_refused(web: Api, slack: SlackSandbox) -> None:
    request = requests.slash_command(SIGNING_SECRET, "list", team_id="T0OTHER",
                                     sandbox_url=slack.url)  # fmt: skip
    response = await post(web, request)
    assert response.status == 403
    assert slack.ephemeral(CAMPAIGNS, ALICE) == []
    assert slack.calls("views.open") == []


@pytest.mark.parametrize("api_settings", [{"ALLOWED_SLACK_USERS": BOB}], indirect=True)
async def test_someone_not_allowed_cannot_cancel_from_a_command(
    web: Api, slack: SlackSandbox, clock: Clock
) -> None:
    campaign_id = await scheduled(web, clock)
    await sms(web, slack, f"cancel {campaign_id}")
    [answer] = await until(lambda: slack.ephemeral(CAMPAIGNS, ALICE))
    assert "You are not one of the people" in answer.text
    campaign = (await get_campaign(web.runtime.ctx, campaign_id)).view.campaign
    assert campaign.status == CampaignStatus.SCHEDULED


async def test_sms_cancel_asks_first_and_the_button_behind_a_confirmation_cancels(
    web: Api, slack: SlackSandbox, clock: Clock
) -> None:
    campaign_id = await scheduled(web, clock)
    await sms(web, slack, f"cancel {campaign_id}")
    [asked] = await until(lambda: slack.ephemeral(CAMPAIGNS, ALICE))
    assert asked.text.startswith("Cancel *Spring sale*? 1 message not sent yet will not go out")
    [button] = asked.blocks[-1]["elements"]
    assert button["confirm"]["title"]["text"] == "Cancel this campaign?"
    campaign = (await get_campaign(web.runtime.ctx, campaign_id)).view.campaign
    assert campaign.status == CampaignStatus.SCHEDULED  # nothing happens until the button

    click = requests.block_actions(SIGNING_SECRET, button["action_id"], message=asked,
                                   sandbox_url=slack.url)  # fmt: skip
    assert (await post(web, click)).status == 200
    await until(lambda: slack.calls("response_url")[1:])
    campaign = (await get_campaign(web.runtime.ctx, campaign_id)).view.campaign
    assert (campaign.status, campaign.cancelled_by) == (CampaignStatus.CANCELLED, f"slack:{ALICE}")
    # Bob made it: he is told who cancelled it (in his direct messages: it has no thread yet).
    [told] = await until(lambda: slack.messages("D" + BOB[1:]))
    assert told.text == (f"<@{BOB}> :no_entry_sign: <@{ALICE}> cancelled *Spring sale*: "
                         "1 message will not be sent.")  # fmt: skip

    await sms(web, slack, f"cancel {campaign_id}")
    again = await until(lambda: slack.ephemeral(CAMPAIGNS, ALICE)[1:])
    assert "nothing left to cancel" in again[-1].text


async def test_a_retry_of_a_slow_event_is_acknowledged_and_not_run_again(
    web: Api, slack: SlackSandbox
) -> None:
    event = {"type": "app_home_opened", "user": ALICE, "tab": "home"}
    retry = requests.event_callback(SIGNING_SECRET, event, retry_num=1,
                                    retry_reason="http_timeout")  # fmt: skip
    assert (await post(web, retry)).status == 200
    assert slack.calls("views.publish") == []
    other = requests.event_callback(SIGNING_SECRET, event, retry_num=1,
                                    retry_reason="http_error")  # fmt: skip
    assert (await post(web, other)).status == 200  # the first try failed: this one runs
    await until(lambda: slack.home_view(ALICE))


async def test_optout_add_list_history_and_remove(web: Api, slack: SlackSandbox) -> None:
    async def answer(text: str) -> str:
        before = len(slack.ephemeral(CAMPAIGNS, ALICE))
        await sms(web, slack, text)
        shown = await until(lambda: slack.ephemeral(CAMPAIGNS, ALICE)[before:])
        return shown[0].text + str(shown[0].blocks)

    assert "Nobody has opted out" in await answer("optout list")
    assert "+447700900123 is opted out" in await answer("optout add 07700 900123")
    assert "already opted out" in await answer("optout add +447700900123")
    # Times in each reader's own zone: Slack formats the instant (UTC only as the fallback).
    local = r"<!date\^\d+\^\{date_short_pretty\} at \{time\}\|[^>]* UTC>"
    assert re.search(rf"\+447700900123 since {local}", await answer("optout list"))
    # The whole list as a CSV, in Alice's DM with Textcast: not where the channel could open it.
    [upload] = await until(lambda: ALICE_DM in slack.workspace.channels
                           and [m for m in slack.messages(ALICE_DM) if m.files])  # fmt: skip
    assert upload.text == "The suppression list: 1 opted-out number."
    assert slack.files[upload.files[0]].channels == [ALICE_DM] and not slack.messages(CAMPAIGNS)
    data = slack.files[upload.files[0]].content.decode("utf-8-sig")
    assert data.splitlines()[1].startswith("'+447700900123,") and ",slack,slack:" in data
    assert "is opted back in" in await answer("optout remove +447700900123")
    history = await answer("optout list +447700900123")
    assert history.index("opted out") < history.index("opted back in") and "in Slack by" in history
    assert len(re.findall(rf"• {local}: opted", history)) == history.count("• ") >= 2
    assert "is not a phone number" in await answer("optout add banana")
    assert "Say what to do" in await answer("optout")


@pytest.mark.parametrize("api_settings", [{"ALLOWED_SLACK_USERS": ALICE}], indirect=True)
async def test_only_allowed_people_see_who_opted_out(web: Api, slack: SlackSandbox) -> None:
    await sms(web, slack, "optout add +447700900123")
    await until(lambda: slack.ephemeral(CAMPAIGNS, ALICE))
    for asked in ("optout list +447700900123", "optout list", "optout list not-a-number"):
        before = len(slack.ephemeral(CAMPAIGNS, BOB))
        await sms(web, slack, asked, user_id=BOB)
        [answer] = await until(lambda b=before: slack.ephemeral(CAMPAIGNS, BOB)[b:])
        assert answer.text == (f"Only <@{ALICE}> can see who opted out: ask one of them, or an "
                               "admin to add you."), asked  # fmt: skip
        assert "+44" not in str(answer.blocks)
    assert [m for m in slack.messages(CAMPAIGNS) if m.files] == []
    assert "D" + BOB[1:] not in slack.workspace.channels  # no DM opened, no file sent


async def test_the_suppression_list_says_why_when_slack_refuses_the_dm(
    web: Api, slack: SlackSandbox
) -> None:
    await sms(web, slack, "optout add +447700900123")
    await until(lambda: slack.ephemeral(CAMPAIGNS, ALICE))
    slack.scopes = {"commands", "chat:write", "files:write"}  # an install from before im:write
    await sms(web, slack, "optout list")
    [told] = await until(lambda: ALICE_DM in slack.workspace.channels
                         and slack.messages(ALICE_DM))  # fmt: skip
    assert "an admin must reinstall Textcast" in told.text and not told.files
