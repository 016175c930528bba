"""/v1/sms/optouts: the suppression list (a page at a time, or a streamed CSV), and opting a
number out or back in by hand.

The list pages like a campaign's recipients (`limit`, `cursor`, `next_cursor`), in the order the
numbers opted out, so a walk through it sees each number once, those opted out meanwhile at its
end. `/v1/sms/optouts.csv` (or `?format=csv`, `Accept: text/csv`) streams the whole list a page
of rows at a time, like `recipients.csv`: neither builds the whole list, on the event loop or off.

An opt-out by hand is recorded with the API key that made it, like one from Slack, and reaches
the send loops at once (bot/stops.py). Removing one is for a person who asked to be texted again;
they can also text START themselves.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from bot.api.body import query_limit, read_json
from bot.api.errors import BadRequest
from bot.api.export import EXPORT_TURNS, stream_csv
from bot.api.responses import timestamp
from bot.keys import RUNTIME, api_key
from bot.stops import withdraw_stop
from campaigns.service.optouts import (
    Suppressed,
    e164,
    record_opt_in,
    record_opt_out,
    suppressed_page,
    suppression_csv_chunks,
)

CSV = "text/csv"


class OptOutIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phone: str = Field(min_length=1, max_length=40)


def _actor(request: web.Request) -> str:
    return f"api:{api_key(request).id}"


def suppressed_json(row: Suppressed) -> dict[str, Any]:
    return {
        "phone": row.phone,
        "since": timestamp(row.since),
        "keyword": row.keyword,
        "source": row.source,
        "by": row.actor,
        "campaign_id": row.campaign_id,
    }


def _wants_csv(request: web.Request) -> bool:
    if request.query.get("format") == "csv":
        return True
    return CSV in request.headers.get(
        "Accept", ""
    ) and "application/json" not in request.headers.get("Accept", "")


async def list_optouts(request: web.Request) -> web.StreamResponse:
    fmt = request.query.get("format")
    if fmt not in (None, "csv", "json"):
        raise BadRequest("format must be csv or json.", "format")
    if _wants_csv(request):
        return await export_optouts(request)
    limit = query_limit(request, "limit", 100)
    cursor = request.query.get("cursor") or None
    # A page of 1,000 takes tens of milliseconds to read and write out: it takes a turn with the
    # exports' pages, so clients paging flat out do not hold up the rest of the process.
    async with request.app[EXPORT_TURNS]:
        page = await suppressed_page(request.app[RUNTIME].ctx, limit=limit, cursor=cursor)
        body = {
            "optouts": [suppressed_json(r) for r in page.items],
            "next_cursor": page.next_cursor,
        }
        return web.json_response(body)  # encoded here, in the turn


async def export_optouts(request: web.Request) -> web.StreamResponse:
    """GET /v1/sms/optouts.csv: every number opted out now, streamed."""
    chunks = suppression_csv_chunks(request.app[RUNTIME].ctx)
    return await stream_csv(request, "suppression-list.csv", chunks)


async def add_optout(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    # A ValidationError is answered 400 by the API's error middleware, naming the field.
    body = OptOutIn.model_validate(read_json(await request.read()))
    phone = e164(body.phone.strip())
    # Returns once no send loop starts a create to the number: then the person is told.
    changed = await record_opt_out(runtime.ctx, phone, source="api", actor=_actor(request))
    return web.json_response({"phone": phone, "opted_out": True, "changed": changed},
                             status=201 if changed else 200)  # fmt: skip


async def remove_optout(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    raw = request.query.get("phone")
    if not raw:
        raise BadRequest("Say which number: DELETE /v1/sms/optouts?phone=+447700900001.", "phone")
    phone = e164(raw.strip()[:40])
    changed = await record_opt_in(runtime.ctx, phone, source="api", actor=_actor(request))
    if changed:
        await withdraw_stop(runtime.redis, runtime.settings.REDIS_NAMESPACE, phone)
    return web.json_response({"phone": phone, "opted_out": False, "changed": changed})


def register(app: web.Application) -> None:
    app.router.add_get("/v1/sms/optouts", list_optouts, allow_head=False)
    app.router.add_get("/v1/sms/optouts.csv", export_optouts, allow_head=False)
    app.router.add_post("/v1/sms/optouts", add_optout)
    app.router.add_delete("/v1/sms/optouts", remove_optout)
