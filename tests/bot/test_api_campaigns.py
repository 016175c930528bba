"""The campaign API through real HTTP: every route, header and error."""

from __future__ import annotations

from datetime import timedelta

import pytest

from campaigns.service import StatusUpdate, apply_status_update, get_campaign, revoke_api_key
from campaigns.status import RecipientStatus
from tests.bot.conftest import Api
from tests.conftest import Clock

SEED_BODY = {
    "agent_id": "agent_125207e452f8714a",
    "from_number": "+14155550100",
    "name": "March promotion",
    "message_template": "Hi {{first_name}}, Acme Dental offering 20% off cleanings this month. Reply YES to book.",
    "recipients": [
        {"phone": "+447700900001", "variables": {"first_name": "Sarah"}},
        {"phone": "+447700900002", "variables": {"first_name": "James"}},
    ],
    "schedule_type": "now",
}


async def post(api: Api, body: object, **headers: str):  # type: ignore[no-untyped-def]
    return await api.client.post("/v1/sms/campaigns", json=body, headers={**api.auth, **headers})


async def error_of(response, status: int) -> dict:  # type: ignore[no-untyped-def]
    assert response.status == status, await response.text()
    assert response.content_type == "application/json"
    body = await response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "field"}
    return body["error"]


async def test_create_with_the_seed_body(api: Api) -> None:
    response = await post(api, SEED_BODY)
    assert response.status == 201, await response.text()
    body = await response.json()
    assert body["campaign_id"].startswith("smsc_")
    assert body["status"] == "running"
    assert body["source"] == "api"
    assert (body["total_count"], body["pending_count"]) == (2, 2)
    assert (body["delivered_count"], body["failed_count"], body["cancelled_count"]) == (0, 0, 0)
    assert body["agent_id"] == "agent_125207e452f8714a"
    assert body["invalid"] == [] and body["duplicates"] == 0
    assert body["segments"] == 2 and body["encoding"] == "GSM-7"
    assert body["estimated_cost"] == pytest.approx(0.0158)
    detail = await get_campaign(api.runtime.ctx, body["campaign_id"])
    assert detail.view.campaign.channel_id == "C0CAMPAIGNS"  # reports to SLACK_NOTIFY_CHANNEL
    assert detail.view.campaign.created_by == body["created_by"] == f"api:{api.key_id}"
    read = await (await api.client.get(f"/v1/sms/campaigns/{body['campaign_id']}",
                                       headers=api.auth)).json()  # fmt: skip
    listed = await (await api.client.get("/v1/sms/campaigns", headers=api.auth)).json()
    assert read["created_by"] == listed["campaigns"][0]["created_by"] == f"api:{api.key_id}"


async def test_create_with_pictures_is_an_mms_campaign(api: Api) -> None:
    picture = "https://cdn.example.com/march.jpg"
    long = SEED_BODY["message_template"] + " Our opening hours are 8 to 8 every weekday." * 3
    body = {**SEED_BODY, "message_template": long, "media_urls": [picture]}
    response = await post(api, body)
    assert response.status == 201, await response.text()
    created = await response.json()
    assert created["media_urls"] == [picture]
    assert created["segments"] == 2  # one message each: the text alone would be 2 x 2 segments
    assert created["estimated_cost"] == pytest.approx(0.04)  # 2 x PRICE_PER_MMS (0.02)
    fetched = await api.client.get(f"/v1/sms/campaigns/{created['campaign_id']}", headers=api.auth)
    assert (await fetched.json())["media_urls"] == [picture]


async def test_create_reports_rejected_recipients(api: Api) -> None:
    body = {
        **SEED_BODY,
        "recipients": [
            {"phone": "+447700900001"},
            {"phone": "12"},
            {"phone": "+447700900001"},
            {"phone": "07700 900003", "variables": {"first_name": None, "visits": 3}},
        ],
        "region": "gb",
    }
    response = await post(api, body)
    assert response.status == 201, await response.text()
    created = await response.json()
    assert created["total_count"] == 2
    assert created["duplicates"] == 1
    assert created["invalid"] == [
        {"row": 2, "value": "12", "reason": created["invalid"][0]["reason"]}
    ]
    assert created["invalid_count"] == 1


async def test_create_from_csv_with_several_senders_scheduled(api: Api, clock: Clock) -> None:
    at = (clock.now + timedelta(hours=2)).isoformat().replace("+00:00", "Z")
    body = {
        "name": "From CSV",
        "message_template": "Hi {{First Name}}",
        "recipients_csv": "First Name;Mobile\nAnn;+447700900001\nBob;+447700900002\n",
        "from_numbers": ["+14155550100", "+14155550101"],
        "schedule_type": "schedule",
        "scheduled_at": at,
    }
    response = await post(api, body)
    assert response.status == 201, await response.text()
    created = await response.json()
    assert created["status"] == "scheduled"
    assert created["scheduled_at"] == at.replace(".000000", "")
    assert created["sender_mode"] == "pool" and created["total_count"] == 2


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"from_number": "+14155559999"}, "from_number", "not one of your sender numbers"),
        ({"recipients": [{"phone": "nope"}]}, "recipients", "no valid phone number"),
        (
            {"schedule_type": "schedule", "scheduled_at": "2026-11-23T09:14:00Z"},
            "scheduled_at",
            "at least 15 minutes",
        ),
        (
            {"schedule_type": "schedule", "scheduled_at": "2026-11-30T09:01:00Z"},
            "scheduled_at",
            "at most 7 days",
        ),
        ({"message_template": "x" * 1601}, "message_template", "1,600 characters"),
        ({"media_urls": ["http://localhost/a.png"]}, "media_urls", "Twilio cannot reach"),
        (
            {"media_urls": [f"https://example.com/{i}.png" for i in range(11)]},
            "media_urls",
            "at most 10",
        ),
    ],
)
async def test_broken_rules_are_422_and_leave_nothing(
    api: Api, change: dict, field: str, words: str
) -> None:
    error = await error_of(await post(api, {**SEED_BODY, **change}), 422)
    assert error["field"] == field and words in error["message"]
    listing = await api.client.get("/v1/sms/campaigns", headers=api.auth)
    assert (await listing.json())["campaigns"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**SEED_BODY, "shedule_type": "now"}, "shedule_type"),
        ({k: v for k, v in SEED_BODY.items() if k != "name"}, "name"),
        ({**SEED_BODY, "recipients_csv": "+447700900001"}, None),
        ({**SEED_BODY, "schedule_type": "schedule"}, None),
        ({**SEED_BODY, "scheduled_at": "2026-11-23T10:00:00"}, "scheduled_at"),
        ({**SEED_BODY, "recipients": [{"number": "+447700900001"}]}, "recipients.0.phone"),
        ([1, 2, 3], None),
    ],
)
async def test_malformed_bodies_are_400(api: Api, body: object, field: str | None) -> None:
    error = await error_of(await post(api, body), 400)
    assert error["code"] == "invalid_request"
    if field:
        assert error["field"] == field, error


async def test_a_body_that_is_not_json_is_400(api: Api) -> None:
    response = await api.client.post(
        "/v1/sms/campaigns",
        data=b"{not json",
        headers={**api.auth, "Content-Type": "application/json"},
    )
    error = await error_of(response, 400)
    assert "not valid JSON" in error["message"]


async def test_a_body_over_10_mb_is_413(api: Api) -> None:
    response = await api.client.post(
        "/v1/sms/campaigns",
        data=b'{"recipients_csv": "' + b"1" * (11 * 1024 * 1024) + b'"}',
        headers={**api.auth, "Content-Type": "application/json"},
    )
    error = await error_of(response, 413)
    assert "10 MB" in error["message"]


async def test_an_idempotency_key_returns_the_first_campaign(api: Api) -> None:
    first = await post(api, SEED_BODY, **{"Idempotency-Key": "order-42"})
    again = await post(api, SEED_BODY, **{"Idempotency-Key": "order-42"})
    other = await post(api, SEED_BODY, **{"Idempotency-Key": "order-43"})
    assert first.status == again.status == other.status == 201
    assert "Idempotent-Replayed" not in first.headers
    assert again.headers["Idempotent-Replayed"] == "true"
    first_id = (await first.json())["campaign_id"]
    assert (await again.json())["campaign_id"] == first_id
    assert (await other.json())["campaign_id"] != first_id
    listing = await (await api.client.get("/v1/sms/campaigns", headers=api.auth)).json()
    assert len(listing["campaigns"]) == 2
    await error_of(await post(api, SEED_BODY, **{"Idempotency-Key": "k" * 256}), 400)


async def test_every_answer_about_one_campaign_carries_its_etag(api: Api, clock: Clock) -> None:
    """The create, its idempotent replay, a read and a cancel: each names the version it shows."""
    at = (clock.now + timedelta(hours=1)).isoformat()
    body = {**SEED_BODY, "schedule_type": "schedule", "scheduled_at": at}
    created = await post(api, body, **{"Idempotency-Key": "etag-1"})
    replayed = await post(api, body, **{"Idempotency-Key": "etag-1"})
    assert created.status == replayed.status == 201
    assert created.headers["ETag"] == replayed.headers["ETag"] == '"1"'
    path = f"/v1/sms/campaigns/{(await created.json())['campaign_id']}"
    cancelled = await api.client.delete(path, headers=api.auth)
    assert cancelled.status == 200
    version = (await cancelled.json())["version"]
    assert cancelled.headers["ETag"] == f'"{version}"'
    read = await api.client.get(path, headers=api.auth)
    assert read.headers["ETag"] == cancelled.headers["ETag"]
    # The OpenAPI document promises it (schemathesis holds every answer to that in CI).
    document = await (await api.client.get("/v1/openapi.json")).json()
    one = document["paths"]["/v1/sms/campaigns/{campaign_id}"]
    answers = [
        document["paths"]["/v1/sms/campaigns"]["post"]["responses"]["201"],
        *(one[method]["responses"]["200"] for method in ("get", "patch", "delete")),
    ]
    assert all(answer["headers"]["ETag"]["required"] for answer in answers)


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Basic abc", "Bearer nocolon", "Bearer key_nope:secret", "Bearer {key}:wrong"],
)
async def test_bad_keys_get_the_same_401(api: Api, authorization: str | None) -> None:
    headers = {}
    if authorization:
        headers["Authorization"] = authorization.format(key=api.key_id)
    for method, path in [("GET", "/v1/sms/campaigns"), ("POST", "/v1/sms/campaigns"),
                         ("GET", "/v1/sms/campaigns/smsc_x"), ("DELETE", "/v1/sms/campaigns/smsc_x")]:  # fmt: skip
        response = await api.client.request(method, path, json=SEED_BODY, headers=headers)
        error = await error_of(response, 401)
        assert error["code"] == "unauthorized"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_a_revoked_key_gets_401(api: Api) -> None:
    assert (await api.client.get("/v1/sms/campaigns", headers=api.auth)).status == 200
    await revoke_api_key(api.runtime.ctx, api.key_id, "test")
    await error_of(await api.client.get("/v1/sms/campaigns", headers=api.auth), 401)


async def test_list_is_newest_first_and_paginated(api: Api, clock: Clock) -> None:
    ids = []
    for i in range(3):
        ids.append((await (await post(api, {**SEED_BODY, "name": f"c{i}"})).json())["campaign_id"])
        clock.advance(seconds=1)
    page = await (await api.client.get("/v1/sms/campaigns?limit=2", headers=api.auth)).json()
    assert [c["campaign_id"] for c in page["campaigns"]] == [ids[2], ids[1]]
    assert page["campaigns"][0]["total_count"] == 2
    rest = await api.client.get(
        f"/v1/sms/campaigns?limit=2&cursor={page['next_cursor']}", headers=api.auth
    )
    rest_body = await rest.json()
    assert [c["campaign_id"] for c in rest_body["campaigns"]] == [ids[0]]
    assert rest_body["next_cursor"] is None
    await error_of(await api.client.get("/v1/sms/campaigns?limit=0", headers=api.auth), 400)
    await error_of(await api.client.get("/v1/sms/campaigns?cursor=zzz", headers=api.auth), 422)


async def test_get_shows_recipients_with_their_status(api: Api) -> None:
    items = [{"phone": f"+4477009000{i:02d}", "variables": {"n": str(i)}} for i in range(5)]
    created = await (await post(api, {**SEED_BODY, "recipients": items})).json()
    cid = created["campaign_id"]
    detail = await get_campaign(api.runtime.ctx, cid)
    first = detail.recipients[0]
    await apply_status_update(
        api.runtime.ctx, StatusUpdate(RecipientStatus.QUEUED, recipient_id=first.id)
    )
    async with api.runtime.db.transaction() as session:
        from sqlalchemy import update

        from campaigns.models import Recipient

        await session.execute(
            update(Recipient).where(Recipient.id == first.id).values(twilio_sid="SM" + "a" * 32)
        )
    await apply_status_update(
        api.runtime.ctx,
        StatusUpdate(
            RecipientStatus.UNDELIVERED,
            twilio_sid="SM" + "a" * 32,
            error_code=30003,
            error_reason="Unreachable handset",
        ),
    )
    page = await (
        await api.client.get(f"/v1/sms/campaigns/{cid}?recipients_limit=2", headers=api.auth)
    ).json()
    assert (page["failed_count"], page["pending_count"]) == (1, 4)
    assert page["recipients"][0] == {
        "phone": "+447700900000",
        "variables": {"n": "0"},
        "status": "undelivered",
        "twilio_sid": "SM" + "a" * 32,
        "error_code": 30003,
        "error_reason": "Unreachable handset",
        "outcome_unknown_since": None,
    }
    phones = [r["phone"] for r in page["recipients"]]
    while page["next_cursor"]:
        url = f"/v1/sms/campaigns/{cid}?recipients_limit=2&cursor={page['next_cursor']}"
        page = await (await api.client.get(url, headers=api.auth)).json()
        phones += [r["phone"] for r in page["recipients"]]
    assert phones == [item["phone"] for item in items]
    pending = await (
        await api.client.get(f"/v1/sms/campaigns/{cid}?status=pending", headers=api.auth)
    ).json()
    assert len(pending["recipients"]) == 4
    await error_of(
        await api.client.get(f"/v1/sms/campaigns/{cid}?status=lost", headers=api.auth), 400
    )
    error = await error_of(
        await api.client.get("/v1/sms/campaigns/smsc_missing", headers=api.auth), 404
    )
    assert "smsc_missing" in error["message"]


async def test_a_status_filter_lists_what_the_count_of_that_name_counts(api: Api) -> None:
    items = [{"phone": f"+4477009001{i:02d}"} for i in range(6)]
    cid = (await (await post(api, {**SEED_BODY, "recipients": items})).json())["campaign_id"]
    rows = (await get_campaign(api.runtime.ctx, cid)).recipients
    settled = [RecipientStatus.FAILED, RecipientStatus.UNDELIVERED, RecipientStatus.SENT,
               RecipientStatus.DELIVERED, RecipientStatus.QUEUED]  # fmt: skip
    for row, status in zip(rows, settled, strict=False):
        await apply_status_update(api.runtime.ctx, StatusUpdate(status, recipient_id=row.id))
    detail = await (await api.client.get(f"/v1/sms/campaigns/{cid}", headers=api.auth)).json()

    async def listed(status: str) -> list[str]:
        url = f"/v1/sms/campaigns/{cid}?status={status}"
        page = await (await api.client.get(url, headers=api.auth)).json()
        return sorted(r["status"] for r in page["recipients"])

    assert detail["failed_count"] == len(await listed("failed")) == 3
    assert await listed("failed") == ["failed", "sent", "undelivered"]
    assert detail["pending_count"] == len(await listed("pending")) == 2
    assert detail["delivered_count"] == len(await listed("delivered")) == 1
    assert await listed("sent") == ["sent"] and await listed("queued") == ["queued"]


async def test_delete_cancels_and_a_second_delete_is_409(api: Api, clock: Clock) -> None:
    at = (clock.now + timedelta(hours=1)).isoformat()
    created = await (
        await post(api, {**SEED_BODY, "schedule_type": "schedule", "scheduled_at": at})
    ).json()
    path = f"/v1/sms/campaigns/{created['campaign_id']}"
    response = await api.client.delete(path, headers=api.auth)
    assert response.status == 200
    cancelled = await response.json()
    assert cancelled["status"] == "cancelled" and cancelled["cancelled_count"] == 2
    assert cancelled["cancelled_now"] == 2
    error = await error_of(await api.client.delete(path, headers=api.auth), 409)
    assert "already cancelled" in error["message"]
    await error_of(await api.client.delete("/v1/sms/campaigns/smsc_missing", headers=api.auth), 404)


async def test_cancelling_a_done_campaign_is_409(api: Api) -> None:
    created = await (await post(api, SEED_BODY)).json()
    async with api.runtime.db.transaction() as session:
        from sqlalchemy import update

        from campaigns.models import Campaign

        await session.execute(
            update(Campaign).where(Campaign.id == created["campaign_id"]).values(status="done")
        )
    error = await error_of(
        await api.client.delete(f"/v1/sms/campaigns/{created['campaign_id']}", headers=api.auth),
        409,
    )
    assert error["code"] == "conflict" and "cannot be recalled" in error["message"]


async def test_the_openapi_document_is_public_and_3_1(api: Api) -> None:
    response = await api.client.get("/v1/openapi.json")
    assert response.status == 200
    document = await response.json()
    assert document["openapi"] == "3.1.0"
    # Every /v1/sms and /media route the app serves, with each of its methods, and nothing else.
    served = {
        (route.resource.canonical, route.method.lower())
        for route in api.client.app.router.routes()
        if route.resource is not None
        and route.resource.canonical.startswith(("/v1/sms/", "/media/"))
        and route.method != "HEAD"
    }
    documented = {(path, method) for path, item in document["paths"].items()
                  for method in item if method != "parameters"}  # fmt: skip
    assert documented == served
    assert ("/v1/sms/optouts", "delete") in served
