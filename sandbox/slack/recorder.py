"""The call log: every request the sandbox's Slack received, in order, as tests assert on it."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Call:
    method: str  # a Web API method, or "upload_url", "file_download", "response_url"
    args: dict[str, Any]  # as sent, with JSON-encoded form fields (blocks, view...) decoded
    time: float = field(default_factory=time.time)
    ok: bool = True
    error: str | None = None  # Slack's error code when not ok
    status: int = 200  # HTTP status answered (429 when rate limited)
    channel: str | None = None  # the conversation the call was about, resolved to its id
    response: dict[str, Any] | None = None  # the JSON body answered to a Web API call


class Recorder:
    def __init__(self) -> None:
        self._calls: list[Call] = []

    def record(self, method: str, args: dict[str, Any], **outcome: Any) -> Call:
        call = Call(method, args, **outcome)
        self._calls.append(call)
        return call

    def calls(self, method: str | None = None, channel: str | None = None) -> list[Call]:
        return [
            c
            for c in self._calls
            if (method is None or c.method == method) and (channel is None or c.channel == channel)
        ]

    def clear(self) -> None:
        self._calls.clear()
