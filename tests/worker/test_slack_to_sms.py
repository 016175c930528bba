"""From `/sms new` with a CSV upload to messages at the Twilio stand-in and the summary in the
thread: signed Slack requests into the running web app, the Slack stand-in, a real arq worker,
the twilio SDK against the Twilio stand-in, both databases."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from bot.blocks.compose import COMPOSE
from bot.blocks.preview import CONFIRM, PREVIEW, SEND_TEST
from bot.blocks.test_send import TEST
from campaigns.db import Database
from campaigns.models import TestSend
from campaigns.privacy import mask
from campaigns.service import get_campaign
from sandbox.slack import ALICE, BOB, CAMPAIGNS, SIGNING_SECRET, requests
from sandbox.slack.views import apply_submission_answer
from tests.worker.stack import Stack, running_stack

ONE = "+14155550100"


async def until(condition: Callable[[], Any], timeout: float = 10.0) -> Any:
    async with asyncio.timeout(timeout):
        while not (found := condition()):
            await asyncio.sleep(0.05)
    return found


async def post(stack: Stack, request: requests.SlackRequest) -> str:
    response = await stack.web.post("/slack/events", data=request.body, headers=request.headers)
    assert response.status == 200, await response.text()
    return await response.text()


def top(stack: Stack, callback_id: str) -> dict[str, Any] | None:
    assert stack.slack is not None
    views = stack.slack.modal_stack(ALICE)
    return views[-1] if views and views[-1]["callback_id"] == callback_id else None


async def submit(stack: Stack, view: dict[str, Any], values: dict[str, Any]) -> None:
    """Press the view's submit button with `values`, and let the stand-in apply the answer."""
    assert stack.slack is not None
    request = requests.view_submission(SIGNING_SECRET, view, values, sandbox_url=stack.slack.url)
    answer = await post(stack, request)
    apply_submission_answer(stack.slack, view["id"], json.loads(answer) if answer else None)


async def preview_of(stack: Stack, values: dict[str, Any]) -> dict[str, Any]:
    """/sms new, the form filled in with `values`, Preview pressed: the preview view."""
    assert stack.slack is not None
    await post(stack, requests.slash_command(SIGNING_SECRET, "new", sandbox_url=stack.slack.url))
    compose = await until(lambda: top(stack, COMPOSE))
    await submit(stack, compose, values)
    return await until(lambda: top(stack, PREVIEW))


async def test_sms_new_with_a_csv_upload_sends_and_reports_in_the_thread(db: Database) -> None:
    async with running_stack(db, senders={ONE: 50.0}, slack=True, DEFAULT_REGION="GB") as stack:
        slack = stack.slack
        assert slack is not None
        await stack.start_worker()
        rows = "\n".join(f"+4474000000{i:02d},Person {i}" for i in range(12))
        upload = slack.add_file("clinic.csv", "phone,first_name\n" + rows + "\n12345,Bad\n")
        values = {
            "name": "Flu jabs",
            "sender": ONE,
            "file": [slack.file_object(upload.id)],
            "message": "Hi {{first_name}}, flu jabs are open. Reply STOP to opt out",
            "when": "now",
            "consent": ["yes"],
        }
        preview = await preview_of(stack, values)
        await post(stack, requests.block_actions(SIGNING_SECRET, CONFIRM, view=preview,
                                                 sandbox_url=slack.url))  # fmt: skip
        campaign_id = preview["blocks"][-1]["elements"][0]["value"]
        await stack.until_finished(campaign_id, timeout=30)

        sent = stack.twilio.sandbox.messages()
        assert sorted(m.to for m in sent) == [f"+4474000000{i:02d}" for i in range(12)]
        assert {m.body for m in sent if m.to.endswith("03")} == {
            "Hi Person 3, flu jabs are open. Reply STOP to opt out"
        }
        campaign = (await get_campaign(stack.ctx, campaign_id)).view.campaign
        progress = slack.messages(CAMPAIGNS)[0]  # then the summary, also sent to the channel
        assert campaign.progress_message_ts == progress.ts
        [summary] = await until(lambda: slack.thread(CAMPAIGNS, progress.ts), timeout=15)
        assert summary.reply_broadcast and slack.messages(CAMPAIGNS)[1:] == [summary]
        # Posted, then recorded: read the campaign again once the worker wrote where it is.
        async with asyncio.timeout(5):
            while (await get_campaign(stack.ctx, campaign_id)).view.campaign.summary_message_ts \
                    != summary.ts:  # fmt: skip
                await asyncio.sleep(0.05)


async def test_send_a_test_to_me_goes_to_my_profile_number_only(db: Database) -> None:
    async with running_stack(db, senders={ONE: 50.0}, slack=True, DEFAULT_REGION="GB") as stack:
        slack = stack.slack
        assert slack is not None
        await stack.start_worker()
        values = {"name": "Flu jabs", "sender": ONE, "paste": "+447400000001\n+447400000002",
                  "message": "Hi, flu jabs are open", "when": "now", "consent": ["yes"]}  # fmt: skip
        preview = await preview_of(stack, values)
        draft_id = preview["blocks"][-1]["elements"][0]["value"]

        # No phone in the profile: nothing to press but Back, and nothing sent or recorded.
        await post(stack, requests.block_actions(SIGNING_SECRET, SEND_TEST, view=preview,
                                                 sandbox_url=slack.url))  # fmt: skip
        refused = await until(lambda: top(stack, TEST))
        assert not refused.get("submit") and "no phone number in your Slack profile" in str(refused)
        assert await recorded_tests(stack) == []
        slack.close_view(ALICE)  # Back

        slack.workspace.user(ALICE).phone = "07400 000999"
        await post(stack, requests.block_actions(SIGNING_SECRET, SEND_TEST, view=preview,
                                                 sandbox_url=slack.url))  # fmt: skip
        ask = await until(lambda: top(stack, TEST))
        assert "+447400000999" in str(ask["blocks"])
        # A forged submission naming another number: the test still goes to the profile's.
        await post(stack, forged_submission(ask, {"test_phone": {"test_phone": {
            "type": "plain_text_input", "value": "+447400000666"}}}))  # fmt: skip
        sent = await until(lambda: stack.twilio.sandbox.messages(to="+447400000999"))
        assert [m.body for m in sent] == ["Hi, flu jabs are open"]
        assert stack.twilio.sandbox.messages(to="+447400000666") == []
        told = await until(lambda: slack.messages(ALICE))
        assert "Test sent to +447400000999" in told[0].text
        detail = await get_campaign(stack.ctx, draft_id)
        assert detail.view.campaign.status == "draft" and detail.view.counts.total == 2
        assert len(stack.twilio.sandbox.messages()) == 1  # nobody on the list was texted
        [row] = await recorded_tests(stack)
        assert row.status == "sent"
        assert (row.actor, row.to_masked, row.segments, row.twilio_sid) == (
            f"slack:{ALICE}",
            mask("+447400000999"),
            1,
            sent[0].sid,
        )


@pytest.mark.parametrize("limit", [2])
async def test_tests_are_limited_per_hour_and_count_in_the_months_spend(
    db: Database, limit: int
) -> None:
    async with running_stack(db, senders={ONE: 50.0}, slack=True, DEFAULT_REGION="GB",
                             TEST_SENDS_PER_HOUR=limit, PRICE_PER_SEGMENT="0.05",
                             MONTHLY_BUDGET="0.12") as stack:  # fmt: skip
        slack = stack.slack
        assert slack is not None
        await stack.start_worker()
        slack.workspace.user(ALICE).phone = "+447400000999"
        values = {"name": "Flu jabs", "sender": ONE, "paste": "+447400000001",
                  "message": "Hi, flu jabs are open", "when": "now", "consent": ["yes"]}  # fmt: skip
        preview = await preview_of(stack, values)
        spend_before = await shown_month_spend(stack)
        assert spend_before == 0.0

        async def press_test() -> dict[str, Any]:
            await post(stack, requests.block_actions(SIGNING_SECRET, SEND_TEST, view=preview,
                                                     sandbox_url=slack.url))  # fmt: skip
            ask = await until(lambda: top(stack, TEST))
            await submit(stack, ask, {})
            return ask

        for n in range(1, limit + 1):
            await press_test()
            await until(lambda n=n: len(stack.twilio.sandbox.messages(to="+447400000999")) == n)
        # The month's spend the preview and the API show includes both tests.
        assert await shown_month_spend(stack) == pytest.approx(2 * 0.05)
        # A third within the hour is refused, saying when the next can go.
        ask = await press_test()
        refused = await until(lambda: top(stack, TEST))
        assert refused["id"] == ask["id"] and not refused.get("submit")
        assert "2 tests in the last hour" in str(refused) and "minutes" in str(refused)
        await asyncio.sleep(0.5)
        assert len(stack.twilio.sandbox.messages(to="+447400000999")) == limit

        # Bob's own limit is untouched, but a third test would take the month over its budget
        # (0.10 + 0.05 > 0.12): refused too, with the figures.
        slack.workspace.user(BOB).phone = "+447400000888"
        request = requests.view_submission(SIGNING_SECRET, ask, {}, user_id=BOB,
                                           sandbox_url=slack.url)  # the same modal, Bob's  # fmt: skip
        answer = json.loads(await post(stack, request))
        assert answer["response_action"] == "update" and "budget" in str(answer["view"])
        assert stack.twilio.sandbox.messages(to="+447400000888") == []
        assert len(await recorded_tests(stack)) == limit


def forged_submission(view: dict[str, Any], values: dict[str, Any]) -> requests.SlackRequest:
    """A signed view_submission of `view` whose state says what the modal never asked."""
    payload = dict(requests.view_submission(SIGNING_SECRET, view, {}).payload)
    payload["view"] = {**payload["view"], "state": {"values": values}}
    body = urlencode({"payload": json.dumps(payload)}).encode()
    return requests.signed(SIGNING_SECRET, body, "application/x-www-form-urlencoded", payload)


async def recorded_tests(stack: Stack) -> list[TestSend]:
    async with stack.ctx.db.read() as session:
        return list((await session.execute(select(TestSend))).scalars())


async def shown_month_spend(stack: Stack) -> float:
    """The month's spend the API's preview shows (the Slack preview shows the same figure)."""
    body = {"name": "Probe", "message_template": "Hi", "recipients": [{"phone": "+447400000005"}],
            "from_number": ONE}  # fmt: skip
    response = await stack.web.post("/v1/sms/campaigns/preview", json=body, headers=stack.auth)
    assert response.status == 200, await response.text()
    return (await response.json())["month_spend"]
