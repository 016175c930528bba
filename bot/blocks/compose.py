"""The "New SMS campaign" modal, the view shown while it is checked, and the one for a problem.

Pure functions of what they show. Block and action ids are stable: the submission listener
(`bot.slack.compose`) reads the values by them, and `errors` are keyed by block id.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.blocks.text import clip, context, escape, plural, section

COMPOSE = "sms_compose"  # callback_id of the modal
CHECKING = "sms_checking"

NAME, SENDER, PASTE, FILE, MESSAGE, WHEN, SEND_AT, CONSENT, CHANNEL = (
    "name", "sender", "paste", "file", "message", "when", "send_at", "consent", "channel",
)  # fmt: skip
GROUP, PICK_TEMPLATE, SEND_TIME, MEDIA = "group", "pick_template", "send_time", "media"
PICTURES = "pictures"  # the image file_input (MMS uploads)
MAX_PICTURES = 10  # Twilio's limit of media for one message, and Slack's for a file_input
HOURS = "send_hours"
ZONE = "z"  # private_metadata: the person's time zone, from users.info
SEND_NOW, SCHEDULE = "now", "schedule"
ALL_NUMBERS, SERVICE = "all", "service"
MAX_STATIC_OPTIONS = 100  # Slack's limit for a static_select; beyond it, an external_select
MAX_PASTE = 3000  # Slack's limit for a plain_text_input
TITLE = "New SMS campaign"


@dataclass(frozen=True, slots=True)
class SenderOption:
    value: str  # a +E.164 number, "all" or "service"
    label: str


@dataclass(frozen=True, slots=True)
class Choice:
    """A saved template or contact group the form offers: its id and what the person sees."""

    value: str
    label: str


@dataclass(frozen=True, slots=True)
class Draft:
    """What the modal is filled in with: empty for a new campaign, a draft's values to edit it."""

    name: str = ""
    sender: str | None = None
    paste: str = ""
    message: str = ""
    send_at: datetime | None = None
    consent: bool = False
    kept_recipients: int = 0  # recipients already checked: the list inputs may stay empty
    group: str | None = None  # a contact group picked as the list
    media: str = ""  # media URLs (MMS), one a line
    send_hours: str = ""  # the campaign's own sending hours; empty: SEND_HOURS
    error: str | None = None  # why the last try did not go through, shown at the top


@dataclass(frozen=True, slots=True)
class Metadata:
    """All a view carries between steps: the channel to report in and the draft's id (never the
    data: private_metadata holds 3,000 characters)."""

    channel: str | None = None
    draft: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def dump(self) -> str:
        data = {"c": self.channel, "d": self.draft, **self.extra}
        return json.dumps({k: v for k, v in data.items() if v is not None}, separators=(",", ":"))

    @classmethod
    def load(cls, text: str | None) -> Metadata:
        try:
            data = json.loads(text or "{}")
        except ValueError:
            data = {}
        if not isinstance(data, dict):
            data = {}
        extra = {k: str(v) for k, v in data.items() if k not in ("c", "d")}
        return cls(channel=data.get("c"), draft=data.get("d"), extra=extra)


def plain(text: str, limit: int = 75) -> dict[str, Any]:
    return {"type": "plain_text", "text": clip(text, limit), "emoji": True}


def _option(sender: SenderOption) -> dict[str, Any]:
    return {"text": plain(sender.label), "value": sender.value}


def _sender_element(options: list[SenderOption], chosen: str | None) -> dict[str, Any]:
    if len(options) > MAX_STATIC_OPTIONS:
        element: dict[str, Any] = {
            "type": "external_select",
            "action_id": SENDER,
            "min_query_length": 0,
            "placeholder": plain("Type to find a number"),
        }
        picked = next((o for o in options if o.value == chosen), None)
    else:
        element = {
            "type": "static_select",
            "action_id": SENDER,
            "options": [_option(o) for o in options],
            "placeholder": plain("Choose a number"),
        }
        picked = next((o for o in options if o.value == chosen), options[0] if options else None)
    if picked is not None:
        element["initial_option"] = _option(picked)
    return element


def _input(
    block_id: str, label: str, element: dict[str, Any], *, optional: bool = False,
    hint: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    block: dict[str, Any] = {
        "type": "input",
        "block_id": block_id,
        "label": plain(label, 2000),
        "element": element,
        "optional": optional,
    }
    if hint:
        block["hint"] = plain(hint, 2000)
    return block


def _text_input(action_id: str, initial: str, *, multiline: bool, limit: int) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": action_id,
        "multiline": multiline,
        "max_length": limit,
    }
    if initial:
        element["initial_value"] = initial[:limit]
    return element


def compose_view(
    senders: list[SenderOption],
    metadata: Metadata,
    draft: Draft | None = None,
    *,
    templates: list[Choice] | None = None,
    groups: list[Choice] | None = None,
    mms: str | None = None,
    uploads: str | None = None,
    default_hours: str = "08:00-21:00",
) -> dict[str, Any]:
    """The modal `/sms new`, the shortcut and "Back to edit" open. With saved `templates`, a
    picker above the message fills it in; with contact `groups`, one can be the list. `mms`,
    when pictures can be sent, says from which senders and at what price (the field's hint);
    `uploads`, when pictures can also be uploaded, is the hint of the upload field.
    `default_hours`: SEND_HOURS, the sending hours the field starts with."""
    draft = draft or Draft()
    zone = metadata.extra.get(ZONE) or "UTC"
    blocks: list[dict[str, Any]] = []
    if draft.error:
        blocks.append(section(f":warning: {escape(draft.error)}"))
    blocks += [
        _input(
            NAME,
            "Campaign name",
            {
                **_text_input(NAME, draft.name, multiline=False, limit=200),
                "placeholder": plain("March promotion"),
            },
        ),
        _input(SENDER, "Send from", _sender_element(senders, draft.sender)),
    ]
    keep = (
        f"Leave both empty to keep the {plural(draft.kept_recipients, 'recipient')} already "
        "checked."
        if draft.kept_recipients
        else "Paste numbers or upload a CSV (one column of numbers; other columns become "
        "{{placeholders}})."
    )
    blocks += [
        _input(
            PASTE,
            "Recipients: paste numbers",
            {
                **_text_input(PASTE, draft.paste, multiline=True, limit=MAX_PASTE),
                "placeholder": plain("+447700900001, +447700900002 …"),
            },
            optional=True,
            hint=keep,
        ),
        _input(
            FILE,
            "…or upload a CSV file",
            {"type": "file_input", "action_id": FILE, "filetypes": ["csv", "txt"], "max_files": 1},
            optional=True,
        ),
        *([_group_input(groups, draft.group)] if groups else []),
        *([_template_picker(templates)] if templates else []),
        _input(
            MESSAGE,
            "Message",
            {
                **_text_input(MESSAGE, draft.message, multiline=True, limit=3000),
                "placeholder": plain("Hi {{first_name}}, … Reply STOP to opt out"),
            },
            hint="{{column}} is replaced by each recipient's value from that column.",
        ),
        *([_media_input(draft.media, mms)] if mms else []),
        *([_pictures_input(uploads)] if mms and uploads else []),
        _input(WHEN, "When", _when_element(draft.send_at)),
        _input(
            SEND_AT,
            "Date (for a schedule)",
            _date_element(draft.send_at, zone),
            optional=True,
            hint="15 minutes to 7 days ahead.",
        ),
        _input(
            SEND_TIME,
            f"Time, in your time zone ({zone})",
            _time_element(draft.send_at, zone),
            optional=True,
        ),
        _input(
            HOURS,
            "Sending hours, in each recipient's time zone",
            {
                **_text_input(HOURS, draft.send_hours or default_hours, multiline=False, limit=24),
                "placeholder": plain(default_hours),
            },
            optional=True,
            hint="Messages outside them wait for them. 09:00-20:00, or any.",
        ),
        _input(
            CHANNEL,
            "Report progress in",
            _channel_element(metadata.channel),
            optional=True,
            hint="The progress message and its thread go here.",
        ),
        _input(CONSENT, "Consent", _consent_element(draft.consent)),
    ]
    return {
        "type": "modal",
        "callback_id": COMPOSE,
        "title": plain("Edit campaign" if metadata.extra.get("e") else TITLE, 24),
        "submit": plain("Preview", 24),
        "close": plain("Cancel", 24),
        "private_metadata": metadata.dump(),
        "blocks": blocks,
    }


def _media_input(media: str, hint: str) -> dict[str, Any]:
    return _input(
        MEDIA,
        "Pictures (MMS): links, one a line",
        {
            **_text_input(MEDIA, media, multiline=True, limit=MAX_PASTE),
            "placeholder": plain("https://example.com/offer.jpg"),
        },
        optional=True,
        hint=hint,
    )


def _pictures_input(hint: str) -> dict[str, Any]:
    # `filetypes` is advisory on Slack's side: the bytes are checked once downloaded.
    element = {"type": "file_input", "action_id": PICTURES,
               "filetypes": ["jpg", "jpeg", "png", "gif"], "max_files": MAX_PICTURES}  # fmt: skip
    return _input(PICTURES, "…or upload pictures (MMS)", element, optional=True, hint=hint)


def _choices(choices: list[Choice]) -> list[dict[str, Any]]:
    return [{"text": plain(c.label), "value": c.value} for c in choices[:MAX_STATIC_OPTIONS]]


def _menu(action_id: str, choices: list[Choice], placeholder: str) -> dict[str, Any]:
    """A static_select, or past Slack's 100 options an external_select that asks Textcast."""
    if len(choices) > MAX_STATIC_OPTIONS:
        return {"type": "external_select", "action_id": action_id, "min_query_length": 0,
                "placeholder": plain(placeholder)}  # fmt: skip
    return {"type": "static_select", "action_id": action_id, "options": _choices(choices),
            "placeholder": plain(placeholder)}  # fmt: skip


def _group_input(groups: list[Choice], chosen: str | None) -> dict[str, Any]:
    element = _menu(GROUP, groups, "Choose a group")
    picked = next((g for g in groups if g.value == chosen), None)
    if picked is not None:
        element["initial_option"] = {"text": plain(picked.label), "value": picked.value}
    return _input(GROUP, "…or a saved contact group", element, optional=True)


def _template_picker(templates: list[Choice]) -> dict[str, Any]:
    """Not an input: choosing one fills the message in at once (a block_actions)."""
    return {
        "type": "actions",
        "block_id": PICK_TEMPLATE,
        "elements": [_menu(PICK_TEMPLATE, templates, "Start from a saved template")],
    }


def matching(choices: list[Choice], query: str) -> list[dict[str, Any]]:
    """The options an external_select shows for what the person typed (100 at most)."""
    found = [c for c in choices if query.lower() in c.label.lower()] if query else choices
    return _choices(found)


def _when_element(send_at: datetime | None) -> dict[str, Any]:
    now = {"text": plain("Send now"), "value": SEND_NOW}
    later = {"text": plain("Schedule"), "value": SCHEDULE}
    return {
        "type": "radio_buttons",
        "action_id": WHEN,
        "options": [now, later],
        "initial_option": later if send_at else now,
    }


def local(send_at: datetime, zone: str) -> datetime:
    """`send_at` on the wall clock of `zone` (UTC when the zone is unknown)."""
    try:
        return send_at.astimezone(ZoneInfo(zone))
    except (ZoneInfoNotFoundError, ValueError):
        return send_at.astimezone(UTC)


def _date_element(send_at: datetime | None, zone: str) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "datepicker", "action_id": SEND_AT}
    if send_at is not None:
        element["initial_date"] = local(send_at, zone).strftime("%Y-%m-%d")
    return element


def _time_element(send_at: datetime | None, zone: str) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "timepicker", "action_id": SEND_TIME}
    if send_at is not None:
        element["initial_time"] = local(send_at, zone).strftime("%H:%M")
    return element


def _channel_element(channel: str | None) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "conversations_select",
        "action_id": CHANNEL,
        "filter": {"include": ["public", "private"], "exclude_bot_users": True},
        "placeholder": plain("Choose a channel"),
    }
    if channel and channel[:1] in ("C", "G"):  # a DM cannot be preselected usefully
        element["initial_conversation"] = channel
    return element


CONSENT_TEXT = "Everyone on this list agreed to receive texts from us"


def _consent_element(checked: bool) -> dict[str, Any]:
    option = {"text": plain(CONSENT_TEXT), "value": "yes"}
    element: dict[str, Any] = {"type": "checkboxes", "action_id": CONSENT, "options": [option]}
    if checked:
        element["initial_options"] = [option]
    return element


def checking_view(metadata: Metadata, what: str) -> dict[str, Any]:
    """Shown at once after Preview is pressed, while the list is read and checked."""
    return {
        "type": "modal",
        "callback_id": CHECKING,
        "title": plain(TITLE, 24),
        "close": plain("Close", 24),
        "private_metadata": metadata.dump(),
        "blocks": [
            section(f":hourglass_flowing_sand: {escape(what)}"),
            context("This takes a few seconds for a large list. Closing this stops nothing."),
        ],
    }


def notice_view(title: str, text: str, metadata: Metadata | None = None) -> dict[str, Any]:
    """A modal that only says something (the campaign started, or why it could not)."""
    return {
        "type": "modal",
        "callback_id": "sms_notice",
        "title": plain(title, 24),
        "close": plain("Close", 24),
        "private_metadata": (metadata or Metadata()).dump(),
        "blocks": [section(text)],
    }
