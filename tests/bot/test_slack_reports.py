"""The progress message's buttons through signed requests into the running web app: View report
(page by page), Export CSV (a file in the thread, cells safe for spreadsheets) and Cancel."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from bot.blocks.actions import EDIT_CAMPAIGN, EXPORT_CSV, PROGRESS_CANCEL, VIEW_REPORT
from bot.blocks.report import REPORT, REPORT_PAGE
from bot.jobs import queue_name
from campaigns.service import get_campaign
from campaigns.settings import Settings
from campaigns.status import CampaignStatus
from sandbox.slack import ALICE, BOB, CAMPAIGNS, SIGNING_SECRET, SlackSandbox, requests
from tests.bot.conftest import Api, slack_settings
from tests.bot.test_slack_compose import at, click, filled, showing, sms, submit, until
from tests.conftest import Clock
from tests.sandbox.slack_fixtures import slack_config_fixture, slack_fixture  # noqa: F401


@pytest.fixture
def api_settings(slack: SlackSandbox, request: pytest.FixtureRequest) -> Settings:
    return slack_settings(slack.url, request, DEFAULT_REGION="GB")


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


async def test_export_csv_puts_a_safe_file_in_the_thread(web: Api, slack: SlackSandbox) -> None:
    await confirmed(web, slack)
    await press(web, slack, EXPORT_CSV)
    [progress] = slack.messages(CAMPAIGNS)
    [posted] = await until(lambda: [m for m in slack.thread(CAMPAIGNS, progress.ts) if m.files])
    data = slack.files[posted.files[0]].content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(data)))
    assert rows[0][:3] == ["row", "phone", "first_name"] and "status" in rows[0]
    assert len(rows) == 51
    by_phone = {row[1]: row for row in rows[1:]}
    assert "'+447400000007" in by_phone  # a leading + would be read as a formula
    assert by_phone["'+447400000007"][2] == "'=HYPERLINK(1)"
    assert by_phone["'+447400000003"][2] == "Person 3"


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
