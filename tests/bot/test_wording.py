"""Plain words in every message, modal and Home tab Textcast builds (issue 22, point 15).

Each builder is rendered for every status and for the cases whose words come from elsewhere (the
domain's reasons for an approval, a refusal, a pause or a failure), with counts of 1 so that a
count that disagrees with its noun shows. tests/wording.py says what a person must not read.
The flows through signed requests are checked the same way in tests/worker/test_wording_flows.py.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from bot.blocks import test_send
from bot.blocks.answers import campaign_list, help_message
from bot.blocks.approval import approval_answered, approval_request, request_outdated, waiting_note
from bot.blocks.compose import Metadata, checking_view, compose_view
from bot.blocks.conversation import reply_modal, reply_status_message
from bot.blocks.home import home_view
from bot.blocks.inbound import digest_message, digest_modal
from bot.blocks.library import (
    contacts_message,
    import_form_view,
    template_form_view,
    templates_message,
)
from bot.blocks.notices import (
    cancelled_by,
    late_start_message,
    paused_message,
    resolved,
)
from bot.blocks.preview import preview_view
from bot.blocks.progress import progress_message
from bot.blocks.report import report_view
from bot.blocks.summary import summary_message
from campaigns.content_checks import content_warnings
from campaigns.messages import analyse_messages
from campaigns.models import MessageTemplate, Recipient
from campaigns.recipients.phones import NO_COUNTRY_CODE
from campaigns.service import CampaignView, FailureGroup
from campaigns.service.approval import approval_reason
from campaigns.service.claims import OPTED_OUT, UNKNOWN_OUTCOME
from campaigns.service.library import GroupSummary
from campaigns.service.preview import WaitGroup
from campaigns.service.queries import REPORT_GROUPS, StatusPage
from campaigns.service.report import FREQUENCY_CAP_REASON, UNKNOWN_OUTCOME_REASON
from campaigns.service.spend import Spend
from campaigns.service.texts_digest import Answer, Digest, DigestText
from campaigns.status import CampaignStatus, Counts, RecipientStatus
from campaigns.templates import compile_template
from tests.bot.test_blocks import START, make_campaign, make_report
from tests.bot.test_views import SENDERS, _inbound, preview
from tests.conftest import make_settings
from tests.wording import problems
from worker.media_links import UNREACHABLE

ONE = Counts(total=1, delivered=0, failed=0, pending=1, cancelled=0)
SETTINGS = make_settings(
    APPROVAL_ABOVE_RECIPIENTS=0,
    APPROVAL_ABOVE_COST="0.01",
    MAX_CAMPAIGN_COST="0.01",
    MONTHLY_BUDGET="1",
)
SPEND = Spend(
    cost=Decimal("12"),
    month=Decimal("0.5"),
    budget=Decimal("1"),
    campaign_cap=Decimal("10"),
    currency="USD",
)
PAUSES = [UNREACHABLE, "30 of the last 50 messages failed.", None]


def stats_of(text: str, rows: int = 1) -> Any:
    template = compile_template(text)
    return analyse_messages(template, [{"first_name": "Ana"}] * rows, ["first_name"])[1]


def reports() -> list[Any]:
    """A campaign in every status, with a little of everything that can be said about it."""
    failures = (
        FailureGroup(30007, "Filtered as spam by the carrier.", 1),
        FailureGroup(None, FREQUENCY_CAP_REASON, 1),
        FailureGroup(None, UNKNOWN_OUTCOME_REASON, 1),
    )
    made = []
    for status in CampaignStatus:
        for pause in PAUSES:
            campaign = make_campaign(
                status=status,
                pause_reason=pause,
                scheduled_at=START,
                cancelled_by="slack:U0BOB",
                approval_reason=approval_reason(SETTINGS, 1, Decimal("1"), None),
            )
            made.append(
                make_report(
                    campaign,
                    failures=failures,
                    opted_out=1,
                    no_receipt=1,
                    awaiting_receipt=1,
                    unsent=1,
                    uncertain=1,
                    replies=1,
                    stopped_by_text=1,
                    submitted=1,
                    segments_sent=2,
                )
            )
    # Everyone handled, then cancelled: the cancelled are not a full bar.
    cancelled = make_campaign(status=CampaignStatus.CANCELLED, cancelled_by="slack:U0BOB")
    made.append(
        make_report(
            cancelled,
            counts=Counts(total=4, delivered=1, cancelled=3),
            submitted=1,
            unsent=0,
            segments_sent=1,
        )
    )
    return made


def messages() -> list[tuple[str, dict[str, Any]]]:
    out: list[tuple[str, dict[str, Any]]] = []
    for report in reports():
        status = report.campaign.status
        out.append(
            (f"progress {status}", progress_message(report, rate=0.5, eta=timedelta(seconds=90)))
        )
        for settled in (True, False):
            out.append((f"summary {status}", summary_message(report, settled=settled)))
        out.append((f"approval {status}", approval_request(report.campaign, 1, SETTINGS)))
        out.append(
            (
                f"approved {status}",
                approval_answered(report.campaign, 1, SETTINGS, "Approved by <@U0BOB>"),
            )
        )
        out.append((f"outdated {status}", request_outdated(report.campaign, 1, SETTINGS)))
        out.append((f"paused {status}", paused_message(report.campaign)))
        out.append((f"late {status}", late_start_message(report.campaign)))
        out.append((f"reply status {status}", reply_status_message(report)))
        out.append(
            (
                f"report {status}",
                report_view(
                    report, StatusPage([(g, recipients()) for g in GROUPS], "next"), page=2
                ),
            )
        )
    notice = paused_message(make_campaign(pause_reason=UNREACHABLE))
    out.append(("resolved", resolved(notice, cancelled_by("U0BOB", 1))))
    out.append(
        (
            "waiting note",
            {"text": waiting_note("C0APPROVALS", approval_reason(SETTINGS, 1, Decimal("1"), None))},
        )
    )
    views = [CampaignView(r.campaign, ONE) for r in reports()]
    out.append(("home", home_view(views)))
    out.append(("home, may not", home_view(views, who_may="<@U0BOB>")))
    out.append(("list", campaign_list(views, more=True)))
    out.append(("help", help_message("`/sms frobnicate` is not a command.")))
    answer = Answer("slack:U0BOB", START, "See you at 3", "delivered")
    texts = [
        DigestText(
            _inbound(meaning, "Stop texting me", keyword="STOP"),
            variables={"first_name": "Ana"},
            answers=[answer] if meaning == "reply" else [],
            opted_out=meaning == "opt_out",
            waiting=1,
        )
        for meaning in ("opt_out", "opt_in", "help", "reply")
    ]
    digest = Digest("d", make_campaign(), None, {"opt_out": 1, "reply": 1}, texts, unanswered=1)
    out.append(("digest", digest_message(digest)))
    out.append(("digest modal", digest_modal(digest)))
    out.append(("digest, no campaign", digest_message(Digest("d", None, START.date(), {}, texts))))
    out.append(
        (
            "reply modal",
            reply_modal(_inbound("reply", "What time?"), Metadata(), [answer], [answer]),
        )
    )
    out.append(("compose", compose_view(SENDERS, Metadata(channel="C0CAMPAIGNS"))))
    out.append(("checking", checking_view(Metadata(), "Checking the file (2.4 MB)…")))
    out.append(("test", test_send.test_view(Metadata(), "+447700900001")))
    out.append(("cannot test", test_send.cannot_test_view(Metadata(), "No phone in your profile.")))
    template = MessageTemplate(id=1, name="Recall", body="Hi {{first_name}}", created_by="slack:U1")
    out.append(("templates", templates_message([template], notice="Saved.")))
    out.append(("no templates", templates_message([])))
    group = GroupSummary(1, "Newsletter", 1, "slack:U0ALICE", START)
    out.append(("contacts", contacts_message([group], notice="Deleted.")))
    out.append(("no contacts", contacts_message([])))
    out.append(("template form", template_form_view(Metadata(), error="Name it.")))
    out.append(("import form", import_form_view(Metadata(), error="Paste the numbers.")))
    out += previews()
    return out


GROUPS = [name for name, _ in REPORT_GROUPS]


def recipients() -> list[Recipient]:
    reasons = {RecipientStatus.FAILED: [OPTED_OUT, "frequency_cap", UNKNOWN_OUTCOME, None]}
    made = []
    for status in RecipientStatus:
        for reason in reasons.get(status, [None]):
            made.append(
                Recipient(
                    id=1,
                    campaign_id="smsc_0123456789abcdef",
                    row=2,
                    phone="+447700900001",
                    status=status,
                    error_reason=reason,
                    error_code=30007 if status == "undelivered" else None,
                )
            )
    return made


def previews() -> list[tuple[str, dict[str, Any]]]:
    """The preview with plain characters, special ones for some or all, long messages, and
    every warning the domain words."""
    out = []
    for text in (
        "Hi {{first_name}}, flu jabs are open",
        "Hi {{first_name}} — flu jabs are open",
        "Hi {{first_name}}, flu jabs are open. " + "More news. " * 120,
        "Hi {{first_name}} — " + "more news " * 60 + "{{surname}}",
    ):
        stats = stats_of(text)
        for extra in (
            {},
            {"spend": SPEND, "approval": approval_reason(SETTINGS, 1, Decimal("12"), SPEND)},
            {"spend": SPEND},
        ):
            shown = preview(
                stats=stats,
                opted_out_count=1,
                opted_out=["+447700900009"],
                frequency_capped=1,
                frequency_cap="1 message in 24 hours",
                content=tuple(content_warnings(text, stats)),
                import_report={
                    "invalid_count": 1,
                    "duplicates": 1,
                    "invalid": [{"row": 3, "value": "07700900", "reason": NO_COUNTRY_CODE}],
                },
                waiting=(WaitGroup(1, START, "America/Los_Angeles", "08:00"),),
                send_hours="08:00-21:00",
                **extra,
            )
            out.append((f"preview {text[:30]!r} {sorted(extra)}", preview_view(shown, Metadata())))
    return out


def test_the_checker_finds_what_it_should() -> None:
    bad = {
        "text": "1 messages (s)",
        "blocks": [
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": "Set ALLOWED_SLACK_USERS; 2 segments"},
            },
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "GSM-7: 160 a segment"}]},
            {"type": "section", "text": {"type": "mrkdwn", "text": "it fails with `opted_out`"}},
        ],
    }
    found = "\n".join(problems(bad))
    assert "1 messages" in found and "ALLOWED_SLACK_USERS" in found and "'segments'" in found
    assert "`opted_out`" in found and "GSM-7" not in found  # a detail may say it


@pytest.mark.parametrize(
    ("name", "payload"), messages(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_every_surface_reads_in_plain_words(name: str, payload: dict[str, Any]) -> None:
    assert problems(payload) == [], name


def test_a_cancelled_campaign_never_shows_a_full_bar_anywhere() -> None:
    for report in reports():
        if report.campaign.status == CampaignStatus.CANCELLED:
            shown = str(progress_message(report, rate=None, eta=None))
            shown += str(summary_message(report, settled=True))
            shown += str(home_view([CampaignView(report.campaign, report.counts)]))
            assert "100%" not in shown and "▓▓▓▓▓▓▓▓▓▓" not in shown
