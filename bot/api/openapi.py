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
    "created_by": {
        "type": "string",
        "description": "who created it: api:KEY_ID (the API key) or slack:USER_ID (a Slack user)",
    },
    "agent_id": NULLABLE_STRING,
    "version": {"type": "integer", "minimum": 1},
    "total_count": {"type": "integer", "minimum": 0},
    "delivered_count": {"type": "integer", "minimum": 0},
    "failed_count": {"type": "integer", "minimum": 0, "description": "failed + undelivered + sent"},
    "pending_count": {"type": "integer", "minimum": 0, "description": "pending + queued"},
    "cancelled_count": {"type": "integer", "minimum": 0},
    "awaiting_receipt_count": {
        "type": "integer",
        "minimum": 0,
        "description": (
            "handed to Twilio with no final status yet (queued there, or sent without a "
            "delivery receipt); already within pending_count and failed_count, which keep "
            "their definitions"
        ),
    },
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

READ_ABROAD_ROW = {
    "type": "object",
    "required": ["row", "value", "phone", "note"],
    "description": (
        "a number written without a country code, not valid in the region, so read as another "
        "country's: kept, to be checked"
    ),
    "properties": {
        "row": {"type": "integer"},
        "value": {"type": "string", "description": "as written"},
        "phone": {"type": "string", "description": "E.164, as read"},
        "note": {"type": "string"},
    },
    "additionalProperties": False,
}
READ_ABROAD_FIELDS: dict[str, Any] = {
    "read_abroad": {"type": "array", "items": READ_ABROAD_ROW, "description": "the first 1,000"},
    "read_abroad_count": {"type": "integer", "minimum": 0},
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
    "required": ["name"],
    "description": (
        "Exactly one of `message_template` and `template_id` (a saved template's body); exactly "
        "one of `recipients`, `recipients_csv` and `contact_group_id` (a contact group's "
        "contacts); at most one of `from_number` and "
        "`from_numbers` (neither: the only configured number). With schedule_type `schedule`, "
        "`scheduled_at` is required and must be 15 minutes to 7 days ahead. Creating a campaign "
        "with a key states, for the key's owner, that every recipient opted in."
    ),
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 200},
        "message_template": {"type": ["string", "null"], "minLength": 1, "maxLength": 10000},
        "template_id": {
            "type": ["integer", "null"],
            "description": "a saved template (GET /v1/sms/templates); its body is the message",
        },
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
        "contact_group_id": {
            "type": ["integer", "null"],
            "description": "a contact group (GET /v1/sms/contact-groups); its contacts are the list",
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
                "URLs; `upload:<id>` names a picture uploaded in Slack (Textcast serves it to "
                "Twilio); MMS goes from US and Canadian numbers only and is priced by "
                "PRICE_PER_MMS"
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

EDIT_BODY = {
    "type": "object",
    "description": (
        "Only the fields to change; what is left out stays as it is (no field takes null). At "
        "most one of `recipients` and `recipients_csv` (a new list replaces the old one; "
        "`region` goes with it), and of `from_number` and `from_numbers`. schedule_type `now` "
        "sends at once; `scheduled_at` alone moves the time (15 minutes to 7 days ahead). "
        '`media_urls` [] removes the pictures; `send_hours` "" goes back to SEND_HOURS.'
    ),
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 200},
        "message_template": {"type": "string", "minLength": 1, "maxLength": 10000},
        "from_number": {"type": "string", "maxLength": 64},
        "from_numbers": {
            "type": "array",
            "items": {"type": "string"},
            "minItems": 1,
            "maxItems": 100,
        },
        "recipients": {**CREATE_BODY["properties"]["recipients"], "type": "array"},
        "recipients_csv": {"type": "string"},
        "region": {"type": "string", "minLength": 2, "maxLength": 2},
        "schedule_type": {"type": "string", "enum": ["now", "schedule"]},
        "scheduled_at": {"type": "string", "format": "date-time"},
        "media_urls": {"type": "array", "items": {"type": "string"}, "maxItems": 100},
        "send_hours": {"type": "string", "maxLength": 24},
    },
    "additionalProperties": False,
}

ETAG = {
    "ETag": {
        "description": "the campaign's version in quotes: send it back as If-Match to edit",
        "required": True,
        "schema": {"type": "string", "pattern": '^"[0-9]+"$'},
    }
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
    **READ_ABROAD_FIELDS,
    "opted_out_count": {"type": "integer", "minimum": 0},
    "frequency_capped_count": {"type": "integer", "minimum": 0},
    "samples": {
        "type": "array",
        "items": {
            "type": "object",
            "required": ["row", "phone", "text", "segments", "missing"],
            "properties": {
                "row": {"type": "integer"},
                "phone": {"type": "string"},
                "text": {"type": "string"},
                "segments": {"type": "integer", "minimum": 0},
                "missing": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "Placeholders left empty in this message.",
                },
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
    "to_text_count": {
        "type": "integer",
        "minimum": 0,
        "description": "Who will be texted: total_count less the opted-out and the "
        "frequency-capped (counted once each). The samples are of these.",
    },
    "skipped_count": {"type": "integer", "minimum": 0},
    "to_text_estimated_cost": {
        "type": "number",
        "minimum": 0,
        "description": "The estimated cost of the messages to those who will be texted "
        "(estimated_cost is of every valid number, as the spend caps count it).",
    },
    "recently_texted": {
        "type": ["object", "null"],
        "description": "Without a frequency cap: set when at least half of those to be texted "
        "were texted by other campaigns in the last 24 hours.",
        "required": ["count", "of", "last_at", "last_campaign"],
        "properties": {
            "count": {"type": "integer", "minimum": 1},
            "of": {"type": "integer", "minimum": 1},
            "last_at": {"type": "string", "format": "date-time"},
            "last_campaign": {"type": "string"},
        },
        "additionalProperties": False,
    },
    "gaps_in_every_sample": {
        "type": "array",
        "items": {"type": "string"},
        "description": "When every sample has a placeholder left empty, those placeholders "
        "(Slack then asks for an explicit 'Send anyway'; a create over the API is not refused).",
    },
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


# -- saved templates and contact groups (bot/api/library.py)

TEMPLATE_PROPERTIES: dict[str, Any] = {
    "template_id": {"type": "integer", "minimum": 1},
    "name": {"type": "string"},
    "body": {"type": "string"},
    "created_by": {"type": "string"},
    "created_at": {"type": "string", "format": "date-time"},
    "updated_at": {"type": "string", "format": "date-time"},
}
GROUP_PROPERTIES: dict[str, Any] = {
    "group_id": {"type": "integer", "minimum": 1},
    "name": {"type": "string"},
    "contact_count": {"type": "integer", "minimum": 0},
    "created_by": {"type": "string"},
    "created_at": {"type": "string", "format": "date-time"},
}


def _object(properties: dict[str, Any], **more: Any) -> dict[str, Any]:
    """Every property required, no other allowed: the answers are exact."""
    every = {**properties, **more}
    return {"type": "object", "required": list(every), "properties": every,
            "additionalProperties": False}  # fmt: skip


def _id(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}


CONTACT_OUT = _object(
    {
        "phone": {"type": "string"},
        "name": NULLABLE_STRING,
        "variables": {"type": "object", "additionalProperties": {"type": "string"}},
        "consent": _object(
            {
                "source": {"type": "string", "description": "where they agreed to be texted"},
                "at": {"type": "string", "format": "date-time"},
                "recorded_by": {"type": "string", "description": "who imported them first"},
            }
        ),
    }
)
LIBRARY_SCHEMAS: dict[str, Any] = {
    "Template": _object(TEMPLATE_PROPERTIES),
    "TemplateList": _object(
        {"templates": {"type": "array", "items": {"$ref": "#/components/schemas/Template"}}}
    ),
    "TemplateIn": {
        "type": "object",
        "required": ["name", "body"],
        "properties": {
            "name": {"type": "string", "maxLength": 1000, "description": "unique; at most 100"},
            "body": {
                "type": "string",
                "maxLength": 10000,
                "description": "the message, with {{placeholders}}; at most 3,000 characters",
            },
            "replace": {
                "type": "boolean",
                "default": False,
                "description": "a template of this name exists: give it this body (its id stays)",
            },
        },
        "additionalProperties": False,
    },
    "SavedTemplate": _object(
        TEMPLATE_PROPERTIES,
        replaced={"type": "boolean"},
        warnings={
            "type": "array",
            "items": WARNING,
            "description": "braces that will be sent as written (code literal_braces)",
        },
    ),
    "DeletedTemplate": _object(TEMPLATE_PROPERTIES, deleted={"type": "boolean", "const": True}),
    "ContactGroup": _object(GROUP_PROPERTIES),
    "ContactGroupList": _object(
        {
            "contact_groups": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/ContactGroup"},
            }
        }
    ),
    "ContactGroupIn": {
        "type": "object",
        "required": ["name", "consent_source"],
        "description": "Exactly one of `contacts` and `contacts_csv`.",
        "properties": {
            "name": {"type": "string", "maxLength": 1000, "description": "unique; at most 100"},
            "consent_source": {
                "type": "string",
                "maxLength": 1000,
                "description": (
                    "where and how these people agreed to be texted (at most 200 characters); "
                    "kept with each new contact, with the time and this key"
                ),
            },
            "contacts": CREATE_BODY["properties"]["recipients"],
            "contacts_csv": {
                "type": ["string", "null"],
                "description": "CSV or pasted numbers, read like an upload",
            },
            "region": CREATE_BODY["properties"]["region"],
            "add_to_existing": {
                "type": "boolean",
                "default": False,
                "description": "a group of this name exists: add these contacts to it",
            },
        },
        "additionalProperties": False,
    },
    "ContactImport": _object(
        GROUP_PROPERTIES,
        group_created={"type": "boolean"},
        added={"type": "integer", "minimum": 0, "description": "new contacts"},
        already_known={
            "type": "integer",
            "minimum": 0,
            "description": "contacts known before: first consent record kept, variables updated",
        },
        joined={"type": "integer", "minimum": 0, "description": "not in this group before"},
        opted_out_count={"type": "integer", "minimum": 0},
        invalid={"type": "array", "items": INVALID_ROW, "description": "the first 1,000"},
        invalid_count={"type": "integer", "minimum": 0},
        duplicates={"type": "integer", "minimum": 0},
        warnings={"type": "array", "items": WARNING},
    ),
    "ContactGroupDetail": _object(
        GROUP_PROPERTIES,
        contacts={"type": "array", "items": CONTACT_OUT},
        next_cursor=NULLABLE_STRING,
    ),
    "DeletedContactGroup": _object(GROUP_PROPERTIES, deleted={"type": "boolean", "const": True}),
}


def _body(schema: str) -> dict[str, Any]:
    return {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


LIBRARY_PATHS: dict[str, Any] = {
    "/v1/sms/templates": {
        "get": {
            "operationId": "listTemplates",
            "description": "Every saved template, by name.",
            "responses": {"200": _json("TemplateList", "The templates"), "401": UNAUTHORIZED},
        },
        "post": {
            "operationId": "saveTemplate",
            "description": "Save a template, recorded with this key.",
            "requestBody": _body("TemplateIn"),
            "responses": {
                "201": _json("SavedTemplate", "Saved"),
                "200": _json("SavedTemplate", "replace: the template of that name has this body"),
                "400": _error("Malformed request"),
                "401": UNAUTHORIZED,
                "409": _error("A template of that name exists, and replace was not sent"),
                "413": _error("Body over 64 KB"),
                "422": _error("An empty or overlong name or body, or one Twilio would refuse"),
            },
        },
    },
    "/v1/sms/templates/{template_id}": {
        "parameters": [_id("template_id")],
        "get": {
            "operationId": "getTemplate",
            "responses": {
                "200": _json("Template", "The template"),
                "401": UNAUTHORIZED,
                "404": _error("No such template"),
            },
        },
        "delete": {
            "operationId": "deleteTemplate",
            "description": "Campaigns made from it keep their own copy of the message.",
            "responses": {
                "200": _json("DeletedTemplate", "Deleted; the template as it was"),
                "401": UNAUTHORIZED,
                "404": _error("No such template"),
            },
        },
    },
    "/v1/sms/contact-groups": {
        "get": {
            "operationId": "listContactGroups",
            "description": "Every contact group with its number of contacts, by name.",
            "responses": {
                "200": _json("ContactGroupList", "The groups"),
                "401": UNAUTHORIZED,
            },
        },
        "post": {
            "operationId": "createContactGroup",
            "description": (
                "Import contacts into a new group (or, with add_to_existing, into the group of "
                "that name), with where they agreed to be texted. A number known before keeps "
                "its first consent record."
            ),
            "requestBody": _body("ContactGroupIn"),
            "responses": {
                "201": _json("ContactImport", "The group was created"),
                "200": _json("ContactImport", "add_to_existing: imported into the group"),
                "400": _error("Malformed request"),
                "401": UNAUTHORIZED,
                "409": _error("A group of that name exists, and add_to_existing was not sent"),
                "413": _error("Body over 10 MB"),
                "422": _error("No valid phone number, no consent source, a bad name, ..."),
                "503": _error("Busy reading other large requests: retry after Retry-After"),
            },
        },
    },
    "/v1/sms/contact-groups/{group_id}": {
        "parameters": [_id("group_id")],
        "get": {
            "operationId": "getContactGroup",
            "parameters": [_limit("contacts_limit", 100), CURSOR],
            "responses": {
                "200": _json(
                    "ContactGroupDetail",
                    "The group and a page of its contacts, each with its consent record",
                ),
                "400": _error("Malformed query"),
                "401": UNAUTHORIZED,
                "404": _error("No such group"),
                "422": _error("A cursor this server did not give out"),
            },
        },
        "delete": {
            "operationId": "deleteContactGroup",
            "description": "Its contacts stay, with their consent records, in their other groups.",
            "responses": {
                "200": _json("DeletedContactGroup", "Deleted; the group as it was"),
                "401": UNAUTHORIZED,
                "404": _error("No such group"),
            },
        },
    },
}


DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "Textcast campaign API",
        "version": "1",
        "description": "Create, preview, list, track, edit, export and cancel bulk SMS campaigns; keep the suppression list, saved templates and contact groups. Authenticate with `Authorization: Bearer KEY_ID:KEY_SECRET`.",
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
                    "422": _error(
                        "A campaign rule was broken (no valid recipient, an unknown template_id "
                        "or contact_group_id, ...)"
                    ),
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
                            **ETAG,
                            "Idempotent-Replayed": {"schema": {"type": "string", "enum": ["true"]}},
                        },
                    },
                    "400": _error("Malformed request"),
                    "401": UNAUTHORIZED,
                    "413": _error("Body over 10 MB"),
                    "422": _error(
                        "A campaign rule was broken (no valid recipient, unknown sender, schedule "
                        "window, an unknown template_id or contact_group_id, ...), or the "
                        "Idempotency-Key was used with another body"
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
                "description": (
                    "A page of the numbers opted out now, in the order they opted out: pass "
                    "`next_cursor` back as `cursor` for the next (null after the last). A walk "
                    "sees each number once, and those opted out meanwhile at its end. "
                    "`format=csv` (or Accept: text/csv) answers the whole list as "
                    "GET /v1/sms/optouts.csv does."
                ),
                "parameters": [
                    _limit("limit", 100),
                    CURSOR,
                    {
                        "name": "format",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string", "enum": ["json", "csv"]},
                        "description": "csv (or Accept: text/csv) for a spreadsheet",
                    },
                ],
                "responses": {
                    "200": {
                        "description": "A page of the suppression list, or the whole as CSV",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/OptOutList"}
                            },
                            "text/csv": {"schema": {"type": "string"}},
                        },
                    },
                    "400": _error("Malformed query"),
                    "401": UNAUTHORIZED,
                    "422": _error("A cursor this server did not give out"),
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
        "/v1/sms/optouts.csv": {
            "get": {
                "operationId": "exportOptOuts",
                "description": (
                    "Every number opted out now (phone, opted_out_since_utc, keyword, source, "
                    "by, campaign_id), in the order they opted out, as CSV (UTF-8 with a "
                    "byte-order mark), streamed. Cells a spreadsheet would run as a formula "
                    "start with an apostrophe. A download cut short is a broken transfer, "
                    "never a shorter file."
                ),
                "responses": {
                    "200": {
                        "description": "The file",
                        "content": {"text/csv": {"schema": {"type": "string"}}},
                    },
                    "401": UNAUTHORIZED,
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
                        "description": (
                            "Only these recipients. A count's name lists what that count "
                            "counts: failed is failed, undelivered and sent (failed_count), "
                            "pending is pending and queued (pending_count); queued, sent and "
                            "undelivered list that status alone."
                        ),
                    },
                ],
                "responses": {
                    "200": {
                        **_json(
                            "CampaignDetail", "The campaign, its counts and a page of recipients"
                        ),
                        "headers": ETAG,
                    },
                    "400": _error("Malformed query"),
                    "401": UNAUTHORIZED,
                    "404": _error("No such campaign"),
                    "422": _error("A cursor this server did not give out"),
                },
            },
            "patch": {
                "operationId": "editCampaign",
                "description": (
                    "Change a campaign that has not started (scheduled, or awaiting approval), "
                    "by the same rules as a create, all or nothing. Its caps and approval are "
                    "decided again, and its version goes up."
                ),
                "parameters": [
                    {
                        "name": "If-Match",
                        "in": "header",
                        "required": False,
                        "schema": {"type": "string"},
                        "description": (
                            'The ETag a GET answered ("3"): the edit is refused with 412 if the '
                            "campaign changed since. Without it (or with *) the edit applies to "
                            "the campaign as it is now."
                        ),
                    }
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/EditCampaign"}
                        }
                    },
                },
                "responses": {
                    "200": {
                        **_json("EditedCampaign", "Changed (changed: [] when nothing was)"),
                        "headers": ETAG,
                    },
                    "400": _error("Malformed request, or an If-Match that is not an ETag"),
                    "401": UNAUTHORIZED,
                    "404": _error("No such campaign"),
                    "409": _error("Running, paused, finished or cancelled: it cannot be edited"),
                    "412": _error("If-Match names an older version: reload and edit again"),
                    "413": _error("Body over 10 MB"),
                    "422": _error("A campaign rule was broken (no valid recipient, ...)"),
                    "503": _error("Busy reading other large requests: retry after Retry-After"),
                },
            },
            "delete": {
                "operationId": "cancelCampaign",
                "responses": {
                    "200": {
                        **_json(
                            "CancelledCampaign", "Cancelled; unsent recipients are now cancelled"
                        ),
                        "headers": ETAG,
                    },
                    "401": UNAUTHORIZED,
                    "404": _error("No such campaign"),
                    "409": _error("Done, failed or already cancelled: nothing to cancel"),
                },
            },
        },
        "/v1/sms/campaigns/{campaign_id}/recipients.csv": {
            "parameters": [CAMPAIGN_ID],
            "get": {
                "operationId": "exportRecipients",
                "description": (
                    "Every recipient and what happened to its message, as CSV (UTF-8 with a "
                    "byte-order mark), streamed. Cells a spreadsheet would run as a formula "
                    "start with an apostrophe. A download cut short is a broken transfer, "
                    "never a shorter file."
                ),
                "responses": {
                    "200": {
                        "description": "The file",
                        "content": {"text/csv": {"schema": {"type": "string"}}},
                    },
                    "401": UNAUTHORIZED,
                    "404": _error("No such campaign"),
                },
            },
        },
        **LIBRARY_PATHS,
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
                        **_error(
                            "The chart could not be drawn, or ten charts are being drawn "
                            "already (code busy): retry after Retry-After"
                        ),
                        "headers": {"Retry-After": {"schema": {"type": "string"}}},
                    },
                },
            },
        },
        "/media/{token}": {
            "get": {
                "operationId": "getUploadedPicture",
                "description": (
                    "An uploaded picture, for Twilio to fetch when it makes a message: the "
                    "signed, expiring token in the path is the only permission (no API key). "
                    "Any token that is not a good, unexpired one for a stored file is 404."
                ),
                "security": [],
                "parameters": [
                    {"name": "token", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "responses": {
                    "200": {
                        "description": "The picture",
                        "headers": {
                            "ETag": {"schema": {"type": "string"}},
                            "Cache-Control": {"schema": {"type": "string"}},
                            "Last-Modified": {"schema": {"type": "string"}},
                        },
                        "content": {
                            "image/jpeg": {"schema": {"type": "string"}},
                            "image/png": {"schema": {"type": "string"}},
                            "image/gif": {"schema": {"type": "string"}},
                        },
                    },
                    "304": {"description": "Not modified (If-None-Match named its ETag)"},
                    "404": {
                        "description": "No such link, or it expired: no file",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
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
                    *READ_ABROAD_FIELDS,
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
                    **READ_ABROAD_FIELDS,
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
            "EditCampaign": EDIT_BODY,
            "EditedCampaign": {
                "type": "object",
                "required": [
                    *CAMPAIGN_PROPERTIES,
                    "invalid",
                    "invalid_count",
                    "duplicates",
                    *READ_ABROAD_FIELDS,
                    "warnings",
                    "changed",
                ],
                "properties": {
                    **CAMPAIGN_PROPERTIES,
                    "invalid": {"type": "array", "items": INVALID_ROW},
                    "invalid_count": {"type": "integer", "minimum": 0},
                    "duplicates": {"type": "integer", "minimum": 0},
                    **READ_ABROAD_FIELDS,
                    "warnings": {"type": "array", "items": WARNING},
                    "changed": {
                        "type": "array",
                        "items": {
                            "type": "string",
                            "enum": [
                                "name",
                                "from_numbers",
                                "media_urls",
                                "send_hours",
                                "scheduled_at",
                                "recipients",
                                "message_template",
                            ],
                        },
                        "description": (
                            "the fields that changed, named as in the request and the campaign "
                            "(recipients also for recipients_csv, from_numbers for from_number, "
                            "scheduled_at for schedule_type now)"
                        ),
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
                "required": ["optouts", "next_cursor"],
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
                    },
                    "next_cursor": NULLABLE_STRING,
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
            **LIBRARY_SCHEMAS,
        },
    },
}


async def openapi(_request: web.Request) -> web.Response:
    return web.json_response(DOCUMENT)
