"""Expensive and unexpected destinations through the API over real HTTP: a workspace with a US
sender and DEFAULT_REGION=US (so ALLOWED_COUNTRIES is the United States) refuses premium-rate,
satellite and foreign numbers row by row, and flags a number read as another country's."""

from __future__ import annotations

import pytest

from campaigns.recipients import check_recipient_list
from campaigns.service import import_contacts
from campaigns.settings import Settings
from tests.bot.conftest import Api
from tests.conftest import make_settings

BODY = {
    "from_number": "+14155550100",
    "name": "Reminders",
    "message_template": "Your appointment is tomorrow. Reply STOP to opt out",
    "schedule_type": "now",
}
ONLY_US = "this workspace only texts the United States"
PREMIUM_RATE = "a premium-rate number: calls and texts to it cost extra"
SATELLITE = "a satellite phone: texts to it cost many times more than to a mobile"


@pytest.fixture
def api_settings(request: pytest.FixtureRequest) -> Settings:
    return make_settings(
        SLACK_NOTIFY_CHANNEL="C0CAMPAIGNS",
        DEFAULT_REGION="US",
        SENDER_NUMBERS="+14155550100:5",
        **getattr(request, "param", {}),
    )


async def preview(api: Api, recipients: list[dict[str, str]]) -> dict:  # type: ignore[type-arg]
    body = {**BODY, "recipients": recipients}
    answer = await api.client.post("/v1/sms/campaigns/preview", json=body, headers=api.auth)
    assert answer.status == 200, await answer.text()
    return await answer.json()  # type: ignore[no-any-return]


async def test_the_preview_refuses_each_expensive_or_foreign_number_with_its_reason(
    api: Api,
) -> None:
    shown = await preview(api, [
        {"phone": "(202) 555-0123"},
        {"phone": "+1 900 555 0123"},
        {"phone": "+881612345678"},
        {"phone": "+33 6 12 34 56 78"},
        {"phone": "447911123456"},
    ])  # fmt: skip
    assert shown["total_count"] == 1
    assert shown["invalid"] == [
        {"row": 2, "value": "+1 900 555 0123", "reason": PREMIUM_RATE},
        {"row": 3, "value": "+881612345678", "reason": SATELLITE},
        {"row": 4, "value": "+33 6 12 34 56 78", "reason": f"in France (+33): {ONLY_US}"},
        {"row": 5, "value": "447911123456", "reason": f"in Guernsey (+44): {ONLY_US}"},
    ]
    assert shown["invalid_count"] == 4 and shown["read_abroad"] == []


@pytest.mark.parametrize("api_settings", [{"ALLOWED_COUNTRIES": "US,GB"}], indirect=True)
async def test_a_number_read_as_another_country_is_flagged_in_the_preview_and_the_create(
    api: Api,
) -> None:
    people = [{"phone": "2025550123"}, {"phone": "447700900123"}]
    shown = await preview(api, people)
    note = "read as a number in the United Kingdom (+44 7700 900123), not in the United States"
    flagged = [{"row": 2, "value": "447700900123", "phone": "+447700900123", "note": note}]
    assert (shown["total_count"], shown["invalid_count"]) == (2, 0)
    assert (shown["read_abroad"], shown["read_abroad_count"]) == (flagged, 1)
    assert any(note in w["message"] for w in shown["warnings"] if w["code"] == "recipient_list")
    created = await api.client.post("/v1/sms/campaigns", json={**BODY, "recipients": people},
                                    headers=api.auth)  # fmt: skip
    assert created.status == 201, await created.text()
    assert (await created.json())["read_abroad"] == flagged


async def test_a_list_with_only_refused_numbers_is_a_422_that_says_why(api: Api) -> None:
    body = {**BODY, "recipients_csv": "phone\n+19005550123\n+19005550124\n"}
    answer = await api.client.post("/v1/sms/campaigns", json=body, headers=api.auth)
    assert answer.status == 422, await answer.text()
    error = (await answer.json())["error"]
    assert error["field"] == "recipients"
    assert "2 rows were refused" in error["message"] and PREMIUM_RATE in error["message"]
    listed = await api.client.get("/v1/sms/campaigns", headers=api.auth)
    assert (await listed.json())["campaigns"] == []


async def test_a_contact_group_import_refuses_what_no_campaign_may_text(api: Api) -> None:
    body = {"name": "Patients", "consent_source": "paper form", "contacts": [
        {"phone": "2025550123"}, {"phone": "+19005550123"}, {"phone": "+33612345678"},
    ]}  # fmt: skip
    answer = await api.client.post("/v1/sms/contact-groups", json=body, headers=api.auth)
    assert answer.status == 201, await answer.text()
    imported = await answer.json()
    assert imported["added"] == 1
    assert [(bad["row"], bad["reason"]) for bad in imported["invalid"]] == [
        (2, PREMIUM_RATE), (3, f"in France (+33): {ONLY_US}"),
    ]  # fmt: skip


async def test_a_group_saved_before_is_checked_when_a_campaign_is_made_from_it(api: Api) -> None:
    # Saved when destinations were not checked (or ALLOWED_COUNTRIES was wider).
    unchecked = check_recipient_list([{"phone": "+12025550123"}, {"phone": "+33612345678"}], None)
    result = await import_contacts(api.runtime.ctx, "Old list", unchecked, "paper form", "test")
    body = {**BODY, "contact_group_id": result.group.id}
    answer = await api.client.post("/v1/sms/campaigns/preview", json=body, headers=api.auth)
    assert answer.status == 200, await answer.text()
    shown = await answer.json()
    assert shown["total_count"] == 1
    assert shown["invalid"] == [
        {"row": 2, "value": "+33612345678", "reason": f"in France (+33): {ONLY_US}"}
    ]
