"""A message that cannot fit is refused before any is made, and the API's heavy requests leave
room for Slack's (issue 21, point 8), through real HTTP and signed Slack requests.

A template of 2,000 `{{a}}` sent to 20,000 recipients with long values took 101 s to be refused
"over 1,600 characters", every message having been made to count them; ten such held the CPU
pool, and a Slack preview meanwhile was answered "busy".
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from bot.api import campaigns as api_campaigns
from bot.blocks.compose import COMPOSE
from bot.blocks.preview import PREVIEW
from campaigns.settings import Settings
from sandbox.slack import SlackSandbox
from tests.bot.conftest import Api, slack_settings
from tests.bot.test_api_campaigns import SEED_BODY, error_of, post
from tests.bot.test_slack_compose import PLAIN, filled, showing, sms, submit, top_view, until
from tests.sandbox.slack_fixtures import slack_config_fixture, slack_fixture  # noqa: F401


@pytest.fixture
def api_settings(slack: SlackSandbox, request: pytest.FixtureRequest) -> Settings:
    return slack_settings(slack.url, request, DEFAULT_REGION="GB")


def heavy(recipients: int, value: str, template: str = "{{a}}" * 2000) -> dict[str, Any]:
    numbers = (f"+1212{200 + i // 10_000:03d}{i % 10_000:04d}" for i in range(recipients))
    people = [{"phone": phone, "variables": {"a": value}} for phone in numbers]
    return {**SEED_BODY, "message_template": template, "recipients": people}


async def test_messages_too_long_are_refused_at_the_first_without_making_them(web: Api) -> None:
    # 5,000 messages of 800,000 characters: making them all took 23 s here.
    started = time.perf_counter()
    response = await post(web, heavy(5_000, "x" * 400))
    took = time.perf_counter() - started
    assert took < 5, took  # reading and checking 5,000 numbers, nothing more
    error = await error_of(response, 422)
    assert error["field"] == "message_template"
    assert "over 1,600 characters" in error["message"]
    assert "row 1's would be 800,000" in error["message"]


async def test_the_first_too_long_message_is_named_by_its_row(web: Api) -> None:
    body = heavy(3, "")
    body["recipients"][1]["variables"]["a"] = "a long value"  # 2,000 x 12 characters
    error = await error_of(await post(web, body), 422)
    assert "row 2's would be 24,000" in error["message"]
    body["recipients"][1]["variables"]["a"] = ""
    assert (await post(web, body)).status == 201  # 2,000 empty placeholders fit


async def test_a_template_too_long_without_its_placeholders_is_refused_as_such(web: Api) -> None:
    error = await error_of(await post(web, heavy(3, "", "x" * 1_601 + " {{a}}")), 422)
    assert error["message"] == (
        "Even with its placeholders empty the message is 1,602 characters: Twilio refuses "
        "messages over 1,600 characters. Shorten it."
    )


async def test_an_edit_to_a_message_too_long_names_the_row(web: Api) -> None:
    body = heavy(3, "Sam", "Hi {{a}}")
    body["recipients"][2]["variables"]["a"] = "y" * 100
    created = await post(web, {**body, "schedule_type": "schedule",
                               "scheduled_at": "2026-11-23T12:00:00Z"})  # fmt: skip
    assert created.status == 201, await created.text()
    cid = (await created.json())["campaign_id"]
    response = await web.client.patch(
        f"/v1/sms/campaigns/{cid}", json={"message_template": "{{a}} " * 20}, headers=web.auth
    )
    error = await error_of(response, 422)
    assert "row 3's would be 2,020" in error["message"]


# -- room for Slack


async def test_a_slack_preview_is_answered_while_ten_api_requests_hold_the_pool(
    web: Api, slack: SlackSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Ten API creates in hand, each holding its place in the CPU pool until released: what ten
    # of the requests above did for minutes before.
    release = threading.Event()
    read_create = api_campaigns._read_create

    def held(raw: bytes, region: str | None) -> api_campaigns.CreateRequest:
        release.wait(30)
        return read_create(raw, region)

    monkeypatch.setattr(api_campaigns, "_read_create", held)
    in_hand = [asyncio.create_task(post(web, SEED_BODY)) for _ in range(10)]
    try:
        # The pool is full for the API once one more create is refused as busy.
        for _ in range(20):
            probe = asyncio.create_task(post(web, SEED_BODY))
            done, _ = await asyncio.wait({probe}, timeout=0.5)
            if done:
                response = probe.result()
                assert response.status == 503, await response.text()
                assert response.headers["Retry-After"]
                break
            in_hand.append(probe)
        else:
            pytest.fail("the API's requests were never refused as busy")

        await sms(web, slack, "new")
        compose = await until(showing(slack, COMPOSE))
        pressed = time.perf_counter()
        errors = await submit(
            web, slack, compose, filled(paste="+447700900001\n+447700900002", message=PLAIN)
        )
        assert errors == {}
        preview = await until(showing(slack, PREVIEW), timeout=3)  # Slack's own limit
        assert "Confirm: send 2" in str(preview["blocks"]), top_view(slack)
        assert time.perf_counter() - pressed < 3
    finally:
        release.set()
        answers = await asyncio.gather(*in_hand)
    statuses = [response.status for response in answers]
    # Ten places in the API's lane, held till the end; a probe admitted while one of the first
    # ten was still being read took that one's place, and it was refused instead.
    assert statuses.count(201) == 10 and set(statuses) <= {201, 503}, statuses
