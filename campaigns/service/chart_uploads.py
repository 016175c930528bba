"""The delivery chart posted in a campaign's Slack thread, once: when the summary becomes final.

(Before, a first chart came when sending ended, in `chart_file_id`; the worker no longer posts
one, and the column stays for campaigns that have it.) Whoever posts a chart takes it first, with a conditional write, so
two worker processes (or a restarted one) never both post it. A chart taken is never tried again,
even if drawing or posting it failed: the summary says everything the chart shows.
"""

from __future__ import annotations

from sqlalchemy import update

from campaigns.models import Campaign
from campaigns.service.context import Context

TAKEN = ""  # stored while a chart is being posted, and kept if posting it failed


async def take_chart(ctx: Context, campaign_id: str, *, final: bool) -> bool:
    """True if the caller is now the one to post this chart (the final one, or the first)."""
    where = [Campaign.id == campaign_id, Campaign.final_chart_file_id.is_(None)]
    if final:
        values = {"final_chart_file_id": TAKEN}
    else:  # the first chart comes before the final one, never after it
        where.append(Campaign.chart_file_id.is_(None))
        values = {"chart_file_id": TAKEN}
    async with ctx.db.transaction() as session:
        result = await session.execute(update(Campaign).where(*where).values(**values))
        return (result.rowcount or 0) == 1  # type: ignore[attr-defined]


async def chart_posted(ctx: Context, campaign_id: str, file_id: str, *, final: bool) -> None:
    """Remember the Slack file id of the chart just posted."""
    column = Campaign.final_chart_file_id if final else Campaign.chart_file_id
    async with ctx.db.transaction() as session:
        await session.execute(
            update(Campaign).where(Campaign.id == campaign_id).values({column: file_id})
        )
