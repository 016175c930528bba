"""Applying Twilio's news about a message: monotonic and idempotent.

Each update only matches a recipient whose current status ranks below the new one, so a duplicated
or out-of-order callback changes nothing, without a read first, whichever process applies it. On
PostgreSQL a batch is one statement: it locks the rows in id order (as every writer of many
recipients does: see set_writes.py), then moves each whose rank is below its news, and says which
moved. On SQLite it is one prepared UPDATE per target status, run for each item.
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
    moved, _ = await apply_status_news(ctx, batch)
    return moved


async def apply_status_news(
    ctx: Context, batch: Sequence[StatusUpdate]
) -> tuple[int, dict[str, str] | None]:
    """`apply_status_updates`, and on PostgreSQL the campaign of each of the batch's SIDs that
    some recipient holds, moved or not (None on SQLite, which does not say)."""
    furthest = _furthest(batch)
    async with ctx.db.transaction() as session:
        if ctx.db.dialect == "postgresql":
            return await _apply_all_postgresql(session, furthest)
        return await _apply_all_sqlite(await session.connection(), furthest), None


async def _apply_all_postgresql(
    session: AsyncSession, furthest: list[StatusUpdate]
) -> tuple[int, dict[str, str]]:
    by_sid = [news for news in furthest if news.twilio_sid is not None]
    by_id = [news for news in furthest if news.twilio_sid is None]
    if by_sid and by_id:
        # Each statement below locks its own rows in id order; both kinds together must be
        # locked in one order first, or two such writers could wait for each other in a circle.
        await _lock(session, furthest)
    connection = await session.connection()
    campaign_of: dict[str, str] = {}
    moved = 0
    for items, key_column in ((by_sid, "twilio_sid"), (by_id, "id")):
        if items:
            rows = await _apply_postgresql(connection, key_column, items)
            moved += sum(1 for _, _, moved_it in rows if moved_it)
            campaign_of.update((sid, campaign) for sid, campaign, _ in rows if sid)
    return moved, campaign_of


async def _apply_all_sqlite(connection: AsyncConnection, furthest: list[StatusUpdate]) -> int:
    groups: dict[tuple[RecipientStatus, bool], list[StatusUpdate]] = {}
    for news in furthest:
        groups.setdefault((news.status, news.twilio_sid is not None), []).append(news)
    moved = 0
    for (status, by_sid), items in groups.items():
        moved += await _apply_executemany(connection, status, by_sid, items)
    return moved


async def _lock(session: AsyncSession, batch: Sequence[StatusUpdate]) -> None:
    sids = [news.twilio_sid for news in batch if news.twilio_sid is not None]
    ids = [news.recipient_id for news in batch if news.recipient_id is not None]
    found = [Recipient.twilio_sid == any_(bindparam("sids", sids, type_=ARRAY(String)))]
    await lock_recipients(session, or_(*found, ids_in(ids)))


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
    connection: AsyncConnection, key_column: str, items: list[StatusUpdate]
) -> list[tuple[str | None, str, bool]]:
    """PostgreSQL: one statement for the batch, whatever its statuses. The rows are locked in
    id order first (result writes and lease renewals change them too), and the update touches
    only those; a row changed while the lock waited is judged on its newest status. Returns
    (SID, campaign, moved) for each recipient the batch names."""
    key_type = "text" if key_column == "twilio_sid" else "bigint"
    rank = " ".join(f"WHEN '{status.value}' THEN {value}" for status, value in RANK.items())
    statement = text(
        f"WITH u AS (SELECT * FROM unnest(CAST(:keys AS {key_type}[]), "
        f"CAST(:statuses AS text[]), CAST(:ranks AS integer[]), CAST(:codes AS integer[]), "
        f"CAST(:reasons AS text[])) AS u(key, status, rank, code, reason)), "
        f"locked AS MATERIALIZED (SELECT r.id, r.twilio_sid, r.campaign_id, u.status, u.rank, "
        f"u.code, u.reason "
        f"FROM recipients AS r JOIN u ON r.{key_column} = u.key ORDER BY r.id FOR UPDATE OF r), "
        f"moved AS (UPDATE recipients AS r SET status = l.status, error_code = l.code, "
        f"error_reason = l.reason, updated_at = :now FROM locked AS l "
        f"WHERE r.id = l.id AND (CASE r.status {rank} ELSE {max(RANK.values())} END) < l.rank "
        f"RETURNING r.id) "
        f"SELECT l.twilio_sid, l.campaign_id, l.id IN (SELECT id FROM moved) FROM locked AS l"
    )
    result = await connection.execute(
        statement,
        {
            "now": utcnow(),
            "keys": [news.key[1] for news in items],
            "statuses": [news.status.value for news in items],
            "ranks": [RANK[news.status] for news in items],
            "codes": [news.error_code for news in items],
            "reasons": [news.error_reason for news in items],
        },
    )
    return [(sid, campaign, bool(moved)) for sid, campaign, moved in result.all()]
