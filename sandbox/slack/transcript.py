"""A channel as a person in it would read it, in plain text.

Top-level messages in order with their edits applied and marked, thread replies indented under
their parent, ephemeral messages marked with the one person who saw them, blocks rendered as text:

    #campaigns
    Textcast [APP] (edited):
      # Spring sale
      Scheduled for Mon 24 Nov, 09:00
      [Cancel] [Edit]
      ↳ Textcast [APP]: Sending started
      ↳ Alice Smith: thanks
    Textcast [APP] (only visible to Alice Smith): You can't send campaigns.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sandbox.slack import blocks as block_kit
from sandbox.slack.history import Message

if TYPE_CHECKING:
    from sandbox.slack.app import SlackSandbox

REPLY = "↳ "


def content(sandbox: SlackSandbox, message: Message) -> list[str]:
    """What the message shows: its blocks (the text is then only a notification fallback)."""
    workspace = sandbox.workspace
    if message.deleted:
        return ["(message deleted)"]
    if message.blocks:
        lines = block_kit.render(message.blocks, workspace)
    else:
        lines = block_kit.mrkdwn(message.text, workspace).split("\n") if message.text else []
    lines += block_kit.render_attachments(message.attachments, workspace)
    for file_id in message.files:
        file = sandbox.files.get(file_id)
        lines.append(f"[file: {file.name if file else file_id}]")
    return lines or [""]


def author(sandbox: SlackSandbox, message: Message) -> str:
    workspace = sandbox.workspace
    if message.bot_id or message.user == workspace.bot_user_id:
        return f"{workspace.bot_name} [APP]"
    return workspace.display_name(message.user)


def _flags(sandbox: SlackSandbox, message: Message, *, in_thread: bool) -> str:
    flags = []
    if message.edited and not message.deleted:
        flags.append("edited")
    if message.ephemeral_to:
        flags.append(f"only visible to {sandbox.workspace.display_name(message.ephemeral_to)}")
    if message.is_reply and message.reply_broadcast:
        flags.append("also sent to the channel" if in_thread else "replied to a thread")
    return "".join(f" ({flag})" for flag in flags)


def _entry(sandbox: SlackSandbox, message: Message, indent: str, *, in_thread: bool) -> list[str]:
    lead = REPLY if in_thread else ""
    head = (
        f"{indent}{lead}{author(sandbox, message)}{_flags(sandbox, message, in_thread=in_thread)}:"
    )
    lines = content(sandbox, message)
    if len(lines) == 1:
        return [f"{head} {lines[0]}".rstrip()]
    body_indent = indent + " " * len(lead) + "  "
    return [head] + [f"{body_indent}{line}".rstrip() for line in lines]


def render(sandbox: SlackSandbox, channel_id: str) -> str:
    history = sandbox.history
    out = [sandbox.workspace.channel_label(channel_id)]
    everything = history.everything(channel_id)
    for message in everything:
        if message.is_reply and not message.reply_broadcast:
            continue  # shown under its parent
        if message.deleted and not history.replies(channel_id, message.ts):
            continue
        out += _entry(sandbox, message, "", in_thread=False)
        if message.ephemeral_to or message.is_reply:
            continue
        for reply in everything:
            if reply.is_reply and reply.thread_ts == message.ts and not reply.deleted:
                out += _entry(sandbox, reply, "  ", in_thread=True)
    return "\n".join(out) + "\n"
