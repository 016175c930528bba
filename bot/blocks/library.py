"""Saved templates and contact groups in Slack: the `/sms templates` and `/sms contacts` lists,
the modals that save a template and import contacts, and what they answer.

Pure functions of what they show. Block and action ids are stable: `bot.slack.library` listens
for the actions and reads submissions by them, and inline `errors` are keyed by block id. Every
button's `value` is the id of the template or group it acts on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.blocks.compose import MAX_PASTE, Metadata, plain
from bot.blocks.text import clip, context, escape, message, plural, section
from campaigns.models import MessageTemplate
from campaigns.recipients import ImportReport
from campaigns.service import ContactImport, GroupSummary, SavedTemplate
from campaigns.service.library import MAX_CONSENT_SOURCE, MAX_GROUP_NAME, MAX_TEMPLATE_NAME

# Buttons in the lists.
TEMPLATE_NEW, TEMPLATE_DELETE = "library_template_new", "library_template_delete"
CONTACTS_IMPORT, GROUP_DELETE = "library_contacts_import", "library_group_delete"
# Modals (callback ids) and their inputs (block id = action id).
TEMPLATE_FORM, IMPORT_FORM, WORKING = "library_template", "library_import", "library_working"
TEMPLATE_NAME, TEMPLATE_BODY = "template_name", "template_body"
GROUP_NAME, CONTACTS_PASTE, CONTACTS_FILE, CONSENT_SOURCE = (
    "group_name", "contacts_paste", "contacts_file", "consent_source",
)  # fmt: skip

TEMPLATE_TITLE, IMPORT_TITLE = "Save a template", "Import contacts"
MAX_BODY = 3000  # Slack's limit for a plain_text_input, and the service's for a template
# A message holds 50 blocks: a heading, the buttons and a closing line leave 46 for items.
LISTED = 45
FIRST_LINE = 150


# -- the lists


def templates_message(
    templates: Sequence[MessageTemplate], notice: str | None = None
) -> dict[str, Any]:
    """What `/sms templates` shows the person: each template with a Delete button."""
    blocks = _notice(notice)
    if templates:
        blocks.append(section(f"*Saved templates* ({len(templates):,})"))
    else:
        blocks.append(section("*No saved templates yet.* Save one to start campaigns from it."))
    blocks.append(_buttons(_button(TEMPLATE_TITLE, TEMPLATE_NEW, "new", style="primary")))
    blocks += [_template(t) for t in templates[:LISTED]]
    blocks += _more(len(templates), "template")
    fallback = f"{plural(len(templates), 'saved template')}"
    return message(f"{notice} {fallback}" if notice else fallback, blocks)


def _template(template: MessageTemplate) -> dict[str, Any]:
    first = next((line for line in template.body.splitlines() if line.strip()), "")
    block = section(f"*{escape(template.name)}*\n{escape(clip(first.strip(), FIRST_LINE))}")
    block["accessory"] = _button(
        "Delete", TEMPLATE_DELETE, str(template.id), style="danger",
        confirm=_confirm("Delete this template?",
                         f"“{template.name}” will no longer be offered. Campaigns made from it "
                         "keep their message.", "Delete it"),
    )  # fmt: skip
    return block


def contacts_message(groups: Sequence[GroupSummary], notice: str | None = None) -> dict[str, Any]:
    """What `/sms contacts` shows the person: each group and its size, with a Delete button."""
    blocks = _notice(notice)
    if groups:
        blocks.append(section(f"*Contact groups* ({len(groups):,})"))
    else:
        blocks.append(section("*No contact groups yet.* Import a list of people who agreed to be "
                              "texted, with where they agreed."))  # fmt: skip
    blocks.append(_buttons(_button(IMPORT_TITLE, CONTACTS_IMPORT, "import", style="primary")))
    blocks += [_group(g) for g in groups[:LISTED]]
    blocks += _more(len(groups), "group")
    fallback = f"{plural(len(groups), 'contact group')}"
    return message(f"{notice} {fallback}" if notice else fallback, blocks)


def _group(group: GroupSummary) -> dict[str, Any]:
    block = section(f"*{escape(group.name)}*\n{plural(group.members, 'contact')}")
    block["accessory"] = _button(
        "Delete", GROUP_DELETE, str(group.id), style="danger",
        confirm=_confirm("Delete this group?",
                         f"“{group.name}” goes; its {plural(group.members, 'contact')} stay, with "
                         "their consent records, in any other group.", "Delete it"),
    )  # fmt: skip
    return block


def _notice(notice: str | None) -> list[dict[str, Any]]:
    return [section(notice)] if notice else []


def _more(count: int, what: str) -> list[dict[str, Any]]:
    if count <= LISTED:
        return []
    return [context(f"…and {plural(count - LISTED, 'more ' + what)}, not shown here (by name).")]


def _buttons(*buttons: dict[str, Any]) -> dict[str, Any]:
    return {"type": "actions", "elements": list(buttons)}


def _button(
    text: str, action_id: str, value: str, *, style: str | None = None,
    confirm: dict[str, Any] | None = None,
) -> dict[str, Any]:  # fmt: skip
    button: dict[str, Any] = {"type": "button", "action_id": action_id, "text": plain(text),
                              "value": value}  # fmt: skip
    if style:
        button["style"] = style
    if confirm:
        button["confirm"] = confirm
    return button


def _confirm(title: str, text: str, yes: str) -> dict[str, Any]:
    """Slack's own "are you sure?" before a button acts: a deletion cannot be undone."""
    return {
        "title": plain(title, 100),
        "text": plain(text, 300),
        "confirm": plain(yes, 30),
        "deny": plain("Keep it", 30),
        "style": "danger",
    }


# -- the modals


def template_form_view(
    metadata: Metadata, *, name: str = "", body: str = "", error: str | None = None
) -> dict[str, Any]:
    """Save a template: a name and the message, `{{placeholders}}` and all."""
    blocks = [
        *_problem(error),
        _input(TEMPLATE_NAME, "Name", _text(TEMPLATE_NAME, name, limit=MAX_TEMPLATE_NAME,
                                            placeholder="Monthly offer")),
        _input(TEMPLATE_BODY, "Message",
               _text(TEMPLATE_BODY, body, limit=MAX_BODY, multiline=True,
                     placeholder="Hi {{first_name}}, … Reply STOP to opt out"),
               hint="{{column}} is replaced by each recipient's value from that column. Saving "
                    "a name that exists replaces its message."),
    ]  # fmt: skip
    return _modal(TEMPLATE_FORM, TEMPLATE_TITLE, "Save", metadata, blocks)


def import_form_view(
    metadata: Metadata,
    *,
    group: str = "",
    paste: str = "",
    consent: str = "",
    error: str | None = None,
) -> dict[str, Any]:
    """Import contacts into a group: the list (a CSV or pasted numbers) and where they agreed."""
    blocks = [
        *_problem(error),
        _input(GROUP_NAME, "Group", _text(GROUP_NAME, group, limit=MAX_GROUP_NAME,
                                          placeholder="Newsletter sign-ups"),
               hint="A new name makes a group; an existing one adds to it."),
        _input(CONTACTS_FILE, "Upload a CSV file",
               {"type": "file_input", "action_id": CONTACTS_FILE, "filetypes": ["csv", "txt"],
                "max_files": 1},
               optional=True,
               hint="One column of phone numbers; the other columns become {{placeholders}}."),
        _input(CONTACTS_PASTE, "…or paste numbers",
               _text(CONTACTS_PASTE, paste, limit=MAX_PASTE, multiline=True,
                     placeholder="+447700900001, +447700900002 …"),
               optional=True),
        _input(CONSENT_SOURCE, "Where they agreed to be texted",
               _text(CONSENT_SOURCE, consent, limit=MAX_CONSENT_SOURCE,
                     placeholder="Sign-up form at reception"),
               hint="Kept with each new contact, with you and today's date. People already "
                    "imported keep the record of when they first agreed."),
    ]  # fmt: skip
    return _modal(IMPORT_FORM, IMPORT_TITLE, "Import", metadata, blocks)


def working_view(title: str, what: str, metadata: Metadata) -> dict[str, Any]:
    """Shown at once while a large list is read; replaced by the outcome when it is ready."""
    blocks = [
        section(f":hourglass_flowing_sand: {escape(what)}"),
        context("This takes a few seconds for a large list. Closing this stops nothing."),
    ]
    return _modal(WORKING, title, None, metadata, blocks)


def _modal(
    callback_id: str, title: str, submit: str | None, metadata: Metadata, blocks: list[dict]
) -> dict[str, Any]:
    view: dict[str, Any] = {
        "type": "modal",
        "callback_id": callback_id,
        "title": plain(title, 24),
        "close": plain("Cancel" if submit else "Close", 24),
        "private_metadata": metadata.dump(),
        "blocks": blocks,
    }
    if submit:
        view["submit"] = plain(submit, 24)
    return view


def _problem(error: str | None) -> list[dict[str, Any]]:
    return [section(f":warning: {escape(error)}")] if error else []


def _input(
    block_id: str, label: str, element: dict[str, Any], *, optional: bool = False,
    hint: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    block: dict[str, Any] = {"type": "input", "block_id": block_id, "label": plain(label, 2000),
                             "element": element, "optional": optional}  # fmt: skip
    if hint:
        block["hint"] = plain(hint, 2000)
    return block


def _text(
    action_id: str, initial: str, *, limit: int, multiline: bool = False, placeholder: str = ""
) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": action_id,
                               "multiline": multiline, "max_length": limit}  # fmt: skip
    if initial:
        element["initial_value"] = initial[:limit]
    if placeholder:
        element["placeholder"] = plain(placeholder, 150)
    return element


# -- what they answer


def saved_text(saved: SavedTemplate) -> str:
    name = f"*{escape(saved.template.name)}*"
    lines = [f"Replaced the message of {name}." if saved.replaced else f"Saved {name}."]
    lines += [f":warning: {escape(w)}" for w in saved.warnings]
    lines.append("`/sms templates` lists it.")
    return "\n".join(lines)


def imported_text(result: ContactImport, report: ImportReport) -> str:
    group = f"*{escape(result.group.name)}*"
    made = "the new group" if result.group_created else "the group"
    lines = [
        f"Imported into {made} {group}, which now has {plural(result.group.members, 'contact')}.",
        f"• {plural(result.added, 'new contact')}, with this consent record",
    ]
    if result.already_there:
        lines.append(f"• {plural(result.already_there, 'contact')} already known, keeping the "
                     "consent record from when they were first imported (their columns updated)")  # fmt: skip
    if result.joined != len(report.recipients):
        lines.append(f"• {plural(len(report.recipients) - result.joined, 'number')} already "
                     "in this group")  # fmt: skip
    if report.invalid:
        first = report.invalid[0]
        lines.append(f"• {plural(len(report.invalid), 'row')} left out (row {first.row}: "
                     f"{escape(first.reason)})")  # fmt: skip
    if report.duplicates:
        lines.append(f"• {plural(report.duplicates, 'duplicate')} dropped")
    if result.opted_out:
        lines.append(f"• {plural(result.opted_out, 'number')} opted out of texts: kept, and "
                     "campaigns will not text them")  # fmt: skip
    lines += [f":warning: {escape(w)}" for w in report.warnings]
    return "\n".join(lines)
