"""Input a careless client or an attacker sends, through real HTTP: every case answers 4xx in
the JSON error shape, and nothing is stored."""

from __future__ import annotations

import asyncio
import base64
import json

import pytest
from sqlalchemy import func, select

from campaigns.models import Campaign
from tests.bot.conftest import Api
from tests.bot.test_api_campaigns import SEED_BODY, error_of, post


async def stored_campaigns(api: Api) -> int:
    async with api.runtime.db.read() as session:
        return (await session.execute(select(func.count()).select_from(Campaign))).scalar_one()


async def post_raw(api: Api, raw: bytes, **headers: str):  # type: ignore[no-untyped-def]
    return await api.client.post(
        "/v1/sms/campaigns",
        data=raw,
        headers={**api.auth, "Content-Type": "application/json", **headers},
    )


# -- text no campaign may hold: lone surrogates and NUL, anywhere in the body


def with_recipient_variable(value: str) -> bytes:
    # Written by hand: json.dumps would escape the surrogate the same way, but this is the wire.
    return (
        b'{"name": "March", "message_template": "Hi {{first_name}}", "from_number": '
        b'"+14155550100", "recipients": [{"phone": "+447700900001", "variables": '
        b'{"first_name": "' + value.encode() + b'"}}]}'
    )


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (with_recipient_variable("\\udc00"), "recipients.0.variables.first_name"),
        (with_recipient_variable("Sarah\\u0000"), "recipients.0.variables.first_name"),
        (with_recipient_variable("\\ud83d"), "recipients.0.variables.first_name"),
        (
            b'{"name": "March", "message_template": "Hi", "recipients_csv": '
            b'"phone,name\\n+447700900001,\\udc00"}',
            "recipients_csv",
        ),
        (b'{"name": "Ma\\u0000rch", "message_template": "Hi", "recipients_csv": "x"}', "name"),
        (
            b'{"name": "March", "message_template": "Hi \\udfff", "recipients_csv": "x"}',
            "message_template",
        ),
        (
            b'{"name": "March", "message_template": "Hi", "agent_id": "\\u0000",'
            b' "recipients_csv": "x"}',
            "agent_id",
        ),
        # A bad key: the field cannot be named with the key itself.
        (with_recipient_variable("x").replace(b'"first_name": "x"', b'"\\udc00": "x"'), None),
    ],
)
async def test_broken_text_anywhere_is_400_and_names_the_field(
    api: Api, raw: bytes, field: str | None
) -> None:
    error = await error_of(await post_raw(api, raw), 400)
    assert error["field"] == field
    assert "remove it" in error["message"]
    assert await stored_campaigns(api) == 0


async def test_valid_text_beyond_ascii_is_accepted(api: Api) -> None:
    # A real surrogate pair (an emoji) and accents are fine: only halves of pairs are refused.
    response = await post_raw(api, with_recipient_variable("Zo\\u00eb \\ud83d\\ude00"))
    assert response.status == 201, await response.text()


async def test_a_header_that_is_not_utf8_is_refused(api: Api) -> None:
    # aiohttp decodes header bytes that are not UTF-8 into lone surrogates; no client library
    # sends them, so the request is written by hand.
    server = api.client.server
    reader, writer = await asyncio.open_connection(server.host, server.port)
    body = json.dumps(SEED_BODY).encode()
    writer.write(
        b"POST /v1/sms/campaigns HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        + f"Authorization: Bearer {api.token}\r\n".encode()
        + b"Content-Type: application/json\r\nIdempotency-Key: order-\xff\xfe\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    await writer.drain()
    answer = await reader.read()
    writer.close()
    status_line = answer.split(b"\r\n", 1)[0]
    assert status_line.split()[1] in (b"400", b"422"), answer[:300]
    assert b'"field": "Idempotency-Key"' in answer
    assert await stored_campaigns(api) == 0


# -- malformed queries, cursors, times and bodies that used to answer 500


@pytest.mark.parametrize("limit", ["²", "³", "1²", "١٠", "9" * 5000, "-1", "0", "1001", " 5"])
async def test_a_limit_that_is_not_a_plain_number_is_400(api: Api, limit: str) -> None:
    for path, name in [("/v1/sms/campaigns", "limit"),
                       ("/v1/sms/campaigns/smsc_x", "recipients_limit")]:  # fmt: skip
        response = await api.client.get(path, params={name: limit}, headers=api.auth)
        error = await error_of(response, 400)
        assert error["field"] == name


def cursor_of(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


async def campaign_id(api: Api) -> str:
    response = await post(api, SEED_BODY)
    assert response.status == 201, await response.text()
    return (await response.json())["campaign_id"]


@pytest.mark.parametrize("text", ["²", "١", "9" * 30, "-5", "1|2"])
async def test_a_recipients_cursor_not_ours_is_422(api: Api, text: str) -> None:
    cid = await campaign_id(api)
    response = await api.client.get(
        f"/v1/sms/campaigns/{cid}", params={"cursor": cursor_of(text)}, headers=api.auth
    )
    error = await error_of(response, 422)
    assert error["field"] == "cursor"


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-23T09:00:00|smsc_abc",  # naive
        "9999-12-31T23:59:59-14:00|smsc_abc",  # beyond what the database can compare
        "0001-01-01T00:00:00+14:00|smsc_abc",
        "2026-11-23T09:00:00+00:00|smsc_' OR 1=1 --",
        "2026-11-23T09:00:00+00:00|" + "a" * 100,
        "not a time|smsc_abc",
    ],
)
async def test_a_list_cursor_not_ours_is_422(api: Api, text: str) -> None:
    await campaign_id(api)
    response = await api.client.get(
        "/v1/sms/campaigns", params={"cursor": cursor_of(text)}, headers=api.auth
    )
    error = await error_of(response, 422)
    assert error["field"] == "cursor"


@pytest.mark.parametrize(
    "when", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59Z"]
)
async def test_a_send_time_out_of_range_is_422(api: Api, when: str) -> None:
    body = {**SEED_BODY, "schedule_type": "schedule", "scheduled_at": when}
    error = await error_of(await post(api, body), 422)
    assert error["field"] == "scheduled_at"
    assert "Schedule at" in error["message"]
    assert await stored_campaigns(api) == 0


@pytest.mark.parametrize("depth", [17, 5_000, 200_000])
async def test_deeply_nested_json_is_400(api: Api, depth: int) -> None:
    raw = b'{"name": ' + b"[" * depth + b"]" * depth + b"}"
    error = await error_of(await post_raw(api, raw), 400)
    assert "nested" in error["message"]


async def test_json_nested_as_deep_as_a_real_body_is_read(api: Api) -> None:
    # The variables of a recipient are the deepest a valid body goes.
    response = await post(api, SEED_BODY)
    assert response.status == 201


# -- an Idempotency-Key used again


async def test_an_idempotency_key_reused_with_another_body_is_422(api: Api) -> None:
    key = {"Idempotency-Key": "order-77"}
    first = await post(api, SEED_BODY, **key)
    assert first.status == 201
    # The same body in another key order and spacing is a replay.
    reordered = json.dumps(dict(reversed(list(SEED_BODY.items()))), indent=2).encode()
    again = await post_raw(api, reordered, **key)
    assert again.status == 201 and again.headers["Idempotent-Replayed"] == "true"
    changed = await post(api, {**SEED_BODY, "message_template": "Another text"}, **key)
    error = await error_of(changed, 422)
    assert error["code"] == "idempotency_key_reused"
    assert error["field"] == "Idempotency-Key"
    assert (await first.json())["campaign_id"] in error["message"]
    assert await stored_campaigns(api) == 1


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/v1/sms/campaigns/%ED%B0%80", 404),  # a surrogate, UTF-8 encoded (not valid UTF-8)
        ("/v1/sms/campaigns/%FF%FE", 404),
        ("/v1/sms/campaigns/smsc_%00", 404),
        ("/v1/sms/campaigns/" + "a" * 5000, 404),
        ("/v1/sms/campaigns?cursor=%ED%B0%80", 422),
        ("/v1/sms/campaigns?cursor=%00", 422),
        ("/v1/sms/campaigns/smsc_x?status=%00", 400),
    ],
)
async def test_odd_bytes_in_the_path_or_query_are_4xx(api: Api, path: str, status: int) -> None:
    from yarl import URL

    response = await api.client.get(URL(path, encoded=True), headers=api.auth)
    await error_of(response, status)
    if status != 404:
        return
    response = await api.client.delete(URL(path, encoded=True), headers=api.auth)
    await error_of(response, 404)
