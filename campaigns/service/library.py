"""Saved message templates and contact groups: what a campaign can start from instead of a blank
message and a fresh CSV.

A template is a named message body, checked as a campaign's message is. Saving a name that exists
replaces that template's body and keeps its id: there is no separate edit, so saving again is how
a typo is fixed, and a campaign form that picked the template by id gets the new text. The body it
replaced is kept in the audit entry, so nothing is lost.

A contact is one phone number (unique) with its variables and its own consent record: where and
when the person agreed to be texted. A contact imported again, into any group, keeps its first
consent record; its variables take the new values. `group_recipients` turns a group into the same
`ImportReport` a CSV gives, so a campaign is created from a group exactly as from a file.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns import audit
from campaigns.errors import InputError, LimitError, NotFound, StateError
from campaigns.limits import MAX_BODY_CHARS, MAX_RECIPIENTS
from campaigns.models import Contact, ContactGroup, ContactGroupMember, MessageTemplate, OptOut
from campaigns.names import display_name
from campaigns.offload import off_loop
from campaigns.recipients import ImportReport, Recipient
from campaigns.recipients.report import refused_among
from campaigns.service.common import check_recipient_texts, checked_template
from campaigns.service.context import Context
from campaigns.service.cursors import checked_limit, decode_id_cursor, encode_cursor
from campaigns.templates import Template
from campaigns.text import check_text

MAX_TEMPLATE_NAME = 100  # message_templates.name is String(100)
MAX_TEMPLATE_BODY = 3_000  # what the campaign form's message input holds (Slack's limit)
MAX_GROUP_NAME = 100  # contact_groups.name is String(100)
MAX_CONSENT_SOURCE = 200  # contacts.consent_source is String(200)
MAX_CONTACT_NAME = 200  # contacts.name is String(200)
# Rows per statement: 1,000 rows of 7 columns stay far under SQLite's (32,766) and PostgreSQL's
# (32,767) bind-parameter limits, and an IN list of 1,000 phones is still one quick index probe.
CHUNK = 1_000
MAX_ID = 2**63 - 1  # a BIGINT; a larger number would be refused by PostgreSQL, not just unfound

# Bulk writes go to the tables, one statement executed for many rows: compiled once and cached,
# where a multi-row VALUES (or the ORM's bulk path) was compiled again for every chunk, which
# was most of the time of a 100,000-contact import.
CONTACTS = Contact.__table__
MEMBERS = ContactGroupMember.__table__
UPDATE_CONTACT = (
    update(CONTACTS)
    .where(CONTACTS.c.id == bindparam("contact_id"))
    .values(
        variables=bindparam("new_variables", type_=CONTACTS.c.variables.type),
        name=bindparam("new_name", type_=CONTACTS.c.name.type),
    )
)


# -- what the calls return


@dataclass(frozen=True, slots=True)
class SavedTemplate:
    template: MessageTemplate
    replaced: bool  # a template of that name existed: its body is now this one
    warnings: tuple[str, ...]  # braces that will be sent as written (from the template check)


@dataclass(frozen=True, slots=True)
class GroupSummary:
    """A contact group and how many contacts are in it, as of the query."""

    id: int
    name: str
    members: int
    created_by: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ContactImport:
    group: GroupSummary  # after the import
    group_created: bool
    added: int  # new contacts, with this import's consent record
    already_there: int  # contacts known before: their first consent kept, their variables updated
    joined: int  # contacts that were not in the group before (new ones and known ones)
    opted_out: int  # numbers of this import that have opted out: kept, they fail at send time


# -- checking input


def _checked_label(value: str, field: str, what: str, limit: int, empty: str) -> str:
    value = check_text((value or "").strip(), field, what)
    if not value:
        raise InputError(empty, field=field)
    if len(value) > limit:
        raise InputError(f"{what} is {len(value):,} characters: keep it to {limit}.", field=field)
    return value


def _checked_body(body: str) -> Template:
    if not body or not body.strip():
        raise InputError("Write the template's message.", field="body")
    if len(body) > MAX_TEMPLATE_BODY:
        raise InputError(
            f"The message is {len(body):,} characters: keep it to {MAX_TEMPLATE_BODY:,}.",
            field="body",
        )
    try:
        template = checked_template(body)
    except InputError as error:  # named for a campaign's field; here the field is the body
        raise InputError(error.message, field="body") from None
    # With every placeholder empty the message is as short as it can get: if that is already
    # over Twilio's limit, no recipient could ever be sent it.
    shortest = len(template.render({}).text)
    if shortest > MAX_BODY_CHARS:
        raise InputError(
            f"Without its placeholders the message is {shortest:,} characters; Twilio refuses "
            f"messages over {MAX_BODY_CHARS:,}. Shorten it.",
            field="body",
        )
    return template


def _checked_id(value: int | str, what: str) -> int:
    """An id as stored, from an int or the string a Slack button or form carries."""
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_ID:
        raise NotFound(f"No {what} {str(value)[:40]!r}: check the id.")
    return value


def _check_contacts(report: ImportReport) -> None:
    if not report.recipients:
        why = f" ({'; '.join(report.warnings)})" if report.warnings else ""
        raise InputError(f"There is no valid phone number to import{why}.", field="recipients")
    check_recipient_texts(report)


# -- templates


async def save_template(
    ctx: Context, name: str, body: str, actor: str, *, replace: bool = True
) -> SavedTemplate:
    """Store a template under `name`, replacing the body of one already saved under it.

    With `replace=False` a name already taken is refused (StateError) and nothing changes: an
    outside system creating a template must not overwrite one a person relies on by accident.
    """
    name = _checked_label(name, "name", "The template's name", MAX_TEMPLATE_NAME,
                          "Name the template, e.g. “Monthly offer”.")  # fmt: skip
    compiled = _checked_body(body)
    try:
        return await _save_template(ctx, name, body, actor, compiled, replace)
    except IntegrityError:
        # Another request saved this new name between our look and our insert: it exists now,
        # so this save replaces it (or is refused), as it would have been a moment later.
        return await _save_template(ctx, name, body, actor, compiled, replace)


async def _save_template(
    ctx: Context, name: str, body: str, actor: str, compiled: Template, replace: bool
) -> SavedTemplate:
    now = ctx.now()
    async with ctx.db.transaction() as session:
        query = select(MessageTemplate).where(MessageTemplate.name == name).with_for_update()
        template = (await session.execute(query)).scalar_one_or_none()
        if template is not None and not replace:
            raise StateError(
                f"A template named “{name}” exists already (id {template.id}): choose another "
                "name, or save with replace to give it this message (its id stays).",
                field="name",
            )
        previous = template.body if template else None
        if template is None:
            template = MessageTemplate(
                name=name, body=body, created_by=actor, created_at=now, updated_at=now
            )
            session.add(template)
        else:
            template.body, template.updated_at = body, now
        await session.flush()
        audit.record(session, actor, "template.save", None, template_id=template.id, name=name,
                     replaced=previous is not None, previous_body=previous)  # fmt: skip
    return SavedTemplate(template, previous is not None, compiled.warnings)


async def list_templates(ctx: Context) -> list[MessageTemplate]:
    """Every saved template, by name."""
    async with ctx.db.read() as session:
        query = select(MessageTemplate).order_by(MessageTemplate.name, MessageTemplate.id)
        return list((await session.execute(query)).scalars())


async def get_template(ctx: Context, template_id: int | str) -> MessageTemplate:
    template_id = _checked_id(template_id, "saved template")
    async with ctx.db.read() as session:
        return await _load_template(session, template_id)


async def delete_template(ctx: Context, template_id: int | str, actor: str) -> MessageTemplate:
    """Delete a template; returns it as it was. Campaigns made from it keep their own copy."""
    template_id = _checked_id(template_id, "saved template")
    async with ctx.db.transaction() as session:
        template = await _load_template(session, template_id)
        await session.delete(template)
        audit.record(session, actor, "template.delete", None, template_id=template.id,
                     name=template.name, body=template.body)  # fmt: skip
    return template


async def _load_template(session: AsyncSession, template_id: int) -> MessageTemplate:
    template = await session.get(MessageTemplate, template_id)
    if template is None:
        raise NotFound(f"No saved template {template_id}: it may have been deleted meanwhile.")
    return template


# -- contact groups


async def import_contacts(
    ctx: Context,
    group_name: str,
    report: ImportReport,
    consent_source: str,
    actor: str,
    *,
    add_to_existing: bool = True,
) -> ContactImport:
    """Add every recipient of `report` to the group (created if needed) as a contact.

    A number not known before becomes a contact with this consent record (`consent_source`, now,
    `actor`). A known one keeps the consent record it was first imported with, and takes this
    import's non-empty values for its variables (columns this file lacks stay as they were).
    With `add_to_existing=False` a group of that name existing already is refused (StateError) and
    nothing is written: a campaign from the group would text its other members too.
    """
    group_name = _checked_label(group_name, "group_name", "The group's name", MAX_GROUP_NAME,
                                "Name the group, e.g. “Newsletter sign-ups”.")  # fmt: skip
    consent_source = _checked_label(
        consent_source, "consent_source", "Where they agreed", MAX_CONSENT_SOURCE,
        "Say where these people agreed to be texted, e.g. “sign-up form at reception”.",
    )  # fmt: skip
    await off_loop(_check_contacts, report)  # every value of 100,000 rows: CPU, off the loop
    now = ctx.now()
    insert = pg_insert if ctx.db.dialect == "postgresql" else sqlite_insert
    counts = {"added": 0, "already_there": 0, "joined": 0, "opted_out": 0}
    async with ctx.db.transaction() as session:
        group_id, created = await _group_for(session, insert, group_name, actor, now)
        if not created and not add_to_existing:
            raise StateError(
                f"A contact group named “{group_name}” exists already (id {group_id}): choose "
                "another name, or import with add_to_existing to add these contacts to it.",
                field="group_name",
            )
        for start in range(0, len(report.recipients), CHUNK):
            chunk = report.recipients[start : start + CHUNK]
            found = await _store_contacts(
                session, insert, group_id, chunk, Consent(consent_source, actor, now)
            )
            for key, value in found.items():
                counts[key] += value
        audit.record(session, actor, "contacts.import", None, group_id=group_id,
                     group_name=group_name, group_created=created, consent_source=consent_source,
                     **counts)  # fmt: skip
        group = await _summary(session, group_id)
    return ContactImport(group=group, group_created=created, **counts)


async def _group_for(
    session: AsyncSession, insert: Any, name: str, actor: str, now: datetime
) -> tuple[int, bool]:
    """The group's id, and whether this call created it. ON CONFLICT makes a concurrent import
    into a new group of the same name join it instead of failing."""
    created = await session.execute(
        insert(ContactGroup)
        .values(name=name, created_by=actor, created_at=now)
        .on_conflict_do_nothing(index_elements=[ContactGroup.name])
        .returning(ContactGroup.id)
    )
    new_id = created.scalar_one_or_none()
    if new_id is not None:
        audit.record(session, actor, "contact_group.create", None, group_id=new_id, name=name)
        return new_id, True
    query = select(ContactGroup.id).where(ContactGroup.name == name)
    return (await session.execute(query)).scalar_one(), False


@dataclass(frozen=True, slots=True)
class Consent:
    """The consent record a new contact gets: where they agreed, who imported them, and when."""

    source: str
    actor: str
    at: datetime


async def _store_contacts(
    session: AsyncSession,
    insert: Any,
    group_id: int,
    chunk: Sequence[Recipient],
    consent: Consent,
) -> dict[str, int]:
    """One chunk of an import: new contacts inserted, known ones updated, all put in the group."""
    phones = [r.phone for r in chunk]
    known = await _contacts_by_phone(session, phones)
    new = [r for r in chunk if r.phone not in known]
    ids: dict[str, int] = {}
    if new:
        inserted = await session.execute(
            insert(CONTACTS)
            .on_conflict_do_nothing(index_elements=[CONTACTS.c.phone])
            .returning(CONTACTS.c.id, CONTACTS.c.phone),
            [_new_contact(r, consent) for r in new],
        )
        ids = {phone: contact_id for contact_id, phone in inserted}
        # A number another import stored meanwhile is a known contact after all.
        known |= await _contacts_by_phone(session, [r.phone for r in new if r.phone not in ids])
    changed: list[dict[str, Any]] = []
    for recipient in chunk:
        if recipient.phone not in known:
            continue
        contact_id, variables, name = known[recipient.phone]
        merged = _merged(variables, recipient.variables)
        if merged != variables:
            changed.append({"contact_id": contact_id, "new_variables": merged,
                            "new_name": _display_name(merged) or name})  # fmt: skip
    if changed:
        await session.execute(UPDATE_CONTACT, changed)
    ids |= {phone: contact_id for phone, (contact_id, _, _) in known.items()}
    joined = await _join_group(session, insert, group_id, list(ids.values()))
    return {
        "added": len(chunk) - len(known),
        "already_there": len(known),
        "joined": joined,
        "opted_out": await _opted_out(session, phones),
    }


async def _contacts_by_phone(
    session: AsyncSession, phones: Sequence[str]
) -> dict[str, tuple[int, dict[str, str], str | None]]:
    if not phones:
        return {}
    rows = await session.execute(
        select(Contact.phone, Contact.id, Contact.variables, Contact.name).where(
            Contact.phone.in_(phones)
        )
    )
    return {phone: (contact_id, dict(variables or {}), name) for phone, contact_id, variables, name
            in rows}  # fmt: skip


def _new_contact(recipient: Recipient, consent: Consent) -> dict[str, Any]:
    variables = dict(recipient.variables)
    return {
        "phone": recipient.phone,
        "name": _display_name(variables),
        "variables": variables,
        "consent_source": consent.source,
        "consent_at": consent.at,
        "created_by": consent.actor,
        "created_at": consent.at,
    }


def _merged(old: dict[str, str], new: dict[str, str]) -> dict[str, str]:
    """The new values win; an empty cell does not erase what an earlier import knew."""
    return {**old, **{name: value for name, value in new.items() if value}}


def _display_name(variables: dict[str, str]) -> str | None:
    return display_name(variables, MAX_CONTACT_NAME)


async def _join_group(
    session: AsyncSession, insert: Any, group_id: int, contact_ids: Sequence[int]
) -> int:
    """Put the contacts in the group; returns how many were not in it before.

    The members already there are told by ON CONFLICT, not looked up first: PostgreSQL plans
    such a lookup once, while the table is small, and then scans the growing table for every
    chunk of a large import."""
    joined = await session.execute(
        insert(MEMBERS).on_conflict_do_nothing().returning(MEMBERS.c.contact_id),
        [{"group_id": group_id, "contact_id": c} for c in contact_ids],
    )
    return len(joined.all())


async def _opted_out(session: AsyncSession, phones: Sequence[str]) -> int:
    query = select(func.count()).where(OptOut.phone.in_(phones), OptOut.opted_out.is_(True))
    return (await session.execute(query)).scalar_one()


async def list_contact_groups(ctx: Context) -> list[GroupSummary]:
    """Every group with its member count, by name."""
    async with ctx.db.read() as session:
        return await _summaries(session)


async def get_contact_group(ctx: Context, group_id: int | str) -> GroupSummary:
    group_id = _checked_id(group_id, "contact group")
    async with ctx.db.read() as session:
        return await _summary(session, group_id)


@dataclass(frozen=True, slots=True)
class GroupContacts:
    """A page of a group's contacts, in the order they were first imported."""

    group: GroupSummary
    contacts: list[Contact]  # detached rows, each with its consent record
    next_cursor: str | None


async def group_contacts(
    ctx: Context, group_id: int | str, *, limit: int = 100, cursor: str | None = None
) -> GroupContacts:
    """The group and one page of its contacts: a group can hold a whole campaign's list, too
    much for one answer, so it pages like a campaign's recipients (keyset, by contact id)."""
    group_id = _checked_id(group_id, "contact group")
    query = (
        select(Contact)
        .join(ContactGroupMember, ContactGroupMember.contact_id == Contact.id)
        .where(ContactGroupMember.group_id == group_id)
        .order_by(Contact.id)
    )
    if cursor:
        query = query.where(Contact.id > decode_id_cursor(cursor))
    async with ctx.db.read() as session:
        group = await _summary(session, group_id)
        contacts = list((await session.execute(query.limit(checked_limit(limit) + 1))).scalars())
    more = len(contacts) > limit
    contacts = contacts[:limit]
    return GroupContacts(group, contacts, encode_cursor(str(contacts[-1].id)) if more else None)


async def group_recipients(ctx: Context, group_id: int | str) -> ImportReport:
    """The group's contacts as an import of a list (variables are the contacts' own, in the order
    the contacts were first imported), so a campaign is created from it as from a CSV."""
    group_id = _checked_id(group_id, "contact group")
    async with ctx.db.read() as session:
        group = await _summary(session, group_id)
        if group.members > MAX_RECIPIENTS:
            raise LimitError(
                f"The group “{group.name}” has {group.members:,} contacts; the limit is "
                f"{MAX_RECIPIENTS:,} per campaign. Split it into smaller groups.",
                field="recipients",
            )
        rows = await session.execute(
            select(Contact.phone, Contact.variables)
            .join(ContactGroupMember, ContactGroupMember.contact_id == Contact.id)
            .where(ContactGroupMember.group_id == group_id)
            .order_by(Contact.id)
        )
        recipients = [
            Recipient(
                row=row, phone=phone, variables={k: str(v) for k, v in (variables or {}).items()}
            )
            for row, (phone, variables) in enumerate(rows, start=1)
        ]
    # Contacts saved before ALLOWED_COUNTRIES changed (or before destinations were checked).
    destinations = ctx.settings.destinations
    recipients, refused = await off_loop(refused_among, recipients, destinations)
    names = list(dict.fromkeys(name for r in recipients for name in r.variables))
    warnings = [] if recipients or refused else [f"The group “{group.name}” has no contacts."]
    return ImportReport(recipients=recipients, invalid=refused, duplicates=0, variables=names,
                        phone_column=None, encoding="utf-8", warnings=warnings,
                        destinations=destinations)  # fmt: skip


async def delete_contact_group(ctx: Context, group_id: int | str, actor: str) -> GroupSummary:
    """Delete a group; returns it as it was. Its contacts stay, with their consent records, in
    their other groups and for a later import."""
    group_id = _checked_id(group_id, "contact group")
    async with ctx.db.transaction() as session:
        group = await _summary(session, group_id)
        # Explicit, not left to ON DELETE CASCADE: the ORM would otherwise load every member to
        # unlink it, and SQLite cascades only with foreign keys switched on.
        await session.execute(
            delete(ContactGroupMember).where(ContactGroupMember.group_id == group_id)
        )
        await session.execute(delete(ContactGroup).where(ContactGroup.id == group_id))
        audit.record(session, actor, "contact_group.delete", None, group_id=group_id,
                     name=group.name, members=group.members)  # fmt: skip
    return group


async def _summaries(
    session: AsyncSession, group_ids: Iterable[int] | None = None
) -> list[GroupSummary]:
    members = func.count(ContactGroupMember.contact_id)
    query = (
        select(ContactGroup.id, ContactGroup.name, members, ContactGroup.created_by,
               ContactGroup.created_at)
        .outerjoin(ContactGroupMember, ContactGroupMember.group_id == ContactGroup.id)
        .group_by(ContactGroup.id, ContactGroup.name, ContactGroup.created_by,
                  ContactGroup.created_at)
        .order_by(ContactGroup.name, ContactGroup.id)
    )  # fmt: skip
    if group_ids is not None:
        query = query.where(ContactGroup.id.in_(list(group_ids)))
    return [GroupSummary(*row) for row in await session.execute(query)]


async def _summary(session: AsyncSession, group_id: int) -> GroupSummary:
    found = await _summaries(session, [group_id])
    if not found:
        raise NotFound(f"No contact group {group_id}: it may have been deleted meanwhile.")
    return found[0]
