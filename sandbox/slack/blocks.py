"""Block Kit as Slack checks it and as a person reads it.

`problems` finds what Slack would refuse (its limits on lengths and counts, missing fields,
duplicate ids) and words each problem as Slack does in `response_metadata.messages`.
`render` turns blocks into the plain text a person would take away from the message or view:
section text, fields, context, `[Button]`s, headers, dividers.
"""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING, Any

from sandbox.slack.ids import block_id

if TYPE_CHECKING:
    from sandbox.slack.workspace import Workspace

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100

_BLOCK_TYPES = {
    "actions",
    "context",
    "divider",
    "file",
    "header",
    "image",
    "input",
    "markdown",
    "rich_text",
    "section",
    "table",
    "video",
}
_SELECTS = {
    "static_select",
    "external_select",
    "users_select",
    "conversations_select",
    "channels_select",
    "multi_static_select",
    "multi_external_select",
    "multi_users_select",
    "multi_conversations_select",
    "multi_channels_select",
}


# -- checking


class _Checker:
    def __init__(self) -> None:
        self.problems: list[str] = []

    def fail(self, pointer: str, message: str) -> None:
        self.problems.append(f"[ERROR] {message} [json-pointer:{pointer}]")

    def text_object(
        self,
        obj: Any,
        pointer: str,
        *,
        max_length: int,
        plain_only: bool = False,
        required: bool = True,
    ) -> None:
        if obj is None:
            if required:
                self.fail(pointer, "missing required field")
            return
        if not isinstance(obj, dict):
            self.fail(pointer, "must be a text object")
            return
        kind = obj.get("type")
        allowed = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
        if kind not in allowed:
            self.fail(f"{pointer}/type", f"must be one of: {', '.join(allowed)}")
        text = obj.get("text")
        if not isinstance(text, str):
            self.fail(f"{pointer}/text", "missing required field")
        elif not text:
            self.fail(f"{pointer}/text", "must be more than 0 characters")
        elif len(text) > max_length:
            self.fail(f"{pointer}/text", f"must be less than {max_length + 1} characters")

    def confirm(self, dialog: Any, pointer: str) -> None:
        """A confirmation dialog object: every text in it is plain_text (Slack's reference)."""
        if not isinstance(dialog, dict):
            self.fail(pointer, "must be a confirmation dialog object")
            return
        self.text_object(dialog.get("title"), f"{pointer}/title", max_length=100, plain_only=True)
        self.text_object(dialog.get("text"), f"{pointer}/text", max_length=300, plain_only=True)
        for name in ("confirm", "deny"):
            self.text_object(dialog.get(name), f"{pointer}/{name}", max_length=30,
                             plain_only=True, required=False)  # fmt: skip
        if dialog.get("style") not in (None, "primary", "danger"):
            self.fail(f"{pointer}/style", "must be one of: primary, danger")

    def length(self, value: Any, pointer: str, max_length: int) -> None:
        if isinstance(value, str) and len(value) > max_length:
            self.fail(pointer, f"must be less than {max_length + 1} characters")

    def options(self, options: Any, pointer: str) -> None:
        if not isinstance(options, list):
            return
        if len(options) > 100:
            self.fail(pointer, "must provide less than 101 items")
        for i, option in enumerate(options):
            if not isinstance(option, dict):
                self.fail(f"{pointer}/{i}", "must be an option object")
                continue
            self.text_object(option.get("text"), f"{pointer}/{i}/text", max_length=75)
            value = option.get("value")
            if not isinstance(value, str) or not value:
                self.fail(f"{pointer}/{i}/value", "missing required field")
            self.length(value, f"{pointer}/{i}/value", 150)

    def element(self, element: Any, pointer: str, action_ids: set[str]) -> None:
        if not isinstance(element, dict) or not isinstance(element.get("type"), str):
            self.fail(pointer, "must be a valid element")
            return
        kind = element["type"]
        action_id = element.get("action_id")
        if action_id is not None:
            self.length(action_id, f"{pointer}/action_id", 255)
            if action_id in action_ids:
                self.fail(f"{pointer}/action_id", "action_id already exists in this block")
            action_ids.add(action_id)
        if "confirm" in element:
            self.confirm(element["confirm"], f"{pointer}/confirm")
        if kind == "button":
            self.text_object(element.get("text"), f"{pointer}/text", max_length=75, plain_only=True)
            self.length(element.get("value"), f"{pointer}/value", 2000)
            self.length(element.get("url"), f"{pointer}/url", 3000)
            if element.get("style") not in (None, "primary", "danger"):
                self.fail(f"{pointer}/style", "must be one of: primary, danger")
        elif kind in _SELECTS or kind in ("overflow", "checkboxes", "radio_buttons"):
            if "placeholder" in element:
                self.text_object(
                    element["placeholder"],
                    f"{pointer}/placeholder",
                    max_length=150,
                    plain_only=True,
                )
            self.options(element.get("options"), f"{pointer}/options")
            for g, group in enumerate(element.get("option_groups") or []):
                self.options(group.get("options"), f"{pointer}/option_groups/{g}/options")
            if kind in ("static_select", "multi_static_select") and not (
                element.get("options") or element.get("option_groups")
            ):
                self.fail(f"{pointer}/options", "must provide options or option_groups")
        elif kind == "plain_text_input":
            self.length(element.get("initial_value"), f"{pointer}/initial_value", 3000)
            max_length = element.get("max_length")
            if max_length is not None and not (isinstance(max_length, int) and max_length <= 3000):
                self.fail(f"{pointer}/max_length", "must be at most 3000")

    def block(self, block: Any, pointer: str, block_ids: set[str]) -> None:
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            self.fail(pointer, "must be a valid block")
            return
        kind = block["type"]
        if kind not in _BLOCK_TYPES:
            self.fail(f"{pointer}/type", f"unsupported type: {kind}")
            return
        if "block_id" in block:
            self.length(block["block_id"], f"{pointer}/block_id", 255)
            if block["block_id"] in block_ids:
                self.fail(f"{pointer}/block_id", "block_id already exists")
            block_ids.add(block["block_id"])
        action_ids: set[str] = set()
        if kind == "section":
            if "text" not in block and "fields" not in block:
                self.fail(pointer, "must provide text or fields")
            if "text" in block:
                self.text_object(block["text"], f"{pointer}/text", max_length=3000)
            fields = block.get("fields")
            if fields is not None:
                if not isinstance(fields, list) or len(fields) > 10:
                    self.fail(f"{pointer}/fields", "must provide less than 11 items")
                else:
                    for i, item in enumerate(fields):
                        self.text_object(item, f"{pointer}/fields/{i}", max_length=2000)
            if "accessory" in block:
                self.element(block["accessory"], f"{pointer}/accessory", action_ids)
        elif kind == "header":
            self.text_object(block.get("text"), f"{pointer}/text", max_length=150, plain_only=True)
        elif kind in ("actions", "context"):
            limit = 25 if kind == "actions" else 10
            elements = block.get("elements")
            if not isinstance(elements, list) or not elements:
                self.fail(f"{pointer}/elements", "must provide at least 1 item")
            elif len(elements) > limit:
                self.fail(f"{pointer}/elements", f"must provide less than {limit + 1} items")
            else:
                for i, element in enumerate(elements):
                    if kind == "context" and element.get("type") in ("plain_text", "mrkdwn"):
                        self.text_object(element, f"{pointer}/elements/{i}", max_length=3000)
                    elif kind == "actions":
                        self.element(element, f"{pointer}/elements/{i}", action_ids)
        elif kind == "input":
            self.text_object(
                block.get("label"), f"{pointer}/label", max_length=2000, plain_only=True
            )
            if "hint" in block:
                self.text_object(block["hint"], f"{pointer}/hint", max_length=2000, plain_only=True)
            if "element" not in block:
                self.fail(f"{pointer}/element", "missing required field")
            else:
                self.element(block["element"], f"{pointer}/element", action_ids)
        elif kind == "image":
            if not block.get("image_url") and not block.get("slack_file"):
                self.fail(f"{pointer}/image_url", "missing required field")
            if not block.get("alt_text"):
                self.fail(f"{pointer}/alt_text", "missing required field")
        elif kind == "markdown":
            self.length(block.get("text"), f"{pointer}/text", 12000)


def problems(blocks: Any, *, surface: str = "message") -> list[str]:
    """What Slack would refuse in these blocks ([] if nothing); surface: message, modal or home."""
    checker = _Checker()
    if not isinstance(blocks, list):
        checker.fail("/blocks", "must be an array")
        return checker.problems
    limit = MAX_MESSAGE_BLOCKS if surface == "message" else MAX_VIEW_BLOCKS
    if len(blocks) > limit:
        checker.fail("/blocks", f"must provide less than {limit + 1} items")
    block_ids: set[str] = set()
    for i, block in enumerate(blocks):
        checker.block(block, f"/blocks/{i}", block_ids)
    return checker.problems


def with_block_ids(blocks: list[dict], seed: str) -> list[dict]:
    """The blocks as Slack stores them: every block has a block_id (Slack makes one up if absent)."""
    out = []
    for i, block in enumerate(blocks):
        if isinstance(block, dict) and "block_id" not in block:
            block = {**block, "block_id": block_id(f"{seed}:{i}:{block.get('type')}")}
        out.append(block)
    return out


# -- rendering

_LINK = re.compile(r"<([^<>|]+)(?:\|([^<>]*))?>")


def mrkdwn(text: str, workspace: Workspace | None = None) -> str:
    """Slack's markup as a reader sees it: mentions by name, links by label, entities decoded."""

    def replace(match: re.Match[str]) -> str:
        target, label = match.group(1), match.group(2)
        if target.startswith("@"):
            user_id = target[1:]
            if label:
                return f"@{label}"
            return "@" + (workspace.display_name(user_id) if workspace else user_id)
        if target.startswith("#"):
            channel_id = target[1:]
            if label:
                return f"#{label}"
            if workspace and channel_id in workspace.channels:
                return workspace.channels[channel_id].display_name
            return f"#{channel_id}"
        if target.startswith("!subteam^"):
            group_id = target.removeprefix("!subteam^")
            if label:
                return label
            group = workspace.usergroups.get(group_id) if workspace else None
            return f"@{group.handle}" if group else f"@{group_id}"
        if target.startswith("!date^"):
            return label or target
        if target.startswith("!"):
            return "@" + target[1:].split("^")[0]
        return label or target

    return html.unescape(_LINK.sub(replace, text))


def _text(obj: Any, workspace: Workspace | None) -> str:
    if isinstance(obj, dict):
        text = obj.get("text") or ""
        return mrkdwn(text, workspace) if obj.get("type") == "mrkdwn" else html.unescape(text)
    return str(obj or "")


def _option_label(option: Any, workspace: Workspace | None) -> str:
    return _text(option.get("text"), workspace) if isinstance(option, dict) else ""


def element(element: dict, workspace: Workspace | None = None) -> str:
    """One interactive element, the way it looks: buttons as [Label], menus as [Choice ▾]."""
    kind = element.get("type")
    if kind == "button":
        return f"[{_text(element.get('text'), workspace)}]"
    if kind in _SELECTS:
        initial = element.get("initial_option")
        if initial:
            return f"[{_option_label(initial, workspace)} ▾]"
        chosen = element.get("initial_options")
        if chosen:
            labels = ", ".join(_option_label(o, workspace) for o in chosen)
            return f"[{labels} ▾]"
        for key, name in (
            ("initial_user", "@"),
            ("initial_conversation", ""),
            ("initial_channel", ""),
        ):
            if element.get(key):
                ref = element[key]
                if name == "@":
                    return f"[@{workspace.display_name(ref) if workspace else ref} ▾]"
                label = workspace.channel_label(ref) if workspace else ref
                return f"[{label} ▾]"
        placeholder = _text(element.get("placeholder"), workspace) or "Select"
        return f"[{placeholder} ▾]"
    if kind == "overflow":
        return "[…]"
    if kind in ("checkboxes", "radio_buttons"):
        chosen_values = {
            o.get("value")
            for o in (element.get("initial_options") or [element.get("initial_option") or {}])
        }
        marks = ("[x]", "[ ]") if kind == "checkboxes" else ("(•)", "( )")
        return "  ".join(
            f"{marks[0] if o.get('value') in chosen_values else marks[1]} "
            f"{_option_label(o, workspace)}"
            for o in element.get("options") or []
        )
    if kind == "datepicker":
        return (
            f"[{element.get('initial_date') or _text(element.get('placeholder'), None) or 'date'}]"
        )
    if kind == "timepicker":
        return f"[{element.get('initial_time') or 'time'}]"
    if kind == "datetimepicker":
        return f"[{element.get('initial_date_time') or 'date and time'}]"
    if kind in ("plain_text_input", "email_text_input", "url_text_input", "number_input"):
        value = element.get("initial_value") or _text(element.get("placeholder"), None)
        return f"[{value or '____'}]"
    if kind == "file_input":
        return "[Upload a file]"
    if kind == "image":
        return f"(image: {element.get('alt_text', '')})"
    if kind in ("plain_text", "mrkdwn"):
        return _text(element, workspace)
    return f"[{kind}]"


def _rich_text(elements: list[dict], workspace: Workspace | None) -> str:
    parts = []
    for item in elements:
        kind = item.get("type")
        if kind == "text":
            parts.append(item.get("text", ""))
        elif kind == "link":
            parts.append(item.get("text") or item.get("url", ""))
        elif kind == "user":
            user_id = item.get("user_id", "")
            parts.append("@" + (workspace.display_name(user_id) if workspace else user_id))
        elif kind == "channel":
            channel_id = item.get("channel_id", "")
            parts.append(workspace.channel_label(channel_id) if workspace else f"#{channel_id}")
        elif kind == "emoji":
            parts.append(f":{item.get('name', '')}:")
        elif kind == "broadcast":
            parts.append(f"@{item.get('range', '')}")
        elif kind == "usergroup":
            parts.append(f"@{item.get('usergroup_id', '')}")
    return "".join(parts)


def _rich_text_block(block: dict, workspace: Workspace | None) -> list[str]:
    lines: list[str] = []
    for part in block.get("elements") or []:
        kind = part.get("type")
        if kind == "rich_text_list":
            ordered = part.get("style") == "ordered"
            for n, item in enumerate(part.get("elements") or [], start=1):
                bullet = f"{n}." if ordered else "-"
                lines.append(f"{bullet} {_rich_text(item.get('elements') or [], workspace)}")
        else:
            text = _rich_text(part.get("elements") or [], workspace)
            prefix = "> " if kind == "rich_text_quote" else ""
            lines.extend(prefix + line for line in text.split("\n"))
    return lines


def block(block: dict, workspace: Workspace | None = None) -> list[str]:
    """One block as lines of text."""
    kind = block.get("type")
    if kind == "header":
        return [f"# {_text(block.get('text'), workspace)}"]
    if kind == "divider":
        return ["---"]
    if kind == "section":
        lines = []
        if block.get("text"):
            lines.extend(_text(block["text"], workspace).split("\n"))
        for field in block.get("fields") or []:
            lines.extend(_text(field, workspace).split("\n"))
        if block.get("accessory"):
            lines.append(element(block["accessory"], workspace))
        return lines
    if kind == "context":
        return ["  ".join(element(e, workspace) for e in block.get("elements") or [])]
    if kind == "actions":
        return [" ".join(element(e, workspace) for e in block.get("elements") or [])]
    if kind == "input":
        label = _text(block.get("label"), workspace)
        optional = " (optional)" if block.get("optional") else ""
        return [f"{label}{optional}: {element(block.get('element') or {}, workspace)}"]
    if kind == "image":
        title = _text(block.get("title"), workspace)
        return [f"(image: {title or block.get('alt_text', '')})"]
    if kind == "markdown":
        return (block.get("text") or "").split("\n")
    if kind == "rich_text":
        return _rich_text_block(block, workspace)
    if kind == "file":
        return [f"(file: {block.get('external_id', '')})"]
    if kind == "video":
        return [f"(video: {_text(block.get('title'), workspace)})"]
    return [f"({kind})"]


def render(blocks: list[dict], workspace: Workspace | None = None) -> list[str]:
    """Blocks as the lines of text a reader takes away, in order."""
    lines: list[str] = []
    for item in blocks:
        if isinstance(item, dict):
            lines.extend(block(item, workspace))
    return lines


def render_attachments(attachments: list[dict], workspace: Workspace | None = None) -> list[str]:
    """Legacy attachments, each behind a bar as Slack draws its colour stripe."""
    lines: list[str] = []
    for attachment in attachments:
        if not isinstance(attachment, dict):
            continue
        body: list[str] = []
        for key in ("pretext", "title", "text"):
            if attachment.get(key):
                body.extend(mrkdwn(attachment[key], workspace).split("\n"))
        for field in attachment.get("fields") or []:
            body.append(
                f"{field.get('title', '')}: {mrkdwn(str(field.get('value', '')), workspace)}"
            )
        body.extend(render(attachment.get("blocks") or [], workspace))
        if attachment.get("footer"):
            body.append(mrkdwn(attachment["footer"], workspace))
        lines.extend(f"| {line}" for line in body)
    return lines
