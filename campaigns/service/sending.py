"""The sending engine's changes to campaign state: start, claim, record, pause, resume, finish.

Exactly-once rests on two rules kept here. A recipient is claimed (pending -> queued, with
`claimed_at`) in the database before any request for it is made; and a claimed recipient without
a SID is only ever released back to pending by the worker that knows no request went out, or
reconciled against Twilio's message list when its claim has gone stale.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import and_, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns import audit
from campaigns.errors import StateError
from campaigns.models import Campaign, Recipient
from campaigns.service.common import CampaignView, counts_for, load_campaign
from campaigns.service.context import Context
from campaigns.status import CampaignStatus, RecipientStatus

OPTED_OUT = "opted_out"
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

    `version` None means "whatever is current" (the sweep resuming a running campaign).
    """
    now = ctx.now()
    async with ctx.db.transaction() as session:
        campaign = (
            await session.execute(
                select(Campaign).where(Campaign.id == campaign_id).with_for_update()
            )
        ).scalar_one_or_none()
        if campaign is None or (version is not None and campaign.version != version):
            return Started(StartDecision.STALE, campaign)
        if campaign.status == CampaignStatus.RUNNING:
            if campaign.started_at is None:
                campaign.started_at = now
            return Started(StartDecision.SEND, campaign)
        if campaign.status != CampaignStatus.SCHEDULED:
            return Started(StartDecision.STALE, campaign)
        due = campaign.scheduled_at or now
        if due > now:
            return Started(StartDecision.STALE, campaign)
        late = now - due
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
        campaign.started_at = now
        audit.record(session, SYSTEM, "campaign.start", campaign.id)
        return Started(StartDecision.SEND, campaign)


def _duration(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    phone: str
    variables: dict[str, str]
    segments: int
    sender: str | None
    claimed_at: datetime


async def claim_batch(ctx: Context, campaign_id: str, limit: int) -> list[Claimed]:
    """Claim up to `limit` pending recipients of a running campaign, in input order."""
    now = ctx.now()
    async with ctx.db.transaction() as session:
        status = (
            await session.execute(select(Campaign.status).where(Campaign.id == campaign_id))
        ).scalar_one_or_none()
        if status != CampaignStatus.RUNNING:
            return []
        candidates = (
            select(Recipient.id)
            .where(
                Recipient.campaign_id == campaign_id, Recipient.status == RecipientStatus.PENDING
            )
            .order_by(Recipient.id)
            .limit(limit)
        )
        if ctx.db.dialect == "postgresql":  # two workers on one campaign take different rows
            candidates = candidates.with_for_update(skip_locked=True)
        ids = list((await session.execute(candidates)).scalars())
        if not ids:
            return []
        rows = await session.execute(
            update(Recipient)
            .where(Recipient.id.in_(ids), Recipient.status == RecipientStatus.PENDING)
            .values(
                status=RecipientStatus.QUEUED,
                claimed_at=now,
                attempts=Recipient.attempts + 1,
                updated_at=now,
            )
            .returning(
                Recipient.id,
                Recipient.phone,
                Recipient.variables,
                Recipient.segments,
                Recipient.sender,
            )
            .execution_options(synchronize_session=False)
        )
        claimed = [Claimed(r.id, r.phone, r.variables, r.segments, r.sender, now) for r in rows]
    claimed.sort(key=lambda c: c.id)
    return claimed


async def refresh_claims(ctx: Context, ids: Sequence[int]) -> None:
    """Keep claims that are still being worked on (retries after a backoff) from going stale."""
    if not ids:
        return
    async with ctx.db.transaction() as session:
        await session.execute(
            update(Recipient)
            .where(_unsubmitted(ids))
            .values(claimed_at=ctx.now())
            .execution_options(synchronize_session=False)
        )


def _unsubmitted(ids: Sequence[int]):  # type: ignore[no-untyped-def]
    return and_(
        Recipient.id.in_(ids),
        Recipient.status == RecipientStatus.QUEUED,
        Recipient.twilio_sid.is_(None),
    )


async def release_claims(ctx: Context, ids: Sequence[int], *, to: RecipientStatus) -> int:
    """Give back claims for which no request was made: to `pending` (paused) or `cancelled`."""
    if not ids:
        return 0
    async with ctx.db.transaction() as session:
        result = await session.execute(
            update(Recipient)
            .where(_unsubmitted(ids))
            .values(status=to, claimed_at=None, updated_at=ctx.now())
            .execution_options(synchronize_session=False)
        )
    return result.rowcount or 0  # type: ignore[attr-defined]


class Outcome(StrEnum):
    SUBMITTED = "submitted"  # Twilio took it: it has a SID
    FAILED = "failed"  # refused for good (or opted out): it will not be sent


@dataclass(frozen=True, slots=True)
class SendResult:
    recipient_id: int
    outcome: Outcome
    sender: str | None = None
    twilio_sid: str | None = None
    error_code: int | None = None
    error_reason: str | None = None
    segments: int | None = None  # Twilio's count, when it gave one


async def record_results(ctx: Context, results: Sequence[SendResult]) -> None:
    """Store what happened to claimed recipients, in one transaction.

    Only a claimed recipient without a SID is touched, so a result recorded twice (a retried
    batch) or after a callback already moved it forward changes nothing.
    """
    if not results:
        return
    table = Recipient.__table__
    claimed = and_(
        table.c.id == bindparam("rid"),
        table.c.status == RecipientStatus.QUEUED,
        table.c.twilio_sid.is_(None),
    )
    # A status callback may have attached the SID (and moved the status) before this write: the
    # row is then matched by its SID, and only what the callback could not know is added.
    submitted = (
        update(table)
        .where(
            table.c.id == bindparam("rid"),
            (table.c.twilio_sid.is_(None) & (table.c.status == RecipientStatus.QUEUED))
            | (table.c.twilio_sid == bindparam("sid")),
        )
        .values(
            twilio_sid=bindparam("sid"),
            sender=bindparam("sender"),
            segments=func.coalesce(bindparam("segs"), table.c.segments),
            updated_at=bindparam("now"),
        )
    )
    failed = (
        update(table)
        .where(claimed)
        .values(
            status=RecipientStatus.FAILED,
            sender=bindparam("sender"),
            error_code=bindparam("code"),
            error_reason=bindparam("reason"),
            updated_at=bindparam("now"),
        )
    )
    now = ctx.now()
    ok = [r for r in results if r.outcome is Outcome.SUBMITTED]
    bad = [r for r in results if r.outcome is Outcome.FAILED]
    async with ctx.db.transaction() as session:
        connection = await session.connection()
        if ok:
            await connection.execute(
                submitted,
                [
                    {"rid": r.recipient_id, "sid": r.twilio_sid, "sender": r.sender,
                     "segs": r.segments, "now": now}
                    for r in ok
                ],
            )  # fmt: skip
        if bad:
            await connection.execute(
                failed,
                [
                    {"rid": r.recipient_id, "sender": r.sender, "code": r.error_code,
                     "reason": r.error_reason, "now": now}
                    for r in bad
                ],
            )  # fmt: skip


async def stale_claims(ctx: Context, campaign_id: str) -> list[Claimed]:
    """Claims older than RECLAIM_AFTER_SECONDS with no SID: their worker died mid-request."""
    cutoff = ctx.now() - timedelta(seconds=ctx.settings.RECLAIM_AFTER_SECONDS)
    async with ctx.db.read() as session:
        rows = await session.execute(
            select(Recipient).where(
                Recipient.campaign_id == campaign_id,
                Recipient.status == RecipientStatus.QUEUED,
                Recipient.twilio_sid.is_(None),
                Recipient.claimed_at < cutoff,
            )
        )
        return [
            Claimed(r.id, r.phone, r.variables, r.segments, r.sender, r.claimed_at)  # type: ignore[arg-type]
            for r in rows.scalars()
        ]


async def unsubmitted_count(session: AsyncSession, campaign_id: str) -> int:
    """Recipients not yet handed to Twilio: pending, or claimed without a SID."""
    return (
        await session.execute(
            select(func.count()).where(
                Recipient.campaign_id == campaign_id,
                (Recipient.status == RecipientStatus.PENDING)
                | ((Recipient.status == RecipientStatus.QUEUED) & Recipient.twilio_sid.is_(None)),
            )
        )
    ).scalar_one()


async def finish_if_complete(ctx: Context, campaign_id: str) -> CampaignView | None:
    """`done` once every recipient was submitted or failed; `failed` if none was submitted."""
    async with ctx.db.transaction() as session:
        campaign = await load_campaign(session, campaign_id, for_update=True)
        if campaign.status != CampaignStatus.RUNNING or await unsubmitted_count(
            session, campaign_id
        ):
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
                f"Campaign {campaign.name!r} is {campaign.status}: it cannot be paused."
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
            raise StateError(f"Campaign {campaign.name!r} is {campaign.status}, not paused.")
        campaign.status = CampaignStatus.RUNNING
        campaign.pause_reason = None
        campaign.version += 1
        campaign.started_at = campaign.started_at or ctx.now()
        audit.record(session, actor, "campaign.resume", campaign.id)
    return campaign


async def campaigns_to_drive(ctx: Context) -> list[Campaign]:
    """What the sweep looks at: running campaigns, and scheduled ones that are due."""
    now = ctx.now()
    async with ctx.db.read() as session:
        rows = await session.execute(
            select(Campaign).where(
                (Campaign.status == CampaignStatus.RUNNING)
                | ((Campaign.status == CampaignStatus.SCHEDULED) & (Campaign.scheduled_at <= now))
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
