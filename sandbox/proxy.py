"""A TCP proxy that can fail on command: for making Redis or a database go away for a while.

    proxy = await TcpProxy.start("127.0.0.1", 6379)   # then connect to proxy.port instead
    proxy.cut()                  # every open connection is closed at once
    await proxy.down_for(1.5)    # ...and for 1.5 s new ones are closed as soon as they come

It forwards bytes both ways and knows nothing of the protocol, so the client sees what it would
see if the server crashed or the network dropped: a reset connection, then refused attempts.
"""

from __future__ import annotations

import asyncio

CHUNK = 65_536


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self.refusing = False
        self.cuts = 0  # connections closed by `cut` or refused while down
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()

    @classmethod
    async def start(cls, target_host: str, target_port: int) -> TcpProxy:
        proxy = cls(target_host, target_port)
        proxy._server = await asyncio.start_server(proxy._serve, "127.0.0.1", 0)
        proxy.port = proxy._server.sockets[0].getsockname()[1]
        return proxy

    def cut(self) -> None:
        """Close every connection through the proxy now."""
        for writer in list(self._open):
            writer.transport.abort()
            self.cuts += 1
        self._open.clear()

    async def down_for(self, seconds: float) -> None:
        """Cut everything, and refuse new connections for `seconds`; then serve again."""
        self.refusing = True
        self.cut()
        try:
            await asyncio.sleep(seconds)
        finally:
            self.refusing = False

    async def stop(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.refusing:
            self.cuts += 1
            writer.transport.abort()
            return
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._open.update((writer, upstream_writer))
        await asyncio.gather(
            self._pipe(reader, upstream_writer),
            self._pipe(upstream_reader, writer),
            return_exceptions=True,
        )
        for side in (writer, upstream_writer):
            self._open.discard(side)
            side.transport.abort()

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(CHUNK):
                writer.write(data)
                await writer.drain()
        finally:
            writer.transport.abort()
