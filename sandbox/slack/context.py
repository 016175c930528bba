"""What a Web API method handler is given besides its arguments."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from sandbox.slack.app import SlackSandbox

SANDBOX: web.AppKey[SlackSandbox] = web.AppKey("slack_sandbox")


@dataclass(slots=True)
class Context:
    sandbox: SlackSandbox
    origin: str  # scheme://host:port the caller reached, for the URLs the sandbox hands out
    user_id: str  # whom the token belongs to
    channel: str | None = None  # the conversation the call was about, for the call log
