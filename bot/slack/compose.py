"""New campaign: the compose modal, its submission, and the preview it leads to.

    /sms new (or the shortcut) -> compose modal -> Preview pressed
      -> cheap checks answered inline (response_action "errors", within Slack's 3 seconds)
      -> "Checking…" view at once (response_action "update")
      -> in the background: the CSV downloaded with the bot token, the list read off the event
         loop, a draft stored through the service layer, the preview rendered
      -> views.update with the hash of the view it replaces, so it never overwrites a newer one

The draft lives in the database; a view's private_metadata carries only its id and the channel.
"Back to edit" reopens the compose modal on the draft, and submitting it edits the same draft.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.compose import (
    ALL_NUMBERS,
    CHANNEL,
    COMPOSE,
    CONSENT,
    FILE,
    GROUP,
    HOURS,
    MEDIA,
    MESSAGE,
    NAME,
    PASTE,
    PICK_TEMPLATE,
    PICTURES,
    SCHEDULE,
    SEND_AT,
    SEND_TIME,
    SENDER,
    WHEN,
    ZONE,
    Choice,
    Draft,
    Metadata,
    SenderOption,
    checking_view,
    compose_view,
    matching,
    notice_view,
)
from bot.blocks.preview import BACK_TO_EDIT, PLAIN_CHARACTERS, preview_view
from bot.runtime import Runtime
from bot.slack.background import spawn
from bot.slack.downloads import download
from bot.slack.mms import media_errors, media_lines, mms_hint, upload_hint
from bot.slack.permissions import (
    NotAllowed,
    is_allowed,
    not_allowed,
    require_permission,
)
from bot.slack.slow_answers import (
    INLINE_BYTES,
    INLINE_SECONDS,
    Outcome,
    answer_in_time,
    arrived,
    small_upload,
)
from campaigns.content_checks import plain_characters
from campaigns.errors import InputError, TextcastError
from campaigns.media_files import FIELD as UPLOADS_FIELD
from campaigns.media_files import MAX_MEDIA_BYTES, MediaUpload, checked_upload
from campaigns.offload import off_loop
from campaigns.recipients import ImportReport, parse_recipients
from campaigns.schedule import check_send_time
from campaigns.send_hours import ANY, parse_send_hours
from campaigns.service import (
    NOW,
    CampaignChanges,
    NewCampaign,
    create_campaign,
    edit_own_draft,
    get_campaign,
    get_template,
    group_recipients,
    list_contact_groups,
    list_templates,
    preview_campaign,
)
from campaigns.service.revision import draft_of
from campaigns.settings import Settings
from campaigns.text import text_problem

log = logging.getLogger(__name__)
SAMPLES = 5


def register(app: AsyncApp, runtime: Runtime) -> None:
    app.view(COMPOSE)(_submitted(runtime))
    app.action(BACK_TO_EDIT)(_back_to_edit(runtime))
    app.action(PLAIN_CHARACTERS)(_plain_characters(runtime))
    app.action(PICK_TEMPLATE)(_template_picked(runtime))
    app.options(SENDER)(_sender_options(runtime))
    app.options(PICK_TEMPLATE)(_library_options(runtime, templates=True))
    app.options(GROUP)(_library_options(runtime, templates=False))


# -- opening the modal


def sender_options(settings: Settings, query: str = "") -> list[SenderOption]:
    options = [SenderOption(phone, phone) for phone in settings.sender_phones]
    if len(options) > 1:
        options.insert(0, SenderOption(ALL_NUMBERS, f"All {len(options)} numbers (shared)"))
    if settings.TWILIO_MESSAGING_SERVICE_SID:
        options.append(SenderOption(settings.TWILIO_MESSAGING_SERVICE_SID, "Messaging Service"))
    if query:
        options = [o for o in options if query.lower() in o.label.lower()]
    return options


async def open_compose(
    runtime: Runtime, client: AsyncWebClient, trigger_id: str, channel: str | None, user_id: str
) -> None:
    """Open the empty modal; `channel` is where the campaign will report. Someone who may not
    send is told so at once, with whom to ask, not after filling the form in."""
    if not await is_allowed(runtime, client, user_id):
        notice = notice_view("New campaign", not_allowed(runtime.settings))
        await client.views_open(trigger_id=trigger_id, view=notice)
        return
    zone = await user_zone(client, user_id)
    metadata = Metadata(channel=channel or runtime.settings.SLACK_NOTIFY_CHANNEL,
                        extra={ZONE: zone})  # fmt: skip
    view = await form_view(runtime, metadata)
    await client.views_open(trigger_id=trigger_id, view=view)


async def user_zone(client: AsyncWebClient, user_id: str) -> str:
    """The person's time zone from their Slack profile (users.info), UTC if Slack says none."""
    try:
        found = await client.users_info(user=user_id)
    except SlackApiError as error:
        log.info("no time zone for %s (%s): UTC", user_id, error.response.get("error"))
        return "UTC"
    zone = str((found.get("user") or {}).get("tz") or "UTC")
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return "UTC"
    return zone


async def _template_choices(runtime: Runtime) -> list[Choice]:
    return [Choice(str(t.id), t.name) for t in await list_templates(runtime.ctx)]


async def _group_choices(runtime: Runtime) -> list[Choice]:
    return [Choice(str(g.id), f"{g.name} ({g.members:,})")
            for g in await list_contact_groups(runtime.ctx)]  # fmt: skip


def _library_options(runtime: Runtime, *, templates: bool):  # type: ignore[no-untyped-def]
    """Options for the template and group menus once there are more than Slack's 100."""

    async def listener(ack: AsyncAck, body: dict[str, Any]) -> None:
        choices = await (_template_choices(runtime) if templates else _group_choices(runtime))
        await ack(options=matching(choices, str(body.get("value") or "")))

    return listener


async def form_view(
    runtime: Runtime, metadata: Metadata, draft: Draft | None = None
) -> dict[str, Any]:
    """The compose modal with this install's senders, saved templates and contact groups."""
    templates, groups = await _template_choices(runtime), await _group_choices(runtime)
    settings = runtime.settings
    return compose_view(sender_options(settings), metadata, draft, templates=templates,
                        groups=groups, mms=mms_hint(settings), uploads=upload_hint(settings),
                        default_hours=settings.SEND_HOURS)  # fmt: skip


def _sender_options(runtime: Runtime):  # type: ignore[no-untyped-def]
    async def listener(ack: AsyncAck, body: dict[str, Any]) -> None:
        found = sender_options(runtime.settings, str(body.get("value") or ""))[:100]
        await ack(options=[{"text": {"type": "plain_text", "text": o.label}, "value": o.value}
                           for o in found])  # fmt: skip

    return listener


# -- what was submitted


@dataclass(frozen=True, slots=True)
class Submitted:
    name: str
    sender: str | None
    paste: str
    files: list[dict[str, Any]]
    message: str
    schedule: bool
    send_at: datetime | None
    consent: bool
    channel: str | None = None  # where it reports, when picked in the form
    group: str | None = None  # a saved contact group as the list
    time_missing: bool = False  # a date was picked without a time
    media: str = ""  # media URLs (MMS) as typed, one a line
    send_hours: str = ""  # as typed; empty: SEND_HOURS
    pictures: tuple[dict[str, Any], ...] = ()  # uploaded pictures (MMS), as Slack shares them

    def as_draft(
        self, error: str | None = None, kept: int = 0, message: str | None = None
    ) -> Draft:
        return Draft(name=self.name, sender=self.sender, paste=self.paste,
                     message=self.message if message is None else message,
                     send_at=self.send_at if self.schedule else None, consent=self.consent,
                     kept_recipients=kept, error=error, group=self.group,
                     media=self.media, send_hours=self.send_hours)  # fmt: skip


def read_submission(values: dict[str, dict[str, dict[str, Any]]], zone: str = "UTC") -> Submitted:
    """What the form holds; the date and time are read on the wall clock of `zone`."""

    def entry(block: str) -> dict[str, Any]:
        return values.get(block, {}).get(block, {})

    def text(block: str) -> str:
        return str(entry(block).get("value") or "").strip()

    def picked(block: str) -> str | None:
        option = entry(block).get("selected_option") or {}
        return option.get("value")

    day, clock = entry(SEND_AT).get("selected_date"), entry(SEND_TIME).get("selected_time")
    send_at = _instant(day, clock, zone) if day and clock else None
    return Submitted(
        name=text(NAME),
        sender=picked(SENDER),
        paste=text(PASTE),
        files=list(entry(FILE).get("files") or []),
        message=str(entry(MESSAGE).get("value") or ""),
        schedule=picked(WHEN) == SCHEDULE,
        send_at=send_at,
        consent=bool(entry(CONSENT).get("selected_options")),
        channel=entry(CHANNEL).get("selected_conversation") or None,
        group=picked(GROUP),
        time_missing=bool(day) and not clock,
        media=str(entry(MEDIA).get("value") or ""),
        send_hours=text(HOURS),
        pictures=tuple(entry(PICTURES).get("files") or ()),
    )


def _instant(day: str, clock: str, zone: str) -> datetime | None:
    """The UTC instant of `day` at `clock` in `zone`. A wall-clock time that a daylight-saving
    change skips or repeats is taken as zoneinfo takes it (the earlier of a repeated hour)."""
    try:
        local = datetime.fromisoformat(f"{day}T{clock}")
        tz = ZoneInfo(zone)
    except (ValueError, ZoneInfoNotFoundError):
        return None
    return local.replace(tzinfo=tz).astimezone(UTC)


def cheap_errors(form: Submitted, now: datetime, *, kept: int) -> dict[str, str]:
    """What can be said within Slack's 3 seconds, by block id."""
    errors: dict[str, str] = {}
    for block, value in ((NAME, form.name), (MESSAGE, form.message), (PASTE, form.paste)):
        problem = text_problem(value)
        if problem:
            errors[block] = f"This {problem}: remove it."
    if not form.message.strip():
        errors[MESSAGE] = "Write the message to send."
    sources = sum(bool(x) for x in (form.paste, form.files, form.group))
    if not sources and not kept:
        errors[PASTE] = "Paste the numbers to text, or upload a CSV file or pick a group below."
    if sources > 1:
        errors[FILE] = "Use one: the pasted numbers, the file or the group, not several."
    if form.schedule and form.time_missing:
        errors[SEND_TIME] = "Pick the time to send."
    elif form.schedule and form.send_at is None:
        errors[SEND_AT] = "Pick when to send (a date and a time), or choose Send now."
    elif form.schedule:
        try:
            check_send_time(form.send_at, now)
        except InputError as error:
            errors[SEND_AT] = error.message
    if form.send_hours:
        try:
            parse_send_hours(form.send_hours)
        except ValueError as error:
            errors[HOURS] = str(error)
    if not form.consent:
        errors[CONSENT] = "Confirm that everyone on the list agreed to receive texts from you."
    return errors


# -- the submission


def _submitted(runtime: Runtime):  # type: ignore[no-untyped-def]
    async def listener(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
    ) -> None:
        view = body["view"]
        user_id = body["user"]["id"]
        metadata = Metadata.load(view.get("private_metadata"))
        form = read_submission(view["state"]["values"], metadata.extra.get(ZONE) or "UTC")
        if form.channel:  # picked in the form: it wins over where /sms new was typed
            metadata = Metadata(channel=form.channel, draft=metadata.draft, extra=metadata.extra)
        kept = await _kept_recipients(runtime, metadata.draft)
        errors = cheap_errors(form, runtime.ctx.now(), kept=kept)
        errors.update(media_errors(runtime.settings, form.sender, form.media, list(form.pictures)))
        if not errors:
            try:
                await require_permission(runtime, client, user_id)
            except NotAllowed as refused:
                errors[NAME] = refused.message
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        work = spawn(_next_view(runtime, client, user_id, metadata, form, kept),
                     f"preview for {user_id}")  # fmt: skip
        # A pasted list or a small file is checked in well under a second: the preview is the
        # answer itself. A large one (or a slow database) gets the checking view at once, and
        # the preview replaces it when ready.
        await answer_in_time(
            ack, client, view["id"], work,
            budget=INLINE_SECONDS if _small(form) else 0.0, since=arrived(context),
            waiting=checking_view(metadata, f"Checking {_size(form)}…"),
            failed=notice_view("Something went wrong", SOMETHING_WENT_WRONG, metadata),
        )  # fmt: skip

    return listener


def _small(form: Submitted) -> bool:
    """Whether the downloads are small enough to answer with the outcome itself."""
    pictures = sum(int(p.get("size") or 0) for p in form.pictures)
    return small_upload(form.files) and pictures <= INLINE_BYTES


def _size(form: Submitted) -> str:
    if not form.files:
        return "the numbers and pictures" if form.pictures else "the numbers"
    size = int(form.files[0].get("size") or 0)
    return f"the file ({size / 1e6:.1f} MB)" if size >= 100_000 else "the file"


async def _kept_recipients(runtime: Runtime, draft_id: str | None) -> int:
    if not draft_id:
        return 0
    try:
        detail = await get_campaign(runtime.ctx, draft_id, recipients_limit=1)
    except TextcastError:
        return 0
    return detail.view.counts.total


async def _next_view(
    runtime: Runtime,
    client: AsyncWebClient,
    user_id: str,
    metadata: Metadata,
    form: Submitted,
    kept: int,
) -> Outcome:
    """The preview of the stored draft, or the form again with what to fix."""
    try:
        draft_id = await _store_draft(runtime, client, user_id, metadata, form)
        preview = await preview_campaign(runtime.ctx, draft_id, samples=SAMPLES)
        kept = Metadata(channel=metadata.channel, draft=draft_id, extra=metadata.extra)
        return Outcome(preview_view(preview, kept))
    except TextcastError as error:
        # Shown under its field when it comes in time (the form keeps the files then).
        inline = INLINE_BLOCKS.get(error.field or "")
        errors = {inline: error.message} if inline else {}
        again = (" Upload the files again: Slack sends them only once."
                 if form.files or form.pictures else "")  # fmt: skip
        draft = form.as_draft(error=error.message + again, kept=kept)
        return Outcome(await form_view(runtime, metadata, draft), errors)


# A problem the service finds in one of these fields is shown under it.
INLINE_BLOCKS = {UPLOADS_FIELD: PICTURES, "media_urls": MEDIA}


SOMETHING_WENT_WRONG = (
    "Textcast could not check this list: nothing was sent or stored. Try again in a moment; if "
    "it happens again, the web process's log says why."
)


async def _store_draft(
    runtime: Runtime,
    client: AsyncWebClient,
    user_id: str,
    metadata: Metadata,
    form: Submitted,
) -> str:
    """The draft campaign, created or (after Back to edit) changed; returns its id."""
    settings = runtime.settings
    uploads = await _pictures(client, form)
    recipients = await _recipients(runtime, client, form)
    senders = [form.sender] if form.sender else None
    send_at = form.send_at if form.schedule else None
    actor = f"slack:{user_id}"
    if metadata.draft:
        changes = CampaignChanges(
            name=form.name, message_template=form.message, recipients=recipients,
            from_numbers=senders, send_at=send_at or NOW, media_urls=media_lines(form.media),
            send_hours=_own_hours(form.send_hours, settings) or "", uploads=uploads,
        )  # fmt: skip
        view = await edit_own_draft(runtime.ctx, metadata.draft, changes, actor)
        return view.campaign.id
    view = await create_campaign(
        runtime.ctx,
        NewCampaign(
            name=form.name, message_template=form.message, recipients=recipients,
            from_numbers=senders, send_at=send_at, source="slack",
            consent_confirmed=form.consent, channel_id=metadata.channel,
            region=settings.DEFAULT_REGION, media_urls=media_lines(form.media),
            send_hours=_own_hours(form.send_hours, settings), uploads=uploads,
        ),
        actor,
        launch=False,
    )  # fmt: skip
    return view.campaign.id


def _own_hours(typed: str, settings: Settings) -> str | None:
    """The campaign's own sending hours, or None when they are SEND_HOURS as shown (a later
    change of the setting then applies to it too)."""
    if not typed:
        return None
    hours = parse_send_hours(typed)  # checked with the form's other fields already
    shown = str(hours) if hours is not None else ANY
    return None if shown == settings.SEND_HOURS else shown


async def _recipients(
    runtime: Runtime, client: AsyncWebClient, form: Submitted
) -> ImportReport | None:
    """The list as read (None: keep the draft's), parsed in the CPU pool."""
    region, destinations = runtime.settings.DEFAULT_REGION, runtime.settings.destinations
    if form.files:
        data = await download(client, form.files[0])
        return await off_loop(parse_recipients, data, region, destinations)
    if form.paste:
        return await off_loop(parse_recipients, form.paste, region, destinations)
    if form.group:
        return await group_recipients(runtime.ctx, form.group)
    return None


async def _pictures(client: AsyncWebClient, form: Submitted) -> list[MediaUpload]:
    """The uploaded pictures, downloaded side by side and checked by their bytes."""
    if not form.pictures:
        return []
    datas = await asyncio.gather(*(_download_picture(client, p) for p in form.pictures))
    return [checked_upload(str(p.get("name") or "the picture"), data)
            for p, data in zip(form.pictures, datas, strict=True)]  # fmt: skip


async def _download_picture(client: AsyncWebClient, file: dict[str, Any]) -> bytes:
    name = str(file.get("name") or "A picture")
    too_large = InputError(
        f"{name} is over 5 MB; Twilio takes 5 MB of pictures in all for one message: make it "
        "smaller.",
        field=UPLOADS_FIELD,
    )
    return await download(client, file, limit=MAX_MEDIA_BYTES, too_large=too_large)


# -- back to edit


def _back_to_edit(runtime: Runtime):  # type: ignore[no-untyped-def]
    async def listener(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        view = body["view"]
        metadata = Metadata.load(view.get("private_metadata"))
        if not metadata.draft:
            return
        await client.views_update(
            view_id=view["id"], hash=view["hash"],
            view=await draft_form(runtime, metadata),
        )  # fmt: skip

    return listener


def _plain_characters(runtime: Runtime):  # type: ignore[no-untyped-def]
    """Replace with plain characters: the draft's message without the look-alikes that made it
    Unicode, and the preview again, saying how many segments that saved."""

    async def listener(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        view = body["view"]
        metadata = Metadata.load(view.get("private_metadata"))
        if not metadata.draft:
            return
        actor = f"slack:{body['user']['id']}"
        try:
            before = await preview_campaign(runtime.ctx, metadata.draft, samples=SAMPLES)
            replaced = plain_characters(before.view.campaign.message_template)
            changes = CampaignChanges(message_template=replaced)
            await edit_own_draft(runtime.ctx, metadata.draft, changes, actor)
            after = await preview_campaign(runtime.ctx, metadata.draft, samples=SAMPLES)
        except TextcastError as error:
            shown = notice_view("Not changed", error.message, metadata)
        else:
            was, now = before.stats.total_segments, after.stats.total_segments
            note = (f"Replaced with plain characters: {now:,} texts instead of {was:,} "
                    f"({was - now:,} fewer).")  # fmt: skip
            shown = preview_view(after, metadata, notice=note)
        await client.views_update(view_id=view["id"], hash=view["hash"], view=shown)

    return listener


async def draft_form(runtime: Runtime, metadata: Metadata) -> dict[str, Any]:
    """The compose modal filled in from the draft `metadata` names, its recipients kept."""
    detail = await get_campaign(runtime.ctx, metadata.draft or "", recipients_limit=1)
    campaign = detail.view.campaign
    sender = campaign.from_numbers[0] if len(campaign.from_numbers) == 1 else ALL_NUMBERS
    if campaign.sender_mode == "service":
        sender = runtime.settings.TWILIO_MESSAGING_SERVICE_SID
    draft = Draft(
        name=campaign.name, sender=sender, message=campaign.message_template,
        send_at=campaign.scheduled_at,
        consent=campaign.consent_confirmed_by is not None or EDITING in metadata.extra,
        kept_recipients=detail.view.counts.total, media="\n".join(campaign.media_urls or ()),
        send_hours=campaign.send_hours or "",
    )  # fmt: skip
    return await form_view(runtime, metadata, draft)


# -- a saved template picked: the message is filled in, everything else stays as typed


def _template_picked(runtime: Runtime):  # type: ignore[no-untyped-def]
    async def listener(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        view = body["view"]
        metadata = Metadata.load(view.get("private_metadata"))
        chosen = (body["actions"][0].get("selected_option") or {}).get("value")
        if not chosen:
            return
        template = await get_template(runtime.ctx, chosen)
        form = read_submission(view["state"]["values"], metadata.extra.get(ZONE) or "UTC")
        kept = await _kept_recipients(runtime, metadata.draft)
        draft = form.as_draft(kept=kept, message=template.body)
        await client.views_update(view_id=view["id"], hash=view["hash"],
                                  view=await form_view(runtime, metadata, draft))  # fmt: skip

    return listener


# -- editing a scheduled campaign: on a draft copy, applied at Confirm (bot/slack/confirm.py)

EDITING, BASED_ON = "e", "v"  # private_metadata: the campaign being edited, and its version


async def open_edit(
    runtime: Runtime, client: AsyncWebClient, trigger_id: str, campaign_id: str, user_id: str
) -> None:
    await require_permission(runtime, client, user_id)
    draft, version = await draft_of(runtime.ctx, campaign_id, f"slack:{user_id}")
    zone = await user_zone(client, user_id)
    metadata = Metadata(channel=draft.campaign.channel_id, draft=draft.campaign.id,
                        extra={EDITING: campaign_id, BASED_ON: str(version), ZONE: zone})  # fmt: skip
    await client.views_open(trigger_id=trigger_id, view=await draft_form(runtime, metadata))
