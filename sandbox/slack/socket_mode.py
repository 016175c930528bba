"""Socket Mode: Slack's end of the WebSocket an app opens instead of offering a Request URL.

The protocol, as Slack documents it (docs.slack.dev, "Using Socket Mode"):

1. The app calls `apps.connections.open` with an app-level token (`xapp-...`, scope
   `connections:write`) and gets `{"ok": true, "url": "wss://.../link/?ticket=..."}`. A bot or
   user token gets `not_allowed_token_type`; an app token is good for nothing else.
2. It connects to the URL; Slack's first message is `hello`, with `num_connections`,
   `debug_info` and `connection_info.app_id`. An app may hold up to 10 connections (not
   enforced here); each envelope goes to one of them.
3. Slack sends envelopes `{"envelope_id", "type", "payload", "accepts_response_payload"}`, where
   `type` is `slash_commands`, `interactive` or `events_api` and `payload` is exactly the body an
   HTTP Request URL would have received (events also carry `retry_attempt` and `retry_reason`).
   The app acknowledges each within 3 seconds with `{"envelope_id", "payload"?}`; the payload is
   what an HTTP answer's body would have been (a modal's `response_action`, a command's reply).
4. Slack refreshes connections every few hours: `{"type": "disconnect", "reason":
   "refresh_requested" | "warning" | "link_disabled", "debug_info": {"host": ...}}`, after which
   the app opens a new connection (a new `apps.connections.open`) and the old one is closed.

The stand-in speaks it over real WebSockets rather than handing envelopes to the app in-process,
so what the tests run is the app's real Socket Mode client: the token it sends, its reconnects,
the acknowledgements it writes. It serves plain HTTP, so its URLs are `ws://`, not `wss://`. Each
URL opens one connection (its ticket is spent); an unknown or spent ticket is refused with 401.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from sandbox.slack.args import Args
from sandbox.slack.context import SANDBOX, Context

ENVELOPE_TYPES = ("slash_commands", "interactive", "events_api")
DISCONNECT_REASONS = ("refresh_requested", "warning", "link_disabled")
HOST = "applink-sandbox"
CONNECTION_TIME = 3_600  # seconds, the `approximate_connection_time` Slack's docs show
DEBUG_CONNECTION_TIME = 360  # with `&debug_reconnects=true` on the URL
LINK_PATH = "/link/"

# Web API methods that take an app-level token, and only that.
APP_LEVEL_METHODS = frozenset({"apps.connections.open"})


class SocketModeError(Exception):
    """An envelope could not be delivered: no app is connected, or it was not acknowledged."""


@dataclass(eq=False)
class Connection:
    id: int
    socket: web.WebSocketResponse
    leaving: bool = False  # told to disconnect: no more envelopes go to it
    unacked: set[str] = field(default_factory=set)  # envelope ids sent on it, not yet acked


class SocketMode:
    """The connections the app holds, the tickets it may still use, and envelopes awaiting acks."""

    def __init__(self, app_id: str) -> None:
        self.app_id = app_id
        self.tickets: set[str] = set()
        self.connections: list[Connection] = []
        self.acks: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._ids = itertools.count(1)
        self._turn = itertools.count()
        self._closing: set[asyncio.Task[None]] = set()  # held so they are not collected early

    # -- connecting

    def issue_url(self, origin: str) -> str:
        """A one-connection WebSocket URL on the stand-in at `origin` (http:// becomes ws://)."""
        ticket = str(uuid.uuid4())
        self.tickets.add(ticket)
        return f"ws{origin.removeprefix('http')}{LINK_PATH}?ticket={ticket}&app_id={self.app_id}"

    def hello(self, *, debug_reconnects: bool) -> dict[str, Any]:
        return {
            "type": "hello",
            "num_connections": len(self.connections),
            "debug_info": {
                "host": HOST,
                "started": _started(),
                "build_number": 1,
                "approximate_connection_time": (
                    DEBUG_CONNECTION_TIME if debug_reconnects else CONNECTION_TIME
                ),
            },
            "connection_info": {"app_id": self.app_id},
        }

    def opened(self, socket: web.WebSocketResponse) -> Connection:
        connection = Connection(next(self._ids), socket)
        self.connections.append(connection)
        return connection

    def closed(self, connection: Connection) -> None:
        """Envelopes still waiting on a closed connection fail now rather than at their timeout."""
        if connection in self.connections:
            self.connections.remove(connection)
        for envelope_id in connection.unacked:
            waiting = self.acks.get(envelope_id)
            if waiting is not None and not waiting.done():
                waiting.set_exception(
                    SocketModeError(
                        f"the connection closed before envelope {envelope_id} was acked"
                    )
                )

    def received(self, connection: Connection, text: str) -> None:
        """An acknowledgement resolves its envelope; Slack ignores anything else the app sends."""
        try:
            message = json.loads(text)
        except json.JSONDecodeError:
            return
        if not isinstance(message, dict):
            return
        envelope_id = message.get("envelope_id")
        waiting = self.acks.get(envelope_id) if isinstance(envelope_id, str) else None
        if waiting is None or waiting.done():
            return  # unknown, or acked after its sender gave up
        connection.unacked.discard(envelope_id)
        payload = message.get("payload")
        waiting.set_result(payload if isinstance(payload, dict) else {})

    # -- what Slack sends

    def _pick(self) -> Connection:
        """One of the open connections, in turn, preferring those not told to leave."""
        staying = [c for c in self.connections if not c.leaving and not c.socket.closed]
        candidates = staying or [c for c in self.connections if not c.socket.closed]
        if not candidates:
            raise SocketModeError("no app is connected over Socket Mode")
        return candidates[next(self._turn) % len(candidates)]

    async def send(
        self,
        type: str,
        payload: dict[str, Any],
        *,
        accepts_response_payload: bool | None = None,
        retry_attempt: int = 0,
        retry_reason: str = "",
        timeout: float = 3.0,  # noqa: ASYNC109 (Slack's ack deadline, part of the protocol)
    ) -> dict[str, Any]:
        """Send an envelope and wait for its acknowledgement; return the ack's payload ({} if none)."""
        if type not in ENVELOPE_TYPES:
            raise ValueError(f"Socket Mode envelopes are {', '.join(ENVELOPE_TYPES)}, not {type!r}")
        connection = self._pick()
        envelope: dict[str, Any] = {
            "envelope_id": str(uuid.uuid4()),
            "type": type,
            "payload": payload,
            # Slack takes a reply in the ack for commands and interactions, not for events.
            "accepts_response_payload": (
                type != "events_api"
                if accepts_response_payload is None
                else accepts_response_payload
            ),
        }
        if type == "events_api":
            envelope["retry_attempt"] = retry_attempt
            envelope["retry_reason"] = retry_reason
        envelope_id = envelope["envelope_id"]
        waiting: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.acks[envelope_id] = waiting
        connection.unacked.add(envelope_id)
        try:
            await connection.socket.send_json(envelope)
            async with asyncio.timeout(timeout):
                return await waiting
        except TimeoutError:
            raise SocketModeError(
                f"the app did not acknowledge {type} envelope {envelope_id} within {timeout:g} s"
            ) from None
        finally:
            self.acks.pop(envelope_id, None)
            connection.unacked.discard(envelope_id)

    async def disconnect(self, reason: str, *, close_after: float | None) -> None:
        """Tell every connection to go; close each still open `close_after` seconds later."""
        if reason not in DISCONNECT_REASONS:
            raise ValueError(f"Slack's disconnect reasons are {', '.join(DISCONNECT_REASONS)}")
        leaving = [c for c in self.connections if not c.socket.closed]
        for connection in leaving:
            connection.leaving = True
            await connection.socket.send_json(
                {"type": "disconnect", "reason": reason, "debug_info": {"host": HOST}}
            )
        if close_after is not None:
            task = asyncio.create_task(self._close_later(leaving, close_after))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    async def _close_later(self, connections: list[Connection], delay: float) -> None:
        """Slack closes a connection it asked to leave, whether or not the app has moved on."""
        await asyncio.sleep(delay)
        for connection in connections:
            await _close(connection)

    async def close_all(self) -> None:
        for task in list(self._closing):
            task.cancel()
        for connection in list(self.connections):
            await _close(connection)


def _started() -> str:
    """Now, as Slack writes it in debug_info: "2020-10-11 12:12:12.120"."""
    now = time.time()
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}"


async def _close(connection: Connection) -> None:
    if not connection.socket.closed:
        await connection.socket.close(code=WSCloseCode.GOING_AWAY)


# -- the Web API method and the WebSocket route


def connections_open(context: Context, args: Args) -> dict[str, Any]:
    """apps.connections.open: a fresh WebSocket URL (the token was checked as app-level)."""
    return {"url": context.sandbox.socket_mode.issue_url(context.origin)}


METHODS = {"apps.connections.open": connections_open}


async def link(request: web.Request) -> web.StreamResponse:
    """GET /link/?ticket=...: the WebSocket. hello first, then envelopes out and acks in."""
    mode = request.app[SANDBOX].socket_mode
    ticket = request.query.get("ticket", "")
    if ticket not in mode.tickets:
        return web.Response(status=401, text="unknown or already used ticket")
    mode.tickets.discard(ticket)
    socket = web.WebSocketResponse()
    await socket.prepare(request)
    connection = mode.opened(socket)
    try:
        debug_reconnects = request.query.get("debug_reconnects", "").lower() == "true"
        await socket.send_json(mode.hello(debug_reconnects=debug_reconnects))
        async for message in socket:
            if message.type == WSMsgType.TEXT:
                mode.received(connection, message.data)
    finally:
        mode.closed(connection)
    return socket


async def close_connections(app: web.Application) -> None:
    """on_shutdown: an open WebSocket would otherwise hold the server's shutdown for a minute."""
    await app[SANDBOX].socket_mode.close_all()
