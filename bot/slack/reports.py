"""The progress message's buttons: View report (a modal), Export CSV (a file in the DM of the
person who asked), Edit (a scheduled campaign, through bot/slack/compose.open_edit) and Cancel
(with a confirm dialog, then the message itself shows it cancelled).

The report and the export show every recipient's number: only people allowed to act on
campaigns may see them (bot/slack/permissions.py); anyone else in the channel is told who may.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.actions import EDIT_CAMPAIGN, EXPORT_CSV, PROGRESS_CANCEL, VIEW_REPORT
from bot.blocks.compose import Metadata, notice_view
from bot.blocks.report import PAGE, REPORT_PAGE, report_view
from bot.blocks.text import escape
from bot.runtime import Runtime
from bot.slack.actions import campaign_of
from bot.slack.compose import open_edit
from bot.slack.dm_files import refused, upload_to_dm
from bot.slack.permissions import require_permission, require_permission_to_see
from bot.slack.progress import announce, show_change
from campaigns.errors import TextcastError
from campaigns.export import opted_out_by, to_csv
from campaigns.models import Recipient
from campaigns.offload import off_loop
from campaigns.service import (
    campaign_report,
    cancel_campaign,
    get_campaign,
    recipients_by_status,
)
from campaigns.service.optouts import OptOutOrigin, opt_out_origins

log = logging.getLogger(__name__)
EXPORT_PAGE = 1_000  # recipients read at a time for the export
NAMES_LOOKED_UP = 20  # people who opted numbers out in Slack, named in the export
RECIPIENTS = "who a campaign was sent to"


def register(app: AsyncApp, runtime: Runtime) -> None:
    async def view_report(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        await ack()
        try:
            await require_permission_to_see(runtime, client, body["user"]["id"], RECIPIENTS)
            view = await _report(runtime, campaign_of(body), cursor=None, page=1)
        except TextcastError as error:
            await respond(text=error.message, response_type="ephemeral", replace_original=False)
            return
        await client.views_open(trigger_id=body["trigger_id"], view=view)

    async def next_page(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        shown = body["view"]
        metadata = Metadata.load(shown.get("private_metadata"))
        first = body["actions"][0]["action_id"].endswith("_first")
        page = 1 if first else int(metadata.extra.get("p", "1")) + 1
        cursor = None if first else body["actions"][0]["value"]
        try:
            # Checked on every page: a modal outlives a person's removal from the allowed.
            await require_permission_to_see(runtime, client, body["user"]["id"], RECIPIENTS)
            view = await _report(runtime, metadata.draft or "", cursor=cursor, page=page)
        except TextcastError as error:
            view = notice_view("Report", error.message)
        await client.views_update(view_id=shown["id"], hash=shown["hash"], view=view)

    async def export(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        await ack()
        user_id = body["user"]["id"]
        try:
            await require_permission_to_see(runtime, client, user_id, RECIPIENTS)
            exported = await _export(runtime, client, campaign_of(body), user_id)
        except TextcastError as error:
            await respond(text=error.message, response_type="ephemeral", replace_original=False)
        except SlackApiError as error:
            await respond(text=refused(error), response_type="ephemeral", replace_original=False)
        else:
            await respond(text=f"The export of {exported:,} recipients is in your direct "
                               "messages with Textcast.",
                          response_type="ephemeral", replace_original=False)  # fmt: skip

    async def cancel(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        await ack()
        user_id, campaign_id = body["user"]["id"], campaign_of(body)
        try:
            await require_permission(runtime, client, user_id)
            view, unsent = await cancel_campaign(runtime.ctx, campaign_id,
                                                 actor=f"slack:{user_id}")  # fmt: skip
        except TextcastError as error:
            await respond(text=error.message, response_type="ephemeral", replace_original=False)
            return
        await show_change(runtime, client, campaign_id)
        await announce(runtime, client, view.campaign, f"slack:{user_id}", unsent=unsent)

    async def edit(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        await ack()
        try:
            await open_edit(runtime, client, body["trigger_id"], campaign_of(body),
                            body["user"]["id"])  # fmt: skip
        except TextcastError as error:
            await respond(text=error.message, response_type="ephemeral", replace_original=False)

    app.action(EDIT_CAMPAIGN)(edit)
    app.action(VIEW_REPORT)(view_report)
    app.action(REPORT_PAGE)(next_page)
    app.action(f"{REPORT_PAGE}_first")(next_page)
    app.action(EXPORT_CSV)(export)
    app.action(PROGRESS_CANCEL)(cancel)


async def _report(
    runtime: Runtime, campaign_id: str, *, cursor: str | None, page: int
) -> dict[str, Any]:
    report = await campaign_report(runtime.ctx, campaign_id)
    shown = await recipients_by_status(runtime.ctx, campaign_id, limit=PAGE, cursor=cursor)
    return report_view(report, shown, page=page)


async def _export(runtime: Runtime, client: AsyncWebClient, campaign_id: str, user_id: str) -> int:
    """Every recipient, read a page at a time, written in the CPU pool, sent to `user_id` alone;
    returns how many."""
    pages: list[list[Recipient]] = []
    origins: dict[str, OptOutOrigin] = {}
    cursor: str | None = None
    while True:
        detail = await get_campaign(runtime.ctx, campaign_id, recipients_limit=EXPORT_PAGE,
                                    cursor=cursor)  # fmt: skip
        pages.append(detail.recipients)
        origins.update(await opt_out_origins(runtime.ctx, (r.phone for r in detail.recipients)))
        cursor = detail.next_cursor
        if cursor is None:
            break
    campaign = detail.view.campaign
    variables = list(campaign.import_report.get("variables", []))
    names = await _slack_names(client, origins.values())
    how = {phone: opted_out_by(origin, names) for phone, origin in origins.items()}
    data = await off_loop(to_csv, variables, pages, how)
    total = detail.view.counts.total
    await upload_to_dm(
        client, user_id, content=data, filename=f"{campaign.id}-recipients.csv",
        title=f"{campaign.name}: recipients",
        comment=f"Export of the {total:,} recipients of *{escape(campaign.name)}*.",
    )  # fmt: skip
    return total


async def _slack_names(client: AsyncWebClient, origins: Iterable[OptOutOrigin]) -> dict[str, str]:
    """The names people know the ones who opted numbers out in Slack by (their display name);
    a few lookups at most, the rest shown by their user id."""
    users = list(dict.fromkeys(
        o.actor.removeprefix("slack:") for o in origins
        if o.source == "slack" and o.actor and o.actor.startswith("slack:")
    ))[:NAMES_LOOKED_UP]  # fmt: skip
    names: dict[str, str] = {}
    for user in users:
        try:
            found = (await client.users_info(user=user)).get("user") or {}
        except SlackApiError:
            continue
        profile = found.get("profile") or {}
        name = profile.get("display_name") or found.get("real_name") or found.get("name")
        if name:
            names[user] = str(name)
    return names
