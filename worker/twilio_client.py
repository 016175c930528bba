"""The Twilio REST client the worker uses: the real SDK, async, pointed at TWILIO_API_URL.

Facts about twilio 9.x's `AsyncTwilioHttpClient` that shaped this (see twilio/http/
async_http_client.py):

- Its `timeout` constructor argument is stored but never used: `request()` passes the per-call
  `timeout`, which the SDK always leaves as None, straight to aiohttp, and aiohttp reads an
  explicit None as "no timeout at all". A request to a server that never answers waits forever.
- It retries only when built with `max_retries`, through aiohttp_retry, whose default retries
  every method, POST included, on any 5xx. Never set it: a retried create is a second SMS.
- It logs every request's URL and query at INFO, which for a message list filtered by `To` is a
  phone number in the log.

So the client below keeps the SDK's request path (the Client builds URLs, auth and headers) but
makes the HTTP call itself: a socket-level timeout, no retries, no query logging, and the scheme
and host of every URL swapped for `api_url` when that is not Twilio's.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from urllib.parse import SplitResult, urlencode, urlsplit, urlunsplit

from aiohttp import (
    ClientConnectionError,
    ClientRequest,
    ClientSession,
    ClientTimeout,
    DummyCookieJar,
    TCPConnector,
)
from aiohttp.abc import AbstractStreamWriter
from aiohttp.connector import Connection
from aiohttp.payload import BytesPayload
from aiohttp.tracing import Trace
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

TWILIO_API_URL = "https://api.twilio.com"
DEFAULT_TIMEOUT = 10.0  # seconds to connect, and between bytes of the answer
DEFAULT_MAX_CONNECTIONS = 100
FORM = "application/x-www-form-urlencoded"  # the SDK's Content-Type for every create

_logger = logging.getLogger("textcast.twilio")

# The loop time by which a request must have its connection, for a create whose sender holds
# its recipient only until a lease runs out (worker/gateway.py sets it around one create).
CONNECT_BY: ContextVar[float | None] = ContextVar("connect_by", default=None)


@dataclass(slots=True)
class Leaving:
    """What a paced create asks of the moment it leaves (worker/gateway.py sets it around one)."""

    by: float | None = None  # loop time: not written at all if it would leave later (LeftLate)
    # Called once it has left, with the times it left at (the wall clock's, for the departures
    # log, and the monotonic clock's, for observers in this process), both read between the
    # last check and the write: what follows the write (the log itself, a preemption) is not
    # departure time.
    noted: Callable[[float, float], None] | None = None
    # Loop time of the last check: as its bytes were written, or where it was found late.
    checked: float | None = None

    def late(self) -> bool:
        if self.by is None:
            return False
        self.checked = asyncio.get_running_loop().time()
        return self.checked > self.by


LEAVING: ContextVar[Leaving | None] = ContextVar("leaving", default=None)


class LeftLate(Exception):
    """A paced create had its connection only after `Leaving.by`: it was not written."""


class _PacedConnector(TCPConnector):
    """A connector that checks a paced create once its connection is had: one that waited for a
    connection (a new one is a TCP and TLS handshake, which a starved machine makes slowly) is
    dropped there, and the connection goes back to the pool unused for the next one."""

    async def connect(
        self,
        req: ClientRequest,
        traces: list[Trace],
        timeout: ClientTimeout,  # noqa: ASYNC109 - aiohttp's signature
    ) -> Connection:
        connection = await super().connect(req, traces, timeout)
        leaving = LEAVING.get()
        if leaving is not None and leaving.late():
            connection.release()
            raise LeftLate("the request could not leave in time for its slot")
        return connection


class _PacedForm(BytesPayload):
    """A paced create's form, checked for the last time as its bytes are written.

    aiohttp holds a request's headers back to send them with its body, and writes the body in a
    task of its own, at least one turn of the event loop after the connection was had (on
    Python 3.11). A process stopped or starved in between (SIGSTOP, a long GC pause, a frozen
    VM) would send the request whenever it woke, past its slot, and past its lease when the stop
    was long: by then another loop may have taken the recipient over and sent it. Here nothing
    yields between the check and the socket write (aiohttp's `StreamWriter.write` ends in the
    transport's `write`), so a late create is not written at all: not its headers either, and
    the connection is closed with it.
    """

    def __init__(self, value: bytes, leaving: Leaving) -> None:
        super().__init__(value, content_type=FORM)
        self._leaving = leaving

    async def write_with_length(
        self, writer: AbstractStreamWriter, content_length: int | None
    ) -> None:
        if self._leaving.late():
            raise LeftLate("the request could not leave in time for its slot")
        left_at, left_monotonic = time.time(), time.monotonic()
        await super().write_with_length(writer, content_length)
        if self._leaving.noted is not None:
            self._leaving.noted(left_at, left_monotonic)


class TextcastTwilioHttpClient(AsyncTwilioHttpClient):
    """`AsyncTwilioHttpClient` with a working timeout, no retries and an optional base URL."""

    def __init__(
        self,
        api_url: str | None = None,
        *,
        timeout: float | None = DEFAULT_TIMEOUT,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
    ) -> None:
        # pool_connections=False: the parent would build a session with aiohttp's defaults.
        # max_retries stays None, so the parent never wraps the session in a RetryClient.
        self.api_url = _base_url(api_url)
        super().__init__(pool_connections=False, timeout=timeout, logger=_logger)
        # Twilio sets no cookies worth keeping: a dummy jar skips two cookie passes per request.
        self.session = ClientSession(
            connector=_PacedConnector(limit=max_connections), cookie_jar=DummyCookieJar()
        )

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - the SDK's signature
        allow_redirects: bool = False,
    ) -> Response:
        headers = dict(headers or {})
        if auth is not None:
            headers["Authorization"] = basic_auth(*auth)
        body: object = data
        if isinstance(data, dict) and headers.get("Content-Type") == FORM:
            # What aiohttp's FormData would send, without building a multipart writer (and a
            # uuid4 boundary) per request that the form never uses.
            body = urlencode(data, doseq=True).encode()
        target = self.target(url)
        if _logger.isEnabledFor(logging.DEBUG):
            _logger.debug("Twilio %s %s", method.upper(), urlsplit(target).path)
        return await self._send(
            method.upper(), target, params, body, headers, timeout, allow_redirects
        )

    async def post_form(self, target: str, form: bytes, headers: dict[str, str]) -> Response:
        """POST an encoded form to an address `target` made already, with headers made already
        (authorization included): a create's request without the SDK's per-call building of
        its address and headers. The same timeouts, no retries, and the same checks as it
        leaves as `request`."""
        return await self._send("POST", target, None, form, headers, None, False)

    async def _send(
        self,
        method: str,
        target: str,
        params: dict[str, object] | None,
        body: object,
        headers: dict[str, str],
        timeout: float | None,  # noqa: ASYNC109 - the SDK's per-call timeout
        allow_redirects: bool,
    ) -> Response:
        seconds = timeout if timeout is not None else self.timeout
        if seconds is not None and seconds <= 0:
            raise ValueError(seconds)
        # Making a connection and reading the answer are bounded by `seconds`. Getting the
        # connection (a free one from the pool, shared with lookups, polls and other campaigns,
        # or a new one) is bounded by CONNECT_BY when it is set: a create must leave while its
        # sender still holds the recipient, never after waiting behind other requests while the
        # lease ran out. Missing it raises aiohttp's ConnectionTimeoutError before any byte of
        # the request is written, so nothing was sent; any other timeout means the request
        # reached the network (it may or may not have been received).
        client_timeout = ClientTimeout(
            total=None, connect=_until(CONNECT_BY.get()), sock_connect=seconds, sock_read=seconds
        )
        leaving = LEAVING.get()
        if leaving is not None and isinstance(body, bytes):  # a create's form
            body = _PacedForm(body, leaving)
        try:
            async with self.session.request(
                method,
                target,
                params=params,
                data=body,
                headers=headers,
                timeout=client_timeout,
                allow_redirects=allow_redirects,
            ) as response:
                text = await response.text(encoding="utf-8", errors="replace")  # JSON is UTF-8
                return Response(response.status, text, response.headers)
        except ClientConnectionError as error:
            # aiohttp reports what the body's writing raised as a connection error caused by it.
            if isinstance(error.__cause__, LeftLate):
                raise error.__cause__ from None
            raise

    def target(self, url: str) -> str:
        """Where a request for Twilio's `url` goes: there, or at `api_url` when one was given."""
        if self.api_url is None:
            return url
        base = self.api_url
        if url.startswith(TWILIO_API_URL + "/"):  # the SDK's usual address: no parsing needed
            return (
                f"{base.scheme}://{base.netloc}{base.path.rstrip('/')}{url[len(TWILIO_API_URL) :]}"
            )
        parts = urlsplit(url)
        path = base.path.rstrip("/") + parts.path
        return urlunsplit((base.scheme, base.netloc, path, parts.query, parts.fragment))


def basic_auth(username: str, password: str) -> str:
    """The Authorization header's value for HTTP basic authentication (aiohttp 3.14 deprecates
    its `auth` argument; the header is the same on every version)."""
    credentials = f"{username}:{password}".encode()
    return "Basic " + base64.b64encode(credentials).decode("ascii")


def _until(deadline: float | None) -> float | None:
    if deadline is None:
        return None
    return max(0.001, deadline - asyncio.get_running_loop().time())


def create_twilio_client(
    account_sid: str,
    auth_token: str,
    api_url: str | None = None,
    *,
    timeout: float | None = DEFAULT_TIMEOUT,
    max_connections: int = DEFAULT_MAX_CONNECTIONS,
) -> Client:
    """A twilio `Client` for `await ...create_async(...)` calls; build it inside a running loop.

    Close it with `await close_twilio_client(client)` (that is `client.http_client.close()`).
    """
    http_client = TextcastTwilioHttpClient(
        api_url, timeout=timeout, max_connections=max_connections
    )
    return Client(account_sid, auth_token, http_client=http_client)


async def close_twilio_client(client: Client) -> None:
    """Close the HTTP session of a client made by `create_twilio_client`."""
    http_client = client.http_client
    if isinstance(http_client, AsyncTwilioHttpClient):
        await http_client.close()


def _base_url(api_url: str | None) -> SplitResult | None:
    if api_url is None or api_url.rstrip("/") == TWILIO_API_URL:
        return None
    parts = urlsplit(api_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"TWILIO_API_URL must be an http(s) address, not {api_url!r}")
    return parts
