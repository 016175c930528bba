"""GET /v1/sms/campaigns/{id}/recipients.csv: every recipient and what happened, streamed.

The file is written a page of recipients at a time as it is read, so a 100,000-row export never
sits whole in memory, and a slow reader only slows its own download (each write waits for the
connection to drain). Cells are neutralised for spreadsheets as in Slack's export.

Once the first bytes are out the status (200) cannot change: if reading fails part-way, the
connection is dropped without the end of the chunked body, so the client sees a broken download,
never a shorter file that looks whole.
"""

from __future__ import annotations

import logging

from aiohttp import web

from bot.keys import RUNTIME
from campaigns.export import header_bytes, rows_bytes
from campaigns.service import campaign_by_id, recipient_pages

log = logging.getLogger(__name__)


async def recipients_csv(request: web.Request) -> web.StreamResponse:
    runtime = request.app[RUNTIME]
    campaign = await campaign_by_id(runtime.ctx, request.match_info["campaign_id"])
    variables = list(campaign.import_report.get("variables", []))
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{campaign.id}-recipients.csv"',
            "Cache-Control": "no-store",  # phone numbers: personal data
        }
    )
    response.enable_chunked_encoding()
    await response.prepare(request)
    try:
        await response.write(header_bytes(variables))
        async for page in recipient_pages(runtime.ctx, campaign.id):
            await response.write(rows_bytes(page, variables))
    except Exception as error:
        if not isinstance(error, ConnectionResetError):  # else the reader went away itself
            log.exception("the export of %s failed part-way; dropping the connection", campaign.id)
        if request.transport is not None:
            request.transport.abort()
        raise
    await response.write_eof()
    return response


def register(app: web.Application) -> None:
    app.router.add_get(
        "/v1/sms/campaigns/{campaign_id}/recipients.csv", recipients_csv, allow_head=False
    )
