"""Recipients' phones: their replies, and the opt-outs Twilio keeps when they text STOP.

Twilio's default opt-out handling works per pair of handset and sender: STOP to one number stops
messages from that number (and from the Messaging Service it belongs to), START undoes it. The
keywords count only as the whole message, in any case.
"""

from __future__ import annotations

from typing import Literal

from sandbox.twilio.errors import API_VERSION
from sandbox.twilio.store import Message

OPT_OUT_KEYWORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
)
OPT_IN_KEYWORDS = frozenset({"START", "YES", "UNSTOP"})
HELP_KEYWORDS = frozenset({"HELP", "INFO"})

Keyword = Literal["opt-out", "opt-in", "help"]


def keyword(body: str) -> Keyword | None:
    word = body.strip().upper()
    if word in OPT_OUT_KEYWORDS:
        return "opt-out"
    if word in OPT_IN_KEYWORDS:
        return "opt-in"
    if word in HELP_KEYWORDS:
        return "help"
    return None


class OptOuts:
    """(handset, sender) pairs that said STOP; a sender is a number or a Messaging Service SID."""

    def __init__(self) -> None:
        self._pairs: set[tuple[str, str]] = set()

    def opt_out(self, handset: str, senders: list[str]) -> None:
        self._pairs.update((handset, sender) for sender in senders)

    def opt_in(self, handset: str, senders: list[str]) -> None:
        self._pairs.difference_update((handset, sender) for sender in senders)

    def blocked(self, handset: str, sender: str) -> bool:
        return (handset, sender) in self._pairs

    def pairs(self) -> list[tuple[str, str]]:
        return sorted(self._pairs)

    def clear(self) -> None:
        self._pairs.clear()


def inbound_params(message: Message, account_sid: str) -> dict[str, str]:
    """The form fields of Twilio's incoming-message webhook for an SMS."""
    params = {
        "AccountSid": account_sid,
        "ApiVersion": API_VERSION,
        "Body": message.body,
        "From": message.from_ or "",
        "MessageSid": message.sid,
        "NumMedia": str(len(message.media_urls)),
        "NumSegments": str(message.segments),
        "SmsMessageSid": message.sid,
        "SmsSid": message.sid,
        "SmsStatus": "received",
        "To": message.to,
    }
    for index, url in enumerate(message.media_urls):
        params[f"MediaUrl{index}"] = url
    if message.messaging_service_sid is not None:
        params["MessagingServiceSid"] = message.messaging_service_sid
    return params
