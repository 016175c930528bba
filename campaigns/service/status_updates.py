"""Applying Twilio's news about a message: monotonic and idempotent.

Each update only matches a recipient whose current status ranks below the new one, so a duplicated
or out-of-order callback changes nothing, without a read first and without a lock, whichever
process applies it. A batch is applied as one statement per target status.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, String, any_, bindparam, literal_column, or_, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from campaigns.models import Recipient, utcnow
from campaigns.service.context import Context
from campaigns.service.set_writes import ids_in, lock_recipients
from campaigns.status import RANK, RecipientStatus, statuses_below


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    """News about one message, found by its Twilio SID or, before it has one, by recipient id."""

    status: RecipientStatus
    twilio_sid: str | None = None
    recipient_id: int | None = None
    error_code: int | None = None
    error_reason: str | None = None

    def __post_init__(self) -> None:
        if (self.twilio_sid is None) == (self.recipient_id is None):
            raise ValueError("a status update names either a twilio_sid or a recipient_id")

    @property
    def key(self) -> tuple[bool, str | int]:
        return (True, self.twilio_sid) if self.twilio_sid else (False, self.recipient_id)  # type: ignore[return-value]


def _furthest(batch: Sequence[StatusUpdate]) -> list[StatusUpdate]:
    """One update per message: the highest-ranked, the earliest of equal rank."""
    best: dict[tuple[bool, str | int], StatusUpdate] = {}
    for news in batch:
        kept = best.get(news.key)
        if kept is None or RANK[news.status] > RANK[kept.status]:
            best[news.key] = news
    return list(best.values())


async def apply_status_update(ctx: Context, news: StatusUpdate) -> bool:
    """Apply one update; True if it moved the recipient forward."""
    return await apply_status_updates(ctx, [news]) == 1


async def apply_status_updates(ctx: Context, batch: Sequence[StatusUpdate]) -> int:
    """Apply many updates in one transaction; returns how many recipients moved forward."""
    groups: dict[tuple[RecipientStatus, bool], list[StatusUpdate]] = {}
    for news in _furthest(batch):
        groups.setdefault((news.status, news.twilio_sid is not None), []).append(news)
    postgresql = ctx.db.dialect == "postgresql"
    apply = _apply_postgresql if postgresql else _apply_executemany
    moved = 0
    async with ctx.db.transaction() as session:
        connection = await session.connection()
        if postgresql:
            # Result writes and lease renewals change these rows too: all lock in id order.
            await _lock(session, [news for items in groups.values() for news in items])
        for (status, by_sid), items in groups.items():
            moved += await apply(connection, status, by_sid, items)
    return moved


async def _lock(session: AsyncSession, batch: Sequence[StatusUpdate]) -> None:
    sids = [news.twilio_sid for news in batch if news.twilio_sid is not None]
    ids = [news.recipient_id for news in batch if news.recipient_id is not None]
    found = []
    if sids:
        found.append(Recipient.twilio_sid == any_(bindparam("sids", sids, type_=ARRAY(String))))
    if ids:
        found.append(ids_in(ids))
    if found:
        await lock_recipients(session, or_(*found))


def _status_in(statuses: Sequence[RecipientStatus]) -> ColumnElement[bool]:
    # Written out as SQL literals (our own constants): an expanding IN cannot go in executemany.
    return Recipient.status.in_([literal_column(f"'{status.value}'") for status in statuses])


async def _apply_executemany(
    connection: AsyncConnection, status: RecipientStatus, by_sid: bool, items: list[StatusUpdate]
) -> int:
    """SQLite: one prepared UPDATE run for each item; sqlite3 reports the total rows changed."""
    key = Recipient.twilio_sid if by_sid else Recipient.id
    statement = (
        update(Recipient.__table__)
        .where(key == bindparam("key"), _status_in(statuses_below(status)))
        .values(
            status=status,
            error_code=bindparam("code"),
            error_reason=bindparam("reason"),
            updated_at=utcnow(),
        )
    )
    params = [
        {"key": news.key[1], "code": news.error_code, "reason": news.error_reason} for news in items
    ]
    return max((await connection.execute(statement, params)).rowcount, 0)


async def _apply_postgresql(
    connection: AsyncConnection, status: RecipientStatus, by_sid: bool, items: list[StatusUpdate]
) -> int:
    """PostgreSQL: one UPDATE joined to the batch as arrays (asyncpg cannot count executemany)."""
    key_column, key_type = ("twilio_sid", "text") if by_sid else ("id", "bigint")
    below = ", ".join(f"'{s.value}'" for s in statuses_below(status))
    statement = text(
        f"UPDATE recipients AS r SET status = :status, error_code = u.code, "
        f"error_reason = u.reason, updated_at = :now "
        f"FROM unnest(CAST(:keys AS {key_type}[]), CAST(:codes AS integer[]), "
        f"CAST(:reasons AS text[])) AS u(key, code, reason) "
        f"WHERE r.{key_column} = u.key AND r.status IN ({below})"
    )
    result = await connection.execute(
        statement,
        {
            "status": status.value,
            "now": utcnow(),
            "keys": [news.key[1] for news in items],
            "codes": [news.error_code for news in items],
            "reasons": [news.error_reason for news in items],
        },
    )
    return result.rowcount
