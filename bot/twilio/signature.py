"""Checking that a webhook comes from Twilio: `X-Twilio-Signature` against PUBLIC_BASE_URL.

Twilio signs the URL it requested (scheme, host, port, path and query) followed by the form
parameters, with the account's auth token. Behind a proxy the request this process sees has
another scheme, host or port, so the URL is rebuilt from PUBLIC_BASE_URL, never from the Host
header (which a client chooses). The SDK's `RequestValidator.validate` tries that URL with and
without its port (Twilio's own signing is inconsistent about an explicit :443), so either form
of PUBLIC_BASE_URL works.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from functools import lru_cache

from aiohttp import web
from twilio.request_validator import (
    SIGNATURE_HEADER,
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    get_signature_algorithm,
)

from campaigns.settings import Settings


@lru_cache(maxsize=4)
def _validator(auth_token: str) -> RequestValidator:
    return RequestValidator(auth_token)


def public_url(settings: Settings, request: web.Request) -> str | None:
    """The URL Twilio called: PUBLIC_BASE_URL, then the path and query exactly as sent."""
    if not settings.PUBLIC_BASE_URL:
        return None
    return settings.PUBLIC_BASE_URL + request.raw_path


def signature_problem(
    settings: Settings, request: web.Request, params: Mapping[str, str]
) -> str | None:
    """Why the request cannot be trusted as Twilio's, or None when its signature is right."""
    url = public_url(settings, request)
    if url is None or not settings.TWILIO_AUTH_TOKEN:
        # Twilio is never given this URL then: the worker polls for statuses instead.
        return "Twilio webhooks are not accepted here: PUBLIC_BASE_URL and TWILIO_AUTH_TOKEN must both be set."
    signature = request.headers.get(SIGNATURE_HEADER)
    if not signature:
        return f"The request has no {SIGNATURE_HEADER} header."
    algorithm = get_signature_algorithm(request.headers.get(SIGNATURE_SETTINGS_HEADER))
    validator = _validator(settings.TWILIO_AUTH_TOKEN)
    if _signed_for(validator, url, params, signature, algorithm):
        return None
    if not validator.validate(url, params, signature, algorithm):
        return f"{SIGNATURE_HEADER} does not match this request."
    return None


def _signed_for(
    validator: RequestValidator,
    url: str,
    params: Mapping[str, str],
    signature: str,
    algorithm: str,
) -> bool:
    """Whether `signature` is for `url` exactly as PUBLIC_BASE_URL spells it.

    The usual case, settled with one HMAC; `validate` computes two (the URL with and without
    its port), so it only runs for the rest.
    """
    try:
        expected = validator.compute_signature(url, params, algorithm)
    except ValueError:  # an algorithm the SDK does not know: validate() refuses it, and logs it
        return False
    return hmac.compare_digest(expected.encode(), signature.encode())
