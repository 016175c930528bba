"""The web process's listening socket, with an accept loop of its own.

aiohttp's `TCPSite` hands the socket to `loop.create_server`, whose accept loop (CPython 3.11's
`_accept_connection`) goes on trying after "Too many open files" and schedules another retry for
each failed try (CPython issue 151615): out of files, the retries multiply, each logging a
traceback (213,620 in 35 s), and the loop is too busy to answer /healthz once files are free
again. A loop.create_server wrapper cannot change that, so this site accepts itself:

- out of files (or memory), it logs one line a period (bot/log_throttle.py), closes a few of
  the connections that have waited longest without sending a whole request (so a monitor's
  /healthz gets in without waiting for their deadline), and tries again after
  ACCEPT_RETRY_SECONDS, never more often;
- before anything is made for a connection it asks the `ConnectionGuard` whether its address is
  under MAX_CONNECTIONS_PER_ADDRESS; one over is reset at once, which costs a file for a moment
  and no transport, protocol or parser;
- an admitted connection is made into a transport with `loop.connect_accepted_socket`, its
  protocol a `GuardedConnection` around aiohttp's own handler, so aiohttp serves it as before.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import resource
import socket
import struct

from aiohttp import web

from bot.connection_guard import ConnectionGuard
from bot.log_throttle import ThrottledLog

log = logging.getLogger(__name__)

ACCEPT_RETRY_SECONDS = 0.1
# What accept() fails with when the process or the system is out of files or memory: the
# connection waits in the kernel's queue until there is room again.
OUT_OF_RESOURCES = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}
# Out of files, the connections closed each time accept() fails, to make room (those waiting
# longest for a whole request first; bot/connection_guard.py).
SHED_AT_A_TIME = 8
# Accepted in a row before letting the rest of the loop run, as asyncio's own loop does.
ACCEPTS_PER_TURN = 64


class GuardedSite(web.BaseSite):
    __slots__ = (
        "_accept_error", "_accept_failed", "_accepting", "_guard", "_host", "_making", "_port",
        "_socket",
    )  # fmt: skip

    def __init__(
        self, runner: web.BaseRunner, host: str, port: int, guard: ConnectionGuard
    ) -> None:
        super().__init__(runner)
        self._host = host
        self._port = port
        self._guard = guard
        self._socket: socket.socket | None = None
        self._accepting: asyncio.Task[None] | None = None
        self._making: set[asyncio.Task[None]] = set()
        self._accept_error: OSError | None = None
        self._accept_failed = ThrottledLog(log, logging.ERROR, self._accept_failed_line)

    @property
    def name(self) -> str:
        return f"http://{self._host}:{self.port}"

    @property
    def port(self) -> int:
        """The port listened on (the one the system chose, for port 0)."""
        if self._socket is None:
            return self._port
        return int(self._socket.getsockname()[1])

    async def start(self) -> None:
        await super().start()  # registers the site with its runner, which stops it
        self._socket = listening_socket(self._host, self._port, self._backlog)
        self._accepting = asyncio.create_task(self._accept_loop())

    async def stop(self) -> None:
        if self._accepting is not None:
            self._accepting.cancel()
            await asyncio.gather(self._accepting, return_exceptions=True)
        if self._socket is not None:
            self._socket.close()
        await asyncio.gather(*self._making, return_exceptions=True)
        self._accept_failed.close()
        self._guard.close()
        await super().stop()

    async def _accept_loop(self) -> None:
        assert self._socket is not None
        loop = asyncio.get_running_loop()
        in_a_row = 0
        while True:
            try:
                client, address = await loop.sock_accept(self._socket)
            except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                continue  # the client went before it was accepted
            except OSError as error:
                # Out of files, or anything else: never stop accepting, never spin.
                self._accept_error = error
                self._accept_failed.note()
                if error.errno in OUT_OF_RESOURCES:
                    self._guard.shed(SHED_AT_A_TIME)
                await asyncio.sleep(ACCEPT_RETRY_SECONDS)
                continue
            self._take(loop, client, address)
            in_a_row += 1
            if in_a_row >= ACCEPTS_PER_TURN:
                in_a_row = 0
                await asyncio.sleep(0)

    def _take(
        self, loop: asyncio.AbstractEventLoop, client: socket.socket, address: object
    ) -> None:
        host = str(address[0]) if isinstance(address, tuple) else str(address)
        if not self._guard.admit(host):
            reset(client)
            return
        task = loop.create_task(self._make_connection(loop, client, host))
        self._making.add(task)
        task.add_done_callback(self._making.discard)

    async def _make_connection(
        self, loop: asyncio.AbstractEventLoop, client: socket.socket, host: str
    ) -> None:
        connection = self._guard.connection(host)
        try:
            await loop.connect_accepted_socket(lambda: connection, client)
        except BaseException:
            connection.abandon()
            client.close()
            raise

    def _accept_failed_line(self, count: int, period: float) -> str:
        error = self._accept_error or OSError("unknown error")
        reason = error.strerror or str(error)
        if error.errno in (errno.EMFILE, errno.ENFILE):
            soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
            reason += f" (this process may open {soft:,})"
        if not period:
            return (
                f"Cannot accept new connections: {reason}. They wait, and are accepted as "
                f"files are freed (tried every {ACCEPT_RETRY_SECONDS:g} s)"
            )
        return (
            f"Could not accept new connections {count:,} more times in the last {period:g} s: "
            f"{reason}"
        )


def listening_socket(host: str, port: int, backlog: int) -> socket.socket:
    family, *_ = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    server = socket.create_server((host, port), family=family, backlog=backlog)
    server.setblocking(False)
    return server


def reset(client: socket.socket) -> None:
    """Close at once with a reset: the client learns it was refused, and nothing lingers here
    (no TIME_WAIT)."""
    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    client.close()
