"""The OpenAPI 3.1 document for /v1, served at GET /v1/openapi.json.

Written by hand to say exactly what the server does; schemathesis checks the two agree in CI.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from campaigns.limits import MAX_RECIPIENTS
from campaigns.status import CampaignStatus, RecipientStatus

NULLABLE_STRING = {"type": ["string", "null"]}
NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _json(schema_ref: str, description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_ref}"}}},
    }


UNAUTHORIZED = {
    **_error("Missing, malformed, unknown or revoked API key"),
    "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}},
}

CAMPAIGN_PROPERTIES: dict[str, Any] = {
    "campaign_id": {"type": "string", "pattern": "^smsc_[a-z0-9]+$"},
    "name": {"type": "string"},
    "status": {"type": "string", "enum": [s.value for s in CampaignStatus]},
    "source": {"type": "string", "enum": ["api", "slack"]},
    "message_template": {"type": "string"},
    "from_numbers": {"type": "array", "items": {"type": "string"}},
    "media_urls": {"type": "array", "items": {"type": "string"}, "maxItems": 10},
    "sender_mode": {"type": "string", "enum": ["number", "pool", "service"]},
    "scheduled_at": NULLABLE_TIME,
    "send_hours": {
        "type": "string",
        "description": "when recipients may be texted, in their own time zones, or any",
    },
    "waiting_count": {
        "type": "integer",
        "minimum": 0,
        "description": "pending recipients waiting for their sending hours",
    },
    "next_release_at": {
        **NULLABLE_TIME,
        "description": "when the first of them may be texted",
    },
    "created_at": {"type": "string", "format": "date-time"},
    "agent_id": NULLABLE_STRING,
    "version": {"type": "integer", "minimum": 1},
    "total_count": {"type": "integer", "minimum": 0},
    "delivered_count": {"type": "integer", "minimum": 0},
    "failed_count": {"type": "integer", "minimum": 0, "description": "failed + undelivered + sent"},
    "pending_count": {"type": "integer", "minimum": 0, "description": "pending + queued"},
    "cancelled_count": {"type": "integer", "minimum": 0},
    "segments": {"type": "integer", "minimum": 0},
    "encoding": {"type": "string", "enum": ["GSM-7", "UCS-2", "mixed"]},
    "estimated_cost": {"type": "number", "minimum": 0},
    "currency": {"type": "string"},
}

CAMPAIGN = {
    "type": "object",
    "required": list(CAMPAIGN_PROPERTIES),
    "properties": CAMPAIGN_PROPERTIES,
    "additionalProperties": False,
}

INVALID_ROW = {
    "type": "object",
    "required": ["row", "value", "reason"],
    "properties": {
        "row": {"type": "integer"},
        "value": {"type": "string"},
        "reason": {"type": "string"},
    },
    "additionalProperties": False,
}

RECIPIENT_OUT = {
    "type": "object",
    "required": [
        "phone",
        "variables",
        "status",
        "twilio_sid",
        "error_code",
        "error_reason",
        "outcome_unknown_since",
    ],
    "properties": {
        "phone": {"type": "string"},
        "variables": {"type": "object", "additionalProperties": {"type": "string"}},
        "status": {"type": "string", "enum": [s.value for s in RecipientStatus]},
        "twilio_sid": NULLABLE_STRING,
        "error_code": {"type": ["integer", "null"]},
        "error_reason": NULLABLE_STRING,
        # Set while Textcast does not know whether Twilio made the message (no answer, or its
        # sender stopped): it is checked with Twilio, never simply sent again.
        "outcome_unknown_since": {"type": ["string", "null"], "format": "date-time"},
    },
    "additionalProperties": False,
}

TEXT_OUT = {
    "type": "object",
    "required": ["phone", "to", "body", "meaning", "keyword", "media_types", "received_at"],
    "properties": {
        "phone": {"type": "string"},
        "to": {"type": "string", "description": "the sender number it came to"},
        "body": {"type": "string"},
        "meaning": {"type": "string", "enum": ["reply", "opt_out", "opt_in", "help"]},
        "keyword": NULLABLE_STRING,
        "media_types": {"type": "array", "items": {"type": "string"}},
        "received_at": {"type": "string", "format": "date-time"},
    },
    "additionalProperties": False,
}

VARIABLE_VALUE = {"type": ["string", "number", "boolean", "null"]}

CREATE_BODY = {
    "type": "object",
    "required": ["name", "message_template"],
    "description": (
        "Exactly one of `recipients` and `recipients_csv`; at most one of `from_number` and "
        "`from_numbers` (neither: the only configured number). With schedule_type `schedule`, "
        "`scheduled_at` is required and must be 15 minutes to 7 days ahead. Creating a campaign "
        "with a key states, for the key's owner, that every recipient opted in."
    ),
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 200},
        "message_template": {"type": "string", "minLength": 1, "maxLength": 10000},
        "from_number": {
            "type": ["string", "null"],
            "maxLength": 64,
            "description": "a configured sender number, or `all`",
        },
        "from_numbers": {
            "type": ["array", "null"],
            "items": {"type": "string"},
            "minItems": 1,
            "maxItems": 100,
        },
        "recipients": {
            "type": ["array", "null"],
            "maxItems": MAX_RECIPIENTS + 1,
            "items": {
                "type": "object",
                "required": ["phone"],
                "properties": {
                    "phone": {"type": "string", "maxLength": 100},
                    "variables": {"type": "object", "additionalProperties": VARIABLE_VALUE},
                },
                "additionalProperties": False,
            },
        },
        "recipients_csv": {
            "type": ["string", "null"],
            "description": "CSV or pasted numbers, read like an upload",
        },
        "schedule_type": {"type": "string", "enum": ["now", "schedule"], "default": "now"},
        "scheduled_at": {"type": ["string", "null"], "format": "date-time"},
        "agent_id": {"type": ["string", "null"], "maxLength": 64},
        "region": {
            "type": ["string", "null"],
            "minLength": 2,
            "maxLength": 2,
            "description": "for numbers without a country code; default DEFAULT_REGION",
        },
        "media_urls": {
            "type": ["array", "null"],
            "items": {"type": "string"},
            "maxItems": 100,
            "description": (
                "pictures or files sent with every message (MMS), at most 10 public http(s) "
                "URLs; MMS goes from US and Canadian numbers only and is priced by PRICE_PER_MMS"
            ),
        },
        "send_hours": {
            "type": ["string", "null"],
            "maxLength": 24,
            "description": (
                "this campaign's sending hours in each recipient's own time zone, e.g. "
                "09:00-20:00, or any; default SEND_HOURS"
            ),
        },
    },
    "additionalProperties": False,
}

WARNING: dict[str, Any] = {
    "type": "object",
    "required": ["code", "message"],
    "properties": {
        "code": {
            "type": "string",
            "description": (
                "no_opt_out, link_shortener, unicode_lookalikes, empty_placeholder, "
                "unknown_placeholder, long_message, recipient_list"
            ),
        },
        "message": {"type": "string", "description": "what is wrong, and what to do"},
    },
    "additionalProperties": False,
}

NULLABLE_NUMBER = {"type": ["number", "null"]}
PREVIEW_FIELDS: dict[str, Any] = {
    "name": {"type": "string"},
    "total_count": {"type": "integer", "minimum": 0},
    "invalid": {"type": "array", "items": INVALID_ROW},
    "invalid_count": {"type": "integer", "minimum": 0},
    "duplicates": {"type": "integer", "minimum": 0},
    "opted_out_count": {"type": "integer", "minimum": 0},
    "frequency_capped_count": {"type": "integer", "minimum": 0},
    "samples": {
        "type": "array",
        "items": {
            "type": "object",
            "required": ["row", "phone", "text", "segments"],
            "properties": {
                "row": {"type": "integer"},
                "phone": {"type": "string"},
                "text": {"type": "string"},
                "segments": {"type": "integer", "minimum": 0},
            },
            "additionalProperties": False,
        },
    },
    "encoding": {"type": "string", "enum": ["GSM-7", "UCS-2", "mixed"]},
    "segments": {"type": "integer", "minimum": 0},
    "estimated_cost": {"type": "number", "minimum": 0},
    "currency": {"type": "string"},
    "messages_per_second": {"type": "integer", "minimum": 1},
    "estimated_duration_seconds": {"type": "integer", "minimum": 0},
    "scheduled_at": NULLABLE_TIME,
    "send_hours": {"type": "string"},
    "waiting": {
        "type": "array",
        "items": {
            "type": "object",
            "required": ["count", "release_at", "zone", "local_time"],
            "properties": {
                "count": {"type": "integer", "minimum": 1},
                "release_at": {"type": "string", "format": "date-time"},
                "zone": {"type": "string"},
                "local_time": {"type": "string"},
            },
            "additionalProperties": False,
        },
    },
    "month_spend": NULLABLE_NUMBER,
    "monthly_budget": NULLABLE_NUMBER,
    "warnings": {"type": "array", "items": WARNING},
    "needs_approval": NULLABLE_STRING,
    "refused": NULLABLE_STRING,
}
PREVIEW: dict[str, Any] = {
    "type": "object",
    "required": list(PREVIEW_FIELDS),
    "properties": PREVIEW_FIELDS,
    "additionalProperties": False,
}

CAMPAIGN_ID = {"name": "campaign_id", "in": "path", "required": True, "schema": {"type": "string"}}
CURSOR = {"name": "cursor", "in": "query", "required": False, "schema": {"type": "string"}}


def _limit(name: str, default: int) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": default},
    }


DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "Textcast campaign API",
        "version": "1",
        "description": "Create, list, track and cancel bulk SMS campaigns. Authenticate with `Authorization: Bearer KEY_ID:KEY_SECRET`.",
    },
    "security": [{"apiKey": []}],
    "paths": {
        "/v1/sms/campaigns/preview": {
            "post": {
                "operationId": "previewCampaign",
                "description": (
                    "The same body as a create: answers what Slack's preview shows (counts, "
                    "invalid rows, samples, encoding, segments, cost, duration, who waits for "
                    "their sending hours, warnings, approval, spend) and stores nothing."
                ),
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/CreateCampaign"}
                        }
                    },
                },
                "responses": {
                    "200": _json("CampaignPreview", "The preview; nothing was stored"),
                    "400": _error("Malformed request"),
                    "401": UNAUTHORIZED,
                    "413": _error("Body over 10 MB"),
                    "422": _error("A campaign rule was broken (no valid recipient, ...)"),
                    "503": _error("Busy reading other large requests: retry after Retry-After"),
                },
            },
        },
        "/v1/sms/campaigns": {
            "post": {
                "operationId": "createCampaign",
                "parameters": [
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": False,
                        "schema": {"type": "string", "minLength": 1, "maxLength": 255},
                        "description": (
                            "A retry with the same key and body returns the first campaign; the "
                            "same key with another body is refused (422 idempotency_key_reused)."
                        ),
                    }
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/CreateCampaign"}
                        }
                    },
                },
                "responses": {
                    "201": {
                        **_json(
                            "CreatedCampaign",
                            "Created (or, for a repeated Idempotency-Key, the first one)",
                        ),
                        "headers": {
                            "Idempotent-Replayed": {"schema": {"type": "string", "enum": ["true"]}}
                        },
                    },
                    "400": _error("Malformed request"),
                    "401": UNAUTHORIZED,
                    "413": _error("Body over 10 MB"),
                    "422": _error(
                        "A campaign rule was broken (no valid recipient, unknown sender, schedule "
                        "window, ...), or the Idempotency-Key was used with another body"
                    ),
                    "503": _error("Busy reading other large requests: retry after Retry-After"),
                },
            },
            "get": {
                "operationId": "listCampaigns",
                "parameters": [_limit("limit", 50), CURSOR],
                "responses": {
                    "200": _json("CampaignPage", "Newest first, with computed counts"),
                    "400": _error("Malformed query"),
                    "401": UNAUTHORIZED,
                    "422": _error("A cursor this server did not give out"),
                },
            },
        },
        "/v1/sms/optouts": {
            "get": {
                "operationId": "listOptOuts",
                "description": "Every number opted out now, the most recent first.",
                "parameters": [
                    {
                        "name": "format",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string", "enum": ["json", "csv"]},
                        "description": "csv (or Accept: text/csv) for a spreadsheet",
                    }
                ],
                "responses": {
                    "200": {
                        "description": "The suppression list",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/OptOutList"}
                            },
                            "text/csv": {"schema": {"type": "string"}},
                        },
                    },
                    "400": _error("Malformed query"),
                    "401": UNAUTHORIZED,
                },
            },
            "post": {
                "operationId": "addOptOut",
                "description": "Opt a number out of every campaign, recorded with this key.",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/OptOutIn"}}
                    },
                },
                "responses": {
                    "201": _json("OptOutChange", "Opted out now"),
                    "200": _json("OptOutChange", "It was opted out already"),
                    "400": _error("Malformed request"),
                    "401": UNAUTHORIZED,
                    "413": _error("Body too large"),
                    "422": _error("Not a phone number with a country code"),
                },
            },
            "delete": {
                "operationId": "removeOptOut",
                "description": "Opt a number back in: only when the person asked to be texted again.",
                "parameters": [
                    {
                        "name": "phone",
                        "in": "query",
                        "required": True,
                        "schema": {"type": "string"},
                    }
                ],
                "responses": {
                    "200": _json(
                        "OptOutChange", "Opted back in (changed: false if it was not out)"
                    ),
                    "400": _error("Malformed query"),
                    "401": UNAUTHORIZED,
                    "422": _error("Not a phone number with a country code"),
                },
            },
        },
        "/v1/sms/campaigns/{campaign_id}": {
            "parameters": [CAMPAIGN_ID],
            "get": {
                "operationId": "getCampaign",
                "parameters": [
                    _limit("recipients_limit", 100),
                    CURSOR,
                    {
                        "name": "status",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string", "enum": [s.value for s in RecipientStatus]},
                    },
                ],
                "responses": {
                    "200": _json(
                        "CampaignDetail", "The campaign, its counts and a page of recipients"
                    ),
                    "400": _error("Malformed query"),
                    "401": UNAUTHORIZED,
                    "404": _error("No such campaign"),
                    "422": _error("A cursor this server did not give out"),
                },
            },
            "delete": {
                "operationId": "cancelCampaign",
                "responses": {
                    "200": _json(
                        "CancelledCampaign", "Cancelled; unsent recipients are now cancelled"
                    ),
                    "401": UNAUTHORIZED,
                    "404": _error("No such campaign"),
                    "409": _error("Done, failed or already cancelled: nothing to cancel"),
                },
            },
        },
        "/v1/sms/campaigns/{campaign_id}/chart.png": {
            "parameters": [CAMPAIGN_ID],
            "get": {
                "operationId": "getCampaignChart",
                "description": (
                    "The delivery chart the campaign's Slack thread gets: sent, delivered and "
                    "failed messages over time, with the most common failure reasons. About "
                    "600 x 300 px."
                ),
                "responses": {
                    "200": {
                        "description": "The chart as a PNG image",
                        "headers": {"Cache-Control": {"schema": {"type": "string"}}},
                        "content": {
                            "image/png": {
                                "schema": {"type": "string", "contentMediaType": "image/png"}
                            }
                        },
                    },
                    "401": UNAUTHORIZED,
                    "404": _error("No such campaign"),
                    "409": _error("Nothing sent, delivered or failed yet: no curve to draw"),
                    "503": {
                        **_error("The chart could not be drawn: retry after Retry-After"),
                        "headers": {"Retry-After": {"schema": {"type": "string"}}},
                    },
                },
            },
        },
    },
    "components": {
        "securitySchemes": {
            "apiKey": {"type": "http", "scheme": "bearer", "bearerFormat": "KEY_ID:KEY_SECRET"}
        },
        "schemas": {
            "Error": {
                "type": "object",
                "required": ["error"],
                "properties": {
                    "error": {
                        "type": "object",
                        "required": ["code", "message", "field"],
                        "properties": {
                            "code": {"type": "string"},
                            "message": {"type": "string"},
                            "field": NULLABLE_STRING,
                        },
                        "additionalProperties": False,
                    }
                },
                "additionalProperties": False,
            },
            "CreateCampaign": CREATE_BODY,
            "Campaign": CAMPAIGN,
            "CampaignPreview": PREVIEW,
            "CreatedCampaign": {
                "type": "object",
                "required": [
                    *CAMPAIGN_PROPERTIES,
                    "invalid",
                    "invalid_count",
                    "duplicates",
                    "warnings",
                ],
                "properties": {
                    **CAMPAIGN_PROPERTIES,
                    "invalid": {
                        "type": "array",
                        "items": INVALID_ROW,
                        "description": "rejected recipients (the first 1,000)",
                    },
                    "invalid_count": {"type": "integer", "minimum": 0},
                    "duplicates": {"type": "integer", "minimum": 0},
                    "warnings": {"type": "array", "items": WARNING},
                },
                "additionalProperties": False,
            },
            "CampaignDetail": {
                "type": "object",
                "required": [*CAMPAIGN_PROPERTIES, "recipients", "next_cursor", "replies"],
                "properties": {
                    **CAMPAIGN_PROPERTIES,
                    "recipients": {"type": "array", "items": RECIPIENT_OUT},
                    "next_cursor": NULLABLE_STRING,
                    "replies": {
                        "type": "array",
                        "items": TEXT_OUT,
                        "description": "the newest 100 texts recipients sent back, newest first",
                    },
                },
                "additionalProperties": False,
            },
            "CancelledCampaign": {
                "type": "object",
                "required": [*CAMPAIGN_PROPERTIES, "cancelled_now"],
                "properties": {
                    **CAMPAIGN_PROPERTIES,
                    "cancelled_now": {"type": "integer", "minimum": 0},
                },
                "additionalProperties": False,
            },
            "OptOutIn": {
                "type": "object",
                "required": ["phone"],
                "properties": {"phone": {"type": "string", "minLength": 1, "maxLength": 40}},
                "additionalProperties": False,
            },
            "OptOutChange": {
                "type": "object",
                "required": ["phone", "opted_out", "changed"],
                "properties": {
                    "phone": {"type": "string"},
                    "opted_out": {"type": "boolean"},
                    "changed": {"type": "boolean"},
                },
                "additionalProperties": False,
            },
            "OptOutList": {
                "type": "object",
                "required": ["optouts"],
                "properties": {
                    "optouts": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": [
                                "phone",
                                "since",
                                "keyword",
                                "source",
                                "by",
                                "campaign_id",
                            ],
                            "properties": {
                                "phone": {"type": "string"},
                                "since": {"type": "string", "format": "date-time"},
                                "keyword": NULLABLE_STRING,
                                "source": {"type": "string"},
                                "by": NULLABLE_STRING,
                                "campaign_id": NULLABLE_STRING,
                            },
                            "additionalProperties": False,
                        },
                    }
                },
                "additionalProperties": False,
            },
            "CampaignPage": {
                "type": "object",
                "required": ["campaigns", "next_cursor"],
                "properties": {
                    "campaigns": {
                        "type": "array",
                        "items": {"$ref": "#/components/schemas/Campaign"},
                    },
                    "next_cursor": NULLABLE_STRING,
                },
                "additionalProperties": False,
            },
        },
    },
}


async def openapi(_request: web.Request) -> web.Response:
    return web.json_response(DOCUMENT)
