"""chat.*: posting, threading, ephemeral messages, edits and deletes, with Slack's checks."""

from __future__ import annotations

from typing import Any

from sandbox.slack import blocks as block_kit
from sandbox.slack.args import Args
from sandbox.slack.context import Context
from sandbox.slack.errors import SlackError
from sandbox.slack.history import Message
from sandbox.slack.workspace import Channel

MAX_TEXT = 40_000
MAX_ATTACHMENTS = 100


def content(args: Args, *, require: bool = True) -> dict[str, Any]:
    """text / blocks / attachments as given, checked as Slack checks them."""
    found: dict[str, Any] = {}
    if "text" in args:
        text = args.text("text") or ""
        if len(text) > MAX_TEXT:
            raise SlackError("msg_too_long")
        found["text"] = text
    if "blocks" in args:
        value = args.structured("blocks", error="invalid_blocks_format")
        if value is not None and not isinstance(value, list):
            raise SlackError("invalid_blocks_format")
        value = value or []
        problems = block_kit.problems(value, surface="message")
        if problems:
            raise SlackError("invalid_blocks", *problems)
        found["blocks"] = value
    if "attachments" in args:
        value = args.structured("attachments", error="invalid_attachments")
        if value is not None and not isinstance(value, list):
            raise SlackError("invalid_attachments")
        if value and len(value) > MAX_ATTACHMENTS:
            raise SlackError("too_many_attachments")
        found["attachments"] = value or []
    if require and not (found.get("text") or found.get("blocks") or found.get("attachments")):
        raise SlackError("no_text")
    return found


def metadata(args: Args) -> dict | None:
    value = args.structured("metadata", error="invalid_metadata_format")
    if value is None:
        return None
    if (
        not isinstance(value, dict)
        or not isinstance(value.get("event_type"), str)
        or not isinstance(value.get("event_payload", {}), dict)
    ):
        raise SlackError("invalid_metadata_format")
    return {"event_type": value["event_type"], "event_payload": value.get("event_payload", {})}


def postable_channel(call: Context, args: Args) -> Channel:
    """The channel a post goes to, if the bot may post there."""
    sandbox = call.sandbox
    channel = sandbox.workspace.channel(args.required("channel", "channel_not_found"))
    call.channel = channel.id
    if channel.is_archived:
        raise SlackError("is_archived")
    if call.user_id not in channel.members and (
        channel.is_private or not sandbox.chat_write_public
    ):
        raise SlackError("not_in_channel")
    return channel


def post_message(call: Context, args: Args) -> dict:
    sandbox = call.sandbox
    channel = postable_channel(call, args)
    body = content(args)
    thread_ts = sandbox.history.parent_ts(channel.id, args.text("thread_ts"))
    ts = sandbox.timestamps.next()
    message = sandbox.history.add(
        Message(
            channel=channel.id,
            ts=ts,
            user=call.user_id,
            text=body.get("text", ""),
            blocks=block_kit.with_block_ids(body.get("blocks", []), f"{channel.id}:{ts}"),
            attachments=body.get("attachments", []),
            thread_ts=thread_ts,
            reply_broadcast=bool(thread_ts) and args.flag("reply_broadcast"),
            metadata=metadata(args),
            bot_id=sandbox.workspace.bot_id,
            app_id=sandbox.config.app_id,
        )
    )
    return {
        "channel": channel.id,
        "ts": message.ts,
        "message": message.to_dict(sandbox.workspace.team_id),
    }


def post_ephemeral(call: Context, args: Args) -> dict:
    sandbox = call.sandbox
    channel = postable_channel(call, args)
    user = sandbox.workspace.user(args.required("user", "user_not_found"))
    if user.id not in channel.members:
        raise SlackError("user_not_in_channel")
    body = content(args)
    thread_ts = sandbox.history.parent_ts(channel.id, args.text("thread_ts"))
    ts = sandbox.timestamps.next()
    message = sandbox.history.add(
        Message(
            channel=channel.id,
            ts=ts,
            user=call.user_id,
            text=body.get("text", ""),
            blocks=block_kit.with_block_ids(body.get("blocks", []), f"{channel.id}:{ts}"),
            attachments=body.get("attachments", []),
            thread_ts=thread_ts,
            bot_id=sandbox.workspace.bot_id,
            app_id=sandbox.config.app_id,
            ephemeral_to=user.id,
            source="chat.postEphemeral",
        )
    )
    return {"message_ts": message.ts}


def _own_message(call: Context, args: Args, refusal: str) -> Message:
    sandbox = call.sandbox
    channel_ref = args.required("channel", "channel_not_found")
    if channel_ref[:1] in ("U", "W"):
        raise SlackError("channel_not_found")  # Slack wants the DM's D... id here
    channel = sandbox.workspace.channel(channel_ref)
    call.channel = channel.id
    message = sandbox.history.find(channel.id, args.required("ts", "message_not_found"))
    if message is None:
        raise SlackError("message_not_found")
    if message.user != call.user_id:
        raise SlackError(refusal)
    return message


def update(call: Context, args: Args) -> dict:
    sandbox = call.sandbox
    message = _own_message(call, args, "cant_update_message")
    body = content(args, require=False)
    if not body:
        raise SlackError("no_text")
    # As on Slack: what is not sent is kept, so an update with only text keeps the old blocks.
    if "text" in body:
        message.text = body["text"]
    if "blocks" in body:
        message.blocks = block_kit.with_block_ids(body["blocks"], f"{message.ts}:{message.edits}")
    if "attachments" in body:
        message.attachments = body["attachments"]
    if "metadata" in args:
        message.metadata = metadata(args)
    if not (message.text or message.blocks or message.attachments):
        raise SlackError("no_text")
    message.edits += 1
    message.edited_ts = sandbox.timestamps.next()
    return {
        "channel": message.channel,
        "ts": message.ts,
        "text": message.text,
        "message": message.to_dict(sandbox.workspace.team_id),
    }


def delete(call: Context, args: Args) -> dict:
    message = _own_message(call, args, "cant_delete_message")
    message.deleted = True
    return {"channel": message.channel, "ts": message.ts}


def get_permalink(call: Context, args: Args) -> dict:
    sandbox = call.sandbox
    channel = sandbox.workspace.channel(args.required("channel", "channel_not_found"))
    call.channel = channel.id
    message = sandbox.history.find(channel.id, args.required("message_ts", "message_not_found"))
    if message is None:
        raise SlackError("message_not_found")
    link = f"{call.origin}/archives/{channel.id}/p{message.ts.replace('.', '')}"
    if message.is_reply:
        link += f"?thread_ts={message.thread_ts}&cid={channel.id}"
    return {"channel": channel.id, "permalink": link}


METHODS = {
    "chat.postMessage": post_message,
    "chat.postEphemeral": post_ephemeral,
    "chat.update": update,
    "chat.delete": delete,
    "chat.getPermalink": get_permalink,
}
