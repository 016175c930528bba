"""HTTP API keys: created with a secret shown once, stored hashed, revocable.

A key is `KEY_ID:KEY_SECRET`. The secret is 192 random bits, so a plain SHA-256 of it is as good
as a slow password hash (nobody can guess such a secret, slowly or quickly) and costs nothing per
request.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update

from campaigns import audit
from campaigns.errors import InputError, NotFound, StateError
from campaigns.ids import random_token
from campaigns.models import ApiKey
from campaigns.service.context import Context

# Writing last_used_at on every request would turn every read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class NewApiKey:
    key: ApiKey
    secret: str

    @property
    def token(self) -> str:
        """What a client sends: `Authorization: Bearer KEY_ID:KEY_SECRET`."""
        return f"{self.key.id}:{self.secret}"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def create_api_key(ctx: Context, name: str, actor: str) -> NewApiKey:
    name = name.strip()
    if not name or len(name) > 100:
        raise InputError("Name the key (up to 100 characters), e.g. after the system using it.")
    secret = random_token(24)
    key = ApiKey(
        id="key_" + random_token(8), name=name, secret_hash=_hash(secret), created_at=ctx.now()
    )
    async with ctx.db.transaction() as session:
        session.add(key)
        audit.record(session, actor, "apikey.create", None, key_id=key.id, name=name)
    return NewApiKey(key, secret)


async def list_api_keys(ctx: Context) -> list[ApiKey]:
    async with ctx.db.read() as session:
        return list(
            (await session.execute(select(ApiKey).order_by(ApiKey.created_at, ApiKey.id))).scalars()
        )


async def revoke_api_key(ctx: Context, key_id: str, actor: str) -> ApiKey:
    async with ctx.db.transaction() as session:
        key = await session.get(ApiKey, key_id)
        if key is None:
            raise NotFound(f"No API key {key_id!r}: `textcast apikey list` shows them.")
        if key.revoked_at is not None:
            raise StateError(f"API key {key_id} was already revoked.")
        key.revoked_at = ctx.now()
        audit.record(session, actor, "apikey.revoke", None, key_id=key_id)
    return key


async def authenticate(ctx: Context, token: str) -> ApiKey | None:
    """The live key a `KEY_ID:KEY_SECRET` token names, or None (never says why)."""
    key_id, _, secret = token.partition(":")
    if not key_id or not secret:
        return None
    async with ctx.db.read() as session:
        key = await session.get(ApiKey, key_id)
    # Compare even for an unknown id, so the answer takes as long either way.
    expected = key.secret_hash if key else _hash("-")
    if not hmac.compare_digest(expected, _hash(secret)) or key is None or key.revoked_at:
        return None
    now = ctx.now()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        async with ctx.db.transaction() as session:
            await session.execute(
                update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=now)
            )
        key.last_used_at = now
    return key
