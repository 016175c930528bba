"""`/sms optout add|remove|list [NUMBER]`: opt a number out (or back in) by hand, and see who
is opted out, or one number's history. An opt-out applies to every sender and every campaign;
one that is scheduled fails that number with `opted_out` at send time."""

from __future__ import annotations

from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.answers import reply
from bot.blocks.text import escape, message, section
from bot.runtime import Runtime
from bot.slack.permissions import require_permission
from bot.stops import announce_stop
from campaigns.errors import InputError
from campaigns.recipients import normalise_phone
from campaigns.service.optouts import (
    opt_out_history,
    recent_opt_outs,
    record_opt_in,
    record_opt_out,
)

USAGE = "`/sms optout add NUMBER`, `/sms optout remove NUMBER` or `/sms optout list [NUMBER]`"


async def optout(
    runtime: Runtime, client: AsyncWebClient, body: dict[str, Any], rest: str
) -> dict[str, Any]:
    action, _, number = rest.partition(" ")
    action, number = action.lower(), number.strip()
    if action == "list":
        return await (_history(runtime, number) if number else _recent(runtime))
    if action not in ("add", "remove") or not number:
        return reply(f"Say what to do: {USAGE}.")
    user_id = body["user_id"]
    await require_permission(runtime, client, user_id)
    phone = _phone(runtime, number)
    actor = f"slack:{user_id}"
    if action == "add":
        changed = await record_opt_out(runtime.ctx, phone, source="slack", actor=actor)
        e164 = normalise_phone(phone, None).e164
        if e164:  # stops a message already waiting for its slot, too
            await announce_stop(runtime.redis, runtime.settings.REDIS_NAMESPACE, e164)
        return reply(f"{phone} is opted out: no campaign will text it." if changed
                     else f"{phone} was already opted out.")  # fmt: skip
    changed = await record_opt_in(runtime.ctx, phone, source="slack", actor=actor)
    if not changed:
        return reply(f"{phone} was not opted out.")
    return reply(f"{phone} is opted back in. Do this only when the person asked you to: they "
                 "can also text START themselves.")  # fmt: skip


def _phone(runtime: Runtime, number: str) -> str:
    result = normalise_phone(number, runtime.settings.DEFAULT_REGION)
    if result.e164 is None:
        raise InputError(f"`{escape(number[:40])}` is not a phone number: {result.reason}.")
    return result.e164


async def _recent(runtime: Runtime) -> dict[str, Any]:
    found = await recent_opt_outs(runtime.ctx, limit=20)
    if not found:
        return reply("Nobody has opted out yet.")
    lines = [f"• {o.phone} since {o.updated_at:%Y-%m-%d %H:%M} UTC" for o in found]
    return message(f"{len(found)} opted-out numbers",
                   [section("*Opted out, most recent first*\n" + "\n".join(lines))])  # fmt: skip


async def _history(runtime: Runtime, number: str) -> dict[str, Any]:
    phone = _phone(runtime, number)
    events = await opt_out_history(runtime.ctx, phone)
    if not events:
        return reply(f"{phone} has never opted out.")
    lines = [
        f"• {e.at:%Y-%m-%d %H:%M} UTC: {'opted out' if e.opted_out else 'opted back in'}"
        f"{f' ({escape(e.keyword)})' if e.keyword else ''} via {escape(e.source)}"
        for e in events
    ]
    return message(f"History of {phone}", [section(f"*{phone}*\n" + "\n".join(lines))])
