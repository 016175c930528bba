"""/v1/sms/templates and /v1/sms/contact-groups through real HTTP, and campaigns created from
them by id: every route, its errors, and what it leaves in the audit log."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from campaigns.models import ContactGroup
from campaigns.service import audit_entries, get_campaign
from tests.bot.conftest import Api
from tests.conftest import Clock

ANN, BOB, CAT = "+447700900001", "+447700900002", "+447700900003"
CONTACTS = [
    {"phone": ANN, "variables": {"first_name": "Ann"}},
    {"phone": BOB, "variables": {"first_name": "Bob"}},
]
CONSENT = "sign-up form at reception"


async def call(api: Api, method: str, path: str, body: object = None, **params: str) -> Any:
    return await api.client.request(method, path, json=body, params=params or None,
                                    headers=api.auth)  # fmt: skip


async def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status == status, await response.text()
    return await response.json()


async def error_of(response: Any, status: int) -> dict[str, Any]:
    assert response.status == status, await response.text()
    body = await response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "field"}
    return body["error"]


async def new_template(api: Api, name: str = "Offer", body: str = "Hi {{first_name}}") -> dict:
    return await ok(await call(api, "POST", "/v1/sms/templates", {"name": name, "body": body}), 201)


async def new_group(api: Api, name: str = "Sign-ups", contacts: list | None = None) -> dict:
    body = {"name": name, "consent_source": CONSENT, "contacts": contacts or CONTACTS}
    return await ok(await call(api, "POST", "/v1/sms/contact-groups", body), 201)


async def actions_of(api: Api) -> list[tuple[str, dict]]:
    """The key's audit entries, oldest first."""
    entries = await audit_entries(api.runtime.ctx, actor=f"api:{api.key_id}")
    return [(e.action, e.details) for e in reversed(entries)]


# -- templates


async def test_a_template_is_saved_listed_read_and_deleted_with_audit(
    api: Api, clock: Clock
) -> None:
    saved = await new_template(api, "  Monthly offer ", "Hi {{first_name}}, 20% off")
    template_id = saved["template_id"]
    assert saved == {
        "template_id": template_id,
        "name": "Monthly offer",
        "body": "Hi {{first_name}}, 20% off",
        "created_by": f"api:{api.key_id}",
        "created_at": "2026-11-23T09:00:00Z",
        "updated_at": "2026-11-23T09:00:00Z",
        "replaced": False,
        "warnings": [],
    }
    await new_template(api, "Appointment reminder", "See you tomorrow")
    listed = await ok(await call(api, "GET", "/v1/sms/templates"))
    assert [t["name"] for t in listed["templates"]] == ["Appointment reminder", "Monthly offer"]
    one = await ok(await call(api, "GET", f"/v1/sms/templates/{template_id}"))
    assert one == {k: v for k, v in saved.items() if k not in ("replaced", "warnings")}

    deleted = await ok(await call(api, "DELETE", f"/v1/sms/templates/{template_id}"))
    assert deleted == {**one, "deleted": True}
    gone = await error_of(await call(api, "GET", f"/v1/sms/templates/{template_id}"), 404)
    assert gone["code"] == "not_found" and f"No saved template {template_id}" in gone["message"]
    await error_of(await call(api, "DELETE", f"/v1/sms/templates/{template_id}"), 404)
    listed = await ok(await call(api, "GET", "/v1/sms/templates"))
    assert [t["name"] for t in listed["templates"]] == ["Appointment reminder"]

    actions = await actions_of(api)
    assert [a for a, _ in actions] == ["template.save", "template.save", "template.delete"]
    assert actions[0][1]["template_id"] == template_id and actions[0][1]["replaced"] is False
    assert actions[2][1] == {"template_id": template_id, "name": "Monthly offer",
                             "body": "Hi {{first_name}}, 20% off"}  # fmt: skip


async def test_a_taken_name_is_409_and_changes_nothing_unless_replace_is_sent(
    api: Api, clock: Clock
) -> None:
    first = await new_template(api, "Offer", "Old text")
    taken = await error_of(
        await call(api, "POST", "/v1/sms/templates", {"name": "Offer", "body": "New text"}), 409
    )
    assert taken["code"] == "conflict" and taken["field"] == "name"
    assert f"exists already (id {first['template_id']})" in taken["message"]
    assert "replace" in taken["message"]
    stored = await ok(await call(api, "GET", f"/v1/sms/templates/{first['template_id']}"))
    assert stored["body"] == "Old text"

    clock.advance(minutes=5)
    body = {"name": "Offer", "body": "New text", "replace": True}
    replaced = await ok(await call(api, "POST", "/v1/sms/templates", body), 200)
    assert replaced["replaced"] is True and replaced["template_id"] == first["template_id"]
    assert (replaced["body"], replaced["updated_at"]) == ("New text", "2026-11-23T09:05:00Z")
    assert replaced["created_at"] == first["created_at"]
    *_, (action, details) = await actions_of(api)
    assert action == "template.save" and details["previous_body"] == "Old text"
    # replace on a new name simply creates it
    fresh = {"name": "Other", "body": "Hi", "replace": True}
    assert (await ok(await call(api, "POST", "/v1/sms/templates", fresh), 201))["replaced"] is False


async def test_braces_that_are_not_placeholders_are_saved_with_warnings(api: Api) -> None:
    saved = await new_template(api, "Braces", "Hi {first_name} and {{ }}")
    messages = [w["message"] for w in saved["warnings"]]
    assert {w["code"] for w in saved["warnings"]} == {"literal_braces"}
    assert any("{first_name}" in m for m in messages), messages
    assert any("no variable name inside" in m for m in messages), messages


@pytest.mark.parametrize(
    ("body", "status", "field", "words"),
    [
        ({"name": "", "body": "Hi"}, 422, "name", "Name the template"),
        ({"name": "x" * 101, "body": "Hi"}, 422, "name", "keep it to 100"),
        ({"name": "Empty", "body": "  \n"}, 422, "body", "Write the template's message"),
        ({"name": "Long", "body": "x" * 3001}, 422, "body", "keep it to 3,000"),
        ({"name": "Never", "body": "x" * 1601 + "{{a}}"}, 422, "body", "Twilio refuses"),
        ({"name": "No body"}, 400, "body", "body is required"),
        ({"name": "Typo", "body": "Hi", "replce": True}, 400, "replce", "Unknown field"),
        ({"name": "Number", "body": 12}, 400, "body", "string"),
        ({"name": "Nul\u0000", "body": "Hi"}, 400, "name", "NUL"),
        ({"name": "Yes", "body": "Hi", "replace": "yes"}, 400, "replace", "boolean"),
    ],
)
async def test_bad_templates_are_refused_naming_the_field(
    api: Api, body: dict, status: int, field: str, words: str
) -> None:
    error = await error_of(await call(api, "POST", "/v1/sms/templates", body), status)
    assert error["field"] == field and words in error["message"], error
    assert (await ok(await call(api, "GET", "/v1/sms/templates")))["templates"] == []


async def test_a_template_body_over_64_kb_is_413(api: Api) -> None:
    response = await api.client.post(
        "/v1/sms/templates",
        data=b'{"name": "Big", "body": "' + b"x" * (65 * 1024) + b'"}',
        headers={**api.auth, "Content-Type": "application/json"},
    )
    assert "64 KB" in (await error_of(response, 413))["message"]


# -- contact groups


async def test_a_group_is_imported_with_its_consent_record_listed_and_read(
    api: Api, clock: Clock
) -> None:
    body = {
        "name": "Sign-ups",
        "consent_source": CONSENT,
        "contacts": [*CONTACTS, {"phone": "12"}, {"phone": ANN}],
    }
    created = await ok(await call(api, "POST", "/v1/sms/contact-groups", body), 201)
    group_id = created["group_id"]
    assert created == {
        "group_id": group_id,
        "name": "Sign-ups",
        "contact_count": 2,
        "created_by": f"api:{api.key_id}",
        "created_at": "2026-11-23T09:00:00Z",
        "group_created": True,
        "added": 2,
        "already_known": 0,
        "joined": 2,
        "opted_out_count": 0,
        "invalid": [{"row": 3, "value": "12", "reason": created["invalid"][0]["reason"]}],
        "invalid_count": 1,
        "duplicates": 1,
        "warnings": [],
    }
    listed = await ok(await call(api, "GET", "/v1/sms/contact-groups"))
    assert listed == {"contact_groups": [{k: created[k] for k in (
        "group_id", "name", "contact_count", "created_by", "created_at")}]}  # fmt: skip
    detail = await ok(await call(api, "GET", f"/v1/sms/contact-groups/{group_id}"))
    consent = {"source": CONSENT, "at": "2026-11-23T09:00:00Z", "recorded_by": f"api:{api.key_id}"}
    assert detail["contacts"] == [
        {"phone": ANN, "name": "Ann", "variables": {"first_name": "Ann"}, "consent": consent},
        {"phone": BOB, "name": "Bob", "variables": {"first_name": "Bob"}, "consent": consent},
    ]
    assert detail["next_cursor"] is None and detail["contact_count"] == 2

    actions = await actions_of(api)
    assert [a for a, _ in actions] == ["contact_group.create", "contacts.import"]
    assert actions[1][1]["consent_source"] == CONSENT and actions[1][1]["added"] == 2


async def test_a_group_from_csv_keeps_its_columns_as_variables(api: Api) -> None:
    body = {
        "name": "From CSV",
        "consent_source": CONSENT,
        "contacts_csv": "Name;Mobile;Visits\nAnn Lee;07700 900001;3\n",
        "region": "gb",
    }
    created = await ok(await call(api, "POST", "/v1/sms/contact-groups", body), 201)
    detail = await ok(await call(api, "GET", f"/v1/sms/contact-groups/{created['group_id']}"))
    [contact] = detail["contacts"]
    assert (contact["phone"], contact["name"]) == (ANN, "Ann Lee")
    assert contact["variables"] == {"Name": "Ann Lee", "Visits": "3"}


async def test_a_large_group_is_read_a_page_at_a_time(api: Api) -> None:
    phones = [f"+4477009000{i:02d}" for i in range(1, 6)]
    group = await new_group(api, contacts=[{"phone": p} for p in phones])
    path = f"/v1/sms/contact-groups/{group['group_id']}"
    seen, cursor = [], None
    while True:
        params = {"contacts_limit": "2", **({"cursor": cursor} if cursor else {})}
        page = await ok(await call(api, "GET", path, **params))
        assert len(page["contacts"]) <= 2 and page["contact_count"] == 5
        seen += [c["phone"] for c in page["contacts"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == phones
    bad = await error_of(await call(api, "GET", path, cursor="garbage"), 422)
    assert bad["field"] == "cursor"
    for limit in ("0", "1001", "two", "²"):
        too = await error_of(await call(api, "GET", path, contacts_limit=limit), 400)
        assert too["field"] == "contacts_limit" and "1 to 1000" in too["message"]


async def test_a_taken_group_name_is_409_unless_add_to_existing_is_sent(
    api: Api, clock: Clock
) -> None:
    group = await new_group(api)
    more = {"name": "Sign-ups", "consent_source": "web form",
            "contacts": [{"phone": ANN, "variables": {"first_name": "Annie"}}, {"phone": CAT}]}  # fmt: skip
    taken = await error_of(await call(api, "POST", "/v1/sms/contact-groups", more), 409)
    assert taken["code"] == "conflict" and taken["field"] == "name"
    assert f"exists already (id {group['group_id']})" in taken["message"]
    assert "add_to_existing" in taken["message"]
    path = f"/v1/sms/contact-groups/{group['group_id']}"
    unchanged = await ok(await call(api, "GET", path))
    assert [c["phone"] for c in unchanged["contacts"]] == [ANN, BOB]  # CAT was not stored
    assert unchanged["contacts"][0]["variables"] == {"first_name": "Ann"}

    clock.advance(hours=1)
    added = await ok(
        await call(api, "POST", "/v1/sms/contact-groups", {**more, "add_to_existing": True}), 200
    )
    assert (added["group_id"], added["group_created"]) == (group["group_id"], False)
    assert (added["added"], added["already_known"], added["joined"]) == (1, 1, 1)
    assert added["contact_count"] == 3
    contacts = {c["phone"]: c for c in (await ok(await call(api, "GET", path)))["contacts"]}
    # Ann keeps the consent record she was first imported with; her variables take the new value
    assert contacts[ANN]["consent"]["source"] == CONSENT
    assert contacts[ANN]["consent"]["at"] == "2026-11-23T09:00:00Z"
    assert contacts[ANN]["variables"] == {"first_name": "Annie"}
    assert contacts[CAT]["consent"] == {"source": "web form", "at": "2026-11-23T10:00:00Z",
                                        "recorded_by": f"api:{api.key_id}"}  # fmt: skip


@pytest.mark.parametrize(
    ("change", "status", "field", "words"),
    [
        ({"contacts": None}, 400, None, "either contacts"),
        ({"contacts_csv": ANN}, 400, None, "either contacts"),
        ({"consent_source": None}, 400, "consent_source", "consent_source is required"),
        ({"consent_source": "  "}, 422, "consent_source", "Say where these people agreed"),
        ({"consent_source": "x" * 201}, 422, "consent_source", "keep it to 200"),
        ({"name": ""}, 422, "name", "Name the group"),
        ({"name": "x" * 101}, 422, "name", "keep it to 100"),
        ({"contacts": []}, 422, "contacts", "no valid phone number"),
        ({"contacts": [{"phone": "nope"}]}, 422, "contacts", "no valid phone number"),
        ({"contacts": None, "contacts_csv": "name\nAnn\n"}, 422, "contacts_csv", "no valid"),
        ({"contacts": [{"number": ANN}]}, 400, "contacts.0.phone", "required"),
        ({"region": "gbr"}, 400, "region", "at most 2"),
        ({"group": "typo"}, 400, "group", "Unknown field"),
    ],
)
async def test_bad_imports_are_refused_naming_the_field_and_store_nothing(
    api: Api, change: dict, status: int, field: str | None, words: str
) -> None:
    body = {"name": "Sign-ups", "consent_source": CONSENT, "contacts": CONTACTS}
    body = {k: v for k, v in {**body, **change}.items() if v is not None}
    error = await error_of(await call(api, "POST", "/v1/sms/contact-groups", body), status)
    assert error["field"] == field and words in error["message"], error
    assert (await ok(await call(api, "GET", "/v1/sms/contact-groups")))["contact_groups"] == []
    assert await actions_of(api) == []


async def test_deleting_a_group_keeps_its_contacts_in_other_groups(api: Api) -> None:
    first = await new_group(api, "First")
    second = await new_group(api, "Second", contacts=[CONTACTS[0]])
    deleted = await ok(await call(api, "DELETE", f"/v1/sms/contact-groups/{first['group_id']}"))
    assert deleted == {**{k: first[k] for k in ("group_id", "name", "created_by", "created_at")},
                       "contact_count": 2, "deleted": True}  # fmt: skip
    path = f"/v1/sms/contact-groups/{first['group_id']}"
    gone = await error_of(await call(api, "GET", path), 404)
    assert f"No contact group {first['group_id']}" in gone["message"]
    await error_of(await call(api, "DELETE", path), 404)
    kept = await ok(await call(api, "GET", f"/v1/sms/contact-groups/{second['group_id']}"))
    assert [c["consent"]["source"] for c in kept["contacts"]] == [CONSENT]
    *_, (action, details) = await actions_of(api)
    assert action == "contact_group.delete"
    assert details == {"group_id": first["group_id"], "name": "First", "members": 2}


@pytest.mark.parametrize("path", ["templates", "contact-groups"])
@pytest.mark.parametrize("bad_id", ["999", "abc", "0", "-1", "99999999999999999999"])
async def test_ids_that_name_nothing_are_404(api: Api, path: str, bad_id: str) -> None:
    for method in ("GET", "DELETE"):
        error = await error_of(await call(api, method, f"/v1/sms/{path}/{bad_id}"), 404)
        assert error["code"] == "not_found" and "No " in error["message"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/sms/templates"),
        ("POST", "/v1/sms/templates"),
        ("GET", "/v1/sms/templates/1"),
        ("DELETE", "/v1/sms/templates/1"),
        ("GET", "/v1/sms/contact-groups"),
        ("POST", "/v1/sms/contact-groups"),
        ("GET", "/v1/sms/contact-groups/1"),
        ("DELETE", "/v1/sms/contact-groups/1"),
    ],
)
async def test_every_route_needs_a_key(api: Api, method: str, path: str) -> None:
    template = await new_template(api)  # there is something to read or delete, were it allowed
    response = await api.client.request(method, path, json={"name": "x", "body": "y"})
    assert (await error_of(response, 401))["code"] == "unauthorized"
    assert await ok(await call(api, "GET", f"/v1/sms/templates/{template['template_id']}"))
    assert [a for a, _ in await actions_of(api)] == ["template.save"]


# -- a campaign created from a template and a group, by id


def _campaign_body(**ids: object) -> dict[str, Any]:
    return {"name": "From the library", "from_number": "+14155550100", **ids}


async def test_a_campaign_made_from_a_template_and_a_group_by_id(api: Api) -> None:
    template = await new_template(
        api, "Offer", "Hi {{first_name}}, 20% off. Reply STOP to opt out."
    )
    group = await new_group(api)
    ids = {"template_id": template["template_id"], "contact_group_id": group["group_id"]}

    preview = await ok(await call(api, "POST", "/v1/sms/campaigns/preview", _campaign_body(**ids)))
    assert preview["total_count"] == 2
    assert [s["text"] for s in preview["samples"]] == [
        "Hi Ann, 20% off. Reply STOP to opt out.",
        "Hi Bob, 20% off. Reply STOP to opt out.",
    ]
    created = await ok(await call(api, "POST", "/v1/sms/campaigns", _campaign_body(**ids)), 201)
    assert created["message_template"] == template["body"]
    assert created["total_count"] == 2 and created["status"] == "running"
    detail = await get_campaign(api.runtime.ctx, created["campaign_id"])
    assert [(r.phone, r.variables) for r in detail.recipients] == [
        (ANN, {"first_name": "Ann"}),
        (BOB, {"first_name": "Bob"}),
    ]
    assert detail.view.campaign.created_by == f"api:{api.key_id}"
    # Either id alone, with the other half given as text
    text_and_group = _campaign_body(message_template="Hello", contact_group_id=group["group_id"])
    assert (await ok(await call(api, "POST", "/v1/sms/campaigns", text_and_group), 201))[
        "total_count"
    ] == 2
    template_and_list = _campaign_body(
        template_id=template["template_id"], recipients=[CONTACTS[1]]
    )
    made = await ok(await call(api, "POST", "/v1/sms/campaigns", template_and_list), 201)
    assert (made["total_count"], made["message_template"]) == (1, template["body"])
    creates = [d for a, d in await actions_of(api) if a == "campaign.create"]
    assert [d["recipients"] for d in creates] == [2, 2, 1]


@pytest.mark.parametrize("route", ["/v1/sms/campaigns", "/v1/sms/campaigns/preview"])
async def test_ids_and_text_are_one_or_the_other_and_unknown_ids_are_422(
    api: Api, route: str
) -> None:
    template = await new_template(api)
    group = await new_group(api)
    tid, gid = template["template_id"], group["group_id"]
    malformed = [
        (_campaign_body(message_template="Hi", template_id=tid, contact_group_id=gid), "either"),
        (_campaign_body(contact_group_id=gid), "either message_template"),
        (_campaign_body(template_id=tid, recipients=CONTACTS, contact_group_id=gid), "one of"),
        (_campaign_body(template_id=tid, recipients_csv=ANN, contact_group_id=gid), "one of"),
        (_campaign_body(template_id=tid), "one of recipients"),
        (_campaign_body(template_id="first", contact_group_id=gid), "template_id"),
        (_campaign_body(template_id=True, contact_group_id=gid), "template_id"),
        (_campaign_body(template_id=str(tid), contact_group_id=gid), "template_id"),
        (_campaign_body(template_id=tid, contact_group_id=[gid]), "contact_group_id"),
    ]
    for body, words in malformed:
        error = await error_of(await call(api, "POST", route, body), 400)
        assert error["code"] == "invalid_request" and words in error["message"], (body, error)
    unknown = [
        (_campaign_body(template_id=tid + 100, contact_group_id=gid), "template_id",
         f"No saved template {tid + 100}"),
        (_campaign_body(template_id=tid, contact_group_id=gid + 100), "contact_group_id",
         f"No contact group {gid + 100}"),
        (_campaign_body(template_id=0, contact_group_id=gid), "template_id", "No saved template"),
        (_campaign_body(template_id=tid, contact_group_id=2**70), "contact_group_id",
         "No contact group"),
    ]  # fmt: skip
    for body, field, words in unknown:
        error = await error_of(await call(api, "POST", route, body), 422)
        assert error["field"] == field and words in error["message"], (body, error)
    listing = await ok(await call(api, "GET", "/v1/sms/campaigns"))
    assert listing["campaigns"] == []


async def test_a_campaign_from_an_empty_group_is_422(api: Api) -> None:
    async with api.runtime.ctx.db.transaction() as session:
        group = ContactGroup(name="Empty", created_by="cli", created_at=api.runtime.ctx.now())
        session.add(group)
        await session.flush()
        group_id = group.id
    body = _campaign_body(message_template="Hi", contact_group_id=group_id)
    error = await error_of(await call(api, "POST", "/v1/sms/campaigns", body), 422)
    assert error["field"] == "contact_group_id"
    assert "“Empty” has no contacts" in error["message"], error


async def test_a_campaign_from_a_group_over_the_recipient_limit_is_422(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    group = await new_group(api)  # 2 contacts; imports add up, so a group can outgrow a campaign
    monkeypatch.setattr("campaigns.service.library.MAX_RECIPIENTS", 1)
    body = _campaign_body(message_template="Hi", contact_group_id=group["group_id"])
    error = await error_of(await call(api, "POST", "/v1/sms/campaigns", body), 422)
    assert (error["code"], error["field"]) == ("over_limit", "contact_group_id")
    assert "has 2 contacts; the limit is 1 per campaign" in error["message"], error


async def test_two_creates_of_one_new_name_at_once_make_one_and_refuse_the_other(
    api: Api,
) -> None:
    template = {"name": "Race", "body": "Hi"}
    group = {"name": "Race", "consent_source": CONSENT, "contacts": CONTACTS}
    for path, body in (("/v1/sms/templates", template), ("/v1/sms/contact-groups", group)):
        answers = await asyncio.gather(*(call(api, "POST", path, body) for _ in range(2)))
        assert sorted(a.status for a in answers) == [201, 409], path
        listed = await ok(await call(api, "GET", path))
        assert len(next(iter(listed.values()))) == 1
