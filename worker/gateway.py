"""One request to Twilio, and what its outcome means for the recipient.

Every exception is sorted into three kinds: Twilio refused for good, try again later, or we cannot
know whether the message was created (the connection dropped after the request went out, or the
answer timed out). Only the last needs reconciling against Twilio before any retry.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import aiohttp
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from campaigns.delivery_errors import is_transient, reason_for
from campaigns.status import TWILIO_STATUS, RecipientStatus


class Kind(StrEnum):
    SUBMITTED = "submitted"
    REFUSED = "refused"  # permanent: fail the recipient with the code
    TRANSIENT = "transient"  # not created; retry after a backoff
    UNKNOWN = "unknown"  # may have been created: reconcile before retrying


@dataclass(frozen=True, slots=True)
class Attempt:
    kind: Kind
    sid: str | None = None
    status: RecipientStatus = RecipientStatus.QUEUED
    segments: int | None = None
    code: int | None = None
    reason: str | None = None
    sender: str | None = None  # for a message found by reconciling: who sent it


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A message to send: to whom, what, and from which number or Messaging Service."""

    to: str
    body: str
    sender: str  # a +E.164 number, or a Messaging Service SID (MG...)
    status_callback: str | None
    validity_period: int


# What `messages.create_async` sends with every create.
_CREATE_HEADERS = {
    "Content-Type": "application/x-www-form-urlencoded",
    "Accept": "application/json",
}


def _is_service(sender: str) -> bool:
    return sender.startswith("MG")


class Gateway:
    def __init__(self, client: Client) -> None:
        self.client = client
        # Creates go through the SDK's API version object: the same request, authentication and
        # errors as `client.messages.create_async`, without the MessageInstance it would build
        # from the answer (three date parses and some forty attributes: 20 of the ~250 µs of
        # CPU a create takes), of which the engine reads three fields.
        self._api = client.api.v2010
        self._messages_uri = f"/Accounts/{client.account_sid}/Messages.json"

    async def check(self) -> None:
        """One cheap request at start: it proves the credentials and warms the connection, so the
        first message of a campaign does not arrive late (and bunch up with the next ones)."""
        await self.client.messages.list_async(limit=1, page_size=1)

    async def send(self, message: Outgoing) -> Attempt:
        form: dict[str, object] = {"To": message.to, "Body": message.body}
        form["MessagingServiceSid" if _is_service(message.sender) else "From"] = message.sender
        if message.status_callback:
            form["StatusCallback"] = message.status_callback
        form["ValidityPeriod"] = message.validity_period
        try:
            created = await self._api.create_async(
                method="POST", uri=self._messages_uri, data=form, headers=dict(_CREATE_HEADERS)
            )
        except TwilioRestException as error:
            return _refused_or_transient(error.status, error.code)
        except aiohttp.ClientConnectorError:
            # The connection was never made, so nothing was sent.
            return Attempt(Kind.TRANSIENT, reason="could not connect to Twilio")
        except (TimeoutError, aiohttp.ClientError, TwilioException):
            return Attempt(Kind.UNKNOWN, reason="no answer from Twilio")
        except json.JSONDecodeError:
            return Attempt(Kind.UNKNOWN, reason="Twilio's answer was not JSON")
        sid = created.get("sid")
        if not sid:  # accepted, but we cannot tell which message it made
            return Attempt(Kind.UNKNOWN, reason="Twilio's answer had no message SID")
        segments = int(created.get("num_segments") or 0) or None  # "0" until a service picks
        status = TWILIO_STATUS.get(created.get("status") or "queued", RecipientStatus.QUEUED)
        return Attempt(Kind.SUBMITTED, sid=sid, status=status, segments=segments)

    async def find(
        self, message: Outgoing, senders: Collection[str], since: datetime
    ) -> Attempt | None:
        """The message if Twilio already has it, else None.

        It may have gone from any of the campaign's `senders` (a retry can change sender, and a
        dead worker never recorded which it used) at any time after `since`.
        """
        try:
            found = await self.client.messages.list_async(to=message.to, limit=50, page_size=50)
        except (TwilioException, aiohttp.ClientError, TimeoutError):
            raise LookupError("could not list Twilio's messages") from None
        for candidate in found:
            created = candidate.date_created
            if created is not None and created < since:
                continue
            sent_from = {candidate.from_, candidate.messaging_service_sid}
            if sent_from & set(senders) and candidate.body == message.body:
                status = TWILIO_STATUS.get(candidate.status or "queued", RecipientStatus.QUEUED)
                segments = int(candidate.num_segments or 0) or None
                return Attempt(
                    Kind.SUBMITTED, sid=candidate.sid, status=status, segments=segments,
                    sender=candidate.from_ or candidate.messaging_service_sid,
                )  # fmt: skip
        return None


def _refused_or_transient(http_status: int | None, code: int | None) -> Attempt:
    if is_transient(http_status, code):
        # A 5xx may come after Twilio created the message; only a 429 surely did not.
        kind = Kind.TRANSIENT if http_status == 429 or code == 20429 else Kind.UNKNOWN
        return Attempt(kind, code=code, reason=reason_for(code))
    return Attempt(Kind.REFUSED, code=code, reason=reason_for(code))
