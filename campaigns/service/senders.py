"""Keeping the stored sender numbers in step with SENDER_NUMBERS (run at bot and worker start)."""

from __future__ import annotations

from sqlalchemy import select

from campaigns import audit
from campaigns.models import SenderNumberRow
from campaigns.service.context import Context


async def sync_sender_numbers(ctx: Context) -> list[SenderNumberRow]:
    """Add or update the configured numbers; disable (never delete) the ones no longer listed.

    A disabled number stays in the table so old campaigns still name a known sender.
    """
    configured = {sender.phone: sender.mps for sender in ctx.settings.SENDER_NUMBERS}
    now = ctx.now()
    async with ctx.db.transaction() as session:
        stored = {
            row.phone: row for row in (await session.execute(select(SenderNumberRow))).scalars()
        }
        for phone, mps in configured.items():
            row = stored.get(phone)
            if row is None:
                session.add(
                    SenderNumberRow(
                        phone=phone, mps=mps, enabled=True, created_at=now, updated_at=now
                    )
                )
                audit.record(session, "config", "sender.add", None, phone=phone, mps=mps)
            elif (row.mps, row.enabled) != (mps, True):
                row.mps, row.enabled, row.updated_at = mps, True, now
                audit.record(session, "config", "sender.update", None, phone=phone, mps=mps)
        for phone, row in stored.items():
            if phone not in configured and row.enabled:
                row.enabled, row.updated_at = False, now
                audit.record(session, "config", "sender.disable", None, phone=phone)
        await session.flush()
        rows = list(
            (
                await session.execute(select(SenderNumberRow).order_by(SenderNumberRow.phone))
            ).scalars()
        )
    return rows
