"""Response URLs: how an app answers a slash command or a button click after acknowledging it.

A response posts an ephemeral message to the user (the default) or, with
`"response_type": "in_channel"`, a message everyone sees; after a button click it may instead
replace or delete the message the button was on. Up to 5 uses in 30 minutes, as on Slack.
"""

from __future__ import annotations

import json
import time

from aiohttp import web

from sandbox.slack import blocks as block_kit
from sandbox.slack.context import SANDBOX
from sandbox.slack.history import Message
from sandbox.slack.triggers import RESPONSE_URL_TTL, RESPONSE_URL_USES, read_response_path


def _refuse(status: int, error: str) -> web.Response:
    return web.Response(status=status, text=error, content_type="text/plain")


async def respond(request: web.Request) -> web.Response:
    sandbox = request.app[SANDBOX]
    path = request.match_info["path"]
    target = read_response_path(path)
    try:
        body = json.loads(await request.read() or b"{}")
    except json.JSONDecodeError:
        body = None
    record_args = body if isinstance(body, dict) else {}

    def answer(response: web.Response) -> web.Response:
        ok = response.status == 200
        sandbox.recorder.record(
            "response_url",
            record_args,
            ok=ok,
            error=None if ok else response.text,
            status=response.status,
            channel=target.channel_id if target else None,
        )
        return response

    if target is None:
        return answer(_refuse(404, "no_service"))
    if time.time() - target.issued_at > RESPONSE_URL_TTL:
        return answer(_refuse(404, "expired_url"))
    uses = sandbox.response_url_uses.get(path, 0)
    if uses >= RESPONSE_URL_USES:
        return answer(_refuse(404, "used_url"))
    if not isinstance(body, dict):
        return answer(_refuse(400, "invalid_payload"))
    sandbox.response_url_uses[path] = uses + 1

    original = None
    if target.message_ts:
        original = next(
            (
                m
                for m in sandbox.history.everything(target.channel_id)
                if m.ts == target.message_ts and not m.deleted
            ),
            None,
        )
    if body.get("delete_original"):
        if original is None:
            return answer(_refuse(404, "message_not_found"))
        original.deleted = True
        return answer(web.Response(text="ok", content_type="text/plain"))

    message_blocks = body.get("blocks") or []
    if not isinstance(message_blocks, list) or block_kit.problems(message_blocks):
        return answer(_refuse(400, "invalid_blocks"))
    text = body.get("text") or ""
    attachments = body.get("attachments") or []
    if not (text or message_blocks or attachments):
        return answer(_refuse(400, "no_text"))

    if body.get("replace_original") and original is not None:
        original.text = text
        original.blocks = block_kit.with_block_ids(
            message_blocks, f"{original.ts}:{original.edits}"
        )
        original.attachments = attachments
        original.edits += 1
        original.edited_ts = sandbox.timestamps.next()
        return answer(web.Response(text="ok", content_type="text/plain"))

    in_channel = body.get("response_type") == "in_channel"
    ts = sandbox.timestamps.next()
    thread_ts = body.get("thread_ts")
    sandbox.history.add(
        Message(
            channel=target.channel_id,
            ts=ts,
            user=sandbox.workspace.bot_user_id,
            text=text,
            blocks=block_kit.with_block_ids(message_blocks, f"{target.channel_id}:{ts}"),
            attachments=attachments,
            thread_ts=thread_ts if isinstance(thread_ts, str) else None,
            bot_id=sandbox.workspace.bot_id,
            app_id=sandbox.config.app_id,
            ephemeral_to=None if in_channel else target.user_id,
            source="response_url",
        )
    )
    return answer(web.Response(text="ok", content_type="text/plain"))
