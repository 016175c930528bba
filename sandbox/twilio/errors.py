"""Twilio's REST error answers, in each shape a client may get one.

- "legacy": Twilio's 2010 API body `{"code", "message", "more_info", "status"}`, JSON. The twilio
  SDK raises `TwilioRestException(status, uri, msg, code)` for it.
- "problem": an RFC 9457 problem body `{"type", "title", "status", "code", "detail"}`, as
  `application/problem+json`, as Twilio's newer APIs answer. Having all of type, title, status and
  code, the SDK (9.13) raises `TwilioServiceException` instead.
- "html": a page that is not JSON at all, with the same HTTP status, as a proxy or load balancer
  in front of Twilio answers. The SDK raises `TwilioRestException` with the HTTP status as its
  code: the body says nothing more.
"""

from __future__ import annotations

from typing import Any, Literal

from aiohttp import web

API_VERSION = "2010-04-01"
MAX_BODY_CHARACTERS = 1600

Shape = Literal["legacy", "problem", "html"]
SHAPES: tuple[Shape, ...] = ("legacy", "problem", "html")


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

    def problem(self, instance: str | None = None) -> dict[str, Any]:
        """The RFC 9457 form: `type` names the error's page, `title` the kind, `detail` this one."""
        body: dict[str, Any] = {
            "type": f"https://www.twilio.com/docs/errors/{self.code}",
            "title": self.message,
            "status": self.status,
            "code": self.code,
            "detail": self.extra.get("detail") or self.message,
        }
        if instance is not None:
            body["instance"] = instance
        return body

    def page(self) -> str:
        """What a proxy shows for the status: nothing of Twilio's code or message reaches it."""
        return (
            f"<html><head><title>{self.status} Error</title></head>"
            f"<body><h1>{self.status} Error</h1><p>The request could not be completed.</p>"
            "</body></html>"
        )

    def response(self, shape: Shape = "legacy", instance: str | None = None) -> web.Response:
        headers = {"WWW-Authenticate": 'Basic realm="Twilio API"'} if self.status == 401 else None
        if shape == "problem":
            return web.json_response(
                self.problem(instance), status=self.status, headers=headers,
                content_type="application/problem+json",
            )  # fmt: skip
        if shape == "html":
            return web.Response(
                text=self.page(), status=self.status, headers=headers, content_type="text/html"
            )
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
