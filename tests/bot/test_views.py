"""The modals, the Home tab and /sms answers: that Slack would take them (slack_sdk's models and
the stand-in's checker), and what a person sees, against snapshots in tests/bot/snapshots/.

A snapshot is the view as the stand-in renders it in text. After a deliberate change, write
them again with `UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/bot/test_views.py` and read the diff.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.blocks.answers import campaign_list, help_message
from bot.blocks.compose import (
    Choice,
    Draft,
    Metadata,
    SenderOption,
    checking_view,
    compose_view,
    matching,
)
from bot.blocks.conversation import reply_modal, reply_status_message
from bot.blocks.home import home_view
from bot.blocks.inbound import digest_message, digest_modal
from bot.blocks.preview import CONFIRM, CONFIRM_ANYWAY, preview_view
from bot.blocks.progress import progress_message
from bot.blocks.report import report_view
from campaigns.messages import MessageStats
from campaigns.models import InboundMessage
from campaigns.service import CampaignView, Preview, SampleMessage
from campaigns.service.preview import HoursWait, WaitGroup
from campaigns.service.queries import StatusPage
from campaigns.service.recent import RecentlyTexted
from campaigns.service.texts_digest import Answer, Digest, DigestText
from campaigns.status import CampaignStatus, Counts
from sandbox.slack import blocks as block_kit
from tests.bot.test_blocks import make_campaign, make_report, valid

SNAPSHOTS = Path(__file__).parent / "snapshots"
START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
SENDERS = [SenderOption("all", "All 2 numbers (shared)"), SenderOption("+14155550100", "+14155550100"),
           SenderOption("+14155550101", "+14155550101")]  # fmt: skip


def checked(view: dict[str, Any], surface: str = "modal") -> str:
    """The view after checking Slack would take it, rendered as text."""
    parsed = View(**view)
    parsed.validate_json()
    for block in view["blocks"]:
        assert Block.parse(block).to_dict() == block  # nothing slack_sdk does not know
    assert block_kit.problems(view["blocks"], surface=surface) == []
    assert len(view.get("private_metadata", "")) <= 3000
    assert len(json.dumps(view)) < 250_000
    return "\n".join(block_kit.render(view["blocks"]))


def matches_snapshot(name: str, text: str) -> None:
    path = SNAPSHOTS / f"{name}.txt"
    if os.environ.get("UPDATE_SNAPSHOTS") or not path.exists():
        path.write_text(text + "\n")
    assert path.read_text() == text + "\n", f"{name} changed: see tests/bot/test_views.py"


def preview(**overrides: Any) -> Preview:
    campaign = make_campaign(status=CampaignStatus.DRAFT, name="March promotion")
    values: dict[str, Any] = {
        "view": CampaignView(campaign, Counts(total=1_234, pending=1_234)),
        "import_report": {"invalid_count": 14, "duplicates": 3, "invalid": [
            {"row": 3 + i, "value": f"0770090{i}", "reason": "too short for a UK number"}
            for i in range(14)]},
        "opted_out_count": 2,
        "opted_out": ["+447700900009", "+447700900010"],
        "samples": [SampleMessage(2 + i, f"+4477009000{i:02d}",
                                  f"Hi Person {i}, 20% off cleanings", 1) for i in range(5)],
        "stats": MessageStats(messages=1_234, total_segments=1_234, min_segments=1,
                              max_segments=1, missing={"first_name": 12}),
        "cost": Decimal("9.7486"),
        "skipped_segments": 2,  # the two opted out
        "texted_cost": Decimal("9.7328"),
        "currency": "USD",
        "messages_per_second": 10,
        "send_duration": timedelta(seconds=123),
        "send_at": None,
    }  # fmt: skip
    values.update(overrides)
    return Preview(**values)


def test_the_compose_modal() -> None:
    view = compose_view(SENDERS, Metadata(channel="C0CAMPAIGNS"))
    matches_snapshot("compose", checked(view))
    assert view["submit"]["text"] == "Preview"


def test_the_compose_modal_filled_in_with_an_error() -> None:
    draft = Draft(name="March", sender="+14155550101", paste="+447700900001", message="Hi",
                  send_at=START + timedelta(days=1), consent=True, kept_recipients=12,
                  error="There is no valid phone number to send to.")  # fmt: skip
    view = compose_view(SENDERS, Metadata(channel="C0CAMPAIGNS", draft="smsc_x"), draft)
    matches_snapshot("compose_filled", checked(view))
    assert json.loads(view["private_metadata"]) == {"c": "C0CAMPAIGNS", "d": "smsc_x"}


def test_more_than_100_senders_use_an_external_select() -> None:
    many = [SenderOption(f"+1415555{i:04d}", f"+1415555{i:04d}") for i in range(150)]
    view = compose_view(many, Metadata())
    checked(view)
    [sender] = [b for b in view["blocks"] if b.get("block_id") == "sender"]
    assert sender["element"]["type"] == "external_select"


def test_the_compose_modal_offers_pictures_when_a_sender_can_send_them() -> None:
    draft = Draft(name="March", media="https://cdn.example.com/march.jpg")
    hint = "Optional. Sent from +14155550100 only, at 0.02 USD a message whatever its length."
    view = compose_view(SENDERS, Metadata(), draft, mms=hint)
    matches_snapshot("compose_mms", checked(view))
    [media] = [b for b in view["blocks"] if b.get("block_id") == "media"]
    assert media["optional"] and media["element"]["initial_value"] == draft.media


def test_an_mms_preview_prices_per_message_and_lists_the_pictures() -> None:
    campaign = make_campaign(status=CampaignStatus.DRAFT, name="March promotion",
                             media_urls=["https://cdn.example.com/march.jpg"])  # fmt: skip
    stats = MessageStats(messages=1_234, total_segments=1_234, min_segments=1, max_segments=1,
                         mms=True)  # fmt: skip
    view = preview_view(
        preview(view=CampaignView(campaign, Counts(total=1_234, pending=1_234)), stats=stats,
                cost=Decimal("24.68"), texted_cost=Decimal("24.64"), outside_mms_area=3),
        Metadata(),
    )  # fmt: skip
    text = checked(view)
    matches_snapshot("preview_mms", text)
    assert "Picture messages (MMS)" in text and "https://cdn.example.com/march.jpg" in text
    assert "3 recipients are outside the US and Canada" in text and "segment" not in text


def _inbound(meaning: str, body: str, **more: Any) -> InboundMessage:
    values: dict[str, Any] = {"id": 41, "message_sid": "SM1", "phone": "+447700900001",
                              "sender": "+14155550100", "body": body, "meaning": meaning,
                              "keyword": None, "media_types": [], "source": "webhook",
                              "received_at": START}  # fmt: skip
    values.update(more)
    return InboundMessage(**values)


def checked_message(content: dict[str, Any]) -> str:
    for block in content["blocks"]:
        assert Block.parse(block).to_dict() == block
    assert block_kit.problems(content["blocks"], surface="message") == []
    return content["text"] + "\n" + "\n".join(block_kit.render(content["blocks"]))


BOB = Answer("slack:U0BOB", START + timedelta(minutes=7), "Doors open at 9.", "done")


def _text(inbound: InboundMessage, **more: Any) -> DigestText:
    values: dict[str, Any] = {"variables": {}, "answers": [], "opted_out": False}
    values.update(more)
    return DigestText(inbound, **values)


def _digest(texts: list[DigestText], total: int = 57) -> Digest:
    counts = {"reply": total - 8, "opt_out": 7, "help": 1}
    campaign = make_campaign(name="Open day")
    return Digest("c:" + campaign.id, campaign, None, counts, texts)


def test_the_digest_counts_the_texts_and_shows_the_latest_with_what_each_needs() -> None:
    sarah = {"first_name": "Sarah", "last_name": "Jones", "visits": "3"}
    texts = [
        _text(_inbound("reply", "please stop texting me", id=45),
              variables={"first_name": "Amir"}),
        _text(_inbound("reply", "What time?\nAnd <where>?", id=44,
                       media_types=["image/jpeg"] * 2), variables=sarah, answers=[BOB]),
        _text(_inbound("opt_out", "Stop.", keyword="STOP", id=43, phone="+447700900003"),
              opted_out=True, waiting=2),
        _text(_inbound("reply", "Can I stop by tomorrow?", id=42, phone="+447700900004"),
              variables={"name": "Lena"}),
        _text(_inbound("help", "help", keyword="HELP", id=41, phone="+447700900005")),
    ]  # fmt: skip
    content = digest_message(_digest(texts))
    text = checked_message(content)
    matches_snapshot("digest", text)
    assert "+447700900001" not in text and "+44*******001" in text  # masked, with the name
    assert "*Sarah Jones* +44*******001" in str(content) and "visits" not in text
    assert "Answered by @U0BOB" in text or "Answered by @" in text
    assert text.count("[Opt out this number]") == 1  # "stop by tomorrow" is not flagged
    assert "Cancel those 2 messages" in text and "See all 57 texts" in text
    assert "<where>" not in str(content)  # escaped: never a link
    assert len(content["blocks"]) <= 50
    modal = digest_modal(_digest(texts))
    assert "Opt out" not in checked(modal)  # the list is for reading


def test_a_digest_of_few_texts_has_no_see_all_button() -> None:
    campaign = make_campaign(name="Open day")
    digest = Digest("c:x", campaign, None, {"reply": 1}, [_text(_inbound("reply", "Thanks!"))])
    text = checked_message(digest_message(digest))
    assert "See all" not in text and "[Reply]" in text and "1 reply" in text


def test_the_checking_view() -> None:
    matches_snapshot("checking", checked(checking_view(Metadata(), "Checking the file (2.4 MB)…")))


def test_the_preview() -> None:
    view = preview_view(preview(), Metadata(channel="C0CAMPAIGNS", draft="smsc_0123456789abcdef"))
    text = checked(view)
    matches_snapshot("preview", text)
    assert "…and 4 more" in text  # 14 invalid rows, ten shown
    confirm = view["blocks"][-1]["elements"][0]["confirm"]
    assert confirm["text"]["text"].startswith("1,232 recipients will be texted (2 skipped)")
    assert "9.73 USD" in confirm["text"]["text"]  # the opted out cost nothing


def test_the_preview_counts_only_who_will_be_texted() -> None:
    view = preview_view(preview(frequency_capped=20, frequency_cap="1 message in 24 hours",
                                texted_cost=Decimal("9.5748"), skipped_segments=22), Metadata())  # fmt: skip
    text = checked(view)
    assert "*1,212 will be texted* from +14155550100 · Sends now\n" \
        "2 opted out and 20 at their limit of 1 message in 24 hours are skipped." in text  # fmt: skip
    assert "1,212 in all" in text and "*Estimated cost: 9.57 USD*" in text
    button = view["blocks"][-1]["elements"][0]
    assert button["text"]["text"] == "Confirm: send 1,212"
    assert button["confirm"]["title"]["text"] == "Send 1,212 messages?"
    assert "1,212 recipients will be texted (22 skipped), for an estimated 9.57 USD" in \
        button["confirm"]["text"]["text"]  # fmt: skip


def test_a_list_mostly_texted_yesterday_is_warned_about() -> None:
    recent = RecentlyTexted(31, 40, START - timedelta(hours=3), "Flu clinic")
    text = checked(preview_view(preview(recently_texted=recent), Metadata()))
    assert ":repeat: *31 of 40 were texted in the last 24 hours*, most recently " \
        "Mon 23 Nov 2026, 06:00 UTC by " \
        "‘Flu clinic’." in text  # fmt: skip


def test_a_message_with_a_gap_in_every_sample_needs_send_anyway() -> None:
    samples = [SampleMessage(2 + i, f"+4477009000{i:02d}", "Hi , your appointment is on ", 1,
                             ("first_name", "date")) for i in range(3)]  # fmt: skip
    stats = MessageStats(messages=1_234, total_segments=1_234, min_segments=1, max_segments=1,
                         missing={"first_name": 1_234}, unknown_placeholders=("date",))  # fmt: skip
    view = preview_view(preview(samples=samples, stats=stats), Metadata())
    text = checked(view)
    matches_snapshot("preview_gaps", text)
    lines = text.splitlines()
    warning = lines.index("*What they get* (the first messages, as each recipient sees it)") + 1
    assert lines[warning].startswith(
        ":warning: *Every message shown has `{{first_name}}`, `{{date}}` left empty.*"
    )
    assert lines[warning + 1] == \
        "Row 2 · +447700900000 · 1 text · :warning: `{{first_name}}`, `{{date}}` empty"  # fmt: skip
    button = view["blocks"][-1]["elements"][0]
    assert (button["action_id"], button["style"]) == (CONFIRM_ANYWAY, "danger")
    assert button["text"]["text"] == "Send anyway: 1,232"
    assert button["confirm"]["text"]["text"].startswith(
        "Every message shown has {{first_name}}, {{date}} left empty. 1,232 recipients"
    )
    assert button["confirm"]["confirm"]["text"] == "Yes, send anyway"
    # One sample with all its values: Confirm as usual, the others' gaps shown by them.
    fine = [
        *samples[:2],
        SampleMessage(4, "+447700900002", "Hi Sam, your appointment is on 3 May", 1),
    ]
    view = preview_view(preview(samples=fine), Metadata())
    text = checked(view)
    assert view["blocks"][-1]["elements"][0]["action_id"] == CONFIRM
    assert "Every message shown" not in text and text.count("· :warning: `{{first_name}}`") == 2


def test_a_scheduled_unicode_preview_names_the_characters() -> None:
    stats = MessageStats(messages=10, total_segments=20, min_segments=2, max_segments=2,
                         ucs2_messages=10, ucs2_chars=("é", "’"))  # fmt: skip
    view = preview_view(preview(stats=stats, send_at=START + timedelta(days=2)), Metadata(),
                        problem="Textcast cannot post in <#C0SECRET>: invite it there first")  # fmt: skip
    text = checked(view)
    assert "`é` `’`" in text and "Confirm: schedule 1,232" in text
    assert text.splitlines()[0].startswith(":warning: Textcast cannot post")


def test_a_preview_stays_within_slacks_limits_with_long_values() -> None:
    long = "x" * 5000
    samples = [SampleMessage(2, "+447700900001", long, 11)]
    report = {"invalid_count": 100_000, "duplicates": 0,
              "invalid": [{"row": i, "value": long, "reason": long} for i in range(50)]}  # fmt: skip
    view = preview_view(preview(samples=samples, import_report=report), Metadata())
    checked(view)
    assert len(view["blocks"]) <= 100


def test_the_home_tab() -> None:
    def item(name: str, status: CampaignStatus, **more: Any) -> CampaignView:
        return CampaignView(make_campaign(name=name, status=status, **more),
                            Counts(total=100, delivered=60, pending=40))  # fmt: skip

    view = home_view([
        item("Flu jabs", CampaignStatus.RUNNING),
        item("Spring sale", CampaignStatus.SCHEDULED, scheduled_at=START + timedelta(days=1)),
        item("March promotion", CampaignStatus.DONE),
    ])  # fmt: skip
    matches_snapshot("home", checked(view, surface="home"))


@pytest.mark.parametrize("count", [0, 3, 40])
def test_the_campaign_list(count: int) -> None:
    items = [CampaignView(make_campaign(name=f"Campaign {i}"), Counts(total=5, pending=5))
             for i in range(count)]  # fmt: skip
    valid(campaign_list(items, more=count > 10))


def test_help() -> None:
    lines = valid(help_message("`/sms frobnicate` is not a command."))
    matches_snapshot("help", "\n".join(lines))


def test_the_compose_modal_with_saved_templates_and_groups() -> None:
    templates = [Choice(str(i), f"Template {i}") for i in range(150)]  # over Slack's 100
    groups = [Choice("7", "Regulars (1,204)")]
    view = compose_view(SENDERS, Metadata(), Draft(group="7"), templates=templates, groups=groups)
    text = checked(view)
    assert "…or a saved contact group (optional): [Regulars (1,204) ▾]" in text
    [picker] = [b for b in view["blocks"] if b.get("block_id") == "pick_template"]
    assert picker["elements"][0]["type"] == "external_select"  # past Slack's 100 options
    assert len(matching(templates, "")) == 100 and [o["value"] for o in
                                                   matching(templates, "template 14")] == [
        "14", *(str(i) for i in range(140, 150))]  # fmt: skip


def test_the_reply_modal_quotes_the_text_and_names_the_number_it_goes_from() -> None:
    view = reply_modal(_inbound("reply", "What time?"), Metadata(extra={"i": "41"}))
    text = checked(view)
    matches_snapshot("reply_modal", text)
    assert "+14155550100" in str(view["blocks"])
    assert view["submit"]["text"] == "Send" and "already" not in text


def test_the_reply_modal_warns_first_when_someone_answered_and_shows_the_conversation() -> None:
    earlier = _inbound("reply", "Is it on Saturday?", id=40, received_at=START - timedelta(hours=1))
    answered_before = Answer("slack:U0CAROL", START - timedelta(minutes=50), "Yes, 9 to 5.", "done")
    asked = _inbound("reply", "What time?")
    view = reply_modal(asked, Metadata(extra={"i": "41"}), [earlier, answered_before, asked, BOB],
                       [BOB])  # fmt: skip
    text = checked(view)
    matches_snapshot("reply_modal_answered", text)
    assert text.index("answered this text already") < text.index("What time?")
    assert view["submit"]["text"] == "Send anyway"
    assert "Is it on Saturday?" in text and "Yes, 9 to 5." in text


@pytest.mark.parametrize(
    ("overrides", "shown"),
    [({"counts": Counts(total=1, delivered=1)}, "Delivered"),
     ({"counts": Counts(total=1, failed=1), "awaiting_receipt": 1}, "waiting for the delivery"),
     ({"counts": Counts(total=1, failed=1), "awaiting_receipt": 0, "opted_out": 1}, "opted out"),
     ({"counts": Counts(total=1, pending=1), "awaiting_receipt": 0}, "Sending")],
)  # fmt: skip
def test_an_answer_in_the_thread_says_what_became_of_it(
    overrides: dict[str, Any], shown: str
) -> None:
    campaign = make_campaign(source="reply", message_template="Doors open at 9.",
                             created_by="slack:U0ALICE")  # fmt: skip
    lines = valid(reply_status_message(make_report(campaign, **overrides)))
    assert shown in "\n".join(lines) and "Doors open at 9." in "\n".join(lines)


# -- a campaign that waits for its recipients' sending hours (issue 22, point 8)

OPENS = datetime(2026, 11, 23, 16, 0, tzinfo=UTC)  # 08:00 in Los Angeles


def _waiting_counts() -> Counts:
    # 48 recipients in California: 1 had opted out (failed without a text), 47 wait for 08:00.
    return Counts(total=48, failed=1, pending=47, waiting=47, next_release=OPENS,
                  next_release_zone="America/Los_Angeles")  # fmt: skip


def test_a_campaign_waiting_for_its_sending_hours_says_so_everywhere() -> None:
    """The progress message, App Home and the confirmation after Confirm, on a fixed clock: it
    is waiting, not sending; when the first texts go, in the reader's time and the recipients'
    own; and it can still be edited."""
    from bot.slack.confirm import _launched_view

    campaign = make_campaign(name="Flu jabs", started_at=START)
    report = make_report(campaign, counts=_waiting_counts(), submitted=0, unsent=47,
                         segments_sent=0, awaiting_receipt=0, duration=None)  # fmt: skip
    progress = progress_message(report, rate=0.0, eta=None)
    home = home_view([CampaignView(campaign, _waiting_counts())])
    # At Confirm every recipient waits (the opted-out one too, till the loop finds them out).
    wait = HoursWait(48, (WaitGroup(48, OPENS, "America/Los_Angeles", "08:00"),))
    confirmed = _launched_view(CampaignStatus.RUNNING, "Flu jabs", "C0CAMPAIGNS", None, wait=wait)
    transcript = "\n".join([
        "== The progress message in #campaigns ==", *valid(progress),
        f"(notification: {progress['text']})",
        "", "== App Home ==", checked(home, surface="home"),
        "", f"== After Confirm: {confirmed['title']['text']} ==", checked(confirmed),
    ])  # fmt: skip
    matches_snapshot("waiting_for_hours", transcript)
    assert "*Waiting for sending hours*: first texts" in transcript
    assert "(08:00 in Los Angeles)" in transcript
    assert "[Edit]" in transcript  # nothing has left: it can still be changed
    assert "messages a minute" not in transcript  # no rate while nothing can be sent
    assert "Sending now\nNothing is sending." in transcript.replace("# ", "")


def test_once_a_text_has_left_a_waiting_campaign_says_next_texts_and_cannot_be_edited() -> None:
    counts = Counts(total=48, delivered=10, pending=38, waiting=38, next_release=OPENS,
                    next_release_zone="America/Los_Angeles")  # fmt: skip
    report = make_report(make_campaign(), counts=counts, submitted=10, unsent=38)
    lines = valid(progress_message(report, rate=None, eta=None))
    assert lines[1] == (
        "*Waiting for sending hours*: next texts Mon 23 Nov 2026, 16:00 UTC (08:00 in Los Angeles)"
    )
    assert "[Edit]" not in lines[-1]


def test_while_some_send_and_others_wait_it_is_sending_and_says_who_waits() -> None:
    counts = Counts(total=48, delivered=10, pending=38, waiting=20, next_release=OPENS,
                    next_release_zone="America/Los_Angeles")  # fmt: skip
    report = make_report(make_campaign(), counts=counts, submitted=10, unsent=38)
    lines = valid(progress_message(report, rate=None, eta=None))
    assert lines[1] == "*Sending*"
    assert (
        ":clock8: 20 wait for their sending hours in their own time zones; the first go "
        "Mon 23 Nov 2026, 16:00 UTC (08:00 in Los Angeles)"
    ) in lines


# -- awaiting a receipt is not failed (issue 22, point 9)


def test_while_sending_messages_without_a_receipt_await_it_and_are_not_failed() -> None:
    # 30 handed to Twilio: 5 delivered, 20 `sent` with no receipt yet, 5 still queued there.
    counts = Counts(total=100, delivered=5, failed=21, pending=75, awaiting_receipt=25,
                    sent_no_receipt=20)  # fmt: skip
    report = make_report(make_campaign(), counts=counts, awaiting_receipt=25, no_receipt=20)
    lines = valid(progress_message(report, rate=None, eta=None))
    assert (
        lines[3]
        == "5 delivered · 25 awaiting receipt · 1 failed · 70 pending · 0 cancelled, of 100"
    )
    home = checked(home_view([CampaignView(make_campaign(), counts)]), surface="home")
    assert "5 delivered, 25 awaiting receipt, 1 failed, 70 pending of 100" in home
    shown = checked(report_view(report, StatusPage([], None), page=1))
    assert "*Awaiting receipt*\n25" in shown and "*Failed*\n1" in shown, shown
    # Once final, the seed's counts: a `sent` never confirmed is failed, and says why.
    done = make_campaign(status=CampaignStatus.DONE)
    final = make_report(done, counts=counts, awaiting_receipt=25, no_receipt=20)
    lines = valid(progress_message(final, rate=None, eta=None, final=True))
    assert lines[3] == "5 delivered · 21 failed · 75 pending · 0 cancelled, of 100"


def test_a_preview_whose_list_waits_for_its_hours_counts_the_sending_not_the_wait() -> None:
    """1,232 texts at 10 a second take about 2 minutes of sending, however long the list waits
    for 08:00 in Los Angeles (before: "Takes about 7 h 2 min", the wait counted in)."""
    waits = preview(
        send_duration=timedelta(hours=7, minutes=2),
        waiting=(WaitGroup(1_234, OPENS, "America/Los_Angeles", "08:00"),),
        send_hours="08:00-21:00",
    )
    text = "\n".join(checked(preview_view(waits, Metadata())).splitlines())
    assert "Takes about 2 min 3 s of sending at 10 messages a second" in text
    assert "7 h" not in text and "some wait for their hours first" in text
    assert ":clock8: 1,234 wait for 08:00 in America/Los_Angeles" in text
