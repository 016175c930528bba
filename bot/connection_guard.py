"""What a client may hold of the web process: a deadline to send each request, and a number of
connections per address.

aiohttp's server has an idle keep-alive timeout, but nothing bounds how long a client may take
to send a request's headers and body, so connections that send nothing or a byte at a time
stayed open for minutes until the process ran out of files. Here:

- `GuardedConnection` wraps each connection's aiohttp `RequestHandler` (as the protocol asyncio
  sees) and closes the connection when a request has not arrived whole, headers and body, within
  REQUEST_TIMEOUT_SECONDS of its first byte (of the connection's opening, for the first).
  While a request is being answered no deadline runs: an answer may take long (an export).
  Between requests, aiohttp's keep-alive timeout (KEEPALIVE_TIMEOUT_SECONDS) closes it.
- `request_deadline`, a middleware before any that reads a body, tells the connection when a
  request's headers have arrived and when its body has (the body's end-of-file), and when it
  has been answered. It is the public hook aiohttp gives for both, where its protocol has none.
- `ConnectionGuard` counts open connections per client address; bot/listener.py asks it before
  making a connection and closes one over MAX_CONNECTIONS_PER_ADDRESS at once. Out of files,
  the listener has it close the connections that have waited longest without sending a whole
  request (`shed`), never one whose request is being answered.

Pipelining (a next request sent before the answer) is rare (Slack, Twilio, browsers and proxies do
not) and handled coarsely: bytes that come while a request is answered give the next request its
deadline then, renewed while the answer lasts; a next request whose bytes came with the end of
the previous one is bounded by the keep-alive timeout instead.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable

from aiohttp import StreamReader, web
from aiohttp.web import RequestHandler

from bot.log_throttle import ThrottledLog
from campaigns.settings import Settings

log = logging.getLogger(__name__)


class ConnectionGuard:
    def __init__(self, settings: Settings, new_handler: Callable[[], RequestHandler]) -> None:
        """`new_handler` makes aiohttp's handler for a connection: the runner's `server`."""
        self.request_timeout = settings.REQUEST_TIMEOUT_SECONDS
        self.per_address = settings.MAX_CONNECTIONS_PER_ADDRESS
        self._new_handler = new_handler
        self._open: Counter[str] = Counter()
        self._connections: dict[GuardedConnection, None] = {}  # the live ones, as a set
        self._last_refused = ""
        self.timed_out = ThrottledLog(log, logging.INFO, self._timed_out_line)
        self.refused = ThrottledLog(log, logging.WARNING, self._refused_line)
        self.shed_log = ThrottledLog(log, logging.WARNING, self._shed_line)

    def admit(self, address: str) -> bool:
        """Count a new connection from `address`, unless that address is at its cap."""
        if self._open[address] >= self.per_address:
            self._last_refused = address
            self.refused.note()
            return False
        self._open[address] += 1
        return True

    def release(self, address: str) -> None:
        self._open[address] -= 1
        if self._open[address] <= 0:
            del self._open[address]

    def connection(self, address: str) -> GuardedConnection:
        """The protocol for an admitted connection from `address`."""
        return GuardedConnection(self, address)

    def new_handler(self) -> RequestHandler:
        return self._new_handler()

    def started(self, connection: GuardedConnection) -> None:
        self._connections[connection] = None

    def ended(self, connection: GuardedConnection) -> None:
        self._connections.pop(connection, None)

    def shed(self, count: int) -> None:
        """Out of files: close up to `count` connections that are not being answered (still
        sending a request, or idle between two), those waiting longest first, so a new client
        (a monitor's /healthz) gets in at once instead of after the deadline. nginx does the
        same with idle kept-alive connections when it runs out."""
        waiting = sorted(
            (c for c in self._connections if c.waiting_since is not None),
            key=lambda c: c.waiting_since or 0.0,
        )
        for connection in waiting[:count]:
            connection.close_now()
            self.shed_log.note()

    def close(self) -> None:
        self.timed_out.close()
        self.refused.close()
        self.shed_log.close()

    def _timed_out_line(self, count: int, period: float) -> str:
        if not period:
            return (
                "Closed a connection that sent no complete request within "
                f"{self.request_timeout:g} s (REQUEST_TIMEOUT_SECONDS)"
            )
        return (
            f"Closed {count:,} more connections in the last {period:g} s that sent no complete "
            f"request within {self.request_timeout:g} s"
        )

    def _shed_line(self, count: int, period: float) -> str:
        if not period:
            return (
                "Out of files: closed a connection that had not sent a whole request (or was "
                "idle), to let new ones in"
            )
        return (
            f"Out of files: closed {count:,} more connections in the last {period:g} s that had "
            "not sent a whole request (or were idle), the longest waiting first"
        )

    def _refused_line(self, count: int, period: float) -> str:
        cap = f"already had {self.per_address} open (MAX_CONNECTIONS_PER_ADDRESS)"
        if not period:
            return f"Refused a connection from {self._last_refused}, which {cap}"
        return (
            f"Refused {count:,} more connections in the last {period:g} s from addresses that "
            f"{cap}, the last from {self._last_refused}"
        )


class GuardedConnection(asyncio.Protocol):
    """aiohttp's handler for one connection, with a deadline for each request to arrive."""

    def __init__(self, guard: ConnectionGuard, address: str) -> None:
        self._guard = guard
        self._address = address
        self._handler: RequestHandler | None = None
        self._transport: asyncio.Transport | None = None
        self._deadline: asyncio.TimerHandle | None = None
        self._body_pending = False  # the request being answered has not sent all its body
        self._answering = 0
        self._counted = True  # admitted: released once, when the connection ends
        # When it started waiting for a request's bytes (or idling between two); None while a
        # request is answered.
        self.waiting_since: float | None = None

    # -- asyncio's side: everything goes on to aiohttp's handler

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._handler = self._guard.new_handler()
        self._guard.started(self)
        self._start_deadline()  # a connection that never sends anything is closed too
        self._handler.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if data and self._deadline is None:  # the first bytes of a next request
            self._start_deadline()
        assert self._handler is not None
        self._handler.data_received(data)

    def eof_received(self) -> bool | None:
        assert self._handler is not None
        return self._handler.eof_received()

    def pause_writing(self) -> None:
        assert self._handler is not None
        self._handler.pause_writing()

    def resume_writing(self) -> None:
        assert self._handler is not None
        self._handler.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_deadline()
        self._guard.ended(self)
        self.abandon()
        if self._handler is not None:
            self._handler.connection_lost(exc)

    def abandon(self) -> None:
        """Give back the connection's place under its address's cap (once)."""
        if self._counted:
            self._counted = False
            self._guard.release(self._address)

    # -- the application's side (request_deadline)

    def request_started(self, body: StreamReader) -> None:
        """A request's headers have arrived: its body still must, by the same deadline."""
        self._answering += 1
        if body.is_eof():
            self._stop_deadline()
            self.waiting_since = None
            return
        self._body_pending = True
        if self._deadline is None:
            self._start_deadline()
        body.on_eof(self._body_received)

    def request_answered(self) -> None:
        self._answering -= 1
        if not self._answering and self.waiting_since is None:
            self.waiting_since = asyncio.get_running_loop().time()  # idle from now

    def _body_received(self) -> None:
        self._body_pending = False
        self._stop_deadline()
        if self._answering:
            self.waiting_since = None

    def close_now(self) -> None:
        self.waiting_since = None  # not to be picked again before asyncio reports it lost
        if self._transport is not None:
            self._transport.abort()  # frees the file at once; nothing owed a reply is lost

    # -- the deadline

    def _start_deadline(self) -> None:
        self._stop_deadline()
        loop = asyncio.get_running_loop()
        self._deadline = loop.call_later(self._guard.request_timeout, self._expired)
        if not self._answering or self._body_pending:
            self.waiting_since = loop.time()

    def _stop_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if self._answering and not self._body_pending:
            # A pipelined request's bytes came while this one is answered: its time starts again.
            self._start_deadline()
            return
        self._guard.timed_out.note()
        self.close_now()


@web.middleware
async def request_deadline(request: web.Request, handler) -> web.StreamResponse:  # type: ignore[no-untyped-def]
    """Tell the connection's guard (when it has one) that a request's headers have arrived,
    when its body does, and when it has been answered."""
    transport = request.transport
    connection = transport.get_protocol() if transport is not None else None
    if not isinstance(connection, GuardedConnection):  # a test server, or already gone
        return await handler(request)
    connection.request_started(request.content)
    try:
        return await handler(request)
    except ConnectionResetError:
        if transport is None or not transport.is_closing():
            raise
        # The client went before its body ended, or was closed at its deadline: nobody reads
        # this answer (aiohttp drops it quietly), but the access log has its line.
        return web.Response(status=408)
    finally:
        connection.request_answered()
