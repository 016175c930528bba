"""/v1/sms/templates and /v1/sms/contact-groups: saved templates and contact groups over HTTP.

The same service calls as `/sms templates` and `/sms contacts` in Slack, so the same checks,
errors and audit entries, recorded with the API key that made the change. One difference, on
purpose: Slack saves a template (or imports contacts) into an existing name, as a person who sees
the list chose to; an outside system creating one by name is refused with 409 when the name is
taken, unless it asks for Slack's behaviour with `replace` (templates) or `add_to_existing`
(groups). A system that did not know the name was in use must not rewrite a message people rely
on, or add contacts to a group that a campaign then texts in full.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

from bot.api.body import query_limit, read_json
from bot.api.requests import RecipientIn
from bot.api.responses import timestamp
from bot.keys import RUNTIME, api_key
from campaigns.errors import TextcastError
from campaigns.limits import MAX_RECIPIENTS
from campaigns.models import Contact, MessageTemplate
from campaigns.offload import off_loop
from campaigns.recipients import ImportReport, check_recipient_list, parse_recipients
from campaigns.service import (
    GroupSummary,
    delete_contact_group,
    delete_template,
    get_template,
    group_contacts,
    import_contacts,
    list_contact_groups,
    list_templates,
    save_template,
)
from campaigns.service.common import import_summary
from campaigns.settings import Settings

# Bounds on what is read; the service's own limits (100 characters for a name, 3,000 for a
# body, 200 for a consent source) answer 422 with what to fix.
MAX_LABEL_READ = 1_000
MAX_BODY_READ = 10_000


class TemplateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=MAX_LABEL_READ)
    body: str = Field(max_length=MAX_BODY_READ)
    replace: StrictBool = False


class ContactGroupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=MAX_LABEL_READ)
    consent_source: str = Field(max_length=MAX_LABEL_READ)
    contacts: list[RecipientIn] | None = Field(default=None, max_length=MAX_RECIPIENTS + 1)
    contacts_csv: str | None = None
    region: str | None = Field(default=None, min_length=2, max_length=2)
    add_to_existing: StrictBool = False

    @model_validator(mode="after")
    def _one_list(self) -> ContactGroupIn:
        if (self.contacts is None) == (self.contacts_csv is None):
            raise ValueError("send either contacts (a list) or contacts_csv (CSV text)")
        return self


def _actor(request: web.Request) -> str:
    return f"api:{api_key(request).id}"


def _renamed(error: TextcastError, fields: dict[str, str]) -> TextcastError:
    """The service names its fields for Slack's forms; the API answers with the body's names."""
    if error.field in fields:
        error.field = fields[error.field]
    return error


# -- templates


def template_json(template: MessageTemplate) -> dict[str, Any]:
    return {
        "template_id": template.id,
        "name": template.name,
        "body": template.body,
        "created_by": template.created_by,
        "created_at": timestamp(template.created_at),
        "updated_at": timestamp(template.updated_at),
    }


async def list_all_templates(request: web.Request) -> web.Response:
    templates = await list_templates(request.app[RUNTIME].ctx)
    return web.json_response({"templates": [template_json(t) for t in templates]})


async def save(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    body = TemplateIn.model_validate(read_json(await request.read()))
    saved = await save_template(
        runtime.ctx, body.name, body.body, _actor(request), replace=body.replace
    )
    answer = {
        **template_json(saved.template),
        "replaced": saved.replaced,
        "warnings": [{"code": "literal_braces", "message": w} for w in saved.warnings],
    }
    return web.json_response(answer, status=200 if saved.replaced else 201)


async def get_one_template(request: web.Request) -> web.Response:
    template = await get_template(request.app[RUNTIME].ctx, request.match_info["template_id"])
    return web.json_response(template_json(template))


async def delete_one_template(request: web.Request) -> web.Response:
    template = await delete_template(
        request.app[RUNTIME].ctx, request.match_info["template_id"], _actor(request)
    )
    return web.json_response({**template_json(template), "deleted": True})


# -- contact groups


def group_json(group: GroupSummary) -> dict[str, Any]:
    return {
        "group_id": group.id,
        "name": group.name,
        "contact_count": group.members,
        "created_by": group.created_by,
        "created_at": timestamp(group.created_at),
    }


def contact_json(contact: Contact) -> dict[str, Any]:
    return {
        "phone": contact.phone,
        "name": contact.name,
        "variables": dict(contact.variables or {}),
        "consent": {
            "source": contact.consent_source,
            "at": timestamp(contact.consent_at),
            "recorded_by": contact.created_by,
        },
    }


@dataclass(frozen=True, slots=True)
class GroupRequest:
    body: ContactGroupIn
    contacts: ImportReport


def _read_group(raw: bytes, settings: Settings) -> GroupRequest:
    """Reading and parsing a list of up to the recipient limit: CPU, for the pool."""
    body = ContactGroupIn.model_validate(read_json(raw))
    region = body.region.upper() if body.region else settings.DEFAULT_REGION
    destinations = settings.destinations  # a contact no campaign may text is refused at once
    try:
        if body.contacts_csv is not None:
            report = parse_recipients(body.contacts_csv, region, destinations)
        else:
            contacts = [c.model_dump() for c in body.contacts or ()]
            report = check_recipient_list(contacts, region, destinations)
    except TextcastError as error:
        raise _renamed(error, {"recipients": _list_field(body)}) from None
    return GroupRequest(body, report)


def _list_field(body: ContactGroupIn) -> str:
    return "contacts_csv" if body.contacts_csv is not None else "contacts"


async def list_groups(request: web.Request) -> web.Response:
    groups = await list_contact_groups(request.app[RUNTIME].ctx)
    return web.json_response({"contact_groups": [group_json(g) for g in groups]})


async def create_group(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    raw = await request.read()  # at most the route's limit (`body_limits`)
    prepared = await off_loop(_read_group, raw, runtime.settings)
    body, report = prepared.body, prepared.contacts
    fields = {"group_name": "name", "recipients": _list_field(body)}
    try:
        result = await import_contacts(runtime.ctx, body.name, report, body.consent_source,
                                       _actor(request), add_to_existing=body.add_to_existing)  # fmt: skip
    except TextcastError as error:
        raise _renamed(error, fields) from None
    summary = import_summary(report)
    answer = {
        **group_json(result.group),
        "group_created": result.group_created,
        "added": result.added,
        "already_known": result.already_there,
        "joined": result.joined,
        "opted_out_count": result.opted_out,
        "invalid": summary["invalid"],
        "invalid_count": summary["invalid_count"],
        "duplicates": report.duplicates,
        "warnings": [{"code": "recipient_list", "message": w} for w in report.warnings],
    }
    return web.json_response(answer, status=201 if result.group_created else 200)


async def get_group(request: web.Request) -> web.Response:
    page = await group_contacts(
        request.app[RUNTIME].ctx,
        request.match_info["group_id"],
        limit=query_limit(request, "contacts_limit", 100),
        cursor=request.query.get("cursor") or None,
    )
    return web.json_response(
        {
            **group_json(page.group),
            "contacts": [contact_json(c) for c in page.contacts],
            "next_cursor": page.next_cursor,
        }
    )


async def delete_group(request: web.Request) -> web.Response:
    group = await delete_contact_group(
        request.app[RUNTIME].ctx, request.match_info["group_id"], _actor(request)
    )
    return web.json_response({**group_json(group), "deleted": True})


def register(app: web.Application) -> None:
    app.router.add_get("/v1/sms/templates", list_all_templates, allow_head=False)
    app.router.add_post("/v1/sms/templates", save)
    app.router.add_get("/v1/sms/templates/{template_id}", get_one_template, allow_head=False)
    app.router.add_delete("/v1/sms/templates/{template_id}", delete_one_template)
    app.router.add_get("/v1/sms/contact-groups", list_groups, allow_head=False)
    app.router.add_post("/v1/sms/contact-groups", create_group)
    app.router.add_get("/v1/sms/contact-groups/{group_id}", get_group, allow_head=False)
    app.router.add_delete("/v1/sms/contact-groups/{group_id}", delete_group)
