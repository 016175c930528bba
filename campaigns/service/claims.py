"""Claims on recipients: which send loop may send to whom, for how long, and what it found.

Exactly-once rests on these rules, all judged on the database's clock (`Database.now`), never on
a worker's own:

1. A recipient is claimed (pending -> queued) with its loop's token and a lease before any
   request for it is made. The loop renews the lease while it holds the claim, waiting or in
   flight, and makes no request once its lease may have run out.
2. Every later write about a claimed recipient is conditional on the token: a loop that lost
   its claim can neither send it nor record anything of it, but for a SID Twilio gave it (a
   message that exists), written while nobody owns the recipient (see `_submitted`).
3. A request whose outcome is unknown (a timeout, a dropped connection, a 5xx), and a claim whose
   lease ran out (its loop died or stalled), are quarantined: owned by nobody and never resent on
   a guess, until a lookup in Twilio made long enough after the last request could have left for
   a late create to show settles them: the message found (its SID adopted), or none (pending
   again). A lookup is taken like a claim, with a token and a lease, so two loops never both act
   on one recipient.
4. A recipient goes back to pending only from a claim that made no request, or after such a
   lookup; in a cancelled campaign it becomes cancelled instead.
5. One bad row never fails a batch: what cannot be written is recorded on its own recipient and
   the rest commit.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    SmallInteger,
    String,
    Update,
    and_,
    bindparam,
    case,
    func,
    literal_column,
    null,
    or_,
    select,
    update,
)
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import TypeEngine

from campaigns.models import Campaign, Recipient, UTCDateTime
from campaigns.send_hours import (
    SendHours,
    effective_hours,
    next_allowed,
    window_closes,
    zones_for,
)
from campaigns.service.context import Context
from campaigns.service.set_writes import batch_rows, ids_in, lock_recipients
from campaigns.status import CampaignStatus, RecipientStatus

log = logging.getLogger(__name__)

OPTED_OUT = "opted_out"
# What a recipient ends with when Twilio never told whether its message was made.
UNKNOWN_OUTCOME = "unknown_outcome"
ABANDONED = "Its send loop stopped answering; checking with Twilio whether it was sent."
REASON_LENGTH = 200  # the column's size
_CHUNK = 500  # ids per IN (...), well under SQLite's and asyncpg's parameter limits
# Batches of waiting recipients one claim looks through before it gives the loop back.
_HOLD_PASSES = 20


@dataclass(frozen=True, slots=True)
class Claimed:
    """A recipient a loop holds: claimed to send, or taken to look up."""

    id: int
    phone: str
    variables: dict[str, str]
    segments: int
    sender: str | None
    claimed_at: datetime  # database clock: a message Twilio made before it is not this claim's
    unknown_since: datetime | None = None  # when its outcome became unknown (lookups only)
    taken_at: datetime | None = None  # the database's clock when this loop took it
    # Database clock: when the sending hours it was claimed in close (None: no hours to keep).
    # No request for it may leave after; a loop holding it then gives it back (hold_claims).
    closes_at: datetime | None = None


def _held_by(token: str | ColumnElement[str]) -> ColumnElement[bool]:
    return and_(
        Recipient.claim_token == token,
        Recipient.status == RecipientStatus.QUEUED,
        Recipient.twilio_sid.is_(None),
    )


def _unsettled() -> ColumnElement[bool]:
    """Claimed, and no SID: held by a loop or waiting for a lookup (models.UNSETTLED). The status
    is written as a literal, so that the planner sees the partial index `ix_recipients_unsettled`
    serves the query even in a prepared statement's generic plan (a parameter could be any
    status), and SQLite, which needs the index's terms in the query, sees them."""
    queued = literal_column(f"'{RecipientStatus.QUEUED.value}'")
    return and_(Recipient.status == queued, Recipient.twilio_sid.is_(None))


def _chunks(ids: Sequence[int]) -> list[list[int]]:
    return [list(ids[i : i + _CHUNK]) for i in range(0, len(ids), _CHUNK)]


async def _touch(session: AsyncSession, campaign_id: str, now: datetime) -> None:
    await session.execute(
        update(Campaign).where(Campaign.id == campaign_id).values(heartbeat_at=now)
    )


def _due(now: datetime | ColumnElement[datetime]) -> ColumnElement[bool]:
    """Pending and not waiting for its sending hours."""
    return and_(
        Recipient.status == RecipientStatus.PENDING,
        or_(Recipient.not_before.is_(None), Recipient.not_before <= now),
    )


def _zones(row: Any) -> tuple[str, ...]:
    """A recipient's zones. A row whose variables cannot be read is judged by its number alone:
    one bad row never stops a batch."""
    try:
        return zones_for(row.phone, row.variables)
    except Exception:
        log.exception("recipient %s: its time zone could not be read; judged by its number", row.id)
        return zones_for(row.phone)


def _held_until(now: datetime, row: Any, hours: SendHours | None) -> datetime | None:
    """When the recipient's sending hours open next, or None if they are open now."""
    return next_allowed(now, _zones(row), hours)


def _closes_at(now: datetime, rows: Sequence[Any], hours: SendHours | None) -> dict[int, datetime]:
    """When each claimed recipient's sending hours close (those with none to keep are left out).
    Asked once per set of zones: a batch is mostly numbers of a few regions."""
    if hours is None:
        return {}
    by_zones: dict[tuple[str, ...], datetime | None] = {}
    closes = {}
    for row in rows:
        zones = _zones(row)
        if zones not in by_zones:
            by_zones[zones] = window_closes(now, zones, hours)
        if (at := by_zones[zones]) is not None:
            closes[row.id] = at
    return closes


async def _claimable(
    ctx: Context, session: AsyncSession, campaign_id: str, limit: int, now: datetime,
    hours: SendHours | None,
) -> list[int]:  # fmt: skip
    """Up to `limit` due recipients inside their sending hours, in input order. Those found
    outside them are marked with the time they become due, and the next ones are looked at."""
    for _ in range(_HOLD_PASSES):
        candidates = (
            select(Recipient.id, Recipient.phone, Recipient.variables)
            .where(Recipient.campaign_id == campaign_id, _due(now))
            .order_by(Recipient.id)
            .limit(limit)
        )
        if ctx.db.dialect == "postgresql":  # two loops on one campaign take different rows
            candidates = candidates.with_for_update(skip_locked=True)
        rows = list(await session.execute(candidates))
        held = {row.id: due for row in rows if (due := _held_until(now, row, hours)) is not None}
        if held:
            table = Recipient.__table__
            await session.execute(
                update(table)
                .where(table.c.id == bindparam("held_id"))
                .values(not_before=bindparam("due"), updated_at=now),
                [{"held_id": rid, "due": due} for rid, due in held.items()],
            )
        ready = [row.id for row in rows if row.id not in held]
        if ready or len(rows) < limit:
            return ready
    return []  # a long run of waiting recipients: the next claim goes on from here


async def claim_batch(
    ctx: Context, campaign_id: str, limit: int, *, token: str, lease: float,
    version: int | None = None,
) -> list[Claimed]:  # fmt: skip
    """Claim up to `limit` pending recipients of a running campaign that are inside their
    sending hours, in input order. `version`: the campaign's version the loop sends (its
    message, its senders); none is claimed for another, such as one edited meanwhile while
    it waited for its recipients' sending hours (change.waits_before_first_text)."""
    async with ctx.db.transaction() as session:
        # The row is locked first (claims of one campaign took turns on it already, through
        # the heartbeat below), so an edit made under its lock is seen, never raced.
        query = select(Campaign.status, Campaign.send_hours, Campaign.version).where(
            Campaign.id == campaign_id
        )
        if ctx.db.dialect == "postgresql":
            query = query.with_for_update()
        campaign = (await session.execute(query)).one_or_none()
        if campaign is None or campaign.status != CampaignStatus.RUNNING:
            return []
        if version is not None and campaign.version != version:
            return []
        now = await ctx.db.now(session)
        await _touch(session, campaign_id, now)
        hours = effective_hours(campaign.send_hours, ctx.settings.SEND_HOURS)
        ids = await _claimable(ctx, session, campaign_id, limit, now, hours)
        if not ids:
            return []
        rows = await session.execute(
            update(Recipient)
            .where(Recipient.id.in_(ids), Recipient.status == RecipientStatus.PENDING)
            .values(
                status=RecipientStatus.QUEUED,
                not_before=None,
                claim_token=token,
                claimed_at=now,
                lease_until=now + timedelta(seconds=lease),
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
        rows = rows.all()
        closes = _closes_at(now, rows, hours)
        claimed = [
            Claimed(r.id, r.phone, r.variables, r.segments, r.sender, now,
                    closes_at=closes.get(r.id))
            for r in rows
        ]  # fmt: skip
    claimed.sort(key=lambda c: c.id)
    return claimed


async def renew_claims(ctx: Context, campaign_id: str, *, token: str, lease: float) -> set[int]:
    """Extend the lease of every claim `token` holds in the campaign; returns their ids.

    A claim missing from the answer is no longer this loop's: its lease ran out and another loop
    took it, or it was settled meanwhile (a status callback brought its SID). It also marks the
    campaign as driven, whether or not the loop holds anything.
    """
    async with ctx.db.transaction() as session:
        now = await ctx.db.now(session)
        await _touch(session, campaign_id, now)
        renew = update(Recipient).values(lease_until=now + timedelta(seconds=lease))
        if ctx.db.dialect == "postgresql":
            # Locked in id order first, as result writes lock them (set_writes.py): an UPDATE
            # alone locks in the order its plan reads the rows.
            held = await lock_recipients(session, Recipient.campaign_id == campaign_id,
                                         _held_by(token))  # fmt: skip
            if held:
                await session.execute(
                    renew.where(ids_in(held)).execution_options(synchronize_session=False)
                )
            return set(held)
        rows = await session.execute(
            renew.where(Recipient.campaign_id == campaign_id, _held_by(token))
            .returning(Recipient.id)
            .execution_options(synchronize_session=False)
        )
        return set(rows.scalars())


# What a claim given back unsent (release_claims, hold_claims) no longer has: no owner, no lease,
# nothing in doubt, and no frequency-cap check (it did not go: checked again when claimed again).
_UNCLAIMED: dict[str, None] = dict.fromkeys(
    ("claim_token", "claimed_at", "capped_checked_at", "lease_until", "unknown_since", "check_at",
     "error_code", "error_reason")
)  # fmt: skip


async def release_claims(ctx: Context, campaign_id: str, ids: Sequence[int], *, token: str) -> int:
    """Give back claims for which no request was made (or that a lookup found Twilio never got):
    pending again, or cancelled if the campaign is cancelled by now. Returns how many."""
    if not ids:
        return 0
    released = 0
    async with ctx.db.transaction() as session:
        # Read under the campaign's lock: a cancel committing meanwhile is either seen here, or
        # comes after and cancels what this makes pending. Never pending in a cancelled campaign.
        status_query = select(Campaign.status).where(Campaign.id == campaign_id)
        if ctx.db.dialect == "postgresql":
            status_query = status_query.with_for_update()
        status = await session.scalar(status_query)
        to = (
            RecipientStatus.CANCELLED
            if status == CampaignStatus.CANCELLED
            else RecipientStatus.PENDING
        )
        for chunk in _chunks(ids):
            result = await session.execute(
                update(Recipient)
                .where(Recipient.id.in_(chunk), _held_by(token))
                .values(status=to, updated_at=ctx.now(), **_UNCLAIMED)
                .execution_options(synchronize_session=False)
            )
            released += result.rowcount or 0  # type: ignore[attr-defined]
    return released


async def hold_claims(ctx: Context, campaign_id: str, ids: Sequence[int], *, token: str) -> int:
    """Give back claims whose sending hours closed before their request could leave (none was
    made): pending, due when the hours next open, as those held at the claim; cancelled if the
    campaign is cancelled by now. Returns how many."""
    if not ids:
        return 0
    async with ctx.db.transaction() as session:
        status_query = select(Campaign.status, Campaign.send_hours).where(
            Campaign.id == campaign_id
        )
        if ctx.db.dialect == "postgresql":  # as in release_claims: a cancel is seen or follows
            status_query = status_query.with_for_update()
        campaign = (await session.execute(status_query)).one()
        cancelled = campaign.status == CampaignStatus.CANCELLED
        if not cancelled:
            return await _hold_until_hours(ctx, session, campaign.send_hours, ids, token)
    return await release_claims(ctx, campaign_id, ids, token=token)


async def _hold_until_hours(
    ctx: Context, session: AsyncSession, send_hours: str | None, ids: Sequence[int], token: str
) -> int:
    now = await ctx.db.now(session)
    hours = effective_hours(send_hours, ctx.settings.SEND_HOURS)
    rows = (
        await session.execute(
            select(Recipient.id, Recipient.phone, Recipient.variables).where(
                Recipient.id.in_(ids), _held_by(token)
            )
        )
    ).all()
    if not rows:
        return 0
    due = []
    for row in rows:
        # The loop errs early: by this clock its hours may still be open for a moment. Then
        # it is due when they next open after they close, not at once.
        closes = window_closes(now, _zones(row), hours)
        due.append({"held_id": row.id, "due": _held_until(closes or now, row, hours)})
    table = Recipient.__table__
    await session.execute(
        update(table)
        .where(
            table.c.id == bindparam("held_id"),
            table.c.claim_token == token,
            table.c.status == RecipientStatus.QUEUED,
            table.c.twilio_sid.is_(None),
        )
        .values(
            status=RecipientStatus.PENDING, not_before=bindparam("due"), updated_at=now,
            **_UNCLAIMED,
        ),
        due,
    )  # fmt: skip
    return len(rows)  # each still held by `token`, so each is written


# --- results -------------------------------------------------------------------------------------


class Outcome(StrEnum):
    SUBMITTED = "submitted"  # Twilio has it: it has a SID
    FAILED = "failed"  # refused for good (or opted out): it will not be sent
    UNKNOWN = "unknown"  # it may or may not exist: quarantined until a lookup settles it


@dataclass(frozen=True, slots=True)
class SendResult:
    recipient_id: int
    outcome: Outcome
    sender: str | None = None
    twilio_sid: str | None = None
    error_code: int | None = None
    error_reason: str | None = None
    segments: int | None = None  # Twilio's count, when it gave one
    check_in: float = 0.0  # UNKNOWN: seconds until the lookup that settles it


_TABLE = Recipient.__table__
# Written as SQL's NULL, not as parameters: these statements run for every message sent, and a
# parameter is processed per row.
_NO_OWNER = {"claim_token": null(), "lease_until": null()}
_SETTLED = {**_NO_OWNER, "unknown_since": null(), "check_at": null()}


_QUEUED = literal_column(f"'{RecipientStatus.QUEUED.value}'")


def _claimed(rid: ColumnElement[int]) -> ColumnElement[bool]:
    return and_(
        _TABLE.c.id == rid,
        _TABLE.c.claim_token == bindparam("token"),
        _TABLE.c.status == _QUEUED,
        _TABLE.c.twilio_sid.is_(None),
    )


_PENDING = literal_column(f"'{RecipientStatus.PENDING.value}'")
_NOW = bindparam("now", type_=UTCDateTime())

# Each statement is built from the values of one result: bound parameters, run once per result
# (SQLite), or the columns of the batch unnested (PostgreSQL: one statement per batch).


# A status callback may have attached the SID (and moved the status) before this write: the row
# is then matched by its SID, and only what the callback could not know is added. A loop that
# lost its claim while its request was out (it stalled past its lease) still holds the truth
# about it: the SID is written if nobody owns the recipient (quarantined, waiting for a lookup
# that would only find this very message, or pending again after a lookup that missed it, when
# it would be sent twice), never over another loop's claim.
def _submitted(row: Mapping[str, ColumnElement[Any]]) -> Update:
    return (
        update(_TABLE)
        .where(
            _TABLE.c.id == row["rid"],
            or_(
                and_(
                    _TABLE.c.claim_token == bindparam("token"),
                    _TABLE.c.status == _QUEUED,
                    _TABLE.c.twilio_sid.is_(None),
                ),
                _TABLE.c.twilio_sid == row["sid"],
                and_(
                    _TABLE.c.claim_token.is_(None),
                    _TABLE.c.status.in_([_QUEUED, _PENDING]),
                    _TABLE.c.twilio_sid.is_(None),
                ),
            ),
        )
        .values(
            status=case((_TABLE.c.status == _PENDING, _QUEUED), else_=_TABLE.c.status),
            twilio_sid=row["sid"],
            sender=row["sender"],
            segments=func.coalesce(row["segs"], _TABLE.c.segments),
            # What quarantine noted is no longer true; what a callback wrote stays.
            error_code=case((_TABLE.c.twilio_sid.is_(None), null()), else_=_TABLE.c.error_code),
            error_reason=case((_TABLE.c.twilio_sid.is_(None), null()), else_=_TABLE.c.error_reason),
            # The first write of the SID says when Twilio took it; one recorded again keeps that.
            sent_at=func.coalesce(_TABLE.c.sent_at, _NOW),
            updated_at=_NOW,
            **_SETTLED,
        )
    )


def _failed(row: Mapping[str, ColumnElement[Any]]) -> Update:
    return (
        update(_TABLE)
        .where(_claimed(row["rid"]))
        .values(
            status=literal_column(f"'{RecipientStatus.FAILED.value}'"),
            sender=func.coalesce(row["sender"], _TABLE.c.sender),
            error_code=row["code"],
            error_reason=row["reason"],
            updated_at=_NOW,
            **_SETTLED,
        )
    )


def _unknown(row: Mapping[str, ColumnElement[Any]]) -> Update:
    return (
        update(_TABLE)
        .where(_claimed(row["rid"]))
        .values(
            unknown_since=func.coalesce(
                _TABLE.c.unknown_since, bindparam("since", type_=UTCDateTime())
            ),
            check_at=row["check_at"],
            sender=func.coalesce(row["sender"], _TABLE.c.sender),
            error_code=row["code"],
            error_reason=row["reason"],
            updated_at=_NOW,
            **_NO_OWNER,
        )
    )


_COLUMNS: dict[Outcome, dict[str, TypeEngine[Any]]] = {
    Outcome.SUBMITTED: {"rid": BigInteger(), "sid": String(), "sender": String(),
                        "segs": SmallInteger()},
    Outcome.FAILED: {"rid": BigInteger(), "sender": String(), "code": Integer(),
                     "reason": String()},
    Outcome.UNKNOWN: {"rid": BigInteger(), "sender": String(), "code": Integer(),
                      "reason": String(), "check_at": UTCDateTime()},
}  # fmt: skip
_BUILD = {Outcome.SUBMITTED: _submitted, Outcome.FAILED: _failed, Outcome.UNKNOWN: _unknown}
# SQLite: run once per result, each value a parameter.
_ONE_BY_ONE = {
    kind: build({key: bindparam(key, type_=kind_type) for key, kind_type in _COLUMNS[kind].items()})
    for kind, build in _BUILD.items()
}
# PostgreSQL: the whole batch in one statement, its values as arrays.
_AS_A_SET = {kind: build(batch_rows("u", **_COLUMNS[kind]).c) for kind, build in _BUILD.items()}


def _reason(text: str | None) -> str | None:
    """A reason the column can hold: no NUL (PostgreSQL refuses it in text), at most its size."""
    if text is None:
        return None
    text = text.replace("\x00", "")
    if len(text) <= REASON_LENGTH:
        return text
    return text[: REASON_LENGTH - 1] + "…"


async def record_results(ctx: Context, results: Sequence[SendResult], *, token: str) -> None:
    """Store what happened to recipients `token` holds, in one transaction.

    A result for a recipient the loop no longer holds changes nothing, nor does one recorded
    twice. If one row cannot be written (a SID another recipient holds, a value the database
    refuses), each is written on its own and that one is recorded as failed with the reason.
    Any other error (the database is away) raises, and nothing of the batch is written: the
    caller keeps it and tries again.
    """
    if not results:
        return
    try:
        await _write(ctx, results, token)
    except DBAPIError as error:
        if not _about_the_data(error):
            raise
        for result in results:
            try:
                await _write(ctx, [result], token)
            except DBAPIError as row_error:
                if not _about_the_data(row_error):
                    raise
                await _write_unrecordable(ctx, result, token, row_error)


def _about_the_data(error: DBAPIError) -> bool:
    """Whether the database refused what was written (a constraint, a value it cannot hold), as
    opposed to being unreachable or busy: then writing the rows one by one finds the bad one."""
    if isinstance(error, IntegrityError | DataError):
        return True
    if error.connection_invalidated or isinstance(error, OperationalError | InterfaceError):
        return False
    # asyncpg's errors reach SQLAlchemy untranslated; their SQLSTATE tells: class 22 is "data
    # exception" (a NUL byte, a number out of range), class 23 "integrity constraint violation".
    cause: BaseException | None = error.orig
    while cause is not None:
        sqlstate = getattr(cause, "sqlstate", None)
        if isinstance(sqlstate, str):
            return sqlstate[:2] in ("22", "23")
        cause = cause.__cause__
    return False


async def _write(ctx: Context, results: Sequence[SendResult], token: str) -> None:
    postgresql = ctx.db.dialect == "postgresql"
    async with ctx.db.transaction() as session:
        connection = await session.connection()
        shared: dict[str, Any] = {"token": token, "now": ctx.now()}
        if any(r.outcome is Outcome.UNKNOWN for r in results):
            shared["since"] = await ctx.db.now(session)
        if postgresql:
            # One order for every writer (campaigns/service/set_writes.py): renewals lock these too.
            await lock_recipients(session, ids_in([r.recipient_id for r in results]))
        for kind, rows in _values_by_kind(results, shared.get("since")).items():
            if postgresql:
                arrays = {f"{key}s": [row[key] for row in rows] for key in _COLUMNS[kind]}
                await connection.execute(_AS_A_SET[kind], {**arrays, **shared})
            else:
                await connection.execute(_ONE_BY_ONE[kind], [{**row, **shared} for row in rows])


def _values_by_kind(
    results: Sequence[SendResult], clock: datetime | None
) -> dict[Outcome, list[dict[str, Any]]]:
    """What each statement writes of each result; `clock`: the database's, for lookups' times."""
    by_kind: dict[Outcome, list[dict[str, Any]]] = {}
    for r in results:
        values: dict[str, Any] = {"rid": r.recipient_id, "sender": r.sender}
        if r.outcome is Outcome.SUBMITTED:
            values.update(sid=r.twilio_sid, segs=r.segments)
        else:
            values.update(code=r.error_code, reason=_reason(r.error_reason))
        if r.outcome is Outcome.UNKNOWN:
            assert clock is not None
            values["check_at"] = clock + timedelta(seconds=r.check_in)
        by_kind.setdefault(r.outcome, []).append(values)
    return by_kind


async def _write_unrecordable(
    ctx: Context, result: SendResult, token: str, error: Exception
) -> None:
    """The row refused `result`: keep what matters (a SID), or fail the recipient with why, so it
    is settled either way and never resent."""
    if result.outcome is Outcome.SUBMITTED:
        try:  # the SID alone, without what else Twilio said
            await _write(ctx, [SendResult(result.recipient_id, Outcome.SUBMITTED,
                                          twilio_sid=result.twilio_sid)], token)  # fmt: skip
            return
        except DBAPIError as again:
            if not _about_the_data(again):
                raise
        reason = (
            f"Twilio took it as {result.twilio_sid}, a message another recipient already holds; "
            "it was not sent again."
        )
    else:
        reason = "What happened to this message could not be stored; it was not sent again."
    log.warning(
        "recipient %d: could not record %s (%s); failing it",
        result.recipient_id,
        result.outcome,
        type(error).__name__,
    )
    failed = SendResult(result.recipient_id, Outcome.FAILED, error_reason=_reason(reason))
    try:
        await _write(ctx, [failed], token)
    except DBAPIError:
        log.exception("recipient %d: even its failure could not be stored", result.recipient_id)


# --- quarantine and lookups ------------------------------------------------------------------------


async def quarantine_expired(ctx: Context, campaign_id: str, *, wait: float) -> int:
    """Claims whose lease ran out: their loop died or stalled, and may have made a request.

    They are owned by nobody from now on, and looked up `wait` seconds after the lease ended (by
    then a request the loop made in time has surely reached Twilio). Returns how many.
    """
    async with ctx.db.transaction() as session:
        now = await ctx.db.now(session)
        expired = (
            select(Recipient.id, Recipient.claim_token, Recipient.lease_until)
            .where(
                Recipient.campaign_id == campaign_id,
                _unsettled(),
                Recipient.claim_token.is_not(None),
                or_(Recipient.lease_until.is_(None), Recipient.lease_until < now),
            )
            .limit(_CHUNK)
        )
        if ctx.db.dialect == "postgresql":
            expired = expired.with_for_update(skip_locked=True)
        rows = (await session.execute(expired)).all()
        if not rows:
            return 0
        statement = (
            update(_TABLE)
            .where(
                _TABLE.c.id == bindparam("rid"),
                _TABLE.c.claim_token == bindparam("token"),
                _unsettled(),
                or_(_TABLE.c.lease_until.is_(None), _TABLE.c.lease_until < bindparam("now")),
            )
            .values(
                unknown_since=func.coalesce(
                    _TABLE.c.unknown_since, bindparam("ended", type_=UTCDateTime())
                ),
                check_at=bindparam("check_at"),
                error_reason=ABANDONED,
                updated_at=bindparam("now"),
                **_NO_OWNER,
            )
        )
        # The lookup waits from now, not from when the lease ended: a loop paused (SIGSTOP, a
        # long GC, a VM frozen) between its last lease check and its request sends that request
        # when it wakes, and that may be just before now; looked up `wait` after the lease's
        # end, its message could be missed and sent again (test_recovery caught 29 so).
        connection = await session.connection()
        await connection.execute(
            statement,
            [
                {"rid": rid, "token": owner, "now": now, "ended": ended or now,
                 "check_at": max(ended or now, now) + timedelta(seconds=wait)}
                for rid, owner, ended in rows
            ],
        )  # fmt: skip
    log.info(
        "campaign %s: %d claims ran out of lease; they wait for a lookup", campaign_id, len(rows)
    )
    return len(rows)


async def take_checks(
    ctx: Context, campaign_id: str, *, token: str, lease: float, limit: int
) -> list[Claimed]:
    """Take quarantined recipients whose lookup is due, for `token` alone to look up and settle."""
    async with ctx.db.transaction() as session:
        now = await ctx.db.now(session)
        due = (
            select(Recipient.id)
            .where(
                Recipient.campaign_id == campaign_id,
                _unsettled(),
                Recipient.claim_token.is_(None),
                or_(Recipient.check_at.is_(None), Recipient.check_at <= now),
            )
            .order_by(Recipient.check_at, Recipient.id)
            .limit(limit)
        )
        if ctx.db.dialect == "postgresql":
            due = due.with_for_update(skip_locked=True)
        ids = list((await session.execute(due)).scalars())
        if not ids:
            return []
        rows = await session.execute(
            update(Recipient)
            .where(
                Recipient.id.in_(ids),
                _unsettled(),
                Recipient.claim_token.is_(None),
            )
            .values(claim_token=token, lease_until=now + timedelta(seconds=lease))
            .returning(
                Recipient.id,
                Recipient.phone,
                Recipient.variables,
                Recipient.segments,
                Recipient.sender,
                Recipient.claimed_at,
                Recipient.unknown_since,
            )
            .execution_options(synchronize_session=False)
        )
        return [
            Claimed(
                r.id,
                r.phone,
                r.variables,
                r.segments,
                r.sender,
                claimed_at=r.claimed_at or r.unknown_since or now,
                unknown_since=r.unknown_since or now,
                taken_at=now,
            )
            for r in rows
        ]


async def next_check_in(ctx: Context, campaign_id: str) -> float | None:
    """Seconds until the campaign's soonest lookup or lease end (0.0: now); None if nothing is
    unsettled but the claims loops are working on."""
    async with ctx.db.read() as session:
        now = await ctx.db.now(session)
        soonest = await session.scalar(
            select(
                func.min(
                    case((Recipient.claim_token.is_(None), Recipient.check_at),
                         else_=Recipient.lease_until)
                )
            ).where(
                Recipient.campaign_id == campaign_id,
                _unsettled(),
            )
        )  # fmt: skip
    if soonest is None:
        return None
    if isinstance(soonest, str):  # SQLite hands an aggregate back untyped
        soonest = UTCDateTime().process_result_value(datetime.fromisoformat(soonest), None)
    return max(0.0, (soonest - now).total_seconds())


async def unsettled_count(session: AsyncSession, campaign_id: str) -> int:
    """Recipients not yet handed to Twilio for sure: pending, or claimed without a SID."""
    return (
        await session.execute(
            select(func.count()).where(
                Recipient.campaign_id == campaign_id,
                (Recipient.status == RecipientStatus.PENDING)
                | ((Recipient.status == RecipientStatus.QUEUED) & Recipient.twilio_sid.is_(None)),
            )
        )
    ).scalar_one()


async def has_unsettled_claims(ctx: Context, campaign_id: str) -> bool:
    """Whether any recipient is claimed without a SID (held, or waiting for a lookup)."""
    async with ctx.db.read() as session:
        found = await session.scalar(
            select(Recipient.id)
            .where(
                Recipient.campaign_id == campaign_id,
                _unsettled(),
            )
            # In the partial index's order: else, with fresh statistics, PostgreSQL expects
            # to meet one soon in a scan of the whole table, and reads every row before.
            .order_by(Recipient.check_at)
            .limit(1)
        )
    return found is not None
