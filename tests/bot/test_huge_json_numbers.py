"""Numbers in a JSON body too long to be numbers, through real HTTP: a 400 like any malformed body,
on every route that reads JSON (the API's and Slack's), never a 500.

Python refuses to turn a string of more than 4,300 digits into an int (a guard against the
quadratic conversion), so `json.loads` raises ValueError on such a number, which is not the
JSONDecodeError a syntax mistake raises.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from campaigns.models import Campaign, ContactGroup, MessageTemplate, OptOut
from campaigns.settings import Settings
from sandbox.slack import SIGNING_SECRET
from sandbox.slack.requests import signed
from tests.bot.conftest import Api
from tests.bot.test_api_campaigns import error_of
from tests.conftest import make_settings

HUGE = "9" * 5_000  # over Python's 4,300 digits
LONG = "9" * 4_000  # under them: read as an int, far beyond any id

ROUTES = [
    ("POST", "/v1/sms/campaigns"),
    ("POST", "/v1/sms/campaigns/preview"),
    ("PATCH", "/v1/sms/campaigns/smsc_0123456789abcdef"),
    ("POST", "/v1/sms/templates"),
    ("POST", "/v1/sms/contact-groups"),
    ("POST", "/v1/sms/optouts"),
]


@pytest.fixture
def api_settings() -> Settings:
    # Slack configured; no Slack API call is made by any request here.
    return make_settings(
        SLACK_NOTIFY_CHANNEL="C0CAMPAIGNS",
        SLACK_BOT_TOKEN="xoxb-test-token",
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL="http://127.0.0.1:9/api/",
    )


async def nothing_stored(api: Api) -> bool:
    async with api.runtime.db.read() as session:
        for model in (Campaign, MessageTemplate, ContactGroup, OptOut):
            if (await session.execute(select(func.count()).select_from(model))).scalar_one():
                return False
    return True


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize("where", ["top", "nested"])
async def test_a_number_over_4300_digits_is_400(
    api: Api, method: str, path: str, where: str
) -> None:
    if where == "top":
        raw = ('{"name": ' + HUGE + "}").encode()
    else:  # deep in a recipient's variables, where numbers are allowed
        raw = ('{"name": "x", "recipients": [{"phone": "+447700900001", "variables": {"visits": '
               + HUGE + "}}]}").encode()  # fmt: skip
    response = await api.client.request(
        method, path, data=raw, headers={**api.auth, "Content-Type": "application/json"}
    )
    error = await error_of(response, 400)
    assert error["code"] == "invalid_request"
    assert "4,300 digits" in error["message"]
    assert await nothing_stored(api)


@pytest.mark.parametrize("field", ["template_id", "contact_group_id"])
async def test_a_number_of_4000_digits_where_an_id_goes_is_refused(api: Api, field: str) -> None:
    body = {"name": "x", "from_number": "+14155550100", "message_template": "Hi",
            "recipients": [{"phone": "+447700900001"}]}  # fmt: skip
    del body["message_template" if field == "template_id" else "recipients"]
    raw = json.dumps(body)[:-1] + f', "{field}": {LONG}}}'
    response = await api.client.post(
        "/v1/sms/campaigns", data=raw, headers={**api.auth, "Content-Type": "application/json"}
    )
    error = await error_of(response, 422)
    assert error["field"] == field
    assert await nothing_stored(api)


FORM = "application/x-www-form-urlencoded"


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (urlencode({"payload": '{"type": "block_actions", "n": ' + HUGE + "}"}), FORM),
        ('{"type": "event_callback", "n": ' + HUGE + "}", "application/json"),
    ],
)
async def test_a_signed_slack_payload_with_such_a_number_is_400(
    api: Api, body: str, content_type: str
) -> None:
    request = signed(SIGNING_SECRET, body.encode(), content_type, {})
    response = await api.client.post("/slack/events", data=request.body, headers=request.headers)
    error = await error_of(response, 400)
    assert error["code"] == "invalid_request"
