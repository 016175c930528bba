"""The report's recipients page by status, the failed first (recipients_by_status): no one
twice, no one left out, wherever a page ends."""

from __future__ import annotations

import pytest

from campaigns.errors import InputError
from campaigns.service import (
    Context,
    StatusUpdate,
    apply_status_update,
    get_campaign,
    recipients_by_status,
)
from campaigns.status import RecipientStatus
from tests.worker.test_reporting import new_campaign, receipts, submit


async def walk(ctx: Context, campaign_id: str, limit: int) -> list[list[tuple[str, int]]]:
    pages, cursor = [], None
    while True:
        page = await recipients_by_status(ctx, campaign_id, limit=limit, cursor=cursor)
        pages.append([(group, r.row) for group, rows in page.groups for r in rows])
        cursor = page.next_cursor
        if cursor is None:
            return pages


async def test_the_failed_first_then_each_status_in_input_order(ctx: Context) -> None:
    campaign_id = await new_campaign(ctx, count=7)
    rows = (await get_campaign(ctx, campaign_id)).recipients
    marks = {1: RecipientStatus.FAILED, 5: RecipientStatus.UNDELIVERED,
             3: RecipientStatus.DELIVERED, 6: RecipientStatus.FAILED}  # fmt: skip
    for index, status in marks.items():
        await apply_status_update(ctx, StatusUpdate(status, recipient_id=rows[index].id))
    row = [r.row for r in rows]
    everyone = [("failed", row[1]), ("failed", row[5]), ("failed", row[6]),
                ("pending", row[0]), ("pending", row[2]), ("pending", row[4]),
                ("delivered", row[3])]  # fmt: skip
    for limit in range(1, 9):
        pages = await walk(ctx, campaign_id, limit)
        assert [entry for page in pages for entry in page] == everyone, limit
        assert all(len(page) == limit for page in pages[:-1]) and pages[-1], limit


async def test_a_cursor_it_did_not_give_out_is_refused(ctx: Context) -> None:
    campaign_id = await new_campaign(ctx, count=2)
    for cursor in ("nonsense", "OXwx", "MXwtMQ"):  # 9|1 (no such group), 1|-1
        with pytest.raises(InputError):
            await recipients_by_status(ctx, campaign_id, cursor=cursor)


async def test_handed_to_twilio_waits_for_a_receipt_not_to_be_sent(ctx: Context) -> None:
    campaign_id = await new_campaign(ctx, count=4)
    sids = await submit(ctx, campaign_id, 2)  # queued at Twilio, with their SIDs
    await receipts(ctx, sids[1:], RecipientStatus.SENT)
    page = await recipients_by_status(ctx, campaign_id)
    assert [(group, len(rows)) for group, rows in page.groups] == [("no_receipt", 2),
                                                                    ("pending", 2)]  # fmt: skip
    statuses = {r.status for r in page.groups[0][1]}
    assert statuses == {RecipientStatus.QUEUED, RecipientStatus.SENT}
