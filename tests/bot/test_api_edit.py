"""PATCH /v1/sms/campaigns/{id} through real HTTP: what changes, the version guard (ETag and
If-Match, 412), the states that cannot be edited (409), and that a refused edit changes nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from bot.jobs import start_job_id
from campaigns.service import audit_entries
from tests.bot.conftest import Api
from tests.bot.test_api_campaigns import SEED_BODY, error_of, post
from tests.conftest import Clock


def iso(clock: Clock, **ahead: float) -> str:
    return (clock.now + timedelta(**ahead)).isoformat().replace("+00:00", "Z")


async def scheduled(api: Api, clock: Clock) -> dict[str, Any]:
    body = {**SEED_BODY, "schedule_type": "schedule", "scheduled_at": iso(clock, hours=2)}
    response = await post(api, body)
    assert response.status == 201, await response.text()
    return await response.json()


async def patch(api: Api, campaign_id: str, body: object, **headers: str):  # type: ignore[no-untyped-def]
    return await api.client.patch(
        f"/v1/sms/campaigns/{campaign_id}", json=body, headers={**api.auth, **headers}
    )


async def fetch(api: Api, campaign_id: str) -> tuple[dict[str, Any], str]:
    response = await api.client.get(f"/v1/sms/campaigns/{campaign_id}", headers=api.auth)
    assert response.status == 200
    return await response.json(), response.headers["ETag"]


async def start_job_exists(api: Api, campaign_id: str, version: int) -> bool:
    job = start_job_id(api.runtime.settings.REDIS_NAMESPACE, campaign_id, version)
    return bool(await api.runtime.redis.exists(f"arq:job:{job}"))


async def test_an_edit_changes_what_it_names_and_makes_a_new_version(
    web: Api, clock: Clock
) -> None:
    created = await scheduled(web, clock)
    cid = created["campaign_id"]
    assert await start_job_exists(web, cid, 1)
    _, tag = await fetch(web, cid)
    assert tag == '"1"'
    later = iso(clock, hours=5)
    body = {"name": "March promotion (v2)", "message_template": "Hi {{first_name}}, 25% off!",
            "scheduled_at": later}  # fmt: skip
    response = await patch(web, cid, body, **{"If-Match": tag})
    assert response.status == 200, await response.text()
    assert response.headers["ETag"] == '"2"'
    edited = await response.json()
    assert edited["changed"] == ["name", "scheduled_at", "message_template"]  # as sent
    assert (edited["version"], edited["status"], edited["name"]) == (2, "scheduled", body["name"])
    assert edited["scheduled_at"] == later.replace(".000000", "")
    assert edited["message_template"] == body["message_template"]
    assert edited["from_numbers"] == created["from_numbers"]  # left out: left as it was
    assert edited["total_count"] == 2
    shown, tag = await fetch(web, cid)
    assert (shown["name"], tag) == (body["name"], '"2"')
    assert await start_job_exists(web, cid, 2)  # the old job (v1) finds a newer version: no-op
    entries = await audit_entries(web.runtime.ctx, campaign_id=cid)
    assert entries[0].action == "campaign.edit" and entries[0].actor == f"api:{web.key_id}"


async def test_changed_names_the_fields_as_the_request_does(api: Api, clock: Clock) -> None:
    cid = (await scheduled(api, clock))["campaign_id"]
    body = {"from_numbers": ["+14155550101", "+14155550102"], "send_hours": "09:00-20:00",
            "media_urls": ["https://cdn.example.com/a.jpg"],
            "recipients_csv": "phone\n+447700900011\n"}  # fmt: skip
    response = await patch(api, cid, body)
    assert response.status == 200, await response.text()
    changed = (await response.json())["changed"]
    assert changed == ["from_numbers", "media_urls", "send_hours", "recipients"]
    document = await (await api.client.get("/v1/openapi.json")).json()
    accepted = document["components"]["schemas"]["EditCampaign"]["properties"]
    assert set(changed) <= set(accepted)  # each can be sent back as it is named


async def test_a_stale_if_match_is_412_and_changes_nothing(api: Api, clock: Clock) -> None:
    cid = (await scheduled(api, clock))["campaign_id"]
    assert (await patch(api, cid, {"name": "First"}, **{"If-Match": '"1"'})).status == 200
    error = await error_of(await patch(api, cid, {"name": "Second"}, **{"If-Match": '"1"'}), 412)
    assert error["code"] == "version_mismatch"
    assert "version 2, not 1" in error["message"] and "Reload" in error["message"]
    shown, tag = await fetch(api, cid)
    assert (shown["name"], tag) == ("First", '"2"')
    # Without If-Match (or with *) an edit applies to whatever the campaign is now.
    assert (await patch(api, cid, {"name": "Third"}, **{"If-Match": "*"})).status == 200
    assert (await patch(api, cid, {"name": "Fourth"})).status == 200
    assert (await fetch(api, cid))[0]["version"] == 4


@pytest.mark.parametrize("value", ["1", "v1", '"one"', '"1", "2"', '"1234567890"'])
async def test_a_malformed_if_match_is_400(api: Api, clock: Clock, value: str) -> None:
    cid = (await scheduled(api, clock))["campaign_id"]
    response = await patch(api, cid, {"name": "x"}, **{"If-Match": value})
    if value == "1":  # a bare version is taken as the ETag's content
        assert response.status == 200
        return
    error = await error_of(response, 400)
    assert error["field"] == "If-Match"


async def test_a_broken_rule_is_422_and_nothing_of_the_edit_is_kept(api: Api, clock: Clock) -> None:
    cid = (await scheduled(api, clock))["campaign_id"]
    cases = [
        ({"name": "New", "scheduled_at": iso(clock, minutes=5)}, "scheduled_at"),
        ({"name": "New", "send_hours": "9 to 5"}, "send_hours"),
        ({"name": "New", "recipients": [{"phone": "12"}]}, "recipients"),
        ({"name": "New", "from_number": "+14155550999"}, "from_number"),
        ({"name": "New", "message_template": "   "}, "message_template"),
        ({"name": "  "}, "name"),
    ]
    for body, field in cases:
        error = await error_of(await patch(api, cid, body), 422)
        assert error["code"] == "invalid_input" or error["code"] == "over_limit", error
        assert error["field"] == field, (body, error)
    shown, tag = await fetch(api, cid)
    assert (shown["name"], shown["total_count"], tag) == (SEED_BODY["name"], 2, '"1"')


async def test_new_recipients_replace_the_list_and_are_reported(api: Api, clock: Clock) -> None:
    cid = (await scheduled(api, clock))["campaign_id"]
    csv = "first_name,phone\nAnn,+447700900011\nBob,+447700900012\nCy,+447700900013\nDee,12\n"
    response = await patch(api, cid, {"recipients_csv": csv})
    assert response.status == 200, await response.text()
    edited = await response.json()
    assert edited["changed"] == ["recipients"]
    assert (edited["total_count"], edited["invalid_count"]) == (3, 1)
    assert edited["invalid"][0]["value"] == "12"
    shown, _ = await fetch(api, cid)
    assert sorted(r["phone"] for r in shown["recipients"]) == [
        "+447700900011",
        "+447700900012",
        "+447700900013",
    ]


async def test_send_now_starts_it(web: Api, clock: Clock) -> None:
    cid = (await scheduled(web, clock))["campaign_id"]
    edited = await (await patch(web, cid, {"schedule_type": "now"})).json()
    assert (edited["status"], edited["scheduled_at"], edited["version"]) == ("running", None, 2)
    assert await start_job_exists(web, cid, 2)


async def test_an_empty_edit_changes_nothing(api: Api, clock: Clock) -> None:
    cid = (await scheduled(api, clock))["campaign_id"]
    response = await patch(api, cid, {})
    assert response.status == 200 and response.headers["ETag"] == '"1"'
    assert (await response.json())["changed"] == []


async def test_running_cancelled_and_unknown_campaigns(api: Api, clock: Clock) -> None:
    running = (await (await post(api, SEED_BODY)).json())["campaign_id"]
    error = await error_of(await patch(api, running, {"name": "x"}), 409)
    assert "started sending" in error["message"] and "cancel" in error["message"]
    cid = (await scheduled(api, clock))["campaign_id"]
    await api.client.delete(f"/v1/sms/campaigns/{cid}", headers=api.auth)
    error = await error_of(await patch(api, cid, {"name": "x"}), 409)
    assert "cancelled" in error["message"]
    await error_of(await patch(api, "smsc_nosuchcampaign", {"name": "x"}), 404)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"name": None}, "name may not be null"),
        ({"recipients": [], "recipients_csv": "x"}, "either recipients"),
        ({"region": "GB"}, "region goes with new recipients"),
        ({"schedule_type": "schedule"}, "scheduled_at is required"),
        ({"status": "done"}, "Unknown field 'status'"),
        ([], "valid dictionary"),
    ],
)
async def test_malformed_edits_are_400(api: Api, clock: Clock, body: object, words: str) -> None:
    cid = (await scheduled(api, clock))["campaign_id"]
    error = await error_of(await patch(api, cid, body), 400)
    assert words in error["message"]


async def test_an_edit_needs_a_key(api: Api, clock: Clock) -> None:
    cid = (await scheduled(api, clock))["campaign_id"]
    response = await api.client.patch(f"/v1/sms/campaigns/{cid}", json={"name": "x"})
    assert response.status == 401


async def test_an_edit_naming_an_upload_that_is_not_stored_is_422(api: Api, clock: Clock) -> None:
    cid = (await scheduled(api, clock))["campaign_id"]
    body = {"media_urls": ["upload:med_aaaaaaaaaaaaaaaaaaaa"], "from_number": "+14155550100"}
    error = await error_of(await patch(api, cid, body), 422)
    assert "upload:med_aaaaaaaaaaaaaaaaaaaa" in error["message"]
    shown, tag = await fetch(api, cid)
    assert (shown["media_urls"], tag) == ([], '"1"')
