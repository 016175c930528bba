"""Every API error is JSON `{"error": {"code", "message", "field"}}`: never a traceback."""

from __future__ import annotations

import logging

from aiohttp import web
from pydantic import ValidationError

from campaigns.errors import (
    Busy,
    IdempotencyKeyReused,
    InputError,
    LimitError,
    NotFound,
    SpendCapError,
    StaleVersion,
    StateError,
    TextcastError,
)

log = logging.getLogger(__name__)

# Malformed requests are 400; well-formed ones that break a campaign rule are 422.
STATUS_OF = [
    (Busy, 503, "busy"),
    (IdempotencyKeyReused, 422, "idempotency_key_reused"),
    (NotFound, 404, "not_found"),
    (StaleVersion, 412, "version_mismatch"),  # before StateError, which it is a kind of
    (StateError, 409, "conflict"),
    (SpendCapError, 422, "over_budget"),
    (LimitError, 422, "over_limit"),
    (InputError, 422, "invalid_input"),
]


class BadRequest(Exception):
    """A malformed request (not JSON, a bad query parameter or header): 400."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message, self.field = message, field


def error_response(
    status: int, code: str, message: str, field: str | None = None, **headers: str
) -> web.Response:
    body = {"error": {"code": code, "message": message, "field": field}}
    return web.json_response(body, status=status, headers=headers or None)


def bad_request(message: str, field: str | None = None) -> web.Response:
    return error_response(400, "invalid_request", message, field)


def from_validation_error(error: ValidationError) -> web.Response:
    """pydantic's first complaint, as one sentence naming the field."""
    first = error.errors(include_url=False)[0]
    field = ".".join(str(part) for part in first["loc"]) or None
    if first["type"] == "extra_forbidden":
        message = f"Unknown field {field!r}: check its spelling against the API documentation."
    elif first["type"] == "missing":
        message = f"{field} is required."
    else:
        message = f"{field}: {first['msg']}." if field else f"{first['msg']}."
    return bad_request(message, field)


def from_domain_error(error: TextcastError) -> web.Response:
    for kind, status, code in STATUS_OF:
        if isinstance(error, kind):
            headers = {"Retry-After": "5"} if status == 503 else {}
            return error_response(status, code, error.message, error.field, **headers)
    return error_response(422, "invalid_input", error.message, error.field)


@web.middleware
async def json_errors(request: web.Request, handler) -> web.StreamResponse:  # type: ignore[no-untyped-def]
    """Turn every failure under /v1 into the JSON error shape."""
    if not request.path.startswith("/v1/"):
        return await handler(request)
    try:
        return await handler(request)
    except BadRequest as error:
        return bad_request(error.message, error.field)
    except TextcastError as error:
        return from_domain_error(error)
    except ValidationError as error:
        return from_validation_error(error)
    except web.HTTPRequestEntityTooLarge:
        raise  # answered by `body_limits`, which knows the route's limit
    except ConnectionResetError:
        raise  # the client went mid-body, or was closed at its deadline: not our failure
    except web.HTTPException as error:
        if error.status >= 400:
            return error_response(
                error.status, error.reason.lower().replace(" ", "_"), error.reason
            )
        raise
    except Exception:
        log.exception("unexpected error on %s %s", request.method, request.path)
        return error_response(
            500, "internal", "Something went wrong on our side; nothing was changed."
        )
