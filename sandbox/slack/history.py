"""Every channel's messages, threads and ephemeral messages, as the sandbox's Slack holds them."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

from sandbox.slack.errors import SlackError

_TS = re.compile(r"\d+\.\d+")


@dataclass(slots=True)
class Message:
    channel: str
    ts: str
    user: str
    text: str = ""
    blocks: list[dict] = field(default_factory=list)
    attachments: list[dict] = field(default_factory=list)
    thread_ts: str | None = None  # a reply's parent; a parent with replies has its own ts here
    reply_broadcast: bool = False  # a reply also shown in the channel
    metadata: dict | None = None
    files: list[str] = field(default_factory=list)  # file ids shared with the message
    bot_id: str | None = None
    app_id: str | None = None
    ephemeral_to: str | None = None  # the only user who sees it
    edited_ts: str | None = None  # when it was last changed by chat.update or a response_url
    edits: int = 0
    deleted: bool = False
    source: str = "chat.postMessage"  # what made it: a method, "response_url" or "user"
    posted_at: float = field(default_factory=time.time)

    @property
    def is_reply(self) -> bool:
        return self.thread_ts is not None and self.thread_ts != self.ts

    @property
    def edited(self) -> bool:
        return self.edited_ts is not None

    def to_dict(self, team_id: str, *, files: list[dict] | None = None) -> dict[str, Any]:
        """The message as Slack returns it from chat.postMessage and conversations.history."""
        message: dict[str, Any] = {"type": "message", "text": self.text, "ts": self.ts}
        if self.bot_id:
            message.update(bot_id=self.bot_id, app_id=self.app_id)
        message.update(user=self.user, team=team_id)
        if self.blocks:
            message["blocks"] = self.blocks
        if self.attachments:
            message["attachments"] = self.attachments
        if self.thread_ts:
            message["thread_ts"] = self.thread_ts
        if self.is_reply and self.reply_broadcast:
            message["subtype"] = "thread_broadcast"
        if self.metadata:
            message["metadata"] = self.metadata
        if self.files:
            message["files"] = files or []
            message["upload"] = False
        if self.edited_ts:
            message["edited"] = {"user": self.user, "ts": self.edited_ts}
        return message


class History:
    def __init__(self) -> None:
        self._channels: dict[str, list[Message]] = {}

    def clear(self) -> None:
        self._channels.clear()

    def add(self, message: Message) -> Message:
        self._channels.setdefault(message.channel, []).append(message)
        if message.is_reply and message.ephemeral_to is None:
            parent = self.find(message.channel, message.thread_ts)
            if parent is not None:
                parent.thread_ts = parent.ts
        return message

    def parent_ts(self, channel: str, thread_ts: str | None) -> str | None:
        """Where a reply to `thread_ts` goes: a reply's ts means its parent's thread, as on Slack."""
        if thread_ts is None:
            return None
        if not _TS.fullmatch(thread_ts):
            raise SlackError("invalid_thread_ts")
        parent = self.find(channel, thread_ts)
        if parent is None:
            raise SlackError("thread_not_found")
        return parent.thread_ts if parent.is_reply else parent.ts

    def everything(self, channel: str) -> list[Message]:
        """All of a channel's messages in the order they were posted, ephemeral and deleted too."""
        return list(self._channels.get(channel, []))

    def find(self, channel: str, ts: str | None) -> Message | None:
        """A message everyone in the channel can see, by its ts."""
        for message in self._channels.get(channel, []):
            if message.ts == ts and message.ephemeral_to is None and not message.deleted:
                return message
        return None

    def top_level(self, channel: str) -> list[Message]:
        """What the channel shows: messages not in a thread, and replies also sent to the channel."""
        return [
            m
            for m in self._channels.get(channel, [])
            if m.ephemeral_to is None and not m.deleted and (not m.is_reply or m.reply_broadcast)
        ]

    def replies(self, channel: str, thread_ts: str) -> list[Message]:
        return [
            m
            for m in self._channels.get(channel, [])
            if m.is_reply and m.thread_ts == thread_ts and m.ephemeral_to is None and not m.deleted
        ]

    def ephemeral(self, channel: str, user: str | None = None) -> list[Message]:
        return [
            m
            for m in self._channels.get(channel, [])
            if m.ephemeral_to is not None and (user is None or m.ephemeral_to == user)
        ]

    def thread_summary(self, parent: Message) -> dict[str, Any]:
        """The reply_count / reply_users / latest_reply Slack adds to a thread's parent."""
        replies = self.replies(parent.channel, parent.ts)
        if not replies:
            return {}
        users = list(dict.fromkeys(r.user for r in replies))
        return {
            "reply_count": len(replies),
            "reply_users_count": len(users),
            "reply_users": users,
            "latest_reply": replies[-1].ts,
        }
