"""Saved templates and contact groups through the service layer, on the real database."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from campaigns.errors import InputError, LimitError, NotFound
from campaigns.models import Contact, ContactGroupMember
from campaigns.recipients import check_recipient_list, parse_recipients
from campaigns.service import (
    Context,
    NewCampaign,
    audit_entries,
    create_campaign,
    delete_contact_group,
    delete_template,
    get_contact_group,
    get_template,
    group_recipients,
    import_contacts,
    list_contact_groups,
    list_templates,
    preview_campaign,
    record_opt_out,
    save_template,
)
from campaigns.service.library import CHUNK
from tests.conftest import Clock

ACTOR = "slack:U0ALICE"
OTHER = "slack:U0BOB"
CSV = "phone,first_name,store\n+447700900001,Sarah,Leeds\n+447700900002,James,York\nnope,X,Y\n"


def csv(text: str = CSV):  # type: ignore[no-untyped-def]
    return parse_recipients(text.encode(), "GB")


async def contacts(ctx: Context) -> dict[str, Contact]:
    async with ctx.db.read() as session:
        rows = (await session.execute(select(Contact))).scalars()
        return {contact.phone: contact for contact in rows}


# -- templates


async def test_a_template_is_saved_listed_read_and_deleted_with_audit(ctx: Context) -> None:
    saved = await save_template(ctx, "  Monthly offer ", "Hi {{first_name}}, 20% off", ACTOR)
    assert not saved.replaced and saved.warnings == ()
    template = saved.template
    assert (template.name, template.body, template.created_by) == (
        "Monthly offer", "Hi {{first_name}}, 20% off", ACTOR,
    )  # fmt: skip
    await save_template(ctx, "Appointment reminder", "See you tomorrow", ACTOR)
    assert [t.name for t in await list_templates(ctx)] == ["Appointment reminder", "Monthly offer"]
    assert (await get_template(ctx, str(template.id))).body == "Hi {{first_name}}, 20% off"

    deleted = await delete_template(ctx, template.id, OTHER)
    assert deleted.name == "Monthly offer"
    assert [t.name for t in await list_templates(ctx)] == ["Appointment reminder"]
    with pytest.raises(NotFound):
        await get_template(ctx, template.id)
    with pytest.raises(NotFound):
        await delete_template(ctx, template.id, OTHER)
    [gone] = await audit_entries(ctx, actor=OTHER)
    assert gone.action == "template.delete" and gone.details["body"] == template.body
    actions = [e.action for e in await audit_entries(ctx, actor=ACTOR)]
    assert actions == ["template.save", "template.save"]


async def test_saving_an_existing_name_replaces_the_body_and_keeps_the_id(
    ctx: Context, clock: Clock
) -> None:
    first = await save_template(ctx, "Offer", "Old text", ACTOR)
    clock.advance(hours=1)
    second = await save_template(ctx, "Offer", "New text", OTHER)
    assert second.replaced and second.template.id == first.template.id
    stored = await get_template(ctx, first.template.id)
    assert stored.body == "New text" and stored.created_by == ACTOR
    assert stored.updated_at == clock.now
    [entry] = await audit_entries(ctx, actor=OTHER)
    assert entry.details["replaced"] is True and entry.details["previous_body"] == "Old text"
    assert len(await list_templates(ctx)) == 1


async def test_two_saves_of_a_new_name_at_once_leave_one_template(ctx: Context) -> None:
    results = await asyncio.gather(
        save_template(ctx, "Race", "One", ACTOR), save_template(ctx, "Race", "Two", OTHER)
    )
    assert sorted(r.replaced for r in results) == [False, True]
    [template] = await list_templates(ctx)
    assert template.body in ("One", "Two")


async def test_a_template_with_a_single_brace_placeholder_is_saved_with_a_warning(
    ctx: Context,
) -> None:
    saved = await save_template(ctx, "Braces", "Hi {first_name}", ACTOR)
    assert saved.warnings and "{first_name}" in saved.warnings[0]


@pytest.mark.parametrize(
    ("name", "body", "field", "words"),
    [
        ("", "Hi", "name", "Name the template"),
        ("   ", "Hi", "name", "Name the template"),
        ("x" * 101, "Hi", "name", "keep it to 100"),
        ("Bad\x00name", "Hi", "name", "NUL"),
        ("Empty", "  \n", "body", "Write the template's message"),
        ("Long", "x" * 3001, "body", "keep it to 3,000"),
        ("Never", "x" * 1601 + "{{first_name}}", "body", "Twilio refuses"),
        ("Broken", "Hi \udc00", "body", "broken character"),
    ],
)
async def test_bad_templates_are_refused_naming_the_field(
    ctx: Context, name: str, body: str, field: str, words: str
) -> None:
    with pytest.raises(InputError) as raised:
        await save_template(ctx, name, body, ACTOR)
    assert raised.value.field == field and words in raised.value.message
    assert await list_templates(ctx) == []


@pytest.mark.parametrize("template_id", ["abc", "", "-1", "0", "99999999999999999999", 2**63])
async def test_ids_no_template_could_have_are_not_found(ctx: Context, template_id: object) -> None:
    with pytest.raises(NotFound):
        await get_template(ctx, template_id)  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        await group_recipients(ctx, template_id)  # type: ignore[arg-type]


# -- contact groups


async def test_import_creates_the_group_and_its_contacts_with_consent(
    ctx: Context, clock: Clock
) -> None:
    result = await import_contacts(ctx, "Newsletter", csv(), "sign-up form at reception", ACTOR)
    assert (result.added, result.already_there, result.joined, result.opted_out) == (2, 0, 2, 0)
    assert result.group_created and result.group.name == "Newsletter"
    assert result.group.members == 2 and result.group.created_by == ACTOR
    stored = await contacts(ctx)
    sarah = stored["+447700900001"]
    assert sarah.variables == {"first_name": "Sarah", "store": "Leeds"}
    assert sarah.name == "Sarah"
    assert (sarah.consent_source, sarah.consent_at, sarah.created_by) == (
        "sign-up form at reception", clock.now, ACTOR,
    )  # fmt: skip
    actions = [e.action for e in await audit_entries(ctx, actor=ACTOR)]
    assert actions == ["contacts.import", "contact_group.create"]
    [summary] = await list_contact_groups(ctx)
    assert summary == result.group


async def test_a_known_contact_joins_another_group_keeping_its_first_consent(
    ctx: Context, clock: Clock
) -> None:
    first = await import_contacts(ctx, "Newsletter", csv(), "sign-up form at reception", ACTOR)
    signed_up = clock.now
    clock.advance(days=3)
    again = "mobile,first_name,store\n+447700900002,Jim,\n+447700900003,Ann,Hull\n"
    result = await import_contacts(ctx, "Leeds", csv(again), "paper form", OTHER)
    assert (result.added, result.already_there, result.joined) == (1, 1, 2)
    stored = await contacts(ctx)
    james = stored["+447700900002"]
    assert (james.consent_source, james.consent_at, james.created_by) == (
        "sign-up form at reception", signed_up, ACTOR,
    )  # fmt: skip
    # The new value wins; the empty cell leaves the store an earlier import knew.
    assert james.variables == {"first_name": "Jim", "store": "York"} and james.name == "Jim"
    assert stored["+447700900003"].consent_source == "paper form"
    groups = {g.name: g.members for g in await list_contact_groups(ctx)}
    assert groups == {"Leeds": 2, "Newsletter": 2}

    # Importing the same list into the same group again adds nobody.
    repeat = await import_contacts(ctx, "Newsletter", csv(), "sign-up form at reception", ACTOR)
    assert not repeat.group_created and repeat.group.id == first.group.id
    assert (repeat.added, repeat.already_there, repeat.joined, repeat.group.members) == (0, 2, 0, 2)


async def test_imported_opted_out_numbers_are_counted_and_kept(ctx: Context) -> None:
    await record_opt_out(ctx, "+447700900002", source="sms", keyword="STOP")
    result = await import_contacts(ctx, "Newsletter", csv(), "web form", ACTOR)
    assert result.opted_out == 1 and result.group.members == 2


async def test_a_group_becomes_recipients_a_campaign_is_created_from(ctx: Context) -> None:
    result = await import_contacts(ctx, "Newsletter", csv(), "web form", ACTOR)
    report = await group_recipients(ctx, result.group.id)
    assert [(r.row, r.phone, r.variables) for r in report.recipients] == [
        (1, "+447700900001", {"first_name": "Sarah", "store": "Leeds"}),
        (2, "+447700900002", {"first_name": "James", "store": "York"}),
    ]
    assert report.variables == ["first_name", "store"]
    assert (report.phone_column, report.encoding, report.invalid, report.duplicates) == (
        None, "utf-8", [], 0,
    )  # fmt: skip
    view = await create_campaign(
        ctx,
        NewCampaign(name="From a group", message_template="Hi {{first_name}} in {{store}}",
                    recipients=report, from_numbers=["+14155550100"], send_at=None,
                    source="slack", consent_confirmed=True),
        ACTOR, launch=False,
    )  # fmt: skip
    preview = await preview_campaign(ctx, view.campaign.id, samples=2)
    assert [s.text for s in preview.samples] == ["Hi Sarah in Leeds", "Hi James in York"]


async def test_an_empty_group_gives_a_report_that_says_so(ctx: Context) -> None:
    result = await import_contacts(ctx, "Newsletter", csv(), "web form", ACTOR)
    other = await import_contacts(ctx, "Soon empty", csv(), "web form", ACTOR)
    async with ctx.db.transaction() as session:  # every member gone, the group left
        await session.execute(
            ContactGroupMember.__table__.delete().where(
                ContactGroupMember.group_id == other.group.id
            )
        )
    report = await group_recipients(ctx, other.group.id)
    assert report.recipients == [] and "has no contacts" in report.warnings[0]
    assert (await get_contact_group(ctx, result.group.id)).members == 2


async def test_deleting_a_group_keeps_its_contacts(ctx: Context) -> None:
    kept = await import_contacts(ctx, "Keep", csv(), "web form", ACTOR)
    gone = await import_contacts(ctx, "Gone", csv(), "web form", ACTOR)
    deleted = await delete_contact_group(ctx, str(gone.group.id), OTHER)
    assert deleted.name == "Gone" and deleted.members == 2
    assert [g.name for g in await list_contact_groups(ctx)] == ["Keep"]
    assert len(await contacts(ctx)) == 2
    assert (await get_contact_group(ctx, kept.group.id)).members == 2
    with pytest.raises(NotFound):
        await group_recipients(ctx, gone.group.id)
    with pytest.raises(NotFound):
        await delete_contact_group(ctx, gone.group.id, OTHER)
    [entry] = await audit_entries(ctx, actor=OTHER)
    assert entry.action == "contact_group.delete" and entry.details["members"] == 2


@pytest.mark.parametrize(
    ("group", "source", "report", "field", "words"),
    [
        ("", "web form", CSV, "group_name", "Name the group"),
        ("g" * 101, "web form", CSV, "group_name", "keep it to 100"),
        ("Newsletter", " ", CSV, "consent_source", "agreed to be texted"),
        ("Newsletter", "w" * 201, CSV, "consent_source", "keep it to 200"),
        ("Newsletter", "web\x00form", CSV, "consent_source", "NUL"),
        ("Newsletter", "web form", "phone\nnope\n", "recipients", "no valid phone number"),
        (
            "Newsletter",
            "web form",
            [{"phone": "+447700900001", "variables": {"note": "a\x00b"}}],
            "variables.note",
            "Row 1",
        ),
    ],
)
async def test_bad_imports_are_refused_naming_the_field_and_store_nothing(
    ctx: Context, group: str, source: str, report: object, field: str, words: str
) -> None:
    # A file cannot carry a NUL (the parser refuses it as binary); the API's list can.
    parsed = csv(report) if isinstance(report, str) else check_recipient_list(report, "GB")  # type: ignore[arg-type]
    with pytest.raises(InputError) as raised:
        await import_contacts(ctx, group, parsed, source, ACTOR)
    assert raised.value.field == field and words in raised.value.message
    assert await list_contact_groups(ctx) == [] and await contacts(ctx) == {}


async def test_a_large_import_goes_in_chunks(ctx: Context) -> None:
    count = CHUNK * 2 + 5
    people = [{"phone": f"+1212555{i:04d}", "variables": {"n": str(i)}} for i in range(count)]
    half = check_recipient_list(people[: CHUNK + 3], None)
    await import_contacts(ctx, "First half", half, "web form", ACTOR)
    result = await import_contacts(ctx, "All", check_recipient_list(people, None), "web", ACTOR)
    assert (result.added, result.already_there, result.group.members) == (
        count - CHUNK - 3, CHUNK + 3, count,
    )  # fmt: skip
    report = await group_recipients(ctx, result.group.id)
    assert len(report.recipients) == count
    async with ctx.db.read() as session:
        total = (await session.execute(select(func.count()).select_from(Contact))).scalar_one()
    assert total == count


async def test_a_group_over_the_campaign_limit_is_refused_as_recipients(
    ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = await import_contacts(ctx, "Newsletter", csv(), "web form", ACTOR)
    monkeypatch.setattr("campaigns.service.library.MAX_RECIPIENTS", 1)
    with pytest.raises(LimitError) as raised:
        await group_recipients(ctx, result.group.id)
    assert raised.value.field == "recipients" and "Split it" in raised.value.message
