"""Typed keys for what the aiohttp application and its requests carry."""

from __future__ import annotations

from aiohttp import web

from bot.runtime import Runtime
from campaigns.models import ApiKey

RUNTIME = web.AppKey("runtime", Runtime)
API_KEY = web.RequestKey("api_key", ApiKey)  # the key that authenticated the request


def api_key(request: web.Request) -> ApiKey:
    return request[API_KEY]
