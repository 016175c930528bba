"""GET /v1/sms/campaigns/{id}/recipients.csv: every recipient and what happened, streamed.

The file is written a page of recipients at a time as it is read, so a 100,000-row export never
sits whole in memory, and a slow reader only slows its own download (each write waits for the
connection to drain). Cells are neutralised for spreadsheets as in Slack's export.

Once the first bytes are out the status (200) cannot change: if reading fails part-way, the
connection is dropped without the end of the chunked body, so the client sees a broken download,
never a shorter file that looks whole.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from bot.keys import RUNTIME
from campaigns.export import header_bytes, opted_out_by, rows_bytes
from campaigns.service import campaign_by_id, recipient_pages
from campaigns.service.optouts import opt_out_origins

log = logging.getLogger(__name__)

# Pages built at once, across every export the process streams. Reading and formatting a page of
# 1,000 rows takes some 10-40 ms of the event loop; ten exports at once each building theirs
# kept /healthz (and Slack, and Twilio) waiting over a second. A download waiting its turn is
# only slower; its socket writes are outside the turn, so a slow reader holds no turn.
PAGES_AT_ONCE = 2
EXPORT_TURNS = web.AppKey("export_turns", asyncio.Semaphore)


async def recipients_csv(request: web.Request) -> web.StreamResponse:
    runtime = request.app[RUNTIME]
    campaign = await campaign_by_id(runtime.ctx, request.match_info["campaign_id"])
    variables = list(campaign.import_report.get("variables", []))

    async def chunks() -> AsyncIterator[bytes]:
        yield header_bytes(variables)
        async for page in recipient_pages(runtime.ctx, campaign.id):
            origins = await opt_out_origins(runtime.ctx, (r.phone for r in page))
            how = {phone: opted_out_by(origin) for phone, origin in origins.items()}
            yield rows_bytes(page, variables, how)

    return await stream_csv(request, f"{campaign.id}-recipients.csv", chunks())


async def stream_csv(
    request: web.Request, filename: str, chunks: AsyncIterator[bytes]
) -> web.StreamResponse:
    """Answer with `chunks` as a CSV download, each written as it comes (after the connection
    has drained the one before). Also the opt-out list's export (bot/api/optouts.py)."""
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",  # phone numbers: personal data
        }
    )
    response.enable_chunked_encoding()
    await response.prepare(request)
    turns = request.app[EXPORT_TURNS]
    try:
        while True:
            async with turns:
                chunk = await anext(chunks, None)
            if chunk is None:
                break
            await response.write(chunk)
    except Exception as error:
        if not isinstance(error, ConnectionResetError):  # else the reader went away itself
            log.exception("the export %s failed part-way; dropping the connection", filename)
        if request.transport is not None:
            request.transport.abort()
        raise
    await response.write_eof()
    return response


def register(app: web.Application) -> None:
    app[EXPORT_TURNS] = asyncio.Semaphore(PAGES_AT_ONCE)
    app.router.add_get(
        "/v1/sms/campaigns/{campaign_id}/recipients.csv", recipients_csv, allow_head=False
    )
