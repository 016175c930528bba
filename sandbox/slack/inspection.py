"""Looking into the sandbox over HTTP, for the demo and for processes other than the test's.

GET /_sandbox/transcript/{channel}, GET /_sandbox/calls[?method=&channel=], POST /_sandbox/reset,
POST /_sandbox/files?name=people.csv[&user=][&channel=][&title=] with the bytes as the body,
GET /_sandbox/messages/{channel}, GET /_sandbox/views/{user}, POST /_sandbox/views/{view_id}/answer.
"""

from __future__ import annotations

import json

from aiohttp import web

from sandbox.slack.context import SANDBOX
from sandbox.slack.errors import SlackError
from sandbox.slack.views import apply_submission_answer
from sandbox.slack.workspace import ALICE


async def transcript(request: web.Request) -> web.Response:
    sandbox = request.app[SANDBOX]
    try:
        text = sandbox.transcript(request.match_info["channel"])
    except SlackError as error:
        return web.Response(status=404, text=error.code)
    return web.Response(text=text, content_type="text/plain", charset="utf-8")


async def calls(request: web.Request) -> web.Response:
    sandbox = request.app[SANDBOX]
    found = sandbox.recorder.calls(request.query.get("method"), request.query.get("channel"))
    body = [
        {
            "method": c.method,
            "args": c.args,
            "time": c.time,
            "ok": c.ok,
            "error": c.error,
            "status": c.status,
            "channel": c.channel,
        }
        for c in found
    ]
    return web.Response(text=json.dumps(body, default=str), content_type="application/json")


async def reset(request: web.Request) -> web.Response:
    request.app[SANDBOX].reset()
    return web.Response(status=204)


async def add_file(request: web.Request) -> web.Response:
    """POST the bytes with ?name=people.csv[&user=U0ALICE][&channel=C0CAMPAIGNS]: the file object."""
    sandbox = request.app[SANDBOX]
    query = request.query
    if "name" not in query:
        return web.Response(status=400, text="name is required")
    file = sandbox.add_file(
        query["name"],
        await request.read(),
        user=query.get("user", ALICE),
        channel=query.get("channel"),
        title=query.get("title"),
    )
    origin = str(request.url.origin())
    body = file.to_dict(origin, sandbox.workspace.team_id, sandbox)
    return web.Response(text=json.dumps(body), content_type="application/json")


async def modal_stack(request: web.Request) -> web.Response:
    """GET /_sandbox/views/{user}: the user's open modals, root first, as views.open returns them."""
    views = request.app[SANDBOX].modal_stack(request.match_info["user"])
    return web.Response(text=json.dumps(views), content_type="application/json")


async def submission_answer(request: web.Request) -> web.Response:
    """POST /_sandbox/views/{view_id}/answer with the app's answer to a view_submission (its
    JSON body, or nothing): the stand-in applies it as Slack would, and returns any errors."""
    raw = await request.read()
    answer = json.loads(raw) if raw.strip() else None
    try:
        errors = apply_submission_answer(
            request.app[SANDBOX], request.match_info["view_id"], answer
        )
    except SlackError as error:
        return web.Response(status=400, text=error.code)
    return web.Response(text=json.dumps({"errors": errors}), content_type="application/json")


async def messages(request: web.Request) -> web.Response:
    """GET /_sandbox/messages/{channel}: every message in it, thread replies and ephemeral ones
    included, oldest first, as Slack returns them, with `channel` and `ephemeral_to` added."""
    sandbox = request.app[SANDBOX]
    try:
        channel_id = sandbox.workspace.channel(request.match_info["channel"]).id
    except SlackError as error:
        return web.Response(status=404, text=error.code)
    body = [
        {
            **m.to_dict(sandbox.workspace.team_id),
            "channel": m.channel,
            "ephemeral_to": m.ephemeral_to,
        }
        for m in sandbox.history.everything(channel_id)
        if not m.deleted
    ]
    return web.Response(text=json.dumps(body), content_type="application/json")
