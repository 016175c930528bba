"""The web process's edges through real HTTP: body limits per route, Slack requests that are not
Slack's, one log line per request with no body, secret or phone number in it, and an event loop
that stays free while a large upload is read."""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
import time
from collections.abc import AsyncIterator, Iterator

import pytest

from bot.app import keep_the_loop_responsive
from campaigns.logs import MaskingFormatter
from campaigns.settings import Settings
from sandbox.slack import SIGNING_SECRET
from sandbox.slack.requests import signed
from tests.bot.conftest import Api
from tests.bot.test_api_campaigns import SEED_BODY, error_of, post
from tests.conftest import make_settings

BOT_TOKEN = "xoxb-test-token"


@pytest.fixture
def api_settings() -> Settings:
    # Slack configured; no Slack API call is made by any request here.
    return make_settings(
        SLACK_NOTIFY_CHANNEL="C0CAMPAIGNS",
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL="http://127.0.0.1:9/api/",
        PUBLIC_BASE_URL="https://textcast.example.com",
        TWILIO_AUTH_TOKEN="twilio-auth-token",
    )


@pytest.fixture
def access(caplog: pytest.LogCaptureFixture) -> AsyncIterator[pytest.LogCaptureFixture]:
    caplog.set_level(logging.INFO, logger="textcast.access")
    return caplog


def access_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "textcast.access"]


def everything_logged(caplog: pytest.LogCaptureFixture) -> str:
    formatter = MaskingFormatter("%(levelname)s %(name)s: %(message)s")
    return "\n".join(formatter.format(r) for r in caplog.records)


# -- Slack requests that are not Slack's


async def slack_post(api: Api, body: bytes, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    return await api.client.post("/slack/events", data=body, headers=headers)


FORM = "application/x-www-form-urlencoded"


@pytest.mark.parametrize("stamp", ["soon", "１７００００００００", "1e9", "", "9" * 40])
async def test_a_slack_timestamp_that_is_not_a_number_is_401(
    api: Api, access: pytest.LogCaptureFixture, stamp: str
) -> None:
    headers = {"Content-Type": FORM, "X-Slack-Request-Timestamp": stamp,
               "X-Slack-Signature": "v0=" + "0" * 64}  # fmt: skip
    response = await slack_post(api, b"command=/sms&text=new", headers)
    error = await error_of(response, 401)
    assert error["code"] == "unauthorized"
    [line] = access_lines(access)
    assert line.levelno == logging.WARNING and "refused" in line.getMessage()


async def test_an_unsigned_payload_that_is_not_json_is_401(api: Api) -> None:
    response = await slack_post(api, b"payload=notjson", {"Content-Type": FORM})
    await error_of(response, 401)


async def test_a_signed_payload_that_is_not_json_is_400(api: Api) -> None:
    request = signed(SIGNING_SECRET, b"payload=notjson", FORM, {})
    error = await error_of(await slack_post(api, request.body, request.headers), 400)
    assert error["code"] == "invalid_request"


async def test_a_bad_signature_is_one_line_without_the_body(
    api: Api, access: pytest.LogCaptureFixture
) -> None:
    caplog = access
    caplog.set_level(logging.DEBUG)  # whatever any library logs, at any level
    marker = "BODYMARKER"
    body = ("payload=" + marker * 50_000).encode()  # 500 KB, under the route's limit
    request = signed("not-the-secret", body, FORM, {})
    await error_of(await slack_post(api, request.body, request.headers), 401)
    logged = everything_logged(caplog)
    assert marker not in logged
    [line] = access_lines(caplog)
    message = line.getMessage()
    assert message.startswith("POST /slack/events 401 ")
    assert "from 127.0.0.1" in message and "bad Slack signature" in message
    assert len(logged) < 2_000


# -- body limits


@pytest.mark.parametrize(
    ("path", "size"),
    [("/slack/events", 1024 * 1024 + 1), ("/twilio/status", 16 * 1024 + 1),
     ("/v1/sms/campaigns/smsc_x", 16 * 1024 + 1), ("/healthz", 16 * 1024 + 1)],
)  # fmt: skip
async def test_each_route_refuses_a_body_over_its_limit(api: Api, path: str, size: int) -> None:
    method = "POST" if path in ("/slack/events", "/twilio/status") else "GET"
    data = b"x" * size
    stated = await api.client.request(method, path, data=data, headers={"Content-Type": FORM})
    await error_of(stated, 413)

    if method == "GET":
        return  # a GET's body is never read: sent chunked, it is dropped, not stored

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: read until the limit
        for start in range(0, size, 64 * 1024):
            yield data[start : start + 64 * 1024]

    chunked = await api.client.request(method, path, data=chunks(), headers={"Content-Type": FORM})
    await error_of(chunked, 413)


async def test_the_create_route_takes_a_large_list(api: Api) -> None:
    rows = "\n".join(f"+121222{i:05d},Name{i}" for i in range(50_000))  # about 1 MB
    body = {**SEED_BODY, "recipients": None, "recipients_csv": "phone,first_name\n" + rows}
    del body["recipients"]
    response = await post(api, body)
    assert response.status == 201, await response.text()
    assert (await response.json())["total_count"] == 50_000


# -- the access log


async def test_every_request_is_one_line_with_route_status_and_key(
    api: Api, access: pytest.LogCaptureFixture
) -> None:
    response = await post(api, SEED_BODY)
    cid = (await response.json())["campaign_id"]
    await api.client.get(f"/v1/sms/campaigns/{cid}?status=pending&limit=5", headers=api.auth)
    await api.client.get("/v1/sms/campaigns", headers={"Authorization": "Bearer key_abcd:nope"})
    await api.client.get("/v1/sms/campaigns", headers={"Authorization": "Bearer s3cr3tpasted"})
    await api.client.get("/no/such/route")
    lines = [r.getMessage() for r in access_lines(access)]
    assert len(lines) == 5, lines
    assert lines[0].startswith("POST /v1/sms/campaigns 201 ") and f"key:{api.key_id}" in lines[0]
    assert lines[1].startswith("GET /v1/sms/campaigns/{campaign_id} 200 ")
    assert cid not in lines[1] and "status=" not in lines[1]  # no path values, no query
    assert "refused: unknown or revoked API key key_abcd" in lines[2]
    assert "s3cr3tpasted" not in lines[3] and "(not a key id)" in lines[3]
    assert lines[4].startswith("GET (no route) 404 ")
    levels = [r.levelno for r in access_lines(access)]
    assert levels == [logging.INFO, logging.INFO, logging.WARNING, logging.WARNING, logging.INFO]
    logged = everything_logged(access)
    assert "+447700900001" not in logged and api.token not in logged


def test_phone_numbers_are_masked_in_any_line_and_traceback() -> None:
    formatter = MaskingFormatter("%(message)s")
    try:
        raise ValueError("Twilio refused +447700900123")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "to %s and +1 415 555 0100",
                                   ("+14155550100",), exc_info=True)  # fmt: skip
        import sys

        record.exc_info = sys.exc_info()
    line = formatter.format(record)
    assert "+447700900123" not in line and "+44*******123" in line
    assert "+14155550100" not in line and "+1 415 555 0100" not in line
    assert "ValueError" in line  # the traceback is still there


# -- the event loop stays free while a large upload is read


@pytest.fixture
def as_served() -> Iterator[None]:
    """The interpreter set up as `textcast bot` sets it up (keep_the_loop_responsive), and put
    back after: a long test run's heap is not the web process's, and without the settings a
    full garbage collection of it can hold the loop for half a second."""
    interval, threshold = sys.getswitchinterval(), gc.get_threshold()
    keep_the_loop_responsive()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
        sys.setswitchinterval(interval)


async def test_a_large_upload_of_invalid_numbers_does_not_block_the_loop(
    api: Api, as_served: None
) -> None:
    rows = "\n".join(f"not-a-number-{i}" for i in range(50_000))
    body = {**SEED_BODY, "recipients_csv": "phone\n" + rows}
    del body["recipients"]
    upload = asyncio.create_task(post(api, body))
    gaps: list[float] = []
    while not upload.done():
        started = time.perf_counter()
        health = await api.client.get("/healthz")
        assert health.status == 200
        gaps.append(time.perf_counter() - started)
        await asyncio.sleep(0.02)
    response = await upload
    await error_of(response, 422)  # no valid number
    assert len(gaps) >= 5, gaps  # the upload took a while, and health was asked meanwhile
    assert max(gaps) < 0.5, f"/healthz took up to {max(gaps):.2f} s during the upload"
