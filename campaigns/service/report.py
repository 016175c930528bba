"""What a campaign's progress and summary messages show, read in one transaction.

A handful of aggregate queries over the (campaign_id, status) index, so the report of a
100,000-recipient campaign costs the same few round trips as one of three.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import case, func, select

from campaigns.delivery_errors import reason_for
from campaigns.frequency import FREQUENCY_CAP
from campaigns.keywords import Meaning
from campaigns.models import Campaign, Recipient
from campaigns.service.claims import OPTED_OUT, UNKNOWN_OUTCOME
from campaigns.service.common import counts_for, load_campaign
from campaigns.service.context import Context
from campaigns.service.inbound import answer_counts
from campaigns.status import Counts, RecipientStatus


@dataclass(frozen=True, slots=True)
class FailureGroup:
    """Recipients that failed with one error code (None: failed without a code)."""

    code: int | None
    reason: str
    count: int


@dataclass(frozen=True, slots=True)
class CampaignReport:
    campaign: Campaign  # detached, read-only
    counts: Counts
    submitted: int  # handed to Twilio (they have a SID)
    unsent: int  # not handed to Twilio yet: pending, or claimed without a SID
    segments_sent: int  # segments of the submitted messages
    cost_sent: Decimal  # segments_sent x PRICE_PER_SEGMENT, or submitted x PRICE_PER_MMS
    currency: str
    failures: tuple[FailureGroup, ...]  # most common first; opt-outs are not among them
    opted_out: int  # failed without a request because the number opted out
    awaiting_receipt: int  # submitted, still queued or sent: no final status from Twilio yet
    no_receipt: int  # `sent`: the carrier has it, no receipt (yet); counted as failed
    started_at: datetime | None
    finished_at: datetime | None
    # The first text's leaving to finished, or to now while it runs: sending time, not the
    # wait for sending hours before it (None until a text has left).
    duration: timedelta | None
    # Claimed, Twilio's answer lost: waiting for a lookup to tell whether it was sent
    uncertain: int = 0
    # Texts recipients sent back to this campaign: replies, and opt-outs by text (STOP)
    replies: int = 0
    stopped_by_text: int = 0

    @property
    def handled(self) -> int:
        """Recipients Textcast is done with: handed to Twilio, refused, opted out or cancelled.

        Not `total - counts.pending`: a message Twilio has queued counts as pending until its
        receipt, which would leave a finished campaign's progress bar short of 100%.
        """
        return self.counts.total - self.unsent

    @property
    def settled(self) -> bool:
        return self.awaiting_receipt == 0


# Said for recipients whose outcome Twilio never told (campaigns.service.claims.UNKNOWN_OUTCOME).
UNKNOWN_OUTCOME_REASON = (
    "Twilio never confirmed whether it was sent (no answer, and its message list could not be "
    "read), so Textcast did not send it again."
)


# Said for recipients left out by FREQUENCY_CAP (campaigns.frequency.FREQUENCY_CAP).
FREQUENCY_CAP_REASON = (
    "Other campaigns had already texted this number as often as the frequency cap allows, so "
    "it was not sent."
)


def failure_reason(code: int | None, stored: str | None) -> str:
    """A plain reason: what was stored with the failure, else what the code means."""
    if stored == UNKNOWN_OUTCOME:
        return UNKNOWN_OUTCOME_REASON
    if stored == FREQUENCY_CAP:
        return FREQUENCY_CAP_REASON
    return stored or reason_for(code)


_FAILED = (RecipientStatus.FAILED, RecipientStatus.UNDELIVERED)
_AWAITING = (RecipientStatus.QUEUED, RecipientStatus.SENT)


async def campaign_report(ctx: Context, campaign_id: str) -> CampaignReport:
    """The campaign, its counts, what was sent and what it cost, and why messages failed."""
    has_sid = Recipient.twilio_sid.is_not(None)
    unsent = (Recipient.status == RecipientStatus.PENDING) | (
        (Recipient.status == RecipientStatus.QUEUED) & Recipient.twilio_sid.is_(None)
    )
    unsure = (
        (Recipient.status == RecipientStatus.QUEUED)
        & Recipient.twilio_sid.is_(None)
        & Recipient.unknown_since.is_not(None)
    )
    sending = select(
        func.count(Recipient.twilio_sid),
        func.coalesce(func.sum(case((has_sid, Recipient.segments), else_=0)), 0),
        func.coalesce(func.sum(case((has_sid & Recipient.status.in_(_AWAITING), 1), else_=0)), 0),
        func.coalesce(func.sum(case((unsent, 1), else_=0)), 0),
        func.coalesce(func.sum(case((Recipient.status == RecipientStatus.SENT, 1), else_=0)), 0),
        func.coalesce(func.sum(case((unsure, 1), else_=0)), 0),
        func.min(case((has_sid, Recipient.sent_at))),
    ).where(Recipient.campaign_id == campaign_id)
    # Grouped by its label: PostgreSQL would not match a repeated expression's bound parameter.
    opt_out = (func.coalesce(Recipient.error_reason, "") == OPTED_OUT).label("opted_out")
    failed = (
        select(Recipient.error_code, opt_out, func.max(Recipient.error_reason), func.count())
        .where(Recipient.campaign_id == campaign_id, Recipient.status.in_(_FAILED))
        .group_by(Recipient.error_code, opt_out)
    )
    async with ctx.db.read() as session:
        campaign = await load_campaign(session, campaign_id)
        counts = (await counts_for(session, [campaign_id]))[campaign_id]
        submitted, segments, awaiting, not_sent, sent, uncertain, first_sent = (
            await session.execute(sending)
        ).one()
        failed_rows = (await session.execute(failed)).all()
        answers = await answer_counts(session, campaign_id)

    opted_out = 0
    groups: list[FailureGroup] = []
    for code, is_opt_out, reason, count in failed_rows:
        if is_opt_out:
            opted_out += count
        else:
            groups.append(FailureGroup(code, failure_reason(code, reason), count))
    groups.sort(key=lambda g: (-g.count, g.code is None, g.code or 0))

    started, finished = campaign.started_at, campaign.finished_at
    end = finished or ctx.now()
    prices = ctx.settings
    cost_sent = (
        submitted * prices.PRICE_PER_MMS  # an MMS is priced per message, whatever its length
        if campaign.media_urls
        else int(segments) * prices.PRICE_PER_SEGMENT
    )
    return CampaignReport(
        campaign=campaign,
        counts=counts,
        submitted=submitted,
        unsent=int(not_sent),
        segments_sent=int(segments),
        cost_sent=cost_sent,
        currency=ctx.settings.PRICE_CURRENCY,
        failures=tuple(groups),
        opted_out=opted_out,
        awaiting_receipt=int(awaiting),
        no_receipt=int(sent),
        started_at=started,
        finished_at=finished,
        duration=_sending_time(first_sent, end),
        uncertain=int(uncertain),
        replies=answers.get(Meaning.REPLY, 0),
        stopped_by_text=answers.get(Meaning.OPT_OUT, 0),
    )


def _sending_time(first_sent: datetime | str | None, end: datetime) -> timedelta | None:
    """From the first text leaving: a campaign that waited hours for its recipients' sending
    hours took the minutes it sent for, not the night before."""
    if first_sent is None:
        return None
    if isinstance(first_sent, str):  # SQLite's MIN over a CASE loses the column's type
        first_sent = datetime.fromisoformat(first_sent)
    if first_sent.tzinfo is None:
        first_sent = first_sent.replace(tzinfo=UTC)
    return max(end - first_sent, timedelta(0))
