"""Writing a batch of rows as one statement, and locking rows in one order, on PostgreSQL.

An `executemany` of an UPDATE is one statement per row for the server (asyncpg runs each in
turn): at a few hundred messages a second that is most of the database's work. Joined to the
batch's values as arrays (`UPDATE … FROM unnest(…)`) it is one statement per batch.

Two transactions that lock several of the same rows in different orders can deadlock: each
holds a row the other waits for, until PostgreSQL kills one a second later. A set-based UPDATE
locks in whatever order its plan reads the rows, so writers that may overlap (lease renewals,
result writes, status news) first lock what they will change in id order, with a
`SELECT … ORDER BY id FOR UPDATE`, and only then update it. SQLite has one writer at a time and
needs neither.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import BigInteger, ColumnElement, any_, bindparam, column, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.selectable import TableValuedAlias
from sqlalchemy.types import TypeEngine

from campaigns.models import Recipient


def batch_rows(name: str, **columns: TypeEngine[object]) -> TableValuedAlias:
    """`unnest(:<column>s, …) AS <name>(<column>, …)`: the batch as a table with one row per item.

    Each column's values are bound as one array, named after the column with an "s" (a column
    `rid` is bound as `rids`)."""
    arrays = [bindparam(f"{key}s", type_=ARRAY(kind)) for key, kind in columns.items()]
    names = [column(key, kind) for key, kind in columns.items()]
    return func.unnest(*arrays).table_valued(*names).render_derived(name=name)


async def lock_recipients(session: AsyncSession, *where: ColumnElement[bool]) -> list[int]:
    """Lock the recipients that match `where`, in id order (PostgreSQL); returns their ids.

    Run first in a transaction that changes several recipients that another transaction may
    also change, so that the two never wait on each other in a circle."""
    query = select(Recipient.id).where(*where).order_by(Recipient.id).with_for_update()
    return list((await session.execute(query)).scalars())


def ids_in(ids: Sequence[int]) -> ColumnElement[bool]:
    """`id = ANY(:ids)`: any number of ids as one parameter (an IN list is one per id)."""
    return Recipient.id == any_(bindparam("locked_ids", list(ids), type_=ARRAY(BigInteger)))
