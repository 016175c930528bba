"""One request to Twilio, and what its outcome means for the recipient.

Every failure is sorted into four kinds: Twilio refused this message for good; it refused the
whole account or sending number (pause the campaign); it made nothing and the same request may
work later; or we cannot know whether the message was made (the connection dropped after the
request went out, the answer timed out, Twilio answered 5xx). Only the last needs a lookup in
Twilio before any resend, and only a lookup made long enough later can tell.

A refusal is read the same in each shape it comes in: Twilio's legacy error body and an RFC 9457
problem body (the SDK raises TwilioRestException for one, TwilioServiceException for the other)
by their code; a page that is not JSON, from a proxy, by its HTTP status alone. And a 2xx that
names a message SID made that message, whatever else in the answer cannot be read.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from urllib.parse import urlencode

import aiohttp
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.base.version import Version
from twilio.http.response import Response
from twilio.rest import Client
from twilio.rest.api.v2010.account.message import MessageInstance, MessagePage

from campaigns.delivery_errors import (
    CreateFailure,
    classify_create_error,
    reason_for,
    reason_for_status,
)
from campaigns.smart_encoding import same_text
from campaigns.status import TWILIO_STATUS, RecipientStatus
from campaigns.templates import Template
from campaigns.text import text_problem
from worker.twilio_client import (
    CONNECT_BY,
    LEAVING,
    Leaving,
    LeftLate,
    TextcastTwilioHttpClient,
    basic_auth,
)

# One line per create as it leaves, with its sender and the wall clock (LOG_DEPARTURES): pacing is
# judged by when requests leave, not by when a busy receiver noted them. The record also carries
# the recipient (`to`) and the monotonic time it left (`left`), never printed, for observers in
# the same process (tests).
DEPARTURES = "worker.departures"
departures = logging.getLogger(DEPARTURES)

# How far before a claim a message to its number may be dated and still be the one its request
# made. Twilio dates on its own clock, the claim is on the database's, and the two can be minutes
# apart (a server whose time sync failed): a date cannot tell the claim's message from an earlier
# one, so the window reaches well back, and earlier messages are kept out by who holds them
# (settling never adopts a SID a recipient holds), not by their date. What is left in the window
# is the same text from the same senders that no recipient holds (a test send, another app on
# the account): adopting it leaves someone with that one text instead of two.
MATCH_WINDOW = timedelta(minutes=15)
log = logging.getLogger(__name__)
LOOKUP_PAGE = 1000  # Twilio's largest page: one request for nearly every number
# Messages to one number a lookup reads at most. Twilio's list has no order to stop early by,
# so every page is read; a number with more than this is never called "not made" on a guess.
LOOKUP_LIMIT = 5000


class CredentialsRefused(Exception):
    """Twilio refused the account SID and auth token."""


class Kind(StrEnum):
    SUBMITTED = "submitted"
    REFUSED = "refused"  # permanent: fail the recipient with the code
    ACCOUNT = "account"  # the account or number is refused: pause, the recipient goes back
    TRANSIENT = "transient"  # not created; retry after a backoff
    LATE = "late"  # not created: it could not leave in time for its slot; booked again at once
    UNKNOWN = "unknown"  # may have been created: quarantine until a lookup settles it


@dataclass(frozen=True, slots=True)
class Attempt:
    kind: Kind
    sid: str | None = None
    status: RecipientStatus = RecipientStatus.QUEUED
    segments: int | None = None
    code: int | None = None
    reason: str | None = None
    sender: str | None = None  # for a message found by reconciling: who sent it
    # A paced create: loop time of the last check before it left (or where it was found late).
    checked_at: float | None = None


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A message to send: to whom, what, and from which number or Messaging Service."""

    to: str
    body: str
    sender: str  # a +E.164 number, or a Messaging Service SID (MG...)
    status_callback: str | None
    validity_period: int
    media_urls: tuple[str, ...] = ()  # pictures (MMS): Twilio fetches each one


class Unsendable(Exception):
    """This recipient's message cannot be made or sent, whatever Twilio would say."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def message_body(template: Template, variables: object) -> str:
    """The text for one recipient, or Unsendable with a plain reason.

    A row can hold what its campaign's checks would refuse today (it was stored by an older
    version, or edited by hand): that fails the one recipient, never the campaign's loop.
    """
    try:
        body = template.render(variables).text  # type: ignore[arg-type]
    except Exception:
        raise Unsendable("The message cannot be sent: this recipient's row is damaged.") from None
    if text_problem(body):
        raise Unsendable("The message has characters that cannot be sent by SMS.")
    return body


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
        # Creates skip `client.messages.create_async`: the MessageInstance it would build from
        # the answer (three date parses and some forty attributes: 20 of the ~250 µs of CPU a
        # create takes) gives the engine three fields. They are posted by DirectCreate, or by
        # the SDK's API version object where it cannot serve: the same request, authentication
        # and errors either way.
        self._api = client.api.v2010
        self._messages_uri = f"/Accounts/{client.account_sid}/Messages.json"
        self._direct = _direct_create(client, self._api, self._messages_uri)
        self.lookup_limit = LOOKUP_LIMIT

    async def check(self) -> None:
        """One cheap request at start: it proves the credentials and warms the connection, so the
        first message of a campaign does not arrive late (and bunch up with the next ones).

        Raises CredentialsRefused when Twilio refuses the account's credentials. Any other
        failure (Twilio busy or away for a moment) is only logged: the worker starts all the
        same, and its requests and lookups deal with Twilio's errors as they come.
        """
        try:
            await self.client.messages.list_async(limit=1, page_size=1)
        except TwilioException as error:
            # A page the SDK could not fetch carries the response as its second argument.
            response = error.args[1] if len(error.args) > 1 else None
            status = _number(
                getattr(response, "status_code", None) or getattr(error, "status", None)
            )
            if status in (401, 403):
                raise CredentialsRefused(f"Twilio answered {status}") from None
            log.warning("Twilio did not answer the start-up check (%s); starting anyway", status)
        except (aiohttp.ClientError, TimeoutError, json.JSONDecodeError) as error:
            # A page that is not JSON with a 200 (a proxy's, a captive portal's) says nothing of
            # the credentials either.
            log.warning("Twilio could not be reached at start-up (%r); starting anyway", error)

    async def send(
        self, message: Outgoing, *, connect_by: float | None = None, leave_by: float | None = None
    ) -> Attempt:
        """Create the message. `connect_by` (loop time): if no connection to Twilio is had by
        then, the create is dropped unsent (TRANSIENT) instead of leaving late. `leave_by` (loop
        time, for a create paced to a slot): if its bytes would be written later (its connection
        came late, or the process stalled before writing them), none are, and the create is
        dropped unsent (LATE)."""
        connecting = CONNECT_BY.set(connect_by)
        paced = Leaving(by=leave_by, noted=self._departure(message))
        leaving = LEAVING.set(paced)
        try:
            attempt = await self._create(message)
        finally:
            LEAVING.reset(leaving)
            CONNECT_BY.reset(connecting)
        if paced.checked is None:
            return attempt
        return replace(attempt, checked_at=paced.checked)

    @staticmethod
    def _departure(message: Outgoing) -> Callable[[float, float], None] | None:
        if not departures.isEnabledFor(logging.DEBUG):
            return None
        return lambda left_at, monotonic: departures.debug(
            "%s at %.6f", message.sender, left_at, extra={"to": message.to, "left": monotonic}
        )

    async def _create(self, message: Outgoing) -> Attempt:
        form: dict[str, object] = {"To": message.to, "Body": message.body}
        form["MessagingServiceSid" if _is_service(message.sender) else "From"] = message.sender
        if message.media_urls:
            form["MediaUrl"] = list(message.media_urls)  # one MediaUrl field each, as the SDK does
        if message.status_callback:
            form["StatusCallback"] = message.status_callback
        form["ValidityPeriod"] = message.validity_period
        try:
            if self._direct is not None:
                created = await self._direct.create(form)
            else:
                created = await self._api.create_async(
                    method="POST", uri=self._messages_uri, data=form, headers=dict(_CREATE_HEADERS)
                )
        except (TwilioRestException, TwilioServiceException) as error:
            # Twilio's legacy body and an RFC 9457 problem body carry the same status and code;
            # a page that is not JSON (a proxy's) only its status.
            return _failed(error.status, error.code)
        except LeftLate:
            # Checked once the connection was had, before any byte of the request was written.
            return Attempt(Kind.LATE, reason="it could not leave in time for its slot")
        except aiohttp.ClientConnectorError:
            # The connection was never made, so nothing was sent.
            return Attempt(Kind.TRANSIENT, reason="could not connect to Twilio")
        except aiohttp.ConnectionTimeoutError:
            # No connection in time (none free in the pool, or none made): raised before any
            # byte of the request was written, so nothing was sent either.
            return Attempt(Kind.TRANSIENT, reason="no connection to Twilio in time")
        except json.JSONDecodeError:
            return Attempt(Kind.UNKNOWN, reason="Twilio's answer was not JSON")
        except UnicodeError:
            # Raised while the form was encoded, before any byte left: text no SMS can carry.
            return Attempt(
                Kind.REFUSED, reason="The message has characters that cannot be sent by SMS."
            )
        except (TimeoutError, aiohttp.ClientError, TwilioException):
            return Attempt(Kind.UNKNOWN, reason="no answer from Twilio")
        return _submitted(created)

    async def candidates(
        self, message: Outgoing, senders: Collection[str], since: datetime
    ) -> list[Attempt]:
        """Messages Twilio has that could be `message`, the one made nearest `since` first.

        The same text (as a Messaging Service's Smart Encoding may have changed it) to the same
        number from any of the campaign's `senders` (a retry can change sender, and a dead loop
        never recorded which it used), dated by Twilio no earlier than MATCH_WINDOW before
        `since` (the claim). Every page of the number's list is read: Twilio sorts it by
        date_sent, and a message not sent yet (a late create often is not) has none and may be
        listed anywhere, so no message in it says that the rest are older.

        Raises LookupError when Twilio cannot be asked, or when the number has more than
        `lookup_limit` messages: neither says whether the message exists.
        """
        earliest = since - MATCH_WINDOW
        pool = set(senders)

        def matching(records: Iterable[MessageInstance]) -> list[MessageInstance]:
            return [c for c in records if _could_be(c, message, pool, earliest)]

        found: list[MessageInstance] = []
        read = pages = 0
        try:
            page = await self._first_page(message.to)
            while page is not None:
                pages += 1
                records = list(page)
                read += len(records)
                found += matching(records)
                if page.next_page_url and max(read, pages) >= self.lookup_limit:
                    raise LookupError(f"more than {self.lookup_limit} messages to the number")
                page = await page.next_page_async()
            if not found and pages > 1:
                # One sent while the later pages were read gained a date_sent and moved up,
                # past where this read had got: it is on the first page now.
                found = matching(await self._first_page(message.to))
        except (TwilioException, aiohttp.ClientError, TimeoutError, json.JSONDecodeError):
            raise LookupError("could not list Twilio's messages") from None
        found.sort(key=lambda candidate: _distance(candidate.date_created, since))
        return [_found(candidate) for candidate in found]

    async def _first_page(self, to: str) -> MessagePage:
        return await self.client.messages.page_async(to=to, page_size=LOOKUP_PAGE)


@dataclass(frozen=True, slots=True)
class DirectCreate:
    """A create posted by our HTTP client itself, with the address and headers the SDK would
    make for it made once: its Version, Domain and ClientBase layers rebuild them on every call
    (the User-Agent string, the authorization, the address's edge and region). The answer is
    judged by the SDK's own rules: a 2xx's JSON, or the exception `Version.exception` makes."""

    http: TextcastTwilioHttpClient
    uri: str  # the create's address within the API version, for the SDK's error messages
    target: str  # where it is posted
    headers: dict[str, str]

    async def create(self, form: dict[str, object]) -> object:
        body = urlencode(form, doseq=True).encode()  # UnicodeError before any byte leaves
        response: Response = await self.http.post_form(self.target, body, self.headers)
        if not 200 <= response.status_code < 300:
            raise Version.exception("POST", self.uri, response, "Unable to create record")
        return json.loads(response.text) if response.text else {}


def _direct_create(client: Client, api: Version, uri: str) -> DirectCreate | None:
    """The create's fixed parts, or None where the SDK must make each request (another HTTP
    client, credentials from a provider that may renew them)."""
    http = client.http_client
    if not isinstance(http, TextcastTwilioHttpClient) or client.credential_provider:
        return None
    if client.username is None or client.password is None:
        return None
    headers = client.get_headers("POST", dict(_CREATE_HEADERS))
    headers["Authorization"] = basic_auth(client.username, client.password)
    target = http.target(client.get_hostname(api.absolute_url(uri)))
    return DirectCreate(http, uri, target, headers)


def _could_be(
    candidate: MessageInstance, message: Outgoing, senders: set[str], earliest: datetime
) -> bool:
    if candidate.direction == "inbound":
        return False
    if not {candidate.from_, candidate.messaging_service_sid} & senders:
        return False
    created = candidate.date_created
    # A date that is missing or could not be read excludes nothing.
    if isinstance(created, datetime) and created < earliest:
        return False
    return same_text(message.body, candidate.body or "")


def _distance(created: object, since: datetime) -> timedelta:
    if not isinstance(created, datetime):
        return timedelta.max
    return abs(created - since)


def _found(candidate: MessageInstance) -> Attempt:
    """A listed message, read as a create's answer is: a field that does not parse (a garbled
    segment count or error code) is left unknown, and never makes the lookup fail."""
    return Attempt(
        Kind.SUBMITTED, sid=candidate.sid, status=_status(candidate.status),
        segments=_segments(candidate.num_segments), code=_number(candidate.error_code),
        sender=candidate.from_ or candidate.messaging_service_sid,
    )  # fmt: skip


def _submitted(created: object) -> Attempt:
    """A 2xx that names its message made it: SUBMITTED with that SID, whatever else in the answer
    cannot be read (a field that does not parse, a status newer than this code), since anything
    less would put a sent message in doubt and a lookup that missed it would send it again."""
    sid = created.get("sid") if isinstance(created, dict) else None
    if not isinstance(sid, str) or not sid:  # accepted, but we cannot tell which message it made
        return Attempt(Kind.UNKNOWN, reason="Twilio's answer had no message SID")
    try:
        return Attempt(Kind.SUBMITTED, sid=sid, status=_status(created.get("status")),
                       segments=_segments(created.get("num_segments")))  # fmt: skip
    except Exception:  # a bug of ours in reading the rest: the SID stands
        log.exception("Twilio's answer for %s could not be read beyond its SID", sid)
        return Attempt(Kind.SUBMITTED, sid=sid)


def _status(raw: object) -> RecipientStatus:
    """Twilio's status, or queued for one this code does not know: a callback or a poll brings
    the next one."""
    if not isinstance(raw, str):
        return RecipientStatus.QUEUED
    return TWILIO_STATUS.get(raw, RecipientStatus.QUEUED)


# More than a 1,600-character message can take (24 UCS-2 parts): a count above it is garbled.
MAX_SEGMENTS = 100


def _segments(raw: object) -> int | None:
    """Twilio's count of parts (a string, "0" until a Messaging Service picks a sender), or None
    when it cannot be read: the recipient keeps the count made when the campaign was."""
    segments = _number(raw)
    return segments if segments is not None and 0 < segments <= MAX_SEGMENTS else None


def _failed(http_status: object, raw_code: object) -> Attempt:
    status = _number(http_status)
    # Without a code in the answer (a page that is not JSON, or a body without one) the SDK puts
    # the HTTP status in its place: that is not one of Twilio's codes.
    code = _number(raw_code)
    if code == status:
        code = None
    kind = {
        CreateFailure.RETRY: Kind.TRANSIENT,
        CreateFailure.UNKNOWN: Kind.UNKNOWN,
        CreateFailure.ACCOUNT: Kind.ACCOUNT,
        CreateFailure.REFUSED: Kind.REFUSED,
    }[classify_create_error(status, code)]
    return Attempt(kind, code=code, reason=reason_for(code) if code else reason_for_status(status))


def _number(raw: object) -> int | None:
    """An integer from an error answer's field: a problem body's may be a string, or anything."""
    if isinstance(raw, bool):
        return None
    try:
        return int(str(raw))
    except ValueError:
        return None
