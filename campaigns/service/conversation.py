"""Answering a recipient's text: a one-message campaign of its own.

A reply goes through everything a campaign message does (the claim, the pacing of its sender, the
opt-out screening, the exactly-once lookups), so it is made as a campaign with source "reply",
sent from the number the person wrote to. It is made as a draft first, so the caller can post the
message that will show its progress (in the conversation's thread) before the worker can start
it; `launch_campaign` then sends it. Reply campaigns are left out of campaign lists.
"""

from __future__ import annotations

from campaigns.errors import InputError, StateError
from campaigns.keywords import Meaning
from campaigns.limits import MAX_BODY_CHARS
from campaigns.models import InboundMessage, Recipient
from campaigns.privacy import mask
from campaigns.recipients import check_recipient_list
from campaigns.service.common import CampaignView
from campaigns.service.context import Context
from campaigns.service.create import NewCampaign, create_campaign
from campaigns.service.inbound import get_inbound
from campaigns.service.optouts import opted_out_among
from campaigns.text import check_text

REPLY = "reply"  # Campaign.source of an answer typed in Slack
FIELD = "reply"
NAME_COLUMNS = ("first_name", "name", "full_name")  # a person's name in their campaign row


def checked_reply(text: str) -> str:
    """The answer as it will be sent, or InputError saying what to change."""
    text = check_text(text.strip(), FIELD, "The reply")
    if not text:
        raise InputError("Write the reply to send.", field=FIELD)
    if len(text) > MAX_BODY_CHARS:
        raise InputError(f"A text is at most {MAX_BODY_CHARS:,} characters.", field=FIELD)
    if "{{" in text:  # a reply is sent as typed; a template would drop what is in the braces
        raise InputError("Replies are sent as typed: remove the {{ }}.", field=FIELD)
    return text


async def draft_reply(
    ctx: Context, inbound_id: int, text: str, actor: str, *, key: str
) -> CampaignView:
    """The reply to text `inbound_id`, as a draft to launch; the same `key` gives the same one."""
    message = checked_reply(text)
    inbound = await get_inbound(ctx, inbound_id)
    if inbound.meaning == Meaning.OPT_OUT or await opted_out_among(ctx, [inbound.phone]):
        raise StateError(f"{mask(inbound.phone)} has opted out (STOP): it cannot be texted.")
    sender = _sender_for(ctx, inbound.sender, inbound.messaging_service_sid)
    recipients = check_recipient_list([{"phone": inbound.phone}], None)
    return await create_campaign(
        ctx,
        NewCampaign(
            name=f"Reply to {await _whom(ctx, inbound)}",
            message_template=message,
            recipients=recipients,
            from_numbers=[sender],
            send_at=None,
            source=REPLY,
            consent_confirmed=True,  # they wrote to us, and are not opted out
            idempotency_key=key,
        ),
        actor,
        launch=False,
    )


async def _whom(ctx: Context, inbound: InboundMessage) -> str:
    """Who the answer is to, as a person reads it: 'Ana (+44*******001)' when the row they
    answered has their name, else the masked number."""
    recipient = None
    if inbound.recipient_id is not None:
        async with ctx.db.read() as session:
            recipient = await session.get(Recipient, inbound.recipient_id)
    variables = recipient.variables if recipient and isinstance(recipient.variables, dict) else {}
    for column in NAME_COLUMNS:
        name = " ".join(str(variables.get(column) or "").split())[:40]
        if name:
            return f"{name} ({mask(inbound.phone)})"
    return mask(inbound.phone)


def _sender_for(ctx: Context, number: str, service_sid: str | None) -> str:
    """The number the person wrote to, or the Messaging Service it belongs to."""
    settings = ctx.settings
    if number in settings.sender_phones:
        return number
    if service_sid and service_sid == settings.TWILIO_MESSAGING_SERVICE_SID:
        return service_sid
    raise InputError(
        f"{number} is no longer one of Textcast's numbers: the reply cannot go from the number "
        "they wrote to.",
        field=FIELD,
    )
