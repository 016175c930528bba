"""Twilio's error codes in words a clinic receptionist understands, and which ones to retry.

The reason is what Slack and the API show next to a recipient that was not delivered; it is kept
short (the column holds 200 characters) and says what happened, not what Twilio calls it. Twilio
documents every code at https://www.twilio.com/docs/api/errors/CODE.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

# Twilio answers a send to a number that texted STOP with this code; it is an opt-out, too.
OPTED_OUT = 21610
# A carrier filtered the message as spam: more of the same can get the sending number blocked.
FILTERED_AS_SPAM = 30007

REASONS: Mapping[int, str] = {
    # Refused when the message was created: nothing was sent.
    20003: "Textcast could not sign in to Twilio: the account details need checking.",
    20429: "Twilio was too busy to take the message just then.",
    21211: "This is not a valid phone number.",
    21408: "Your Twilio account is not allowed to text this country yet.",
    21611: "The sending number had too many messages waiting to go out.",
    21606: "The sending number cannot send texts: check it in Twilio.",
    OPTED_OUT: "This person replied STOP and no longer receives texts from you.",
    21612: "This number cannot get texts from your sending number (often a landline).",
    21614: "This is not a mobile number, so it cannot receive texts.",
    21617: "The message is too long (over 1,600 characters).",
    21620: "Twilio refused a picture's web address: check the campaign's media URLs.",
    21623: "The message carried more than 10 pictures or files.",
    12300: "The picture's web address did not serve a file Twilio can send.",
    63019: "Twilio could not download the picture from its web address.",
    # Reported later, by the phone networks.
    30001: "Too many messages were waiting at once; this one was not sent in time.",
    30002: "Your Twilio account is suspended, so nothing can be sent.",
    30003: "The phone is switched off or out of signal.",
    30004: "The message was blocked: the person or their network does not accept it.",
    30005: "The number does not exist or is no longer in use.",
    30006: "The number is a landline, or its network cannot receive texts.",
    FILTERED_AS_SPAM: "The phone network filtered the message as spam.",
    30008: "The phone network could not deliver the message and gave no reason.",
    30011: "This phone cannot receive pictures (MMS), or has them turned off.",
    30019: "The picture is larger than this phone network accepts.",
    30032: "Your toll-free sending number is not verified yet, so networks block it.",
    30034: "Your sending number is not registered for business texting in the US (A2P 10DLC).",
    30036: "The message waited too long to be sent and expired.",
    30410: "The phone network did not answer in time.",
}

# What a failed create means, from its HTTP status and Twilio's code (DESIGN.md, Sending).
# 30001 and 30008 are not here: they are delivery-time codes, reported by a status callback for a
# message that exists; a create never answers with them.
RETRY_CODES = frozenset({20429, 21611})  # refused for now, nothing made: try again later
# No message of this campaign can go (the account, the number, or the media every message
# carries is refused): pause.
ACCOUNT_WIDE = frozenset({20003, 21606, 21408, 21620, 21623})
# Refused the credentials or their rights, whatever the code (or with none, from a proxy's page):
# every message of the account would be refused the same, so it pauses rather than fail them all.
ACCOUNT_HTTP = frozenset({401, 403})
UNCERTAIN_HTTP = frozenset({500, 502, 503, 504})  # Twilio's own errors: it may have made it


class CreateFailure(StrEnum):
    RETRY = "retry"  # surely not created; the same request may work later
    UNKNOWN = "unknown"  # may have been created: look it up, never resend on a guess
    ACCOUNT = "account"  # the account or sending number is refused: pause the campaign
    REFUSED = "refused"  # this message is refused for good: fail the recipient


def classify_create_error(http_status: int | None, code: int | None) -> CreateFailure:
    """What a create that failed with `http_status` and Twilio `code` means for the recipient.

    `code` is None when the answer had none (a page that is not JSON): the status alone decides.
    """
    if http_status == 429 or code in RETRY_CODES:
        return CreateFailure.RETRY
    if code in ACCOUNT_WIDE or http_status in ACCOUNT_HTTP:
        return CreateFailure.ACCOUNT
    if http_status in UNCERTAIN_HTTP or (http_status is not None and http_status >= 500):
        return CreateFailure.UNKNOWN
    return CreateFailure.REFUSED


def reason_for_status(http_status: int | None) -> str:
    """Why, for a refusal that came without a Twilio code: all that is known is its HTTP status."""
    if http_status is None:
        return "Twilio did not accept the message and gave no reason."
    if http_status in ACCOUNT_HTTP:
        return f"Twilio refused the account's sign-in or its rights (HTTP {http_status})."
    if http_status == 429:
        return "Twilio was too busy to take the message just then (HTTP 429)."
    if http_status >= 500:
        return f"Twilio answered with an error of its own (HTTP {http_status})."
    return f"Twilio refused the message (HTTP {http_status}) and gave no reason."


def reason_for(code: int | None) -> str:
    """A short sentence saying why a message was not delivered."""
    if code is None:
        return "The message was not delivered, and no reason was given."
    return REASONS.get(code) or (
        f"Twilio error {code}: see twilio.com/docs/api/errors/{code} for what it means."
    )
