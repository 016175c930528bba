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
from campaigns.service import StatusUpdate, apply_status_update, get_campaign
from campaigns.service.claims import OPTED_OUT, claim_batch
from campaigns.service.optouts import record_opt_in, record_opt_out
from campaigns.settings import Settings
from campaigns.status import CampaignStatus, RecipientStatus
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
from sandbox.slack import blocks as block_kit
from tests.bot.conftest import Api, slack_settings
from tests.bot.test_slack_compose import PLAIN, at, click, filled, showing, sms, submit, until
from tests.conftest import FIXED_NOW, Clock, make_settings
from tests.sandbox.slack_fixtures import slack_config_fixture, slack_fixture  # noqa: F401


@pytest.fixture
def api_settings(slack: SlackSandbox, request: pytest.FixtureRequest) -> Settings:
    return slack_settings(slack.url, request, DEFAULT_REGION="GB")


ALICE_DM = "D" + ALICE[1:]  # the app's direct messages with Alice
CSV = "phone,first_name\n" + "\n".join(
    f"+4474000000{i:02d},{'=HYPERLINK(1)' if i == 7 else f'Person {i}'}" for i in range(50)
)


async def confirmed(web: Api, slack: SlackSandbox, data: str | bytes = CSV) -> str:
    """A campaign of 50 sent from Slack (or of `data`): its progress message is in #campaigns."""
    await sms(web, slack, "new")
    compose = await until(showing(slack, "sms_compose"))
    upload = slack.add_file("list.csv", data)
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
    assert "Recipients 1 to 40" in text and "Person 0 · +44*******000 · not sent yet" in text
    assert "+447400000000" not in text  # masked: the export has the numbers
    await click(web, slack, report, REPORT_PAGE)
    second = await until(lambda: "Recipients 41 to 50" in str(showing(slack, REPORT)() or {}))
    assert second
    page = showing(slack, REPORT)()
    assert "Next page" not in str(page["blocks"]) and "First page" in str(page["blocks"])


async def test_the_report_shows_the_failed_first_with_their_names(
    web: Api, slack: SlackSandbox
) -> None:
    campaign_id = await confirmed(web, slack)
    rows = (await get_campaign(web.runtime.ctx, campaign_id)).recipients
    ctx = web.runtime.ctx
    for row in (rows[3], rows[45]):  # one on each of the pages input order would show
        await apply_status_update(ctx, StatusUpdate(RecipientStatus.FAILED, recipient_id=row.id,
                                                    error_code=30003, error_reason=None))  # fmt: skip
    for row in rows[10:12]:
        await apply_status_update(ctx, StatusUpdate(RecipientStatus.FAILED, recipient_id=row.id,
                                                    error_reason=OPTED_OUT))  # fmt: skip
    await press(web, slack, VIEW_REPORT)
    report = await until(showing(slack, REPORT))
    lines = block_kit.render(report["blocks"])
    at = lines.index("*Failed*", lines.index("Recipients 1 to 40, the failed first"))
    assert lines[at + 1 : at + 5] == [
        "Person 3 · +44*******003 · failed: The phone is switched off or out of…",
        "Person 10 · +44*******010 · failed: opted out (STOP)",
        "Person 11 · +44*******011 · failed: opted out (STOP)",
        "Person 45 · +44*******045 · failed: The phone is switched off or out of…",
    ]
    assert lines[at + 5] == "*Not sent yet*" and lines[at + 6].startswith("Person 0 · ")
    assert "Recipients 1 to 40, the failed first" in lines
    await click(web, slack, report, REPORT_PAGE)
    await until(lambda: "Recipients 41 to 50" in str(showing(slack, REPORT)() or {}))
    second = block_kit.render(showing(slack, REPORT)()["blocks"])
    pending = second[second.index("*Not sent yet*") + 1 :]
    shown = [line.split(" · ")[0] for line in pending if line.startswith("Person")]
    assert shown == [f"Person {i}" for i in range(39, 50) if i != 45]  # no one twice, no one left


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


# Values a spreadsheet would run, or that look like what Textcast adds to stop that.
TRICKY = ["=HYPERLINK(1)", "'quoted", "-5 off", "@home", "+1 more", "''two", "plain", "O'Brien"]
TRICKY_CSV = "phone,first_name,note\n" + "\n".join(
    f"+4474000000{i:02d},Person {i},{TRICKY[i % len(TRICKY)]}" for i in range(12)
)


async def test_the_export_says_who_opted_out_and_imports_again_as_it_was(
    web: Api, slack: SlackSandbox
) -> None:
    first = await confirmed(web, slack, TRICKY_CSV)
    ctx = web.runtime.ctx
    await record_opt_out(ctx, "+447400000001", source="sms", keyword="STOP", campaign_id=first)
    await record_opt_out(ctx, "+447400000001", source="slack", actor=f"slack:{BOB}")  # later
    await record_opt_out(ctx, "+447400000002", source="slack", actor=f"slack:{BOB}")
    await record_opt_out(ctx, "+447400000003", source="api", actor="api:key_ab12")
    await record_opt_out(ctx, "+447400000004", source="sms", keyword="QUIT")
    await record_opt_in(ctx, "+447400000004", source="sms", keyword="START")  # back in
    await press(web, slack, EXPORT_CSV)
    [told] = await until(lambda: slack.ephemeral(CAMPAIGNS, ALICE))
    assert "in your direct messages with Textcast" in told.text, told.text
    [posted] = [m for m in slack.messages(ALICE_DM) if m.files]
    exported = slack.files[posted.files[0]].content
    rows = list(csv.reader(io.StringIO(exported.decode("utf-8-sig"))))
    assert rows[0][-1] == "opted_out_by"
    said = {row[1]: row[-1] for row in rows[1:]}
    assert said["'+447400000001"] == "text STOP"  # who began it, not who repeated it
    assert said["'+447400000002"] == "Slack (@bob)"
    assert said["'+447400000003"] == "API (key_ab12)"
    assert said["'+447400000004"] == said["'+447400000005"] == ""
    notes = [row[3] for row in rows[1:9]]
    assert notes == ["'=HYPERLINK(1)", "''quoted", "'-5 off", "'@home", "'+1 more", "'''two",
                     "plain", "O'Brien"]  # fmt: skip

    # The file, as downloaded, is a new campaign's list: the same numbers and values.
    slack.close_view(ALICE, everything=True)
    second = await confirmed(web, slack, exported)
    before = (await get_campaign(ctx, first)).recipients
    after = (await get_campaign(ctx, second)).recipients
    assert [(r.phone, r.variables) for r in after] == [(r.phone, r.variables) for r in before]
    assert [r.variables["note"] for r in after[:8]] == TRICKY
    imported = (await get_campaign(ctx, second)).view.campaign.import_report
    assert imported["variables"] == ["first_name", "note"] and not imported.get("invalid")


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
    assert "Person 0 · +44*******000" in str(report["blocks"])
    forged = requests.block_actions(SIGNING_SECRET, REPORT_PAGE, view=report, user_id=outsider,
                                    sandbox_url=slack.url)  # fmt: skip
    response = await web.client.post("/slack/events", data=forged.body, headers=forged.headers)
    assert response.status == 200
    shown = await until(lambda: (v := slack.view(report["id"]))["callback_id"] != REPORT and v)
    assert "+44*" not in str(shown) and "Person 0" not in str(shown)
    assert f"Only {who} can see" in str(shown["blocks"])


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
                                             when="schedule", message=PLAIN, **at(later)))  # fmt: skip
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
    """SEND_HOURS of two hours in London, closed both at the tests' fixed clock (the preview
    judges by it) and, for an hour or more, at the real clock (claims judge by the database's):
    the first such window from six hours after the fixed clock. (Once the real clock alone was
    left out: the test failed whenever it ran between 15:00 and 17:00 in London.)"""
    london = ZoneInfo("Europe/London")
    fixed = FIXED_NOW.astimezone(london).hour
    real = datetime.now(london).hour
    taken = {fixed, real, (real + 1) % 24}
    opens = next(
        hour
        for hour in (h % 24 for h in range(fixed + 6, fixed + 30))
        if hour <= 21 and taken.isdisjoint({hour, hour + 1})
    )
    return f"{opens:02d}:00-{opens + 2:02d}:00"


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
    await submit(web, slack, compose, filled(paste=paste, message=PLAIN))
    preview = await until(showing(slack, "sms_preview"))
    await click(web, slack, preview, "preview_confirm")
    await until(showing(slack, "sms_notice"))
    return str(preview["blocks"][-1]["elements"][0]["value"])
