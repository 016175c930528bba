"""The sending engine's changes to a campaign's state: start, pause, resume, finish.

What a send loop may do with each recipient (claims, leases, results, lookups) is in
`campaigns.service.claims`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import ARRAY, BigInteger, ColumnElement, any_, cast, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns import audit
from campaigns.delivery_errors import FILTERED_AS_SPAM
from campaigns.errors import StateError
from campaigns.models import Campaign, Recipient
from campaigns.service.claims import OPTED_OUT, UNKNOWN_OUTCOME, unsettled_count
from campaigns.service.common import CampaignView, counts_for, load_campaign
from campaigns.service.context import Context
from campaigns.status import CampaignStatus, RecipientStatus, status_said

__all__ = ["OPTED_OUT", "UNKNOWN_OUTCOME"]

SYSTEM = "worker"


class StartDecision(StrEnum):
    SEND = "send"  # running: go
    LATE = "late"  # paused: found long after its time, a person decides
    STALE = "stale"  # nothing to do: an old version, cancelled, finished or not due


@dataclass(frozen=True, slots=True)
class Started:
    decision: StartDecision
    campaign: Campaign | None = None


async def start_campaign(ctx: Context, campaign_id: str, version: int | None = None) -> Started:
    """What a start job should do; moves a due scheduled campaign to running (or paused if late).

    `version` None means "whatever is current" (the sweep resuming a running campaign). Whether
    it is due, and how late, is judged on the database's clock, read once the row is locked: a
    worker whose own clock runs fast would otherwise start it early (and arq, on that clock,
    runs its deferred start job early too).
    """
    async with ctx.db.transaction() as session:
        campaign = (
            await session.execute(
                select(Campaign).where(Campaign.id == campaign_id).with_for_update()
            )
        ).scalar_one_or_none()
        if campaign is None or (version is not None and campaign.version != version):
            return Started(StartDecision.STALE, campaign)
        clock = await ctx.db.now(session)
        if campaign.status == CampaignStatus.RUNNING:
            if campaign.started_at is None:
                campaign.started_at = ctx.now()  # shown to people, beside finished_at
            if campaign.wake_at is not None:
                if campaign.wake_at > clock:
                    return Started(StartDecision.STALE, campaign)  # asleep: not yet
                # Asleep is not stalled: the stall is measured from the wake time on.
                campaign.heartbeat_at = max(campaign.heartbeat_at or campaign.wake_at,
                                            campaign.wake_at)  # fmt: skip
                campaign.wake_at = None
            if await _stalled_too_long(ctx, session, campaign):
                return Started(StartDecision.LATE, campaign)
            return Started(StartDecision.SEND, campaign)
        if campaign.status != CampaignStatus.SCHEDULED:
            return Started(StartDecision.STALE, campaign)
        due = campaign.scheduled_at or clock
        if due > clock:
            return Started(StartDecision.STALE, campaign)
        late = clock - due
        if late > timedelta(seconds=ctx.settings.LATE_START_SECONDS):
            campaign.status = CampaignStatus.PAUSED
            campaign.version += 1
            campaign.pause_reason = (
                f"It was due at {due:%Y-%m-%d %H:%M} UTC but Textcast was not running then "
                f"({_duration(late)} late). Send it now, or cancel it?"
            )
            audit.record(session, SYSTEM, "campaign.pause", campaign.id, reason="late")
            return Started(StartDecision.LATE, campaign)
        campaign.status = CampaignStatus.RUNNING
        campaign.started_at = ctx.now()
        campaign.heartbeat_at = clock
        audit.record(session, SYSTEM, "campaign.start", campaign.id)
        return Started(StartDecision.SEND, campaign)


async def _stalled_too_long(ctx: Context, session: AsyncSession, campaign: Campaign) -> bool:
    """A running campaign no loop has held for LATE_START_SECONDS (every worker was down):
    pause it and ask, rather than send the rest hours late. Judged on the database's clock."""
    clock = await ctx.db.now(session)
    last = campaign.heartbeat_at
    if last is None:  # launched to run at once, and no loop has held it yet: from now on
        campaign.heartbeat_at = clock
        return False
    if clock - last <= timedelta(seconds=ctx.settings.LATE_START_SECONDS):
        return False
    unsent = await unsettled_count(session, campaign.id)
    campaign.status = CampaignStatus.PAUSED
    campaign.version += 1
    left = f"{unsent:,} message{'' if unsent == 1 else 's'} not sent yet"
    campaign.pause_reason = (
        f"It stopped sending at {last:%Y-%m-%d %H:%M} UTC because Textcast was not running "
        f"({_duration(clock - last)} ago), with {left}. Send {'it' if unsent == 1 else 'them'} "
        "now, or cancel?"
    )
    audit.record(session, SYSTEM, "campaign.pause", campaign.id, reason="stalled")
    return True


def _duration(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"


async def finish_if_complete(ctx: Context, campaign_id: str) -> CampaignView | None:
    """`done` once every recipient was submitted or failed; `failed` if none was submitted."""
    async with ctx.db.transaction() as session:
        campaign = await load_campaign(session, campaign_id, for_update=True)
        if campaign.status != CampaignStatus.RUNNING or await unsettled_count(session, campaign_id):
            return None
        submitted = (
            await session.execute(
                select(func.count()).where(
                    Recipient.campaign_id == campaign_id, Recipient.twilio_sid.is_not(None)
                )
            )
        ).scalar_one()
        campaign.status = CampaignStatus.DONE if submitted else CampaignStatus.FAILED
        campaign.finished_at = ctx.now()
        audit.record(session, SYSTEM, "campaign.finish", campaign.id, status=campaign.status)
        counts = (await counts_for(session, [campaign_id]))[campaign_id]
    return CampaignView(campaign, counts)


async def pause_campaign(
    ctx: Context, campaign_id: str, reason: str, actor: str = SYSTEM
) -> Campaign:
    """Stop sending until someone resumes or cancels; the reason is shown in Slack."""
    async with ctx.db.transaction() as session:
        campaign = await load_campaign(session, campaign_id, for_update=True)
        if campaign.status not in (CampaignStatus.RUNNING, CampaignStatus.SCHEDULED):
            raise StateError(
                f"Campaign {campaign.name!r} is {status_said(campaign.status)}: it cannot be paused."
            )
        campaign.status = CampaignStatus.PAUSED
        campaign.pause_reason = reason
        campaign.version += 1
        audit.record(session, actor, "campaign.pause", campaign.id, reason=reason)
    return campaign


async def resume_campaign(ctx: Context, campaign_id: str, actor: str) -> Campaign:
    """Send a paused campaign (after a failure spike, or a late start) from where it stopped."""
    async with ctx.db.transaction() as session:
        campaign = await load_campaign(session, campaign_id, for_update=True)
        if campaign.status != CampaignStatus.PAUSED:
            raise StateError(
                f"Campaign {campaign.name!r} is {status_said(campaign.status)}, not paused."
            )
        campaign.status = CampaignStatus.RUNNING
        campaign.pause_reason = None
        campaign.version += 1
        campaign.started_at = campaign.started_at or ctx.now()
        campaign.heartbeat_at = await ctx.db.now(session)  # a person said go: not stalled
        audit.record(session, actor, "campaign.resume", campaign.id)
    return campaign


async def campaigns_to_drive(ctx: Context) -> list[Campaign]:
    """What the sweep looks at: running campaigns (not those asleep until their recipients'
    sending hours), and scheduled ones that are due, both on the database's clock."""
    async with ctx.db.read() as session:
        clock = await ctx.db.now(session)
        awake = Campaign.wake_at.is_(None) | (Campaign.wake_at <= clock)
        rows = await session.execute(
            select(Campaign).where(
                ((Campaign.status == CampaignStatus.RUNNING) & awake)
                | ((Campaign.status == CampaignStatus.SCHEDULED) & (Campaign.scheduled_at <= clock))
            )
        )
        return list(rows.scalars())


@dataclass(frozen=True, slots=True)
class Waiting:
    """Recipients of a campaign that wait for their sending hours."""

    count: int
    next_release: datetime | None  # the soonest of them (database clock)
    only_these: bool  # nothing else is left to send or settle: no loop is needed until then


async def waiting_for_hours(ctx: Context, campaign_id: str) -> Waiting:
    async with ctx.db.read() as session:
        clock = await ctx.db.now(session)
        waiting, release = (
            await session.execute(
                select(func.count(), func.min(Recipient.not_before)).where(
                    Recipient.campaign_id == campaign_id,
                    Recipient.status == RecipientStatus.PENDING,
                    Recipient.not_before > clock,
                )
            )
        ).one()
        others = await unsettled_count(session, campaign_id) - waiting
    return Waiting(waiting, release, others == 0)


async def sleep_until(ctx: Context, campaign_id: str, wake_at: datetime) -> bool:
    """No loop drives the running campaign until `wake_at`, when its first waiting recipients
    are due. False (and nothing changed) if it is no longer running or has due work again."""
    async with ctx.db.transaction() as session:
        campaign = await load_campaign(session, campaign_id, for_update=True)
        if campaign.status != CampaignStatus.RUNNING:
            return False
        clock = await ctx.db.now(session)
        due = await session.scalar(
            select(func.count()).where(
                Recipient.campaign_id == campaign_id,
                (
                    (Recipient.status == RecipientStatus.PENDING)
                    & (Recipient.not_before.is_(None) | (Recipient.not_before <= clock))
                )
                | ((Recipient.status == RecipientStatus.QUEUED) & Recipient.twilio_sid.is_(None)),
            )
        )
        if due:
            return False
        campaign.wake_at = wake_at
        campaign.heartbeat_at = clock
    return True


async def campaigns_to_settle(ctx: Context) -> list[Campaign]:
    """Campaigns no loop drives that may hold unsettled claims: paused ones, and ones cancelled
    recently enough for a lookup to be still under way (UNKNOWN_OUTCOME_LIMIT_SECONDS and the
    waits before it)."""
    settings = ctx.settings
    window = timedelta(
        seconds=settings.UNKNOWN_OUTCOME_LIMIT_SECONDS
        + settings.UNKNOWN_OUTCOME_WAIT_SECONDS
        + 2 * settings.RECLAIM_AFTER_SECONDS
        + 3_600
    )
    async with ctx.db.read() as session:
        clock = await ctx.db.now(session)
        rows = await session.execute(
            select(Campaign).where(
                (Campaign.status == CampaignStatus.PAUSED)
                | (
                    (Campaign.status == CampaignStatus.CANCELLED)
                    & (Campaign.cancelled_at >= clock - window)
                )
            )
        )
        return list(rows.scalars())


async def set_progress_message(
    ctx: Context,
    campaign_id: str,
    *,
    channel_id: str,
    ts: str | None = None,
    summary_ts: str | None = None,
) -> None:
    """Remember where the campaign's progress (and summary) message is in Slack."""
    values: dict[str, object] = {"channel_id": channel_id}
    if ts is not None:
        values["progress_message_ts"] = ts
    if summary_ts is not None:
        values["summary_message_ts"] = summary_ts
    async with ctx.db.transaction() as session:
        await session.execute(update(Campaign).where(Campaign.id == campaign_id).values(**values))


@dataclass(slots=True)
class FailureWindow:
    """The last N submissions, for auto-pause on a failure spike."""

    size: int
    outcomes: list[bool] = field(default_factory=list)  # True: failed

    def add(self, failed: bool) -> None:
        self.outcomes.append(failed)
        if len(self.outcomes) > self.size:
            del self.outcomes[0]

    def rate(self) -> float:
        return sum(self.outcomes) / len(self.outcomes) if self.outcomes else 0.0

    def full(self) -> bool:
        return len(self.outcomes) >= self.size


class Receipt(StrEnum):
    """What came back about a message Twilio took: a final status, as a carrier reported it."""

    DELIVERED = "delivered"
    NOT_DELIVERED = "not_delivered"  # undelivered, or failed after Twilio took it
    FILTERED = "filtered"  # not delivered: a carrier filtered it as spam


async def receipts_among(ctx: Context, recipient_ids: Collection[int]) -> dict[int, Receipt]:
    """The final receipts that have come back so far for these messages (recipients whose
    message Twilio took), whoever applied them: a status callback in the web process, the
    worker's status poll, or a lookup. Those still without one are left out."""
    if not recipient_ids:
        return {}
    async with ctx.db.read() as session:
        rows = await session.execute(
            select(Recipient.id, Recipient.status, Recipient.error_code).where(
                _id_among(ctx, recipient_ids),
                Recipient.twilio_sid.is_not(None),
                Recipient.status.in_(
                    [RecipientStatus.DELIVERED, RecipientStatus.UNDELIVERED, RecipientStatus.FAILED]
                ),
            )
        )
        return {
            rid: Receipt.DELIVERED if status == RecipientStatus.DELIVERED
            else Receipt.FILTERED if code == FILTERED_AS_SPAM
            else Receipt.NOT_DELIVERED
            for rid, status, code in rows
        }  # fmt: skip


def _id_among(ctx: Context, recipient_ids: Collection[int]) -> ColumnElement[bool]:
    if ctx.db.dialect == "postgresql":  # one array parameter: no statement of 1,000 to prepare
        return Recipient.id == any_(cast(list(recipient_ids), ARRAY(BigInteger)))
    return Recipient.id.in_(list(recipient_ids))


@dataclass(frozen=True, slots=True)
class Receipts:
    """Counts of receipts: how many came back, how many not delivered, how many of those were
    filtered as spam."""

    total: int = 0
    undelivered: int = 0
    filtered: int = 0


@dataclass(slots=True)
class ReceiptWindow:
    """The last `size` receipts of the messages one send loop had Twilio take, for auto-pause
    when carriers stop delivering. Only its own messages: after a resume, the receipts of what
    was sent before are not judged again. At most `most_waiting` messages are followed at once
    (a sample, when receipts are slow and sending fast), so each look is a bounded read; one
    without a receipt after `longest_wait` seconds is no longer followed (some networks never
    send one), so it does not hold a place."""

    size: int
    most_waiting: int = 500
    longest_wait: float = 900.0  # the status poll asks 5 s, 15 s, 1 min and 5 min after sending
    waiting: dict[int, float] = field(default_factory=dict)  # recipient id -> when it was sent
    last: deque[Receipt] = field(init=False)

    def __post_init__(self) -> None:
        self.last = deque(maxlen=self.size)

    def sent(self, recipient_id: int, at: float) -> None:
        if len(self.waiting) < self.most_waiting:
            self.waiting[recipient_id] = at

    def came_back(self, receipts: dict[int, Receipt], now: float) -> None:
        for recipient_id, receipt in receipts.items():
            if self.waiting.pop(recipient_id, None) is not None:
                self.last.append(receipt)
        too_old = now - self.longest_wait
        for recipient_id in [rid for rid, at in self.waiting.items() if at < too_old]:
            del self.waiting[recipient_id]

    def counts(self) -> Receipts:
        filtered = sum(receipt is Receipt.FILTERED for receipt in self.last)
        delivered = sum(receipt is Receipt.DELIVERED for receipt in self.last)
        return Receipts(len(self.last), len(self.last) - delivered, filtered)
