"""/v1/sms/optouts: the suppression list (JSON or CSV), and opting a number out or back in by hand.

An opt-out by hand is recorded with the API key that made it, like one from Slack, and reaches
the send loops at once (bot/stops.py). Removing one is for a person who asked to be texted again;
they can also text START themselves.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from bot.api.body import read_json
from bot.api.errors import BadRequest
from bot.api.responses import timestamp
from bot.keys import RUNTIME, api_key
from bot.stops import withdraw_stop
from campaigns.offload import off_loop
from campaigns.service.optouts import (
    Suppressed,
    e164,
    record_opt_in,
    record_opt_out,
    suppression_list,
)
from campaigns.suppression_export import suppression_csv

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
    rows = await suppression_list(request.app[RUNTIME].ctx)
    if _wants_csv(request):
        data = await off_loop(suppression_csv, rows)
        return web.Response(
            body=data, content_type=CSV, charset="utf-8",
            headers={"Content-Disposition": 'attachment; filename="suppression-list.csv"'},
        )  # fmt: skip
    return web.json_response({"optouts": [suppressed_json(r) for r in rows]})


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
    app.router.add_post("/v1/sms/optouts", add_optout)
    app.router.add_delete("/v1/sms/optouts", remove_optout)
