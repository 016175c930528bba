"""The progress message's buttons through signed requests into the running web app: View report
(page by page), Export CSV (a file in the DM of the person who asked, cells safe for
spreadsheets), both only for allowed people, and Cancel."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.blocks.actions import EDIT_CAMPAIGN, EXPORT_CSV, PROGRESS_CANCEL, VIEW_REPORT
from bot.blocks.report import REPORT, REPORT_PAGE
from bot.jobs import queue_name
from bot.slack.permissions import who_may
from campaigns.service import get_campaign
from campaigns.service.claims import claim_batch
from campaigns.settings import Settings
from campaigns.status import CampaignStatus
from sandbox.slack import (
    ALICE,
    BOB,
    CAMPAIGNS,
    CAROL,
    SENDERS_GROUP,
    SIGNING_SECRET,
    SlackSandbox,
    requests,
)
from tests.bot.conftest import Api, slack_settings
from tests.bot.test_slack_compose import at, click, filled, showing, sms, submit, until
from tests.conftest import Clock, make_settings
from tests.sandbox.slack_fixtures import slack_config_fixture, slack_fixture  # noqa: F401


@pytest.fixture
def api_settings(slack: SlackSandbox, request: pytest.FixtureRequest) -> Settings:
    return slack_settings(slack.url, request, DEFAULT_REGION="GB")


ALICE_DM = "D" + ALICE[1:]  # the app's direct messages with Alice
CSV = "phone,first_name\n" + "\n".join(
    f"+4474000000{i:02d},{'=HYPERLINK(1)' if i == 7 else f'Person {i}'}" for i in range(50)
)


async def confirmed(web: Api, slack: SlackSandbox) -> str:
    """A campaign of 50 sent from Slack: its progress message is in #campaigns."""
    await sms(web, slack, "new")
    compose = await until(showing(slack, "sms_compose"))
    upload = slack.add_file("list.csv", CSV)
    await submit(web, slack, compose, filled(file=[slack.file_object(upload.id)]))
    preview = await until(showing(slack, "sms_preview"))
    await click(web, slack, preview, "preview_confirm")
    await until(showing(slack, "sms_notice"))
    slack.close_view(ALICE, everything=True)
    return preview["blocks"][-1]["elements"][0]["value"]


async def press(web: Api, slack: SlackSandbox, action_id: str, user: str = ALICE) -> None:
    [progress] = slack.messages(CAMPAIGNS)
    request = requests.block_actions(SIGNING_SECRET, action_id, message=progress, user_id=user,
                                     sandbox_url=slack.url)  # fmt: skip
    response = await web.client.post("/slack/events", data=request.body, headers=request.headers)
    assert response.status == 200


async def test_view_report_pages_through_the_recipients(web: Api, slack: SlackSandbox) -> None:
    await confirmed(web, slack)
    await press(web, slack, VIEW_REPORT)
    report = await until(showing(slack, REPORT))
    text = str(report["blocks"])
    assert "Recipients 1 to 40" in text and "+447400000000 · pending" in text
    await click(web, slack, report, REPORT_PAGE)
    second = await until(lambda: "Recipients 41 to 50" in str(showing(slack, REPORT)() or {}))
    assert second
    page = showing(slack, REPORT)()
    assert "Next page" not in str(page["blocks"]) and "First page" in str(page["blocks"])


async def test_export_csv_sends_a_safe_file_to_the_persons_dm(
    web: Api, slack: SlackSandbox
) -> None:
    await confirmed(web, slack)
    await press(web, slack, EXPORT_CSV)
    [told] = await until(lambda: slack.ephemeral(CAMPAIGNS, ALICE))
    assert "in your direct messages with Textcast" in told.text
    [posted] = [m for m in slack.messages(ALICE_DM) if m.files]
    assert posted.text == "Export of the 50 recipients of *March promotion*."
    file = slack.files[posted.files[0]]
    assert file.channels == [ALICE_DM]  # nowhere a channel's members could open it
    [progress] = slack.messages(CAMPAIGNS)
    assert not slack.thread(CAMPAIGNS, progress.ts)[1:] and len(slack.messages(CAMPAIGNS)) == 1
    rows = list(csv.reader(io.StringIO(file.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["row", "phone", "first_name"] and "status" in rows[0]
    assert len(rows) == 51
    by_phone = {row[1]: row for row in rows[1:]}
    assert "'+447400000007" in by_phone  # a leading + would be read as a formula
    assert by_phone["'+447400000007"][2] == "'=HYPERLINK(1)"
    assert by_phone["'+447400000003"][2] == "Person 3"


async def test_an_install_without_the_dm_scope_is_told_to_reinstall(
    web: Api, slack: SlackSandbox
) -> None:
    await confirmed(web, slack)
    slack.scopes = {"commands", "chat:write", "files:write"}  # before files went to DMs
    await press(web, slack, EXPORT_CSV)
    [told] = await until(lambda: slack.ephemeral(CAMPAIGNS, ALICE))
    assert told.text.startswith("Slack did not let Textcast send you the file: an admin must "
                                "reinstall Textcast")  # fmt: skip
    assert not [f for f in slack.files.values() if f.channels]


@pytest.mark.parametrize(
    ("api_settings", "outsider", "who"),
    [
        ({"ALLOWED_SLACK_USERS": ALICE}, BOB, f"<@{ALICE}>"),
        (
            {"ALLOWED_SLACK_USERGROUP": SENDERS_GROUP},
            CAROL,
            f"members of <!subteam^{SENDERS_GROUP}>",
        ),
    ],
    indirect=["api_settings"],
)
async def test_only_allowed_people_see_the_report_or_get_the_export(
    web: Api, slack: SlackSandbox, outsider: str, who: str
) -> None:
    await confirmed(web, slack)
    opened = len(slack.calls("views.open"))
    await press(web, slack, VIEW_REPORT, user=outsider)
    await press(web, slack, EXPORT_CSV, user=outsider)
    await until(lambda: len(slack.ephemeral(CAMPAIGNS, outsider)) == 2)
    refusals = [m.text for m in slack.ephemeral(CAMPAIGNS, outsider)]
    assert refusals == [f"Only {who} can see who a campaign was sent to: ask one of them, or an "
                        "admin to add you."] * 2  # fmt: skip
    assert slack.modal_stack(outsider) == [] and len(slack.calls("views.open")) == opened
    assert not [f for f in slack.files.values() if f.channels]  # no export anywhere

    # A page asked for from a report Bob should not have (a forged or stale modal) says why
    # instead of showing numbers.
    await press(web, slack, VIEW_REPORT)
    report = await until(showing(slack, REPORT))
    assert "+447400000000" in str(report["blocks"])
    forged = requests.block_actions(SIGNING_SECRET, REPORT_PAGE, view=report, user_id=outsider,
                                    sandbox_url=slack.url)  # fmt: skip
    response = await web.client.post("/slack/events", data=forged.body, headers=forged.headers)
    assert response.status == 200
    shown = await until(lambda: (v := slack.view(report["id"]))["callback_id"] != REPORT and v)
    assert "+4474" not in str(shown) and f"Only {who} can see" in str(shown["blocks"])


def test_a_refusal_names_who_may() -> None:
    many = make_settings(ALLOWED_SLACK_USERS=",".join(f"U0{i}" for i in range(7)),
                         ALLOWED_SLACK_USERGROUP="S0SENDERS")  # fmt: skip
    assert who_may(many) == ("<@U00>, <@U01>, <@U02>, <@U03>, <@U04>, 2 others and members of "
                             "<!subteam^S0SENDERS>")  # fmt: skip
    assert who_may(make_settings(ALLOWED_SLACK_USERS="U01,U02")) == "<@U01> and <@U02>"


@pytest.mark.parametrize("api_settings", [{"ALLOWED_SLACK_USERS": ALICE}], indirect=True)
async def test_cancel_on_the_progress_message(web: Api, slack: SlackSandbox) -> None:
    campaign_id = await confirmed(web, slack)
    await press(web, slack, PROGRESS_CANCEL, user=BOB)  # not allowed
    [refusal] = await until(lambda: slack.ephemeral(CAMPAIGNS, BOB))
    assert "You are not one of the people" in refusal.text
    await press(web, slack, PROGRESS_CANCEL)
    await until(lambda: "Cancelled" in str(slack.messages(CAMPAIGNS)[0].blocks))
    campaign = (await get_campaign(web.runtime.ctx, campaign_id)).view.campaign
    assert campaign.status == CampaignStatus.CANCELLED and campaign.cancelled_by == "slack:U0ALICE"
    assert "[Cancel]" not in slack.transcript(CAMPAIGNS)


async def test_edit_a_scheduled_campaign_through_the_preview_again(
    web: Api, slack: SlackSandbox, clock: Clock
) -> None:
    later = (clock.now + timedelta(days=1)).replace(microsecond=0)
    await sms(web, slack, "new")
    compose = await until(showing(slack, "sms_compose"))
    await submit(web, slack, compose, filled(paste="+447400000001\n+447400000002",
                                             when="schedule", **at(later)))  # fmt: skip
    preview = await until(showing(slack, "sms_preview"))
    await click(web, slack, preview, "preview_confirm")
    await until(showing(slack, "sms_notice"))
    slack.close_view(ALICE, everything=True)
    campaign_id = preview["blocks"][-1]["elements"][0]["value"]
    version = (await get_campaign(web.runtime.ctx, campaign_id)).view.campaign.version
    assert "[Edit]" in slack.transcript(CAMPAIGNS)

    await press(web, slack, EDIT_CAMPAIGN)
    form = await until(showing(slack, "sms_compose"))
    assert form["title"]["text"] == "Edit campaign" and "keep the 2 recipients" in str(
        form["blocks"]
    )
    await submit(web, slack, form, {"message": "Changed text"})
    preview = await until(showing(slack, "sms_preview"))
    assert "Changed text" in str(preview["blocks"]) and "Confirm: reschedule 2" in str(
        preview["blocks"])  # fmt: skip
    unchanged = (await get_campaign(web.runtime.ctx, campaign_id)).view.campaign
    assert unchanged.message_template != "Changed text"  # nothing changes before Confirm
    await click(web, slack, preview, "preview_confirm")
    done = await until(showing(slack, "sms_notice"))
    assert done["title"]["text"] == "Changes saved"
    edited = (await get_campaign(web.runtime.ctx, campaign_id)).view.campaign
    assert edited.message_template == "Changed text" and edited.version == version + 1
    assert edited.status == CampaignStatus.SCHEDULED and edited.scheduled_at == later
    assert len(slack.messages(CAMPAIGNS)) == 1  # the same progress message
    jobs = await web.runtime.redis.zrange(queue_name(web.runtime.settings.REDIS_NAMESPACE), 0, -1)
    assert any(f"{campaign_id}:v{version + 1}".encode() in job for job in jobs)


async def test_edit_refuses_a_running_campaign_and_says_why(web: Api, slack: SlackSandbox) -> None:
    campaign_id = await confirmed(web, slack)
    await sms(web, slack, f"edit {campaign_id}")
    [answer] = await until(lambda: slack.ephemeral(CAMPAIGNS, ALICE))
    assert "can no longer be edited: it has started sending" in answer.text


def _closed_in_london() -> str:
    """SEND_HOURS that open six hours from now in London (for two hours): closed now."""
    opens = datetime.now(ZoneInfo("Europe/London")) + timedelta(hours=6)
    return f"{opens:%H:00}-{opens + timedelta(hours=2):%H:00}"


@pytest.mark.parametrize("api_settings", [{"SEND_HOURS": _closed_in_london()}], indirect=True)
async def test_a_campaign_that_waits_for_its_hours_says_so_at_confirm_and_can_be_edited(
    web: Api, slack: SlackSandbox
) -> None:
    """Confirmed outside its recipients' sending hours it waits, and the confirmation says so;
    until its first text leaves, /sms edit still changes it through the preview (before: refused
    as started)."""
    campaign_id = await confirmed_with(web, slack, "+447400000001\n+447400000002")
    notice = showing(slack, "sms_notice")()
    assert notice["title"]["text"] == "Waiting for hours"
    said = str(notice["blocks"])
    assert "is waiting for sending hours: first texts" in said and " in London)" in said
    assert "you can still edit it until the first text leaves" in said
    slack.close_view(ALICE, everything=True)
    ctx = web.runtime.ctx
    # A send loop looks at it: both wait for their hours (marked, none taken, nothing sent).
    assert await claim_batch(ctx, campaign_id, 10, token="t" * 32, lease=30) == []
    version = (await get_campaign(ctx, campaign_id)).view.campaign.version

    await sms(web, slack, f"edit {campaign_id}")
    form = await until(showing(slack, "sms_compose"))
    assert form["title"]["text"] == "Edit campaign"
    await submit(web, slack, form, {"message": "Changed text"})
    preview = await until(showing(slack, "sms_preview"))
    await click(web, slack, preview, "preview_confirm")
    done = await until(showing(slack, "sms_notice"))
    assert done["title"]["text"] == "Changes saved", done
    assert "is waiting for sending hours" in str(done["blocks"])
    edited = (await get_campaign(ctx, campaign_id)).view.campaign
    assert edited.message_template == "Changed text" and edited.version == version + 1
    assert edited.status == CampaignStatus.RUNNING and edited.wake_at is None
    jobs = await web.runtime.redis.zrange(queue_name(web.runtime.settings.REDIS_NAMESPACE), 0, -1)
    assert any(f"{campaign_id}:v{version + 1}".encode() in job for job in jobs)


async def confirmed_with(web: Api, slack: SlackSandbox, paste: str) -> str:
    await sms(web, slack, "new")
    compose = await until(showing(slack, "sms_compose"))
    await submit(web, slack, compose, filled(paste=paste))
    preview = await until(showing(slack, "sms_preview"))
    await click(web, slack, preview, "preview_confirm")
    await until(showing(slack, "sms_notice"))
    return str(preview["blocks"][-1]["elements"][0]["value"])
