"""Twilio's REST error answers: `{"code", "message", "more_info", "status"}` and an HTTP status.

The twilio SDK turns such a body into `TwilioRestException(status, uri, msg, code)`; a body with
`type` and `title` as well would become a `TwilioServiceException` instead, so none has them.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

API_VERSION = "2010-04-01"
MAX_BODY_CHARACTERS = 1600


class TwilioApiError(Exception):
    """An error answer of the stand-in's REST API."""

    def __init__(self, code: int, status: int, message: str, **extra: Any) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.status = status
        self.message = message
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "more_info": f"https://www.twilio.com/docs/errors/{self.code}",
            "status": self.status,
            **self.extra,
        }

    def response(self) -> web.Response:
        headers = {"WWW-Authenticate": 'Basic realm="Twilio API"'} if self.status == 401 else None
        return web.json_response(self.body(), status=self.status, headers=headers)


def authenticate() -> TwilioApiError:
    return TwilioApiError(
        20003, 401, "Authenticate", detail="Your AccountSid or AuthToken was incorrect."
    )


def not_found(path: str) -> TwilioApiError:
    return TwilioApiError(20404, 404, f"The requested resource {path} was not found")


def method_not_allowed() -> TwilioApiError:
    return TwilioApiError(20004, 405, "Method not allowed")


def too_many_requests() -> TwilioApiError:
    return TwilioApiError(20429, 429, "Too Many Requests")


def internal_error() -> TwilioApiError:
    return TwilioApiError(20500, 500, "An internal server error has occurred")


def invalid_parameter(name: str, value: str) -> TwilioApiError:
    return TwilioApiError(20001, 400, f"Invalid {name}: {value}")


def missing_to() -> TwilioApiError:
    return TwilioApiError(21604, 400, "A 'To' phone number is required.")


def invalid_to(to: str) -> TwilioApiError:
    return TwilioApiError(21211, 400, f"Invalid 'To' Phone Number: {to}")


def missing_from() -> TwilioApiError:
    return TwilioApiError(
        21603, 400, "A 'From' or 'MessagingServiceSid' parameter is required to send a message"
    )


def invalid_from(from_: str) -> TwilioApiError:
    return TwilioApiError(
        21606,
        400,
        f"The From phone number {from_} is not a valid, SMS-capable inbound phone number or "
        "short code for your account.",
    )


def invalid_messaging_service(sid: str) -> TwilioApiError:
    return TwilioApiError(21705, 400, f"The Messaging Service Sid {sid} is invalid.")


def missing_body() -> TwilioApiError:
    return TwilioApiError(21602, 400, "Message body is required.")


def body_too_long() -> TwilioApiError:
    return TwilioApiError(
        21617,
        400,
        f"The concatenated message body exceeds the {MAX_BODY_CHARACTERS} character limit.",
    )


MAX_MEDIA_URLS = 10


def too_many_media() -> TwilioApiError:
    return TwilioApiError(21623, 400, "Number of media files exceeds allowed limit")


def invalid_media_url(url: str) -> TwilioApiError:
    return TwilioApiError(21620, 400, f"Invalid media URL(s): {url}")


def invalid_status_callback(url: str) -> TwilioApiError:
    return TwilioApiError(21609, 400, f"The StatusCallback URL {url} is not a valid URL.")


def unsubscribed() -> TwilioApiError:
    return TwilioApiError(21610, 400, "Attempt to send to unsubscribed recipient")


def invalid_validity_period(value: str) -> TwilioApiError:
    return TwilioApiError(
        90007, 400, f"Invalid validity period value {value}: use 1 to 36000 seconds"
    )
