"""`/sms optout add|remove|list [NUMBER]`: opt a number out (or back in) by hand, and see who
is opted out, or one number's history. An opt-out applies to every sender and every campaign;
one that is scheduled fails that number with `opted_out` at send time.

Listing is personal data: only people allowed to act on campaigns see it, and the whole list
goes to the person's DM with Textcast, never a channel."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.answers import reply
from bot.blocks.text import actor, context, escape, local_time, message, plural, section
from bot.runtime import Runtime
from bot.slack.background import spawn
from bot.slack.dm_files import refused, upload_to_dm
from bot.slack.permissions import require_permission, require_permission_to_see
from campaigns.errors import InputError
from campaigns.offload import off_loop
from campaigns.recipients import normalise_phone
from campaigns.service.optouts import (
    opt_out_history,
    recent_opt_outs,
    record_opt_in,
    record_opt_out,
    suppression_list,
)
from campaigns.suppression_export import suppression_csv

log = logging.getLogger(__name__)
USAGE = "`/sms optout add NUMBER`, `/sms optout remove NUMBER` or `/sms optout list [NUMBER]`"


async def optout(
    runtime: Runtime, client: AsyncWebClient, body: dict[str, Any], rest: str
) -> dict[str, Any]:
    action, _, number = rest.partition(" ")
    action, number = action.lower(), number.strip()
    if action == "list":
        # Checked before the number is even read: a refusal tells nothing about it.
        await require_permission_to_see(runtime, client, body["user_id"], "who opted out")
        if number:
            return await _history(runtime, number)
        return await _recent(runtime, client, body)
    if action not in ("add", "remove") or not number:
        return reply(f"Say what to do: {USAGE}.")
    user_id = body["user_id"]
    await require_permission(runtime, client, user_id)
    phone = _phone(runtime, number)
    actor = f"slack:{user_id}"
    if action == "add":
        # Returns once no send loop starts a create to the number (a message already waiting
        # for its send slot included); Slack was acknowledged before.
        changed = await record_opt_out(runtime.ctx, phone, source="slack", actor=actor)
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


async def _recent(runtime: Runtime, client: AsyncWebClient, body: dict[str, Any]) -> dict[str, Any]:
    found = await recent_opt_outs(runtime.ctx, limit=20)
    if not found:
        return reply("Nobody has opted out yet.")
    lines = [f"• {o.phone} since {local_time(o.updated_at)}" for o in found]
    spawn(_export(runtime, client, body["user_id"]), "suppression export")
    return message(plural(len(found), "opted-out number"),
                   [section("*Opted out, most recent first*\n" + "\n".join(lines)),
                    context("The whole list follows as a CSV file, in your direct messages "
                            "with Textcast.")])  # fmt: skip


async def _export(runtime: Runtime, client: AsyncWebClient, user_id: str) -> None:
    """The whole suppression list as a CSV, in the DM of the person who asked for it."""
    rows = await suppression_list(runtime.ctx)
    data = await off_loop(suppression_csv, rows)
    try:
        await upload_to_dm(
            client, user_id, content=data, filename="suppression-list.csv",
            title="Suppression list",
            comment=f"The suppression list: {plural(len(rows), 'opted-out number')}.",
        )  # fmt: skip
    except SlackApiError as error:
        # Posting to the person's id reaches their DM with Textcast without opening it first.
        log.warning("the suppression list was not sent: %s", error.response.get("error"))
        await client.chat_postMessage(channel=user_id, text=refused(error))


# How each source of an opt-out or opt-in reads (campaigns.service.optouts' sources).
SOURCES = {
    "sms": "by text",
    "poll": "by text",
    "twilio_21610": "as Twilio reported (the number had texted STOP to it)",
    "slack": "in Slack",
    "api": "over the API",
}


def _how(source: str, who: str | None) -> str:
    how = SOURCES.get(source, f"via {escape(source)}")
    return f"{how} by {actor(who)}" if who else how


async def _history(runtime: Runtime, number: str) -> dict[str, Any]:
    phone = _phone(runtime, number)
    events = await opt_out_history(runtime.ctx, phone)
    if not events:
        return reply(f"{phone} has never opted out.")
    lines = [
        f"• {local_time(e.at)}: {'opted out' if e.opted_out else 'opted back in'}"
        f"{f' ({escape(e.keyword)})' if e.keyword else ''} {_how(e.source, e.actor)}"
        for e in events
    ]
    return message(f"History of {phone}", [section(f"*{phone}*\n" + "\n".join(lines))])
