"""GET /healthz reports the database and Redis."""

from __future__ import annotations

from redis.asyncio import Redis

from tests.bot.conftest import Api


async def test_healthy(api: Api) -> None:
    response = await api.client.get("/healthz")
    assert response.status == 200
    assert await response.json() == {"status": "ok", "database": "ok", "redis": "ok"}


async def test_redis_down_is_503_and_says_which(api: Api) -> None:
    healthy_redis = api.runtime.redis
    dead = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    object.__setattr__(api.runtime, "redis", dead)
    try:
        response = await api.client.get("/healthz")
    finally:
        object.__setattr__(api.runtime, "redis", healthy_redis)
        await dead.aclose()
    assert response.status == 503
    body = await response.json()
    assert body["database"] == "ok" and body["redis"].startswith("error")


async def test_database_down_is_503_and_says_which(api: Api) -> None:
    from campaigns.db import Database

    healthy_db = api.runtime.db
    dead = Database("postgresql+asyncpg://postgres@127.0.0.1:1/none", connect_args={"timeout": 0.5})
    object.__setattr__(api.runtime, "db", dead)
    try:
        response = await api.client.get("/healthz")
    finally:
        object.__setattr__(api.runtime, "db", healthy_db)
        await dead.dispose()
    assert response.status == 503
    body = await response.json()
    assert body["redis"] == "ok" and body["database"].startswith("error")
