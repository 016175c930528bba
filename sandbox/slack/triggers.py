"""Trigger ids and response URLs: the handles Slack gives an app with each interaction.

A trigger id is exchanged once, within 3 seconds, for a modal; a response URL takes up to 5
messages for 30 minutes.

Each carries the time it was issued and the user it was issued for, and is signed with a key
only the sandbox and its request builders know, so the Web API stand-in can tell its own triggers
from invented ones without sharing state with the builders (they may run in another process).
Slack's format is "12345.98765.abcd2358fdea"; these look alike:
"{issued_ms}.{user}-{nonce}.{signature}". The nonce keeps two triggers issued for one user in
the same millisecond apart (each is exchanged once).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from sandbox.slack.errors import SlackError

_KEY = b"textcast-sandbox-triggers"
TRIGGER_TTL = 3.0  # seconds, as on Slack
RESPONSE_URL_TTL = 30 * 60
RESPONSE_URL_USES = 5


def _signature(message: str) -> str:
    return hmac.new(_KEY, message.encode(), hashlib.sha256).hexdigest()[:20]


def _sign(issued_ms: int, user_id: str, nonce: str) -> str:
    return _signature(f"{issued_ms}.{user_id}.{nonce}")


def issue_trigger_id(user_id: str, *, issued_at: float | None = None) -> str:
    """A trigger for `user_id`; pass `issued_at` (epoch seconds) in the past for an expired one."""
    issued_ms = int((time.time() if issued_at is None else issued_at) * 1000)
    nonce = secrets.token_hex(4)
    return f"{issued_ms}.{user_id}-{nonce}.{_sign(issued_ms, user_id, nonce)}"


@dataclass(frozen=True, slots=True)
class Trigger:
    id: str
    user_id: str
    issued_at: float


def read_trigger_id(trigger_id: str | None, *, ttl: float, now: float | None = None) -> Trigger:
    """The trigger behind an id, or SlackError invalid_trigger_id / expired_trigger_id."""
    if not trigger_id:
        raise SlackError("invalid_arguments", "[ERROR] missing required field: trigger_id")
    issued, _, rest = trigger_id.partition(".")
    signed, _, signature = rest.rpartition(".")
    user_id, _, nonce = signed.rpartition("-")
    if not issued.isdigit() or not user_id:
        raise SlackError("invalid_trigger_id")
    if not hmac.compare_digest(signature, _sign(int(issued), user_id, nonce)):
        raise SlackError("invalid_trigger_id")
    issued_at = int(issued) / 1000
    if (time.time() if now is None else now) - issued_at > ttl:
        raise SlackError("expired_trigger_id")
    return Trigger(trigger_id, user_id, issued_at)


@dataclass(frozen=True, slots=True)
class ResponseTarget:
    """Where a response URL's messages go: a channel, a user, and maybe the message acted on."""

    channel_id: str
    user_id: str
    message_ts: str | None
    ephemeral: bool  # the message acted on was ephemeral
    issued_at: int


def response_url(
    origin: str,
    channel_id: str,
    user_id: str,
    *,
    message_ts: str | None = None,
    ephemeral: bool = False,
    issued_at: float | None = None,
) -> str:
    """A response URL on the sandbox at `origin` (scheme://host:port)."""
    issued = int(time.time() if issued_at is None else issued_at)
    # A nonce, as every response_url Slack gives out is its own: two commands in one second
    # must not share one URL's five uses.
    kind = f"{'ephemeral' if ephemeral else 'message'}.{secrets.token_hex(4)}"
    path = f"{issued}/{channel_id}/{user_id}/{message_ts or '-'}/{kind}"
    return f"{origin.rstrip('/')}/response/{path}/{_signature(path)}"


def read_response_path(path: str) -> ResponseTarget | None:
    """The target of a response URL's path after /response/, or None if it was not issued here."""
    issued, channel_id, user_id, message_ts, kind, signature = (path.split("/") + [""] * 6)[:6]
    expected = f"{issued}/{channel_id}/{user_id}/{message_ts}/{kind}"
    if not issued.isdigit() or not hmac.compare_digest(signature, _signature(expected)):
        return None
    return ResponseTarget(
        channel_id,
        user_id,
        None if message_ts == "-" else message_ts,
        kind.partition(".")[0] == "ephemeral",
        int(issued),
    )
