"""Guardrails over the HTTP API: a campaign's own sending hours, checked and echoed; a spend cap
refuses a create with the figures (422 over_budget) and stores nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from campaigns.settings import Settings
from tests.bot.conftest import Api
from tests.bot.test_api_campaigns import SEED_BODY, error_of, post
from tests.conftest import make_settings


@pytest.fixture
def api_settings() -> Settings:
    return make_settings(
        SLACK_NOTIFY_CHANNEL="C0CAMPAIGNS",
        SEND_HOURS="08:00-21:00", MAX_CAMPAIGN_COST="0.02",
    )  # fmt: skip


async def test_send_hours_are_the_settings_unless_the_campaign_has_its_own(api: Api) -> None:
    created = await (await post(api, SEED_BODY)).json()  # 2 recipients: 0.0158, under the cap
    assert (created["send_hours"], created["waiting_count"]) == ("08:00-21:00", 0)
    assert created["next_release_at"] is None
    own = await (await post(api, {**SEED_BODY, "send_hours": " 9:00 - 20:30 "})).json()
    assert own["send_hours"] == "09:00-20:30"
    error = await error_of(await post(api, {**SEED_BODY, "send_hours": "9 to 5"}), 422)
    assert error["field"] == "send_hours" and "08:00-21:00" in error["message"]


async def test_a_create_over_the_campaign_cap_is_refused_with_the_figures(api: Api) -> None:
    many = [{"phone": f"+4477009000{i:02d}", "variables": {}} for i in range(3)]  # 0.0237 USD
    error = await error_of(await post(api, {**SEED_BODY, "recipients": many}), 422)
    assert error["code"] == "over_budget"
    assert "about 0.02 USD" in error["message"] and "one campaign may cost" in error["message"]
    listed = await api.client.get("/v1/sms/campaigns", headers=api.auth)
    assert (await listed.json())["campaigns"] == []


async def test_the_create_answer_carries_the_previews_content_warnings(api: Api) -> None:
    body = {**SEED_BODY, "message_template": "Hi {{first_name}}, book at https://bit.ly/x1"}
    created = await (await post(api, body)).json()
    assert [w["code"] for w in created["warnings"]] == ["no_opt_out", "link_shortener"]
    assert "30007" in created["warnings"][1]["message"]


async def test_the_preview_route_answers_the_preview_and_stores_nothing(api: Api) -> None:
    # The test clock says 09:00 UTC: 09:00 in London, 01:00 in California.
    people = [*SEED_BODY["recipients"], {"phone": "+14155550199", "variables": {}},  # type: ignore[misc]
              {"phone": "not a number", "variables": {}}]  # fmt: skip
    body = {**SEED_BODY, "recipients": people}
    answer = await api.client.post("/v1/sms/campaigns/preview", json=body, headers=api.auth)
    assert answer.status == 200, await answer.text()
    shown = await answer.json()
    assert (shown["total_count"], shown["invalid_count"], shown["send_hours"]) == (
        3,
        1,
        "08:00-21:00",
    )
    assert [(w["count"], w["zone"], w["local_time"]) for w in shown["waiting"]] == [
        (1, "America/Los_Angeles", "08:00")
    ]
    assert shown["samples"][0]["text"].startswith("Hi Sarah")
    assert [w["code"] for w in shown["warnings"]] == ["no_opt_out", "empty_placeholder"]
    assert shown["refused"] is not None and "one campaign may cost" in shown["refused"]
    listed = await api.client.get("/v1/sms/campaigns", headers=api.auth)
    assert (await listed.json())["campaigns"] == []  # nothing stored
    bad = await api.client.post("/v1/sms/campaigns/preview", headers=api.auth,
                                json={**SEED_BODY, "send_hours": "later"})  # fmt: skip
    assert (await error_of(bad, 422))["field"] == "send_hours"


async def test_an_edit_over_the_campaign_cap_is_refused_and_changes_nothing(api: Api) -> None:
    at = (api.runtime.ctx.now() + timedelta(hours=2)).isoformat()
    body = {**SEED_BODY, "schedule_type": "schedule", "scheduled_at": at}
    created = await (await post(api, body)).json()  # 2 recipients: 0.0158, under the cap
    url = f"/v1/sms/campaigns/{created['campaign_id']}"
    many = [{"phone": f"+4477009000{i:02d}", "variables": {}} for i in range(3)]  # 0.0237 USD
    answer = await api.client.patch(url, json={"recipients": many}, headers=api.auth)
    error = await error_of(answer, 422)
    assert error["code"] == "over_budget" and "one campaign may cost" in error["message"]
    shown = await (await api.client.get(url, headers=api.auth)).json()
    assert (shown["total_count"], shown["version"], shown["status"]) == (2, 1, "scheduled")
