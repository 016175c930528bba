"""`/sms` and its subcommands. Each answers at once (Slack wants it within 3 seconds); what it
shows goes to the person who typed it only (ephemeral), through the command's response_url.

    /sms new | list | status ID | edit ID | cancel ID | templates | contacts
         | optout add|remove|list [NUMBER] | help

Every subcommand is in SUBCOMMANDS (below); tests/test_manifest.py holds the README's table, the
manifest's usage hint and `/sms help` to it.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.answers import campaign_list, help_message, reply
from bot.blocks.notices import cancel_button
from bot.blocks.progress import STATUS_LABELS, progress_message
from bot.blocks.text import escape, message, plural, section
from bot.runtime import Runtime
from bot.slack.compose import open_compose, open_edit
from bot.slack.library import LIBRARY_SUBCOMMANDS
from bot.slack.optouts import optout
from bot.slack.permissions import require_permission
from campaigns.errors import TextcastError
from campaigns.service import campaign_report, list_campaigns
from campaigns.status import CANCELLABLE, CampaignStatus

log = logging.getLogger(__name__)
COMMAND = "/sms"
LIST_PAGE = 30  # read to find the ten newest that are not drafts


def register(app: AsyncApp, runtime: Runtime) -> None:
    app.command(COMMAND)(_sms(runtime))


def _sms(runtime: Runtime):  # type: ignore[no-untyped-def]
    async def listener(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        word, _, rest = str(body.get("text") or "").strip().partition(" ")
        handler = SUBCOMMANDS.get(word.lower() or "help")
        try:
            if handler is None:
                shown = help_message(f"`/sms {escape(word[:40])}` is not a command.")
            else:
                shown = await handler(runtime, client, body, rest.strip())
        except TextcastError as error:
            shown = reply(error.message)
        except SlackApiError as error:
            log.warning("/sms %s: Slack refused a call: %s", word, error.response.get("error"))
            shown = reply(f"Slack refused what Textcast asked ({error.response.get('error')}): "
                          "try again in a moment.")  # fmt: skip
        except Exception:
            log.exception("/sms %s failed", word)
            shown = reply("Something went wrong on Textcast's side: nothing was changed. Try "
                          "again in a moment; the web process's log says why.")  # fmt: skip
        if shown is not None:
            await respond(response_type="ephemeral", **shown)

    return listener


async def _new(runtime: Runtime, client: AsyncWebClient, body: dict[str, Any], _: str) -> None:
    await open_compose(runtime, client, body["trigger_id"], body.get("channel_id"), body["user_id"])


async def _help(*_: Any) -> dict[str, Any]:
    return help_message()


async def _list(runtime: Runtime, *_: Any) -> dict[str, Any]:
    page = await list_campaigns(runtime.ctx, limit=LIST_PAGE)
    shown = [v for v in page.items if v.campaign.status != CampaignStatus.DRAFT]
    return campaign_list(shown, more=len(shown) > 10 or page.next_cursor is not None)


def _campaign_id(rest: str, command: str) -> str:
    campaign_id = rest.split()[0] if rest else ""
    if not campaign_id:
        raise TextcastError(f"Say which campaign: `/sms {command} smsc_…` (`/sms list` shows ids).")
    return campaign_id


async def _status(runtime: Runtime, _c: AsyncWebClient, _b: Any, rest: str) -> dict[str, Any]:
    report = await campaign_report(runtime.ctx, _campaign_id(rest, "status"))
    return progress_message(report, rate=None, eta=None)


async def _edit(runtime: Runtime, client: AsyncWebClient, body: dict[str, Any], rest: str) -> None:
    campaign_id = _campaign_id(rest, "edit")
    await open_edit(runtime, client, body["trigger_id"], campaign_id, body["user_id"])


async def _cancel(
    runtime: Runtime, client: AsyncWebClient, body: dict[str, Any], rest: str
) -> dict[str, Any]:
    """Asks first: the answer names the campaign and what will not go out, with a Cancel button
    behind Slack's confirmation (the notices' own, bot/slack/actions.py). A typed id is easily
    the wrong one, and a cancel cannot be undone."""
    campaign_id = _campaign_id(rest, "cancel")
    await require_permission(runtime, client, body["user_id"])
    report = await campaign_report(runtime.ctx, campaign_id)
    campaign = report.campaign
    if campaign.status not in CANCELLABLE:
        label = STATUS_LABELS.get(CampaignStatus(campaign.status), campaign.status).lower()
        return reply(f"*{escape(campaign.name)}* is {label}: there is nothing left to cancel.")
    text = (f"Cancel *{escape(campaign.name)}*? {plural(report.unsent, 'message')} not sent yet "
            "will not go out; messages already sent stay sent.")  # fmt: skip
    return message(text, [section(text), {"type": "actions",
                                          "elements": [cancel_button(campaign)]}])  # fmt: skip


SUBCOMMANDS = {
    "new": _new,
    "list": _list,
    "status": _status,
    "edit": _edit,
    "cancel": _cancel,
    "optout": optout,
    **LIBRARY_SUBCOMMANDS,  # templates, contacts
    "help": _help,
}
