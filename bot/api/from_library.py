"""A campaign created from a saved template or a contact group, by id.

`template_id` and `contact_group_id` are resolved here into the message and the recipient list a
create already takes, so the rest of a create (its checks, preview, idempotency and audit) is the
same whatever the message and the list came from, as it is when Slack's form picks them.

An id that names nothing is a mistake in this request's body, not a missing resource at this URL:
422 naming the field, not 404.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable
from typing import TYPE_CHECKING, TypeVar

from campaigns.errors import InputError, NotFound, TextcastError
from campaigns.service import Context, get_template, group_recipients

if TYPE_CHECKING:
    from bot.api.campaigns import CreateRequest

T = TypeVar("T")


async def resolve_library_ids(ctx: Context, prepared: CreateRequest) -> CreateRequest:
    """`prepared` with the template's body as its message and the group's contacts as its
    recipients, where the body named them by id; unchanged otherwise."""
    body, recipients = prepared.body, prepared.recipients
    if body.template_id is not None:
        template = await _found(get_template(ctx, body.template_id), "template_id")
        body = body.model_copy(update={"message_template": template.body})
    if body.contact_group_id is not None:
        recipients = await _found(group_recipients(ctx, body.contact_group_id), "contact_group_id")
        if not recipients.recipients:
            raise InputError(f"{recipients.warnings[0]} Import contacts into it first.",
                             field="contact_group_id")  # fmt: skip
    return dataclasses.replace(prepared, body=body, recipients=recipients)


async def _found(lookup: Awaitable[T], field: str) -> T:
    try:
        return await lookup
    except NotFound as error:
        raise InputError(error.message, field=field) from None
    except TextcastError as error:  # a group over the recipient limit, say
        error.field = field
        raise
