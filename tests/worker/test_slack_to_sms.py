"""From `/sms new` with a CSV upload to messages at the Twilio stand-in and the summary in the
thread: signed Slack requests into the running web app, the Slack stand-in, a real arq worker,
the twilio SDK against the Twilio stand-in, both databases."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from bot.blocks.compose import COMPOSE
from bot.blocks.preview import CONFIRM, PREVIEW, SEND_TEST
from bot.blocks.test_send import TEST
from campaigns.db import Database
from campaigns.service import get_campaign
from sandbox.slack import ALICE, CAMPAIGNS, SIGNING_SECRET, requests
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
        [progress] = slack.messages(CAMPAIGNS)
        assert campaign.progress_message_ts == progress.ts
        [summary] = await until(lambda: slack.thread(CAMPAIGNS, progress.ts), timeout=15)
        # Posted, then recorded: read the campaign again once the worker wrote where it is.
        async with asyncio.timeout(5):
            while (await get_campaign(stack.ctx, campaign_id)).view.campaign.summary_message_ts \
                    != summary.ts:  # fmt: skip
                await asyncio.sleep(0.05)


async def test_send_a_test_to_me_goes_through_the_worker_and_counts_nowhere(db: Database) -> None:
    async with running_stack(db, senders={ONE: 50.0}, slack=True, DEFAULT_REGION="GB") as stack:
        slack = stack.slack
        assert slack is not None
        await stack.start_worker()
        values = {"name": "Flu jabs", "sender": ONE, "paste": "+447400000001\n+447400000002",
                  "message": "Hi, flu jabs are open", "when": "now", "consent": ["yes"]}  # fmt: skip
        preview = await preview_of(stack, values)
        await post(stack, requests.block_actions(SIGNING_SECRET, SEND_TEST, view=preview,
                                                 sandbox_url=slack.url))  # fmt: skip
        ask = await until(lambda: top(stack, TEST))
        await submit(stack, ask, {"test_phone": "07400 000999"})
        assert top(stack, PREVIEW) is not None  # back on the preview

        sent = await until(lambda: stack.twilio.sandbox.messages(to="+447400000999"))
        assert [m.body for m in sent] == ["Hi, flu jabs are open"]
        told = await until(lambda: slack.messages(ALICE))
        assert "Test sent to +447400000999" in told[0].text
        draft_id = preview["blocks"][-1]["elements"][0]["value"]
        detail = await get_campaign(stack.ctx, draft_id)
        assert detail.view.campaign.status == "draft" and detail.view.counts.total == 2
        assert len(stack.twilio.sandbox.messages()) == 1  # nobody on the list was texted

        # The number is remembered for the next test.
        await post(stack, requests.block_actions(SIGNING_SECRET, SEND_TEST, view=preview,
                                                 sandbox_url=slack.url))  # fmt: skip
        again = await until(lambda: top(stack, TEST))
        assert again["blocks"][0]["element"]["initial_value"] == "+447400000999"
