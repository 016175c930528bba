"""Each test's Redis namespace, removed after it; a run that leaves keys behind fails.

The suite shares the Redis at REDIS_URL (its database, never another) with other runs and other
programs: it never flushes it. Every namespace a test uses comes from `new_namespace()`:
`test-RUN-xxxxxxxx`, RUN being this run's. After each test, every key of the namespaces it took
is deleted: its own (`NAMESPACE:...`) and arq's (`arq:job:NAMESPACE:...`, `arq:result:...`,
`arq:in-progress:...`, `arq:retry:...`: every job id starts with the namespace, bot/jobs.py).
At the end of the run, any key left under the run's prefix (written after its test ended, or
under a namespace taken outside a test) fails the run, and is deleted.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from campaigns.settings import Settings

RUN = uuid.uuid4().hex[:8]
_taken: list[str] = []  # every namespace handed out, in order
_client: Redis | None = None


def redis_url() -> str:
    """The Redis the suite may use: REDIS_URL's, as the product reads it (database included)."""
    return os.environ.get("REDIS_URL") or str(Settings.model_fields["REDIS_URL"].default)


def new_namespace() -> str:
    """A namespace of the current test's own, removed once it ends."""
    namespace = f"test-{RUN}-{uuid.uuid4().hex[:8]}"
    _taken.append(namespace)
    return namespace


def _redis() -> Redis:
    global _client
    if _client is None:
        _client = Redis.from_url(redis_url(), socket_connect_timeout=2, socket_timeout=10)
    return _client


def keys_under(pattern: str) -> list[bytes]:
    """Keys matching `pattern`; none if Redis is not there (a test that ran without it wrote
    nothing)."""
    try:
        return list(_redis().scan_iter(match=pattern, count=1000))
    except (RedisConnectionError, RedisTimeoutError):
        return []


def _delete(keys: list[bytes] | list[str]) -> None:
    for start in range(0, len(keys), 1000):  # one command per thousand keys
        _redis().delete(*keys[start : start + 1000])


def forget(namespaces: list[str]) -> None:
    for namespace in namespaces:
        # `*NS:*`: the namespace's own keys and arq's `arq:KIND:NS:...` beside them.
        _delete(keys_under(f"*{namespace}:*"))


def forget_all_taken() -> None:
    """For a script outside pytest (a bench playing a test's scenario): what it took, removed."""
    forget(_taken)


@pytest.fixture(autouse=True)
def redis_namespaces_forgotten() -> Iterator[None]:
    """Set up before, and so torn down after, every other fixture of the test."""
    first = len(_taken)
    yield
    forget(_taken[first:])


@pytest.fixture(scope="session", autouse=True)
def redis_left_clean() -> Iterator[None]:
    yield
    left = sorted(key.decode() for key in keys_under(f"*test-{RUN}-*"))
    if left:
        _delete(left)
        shown = ", ".join(left[:10]) + (f" and {len(left) - 10} more" if len(left) > 10 else "")
        pytest.fail(f"the run left {len(left)} key(s) in Redis (REDIS_URL): {shown}")
