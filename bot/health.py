"""GET /healthz: does the database answer, does Redis answer."""

from __future__ import annotations

import asyncio

from aiohttp import web
from sqlalchemy import text

from bot.keys import RUNTIME

CHECK_TIMEOUT = 2.0


async def _database(request: web.Request) -> None:
    async with request.app[RUNTIME].db.read() as session:
        await session.execute(text("SELECT 1"))


async def _redis(request: web.Request) -> None:
    await request.app[RUNTIME].redis.ping()


async def _check(probe, request: web.Request) -> str:  # type: ignore[no-untyped-def]
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            await probe(request)
    except Exception as error:  # any failure means "not answering"; say which kind
        return f"error: {type(error).__name__}"
    return "ok"


async def healthz(request: web.Request) -> web.Response:
    database, redis = await asyncio.gather(_check(_database, request), _check(_redis, request))
    healthy = database == "ok" and redis == "ok"
    return web.json_response(
        {"status": "ok" if healthy else "unavailable", "database": database, "redis": redis},
        status=200 if healthy else 503,
    )
