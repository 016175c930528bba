"""Twilio's error codes in words a clinic receptionist understands, and which ones to retry.

The reason is what Slack and the API show next to a recipient that was not delivered; it is kept
short (the column holds 200 characters) and says what happened, not what Twilio calls it. Twilio
documents every code at https://www.twilio.com/docs/api/errors/CODE.
"""

from __future__ import annotations

from collections.abc import Mapping

# Twilio answers a send to a number that texted STOP with this code; it is an opt-out, too.
OPTED_OUT = 21610

REASONS: Mapping[int, str] = {
    # Refused when the message was created: nothing was sent.
    20003: "Textcast could not sign in to Twilio: the account details need checking.",
    20429: "Twilio was too busy to take the message just then.",
    21211: "This is not a valid phone number.",
    21408: "Your Twilio account is not allowed to text this country yet.",
    21606: "The sending number cannot send texts: check it in Twilio.",
    OPTED_OUT: "This person replied STOP and no longer receives texts from you.",
    21612: "This number cannot get texts from your sending number (often a landline).",
    21614: "This is not a mobile number, so it cannot receive texts.",
    21617: "The message is too long (over 1,600 characters).",
    # Reported later, by the phone networks.
    30001: "Too many messages were waiting at once; this one was not sent in time.",
    30002: "Your Twilio account is suspended, so nothing can be sent.",
    30003: "The phone is switched off or out of signal.",
    30004: "The message was blocked: the person or their network does not accept it.",
    30005: "The number does not exist or is no longer in use.",
    30006: "The number is a landline, or its network cannot receive texts.",
    30007: "The phone network filtered the message as spam.",
    30008: "The phone network could not deliver the message and gave no reason.",
    30032: "Your toll-free sending number is not verified yet, so networks block it.",
    30034: "Your sending number is not registered for business texting in the US (A2P 10DLC).",
    30036: "The message waited too long to be sent and expired.",
    30410: "The phone network did not answer in time.",
}

# HTTP answers and Twilio codes worth another try later (DESIGN.md, Sending): too many requests,
# Twilio's own server errors, a full queue (30001) and the carrier's "unknown error" (30008).
# Everything else is permanent: the same request would fail the same way.
TRANSIENT_HTTP = frozenset({429, 500, 502, 503, 504})
TRANSIENT_CODES = frozenset({20429, 30001, 30008})


def reason_for(code: int | None) -> str:
    """A short sentence saying why a message was not delivered."""
    if code is None:
        return "The message was not delivered, and no reason was given."
    return REASONS.get(code) or (
        f"Twilio error {code}: see twilio.com/docs/api/errors/{code} for what it means."
    )


def is_transient(http_status: int | None, code: int | None) -> bool:
    """Whether a failed request (its HTTP status, Twilio's error code) may succeed if retried."""
    return http_status in TRANSIENT_HTTP or code in TRANSIENT_CODES
