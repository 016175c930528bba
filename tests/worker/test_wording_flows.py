"""Plain words through the real paths (issue 22, point 15): a front desk's campaign from `/sms new`
to its summary, with an approval, a reply, a STOP and the commands around it, as signed Slack
requests into the web app, a real arq worker and the Twilio and Slack stand-ins. Everything the
stand-in was sent (messages, ephemeral answers, modals, Home) is read with tests/wording.py."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from bot.blocks.actions import EXPORT_CSV, REPLY_TO_TEXT, VIEW_REPORT
from bot.blocks.approval import APPROVE
from bot.blocks.conversation import REPLY_VIEW
from bot.blocks.notices import paused_message
from bot.blocks.preview import CONFIRM_ANYWAY, SEND_TEST
from bot.blocks.report import REPORT
from bot.blocks.test_send import TEST
from campaigns.db import Database
from campaigns.models import Campaign
from campaigns.service import get_campaign
from sandbox.slack import ALICE, BOB, CAMPAIGNS, SIGNING_SECRET, requests
from tests.wording import problems
from tests.worker.stack import Stack, running_stack
from tests.worker.test_slack_to_sms import post, preview_of, submit, top

ONE = "+14155550100"
ANA, BEN, CAROL = "+447400000001", "+447400000002", "+447400000003"
# Special characters, long enough for several texts, and a column the list does not have.
MESSAGE = "Hi {{first_name}} — flu jabs are open " + "this week and next, " * 12 + "{{surname}}"


async def until(check: Callable[[], Any], timeout: float = 20.0) -> Any:
    async with asyncio.timeout(timeout):
        while not (found := check()):
            await asyncio.sleep(0.05)
    return found


async def sms(stack: Stack, text: str, user: str = ALICE) -> None:
    assert stack.slack is not None
    await post(
        stack,
        requests.slash_command(SIGNING_SECRET, text, user_id=user, sandbox_url=stack.slack.url),
    )


def everything_shown(stack: Stack) -> list[tuple[str, dict[str, Any]]]:
    """Each call that put words in front of someone, with what it sent."""
    assert stack.slack is not None
    return [
        (call.method, call.args)
        for call in stack.slack.calls()
        if call.ok and ({"text", "blocks", "view", "initial_comment"} & set(call.args))
    ]


async def test_a_campaign_from_new_to_summary_reads_in_plain_words(db: Database) -> None:
    async with running_stack(
        db,
        senders={ONE: 50.0},
        callbacks=True,
        slack=True,
        DEFAULT_REGION="GB",
        APPROVAL_ABOVE_RECIPIENTS=2,
    ) as stack:
        slack, twilio = stack.slack, stack.twilio.sandbox
        assert slack is not None
        twilio.set_inbound_url(f"{stack.settings.PUBLIC_BASE_URL}/twilio/inbound")
        await stack.start_worker()
        await sms(stack, "help")
        await sms(stack, "list")
        rows = f"phone,first_name\n{ANA},Ana\n{BEN},Ben\n{CAROL},Carol\n07700900,Dan\n"
        upload = slack.add_file("flu.csv", rows)
        preview = await preview_of(
            stack,
            {
                "name": "Flu jabs",
                "sender": ONE,
                "file": [slack.file_object(upload.id)],
                "message": MESSAGE,
                "when": "now",
                "consent": ["yes"],
            },
        )
        shown = str(preview["blocks"])
        assert "Special characters" in shown and "texts" in shown and "UCS-2" in shown
        slack.workspace.user(ALICE).phone = "07400 000999"  # Send a test to me, first
        test = requests.block_actions(
            SIGNING_SECRET, SEND_TEST, view=preview, sandbox_url=slack.url
        )
        await post(stack, test)
        await submit(stack, await until(lambda: top(stack, TEST)), {})
        await until(lambda: any("Test sent" in m.text for m in slack.messages(ALICE)))
        await post(
            stack,
            requests.block_actions(
                SIGNING_SECRET, CONFIRM_ANYWAY, view=preview, sandbox_url=slack.url
            ),
        )
        cid = preview["blocks"][-1]["elements"][0]["value"]

        asked = await until(
            lambda: [m for m in slack.messages(CAMPAIGNS) if "Approve:" in str(m.blocks)]
        )
        await post(
            stack,
            requests.block_actions(
                SIGNING_SECRET,
                APPROVE,
                message=asked[-1],
                user_id=BOB,
                channel_id=CAMPAIGNS,
                sandbox_url=slack.url,
            ),
        )
        await stack.until_finished(cid, timeout=30)
        await twilio.reply(ANA, ONE, "What time?")
        await twilio.reply(BEN, ONE, "STOP")
        ts = (await get_campaign(stack.ctx, cid)).view.campaign.progress_message_ts
        assert ts is not None
        await until(  # one digest of the texts back, with both
            lambda: any(
                "1 opted out" in str(m.blocks) and "What time?" in str(m.blocks)
                for m in slack.thread(CAMPAIGNS, ts)
            )
        )
        await until(lambda: any("Summary" in m.text for m in slack.thread(CAMPAIGNS, ts)))
        # Ana's question answered from Slack: the answer is named for her, not by an id.
        [notice] = [m for m in slack.thread(CAMPAIGNS, ts) if "Texts back" in m.text]
        await post(
            stack,
            requests.block_actions(
                SIGNING_SECRET,
                REPLY_TO_TEXT,
                message=notice,
                channel_id=CAMPAIGNS,
                sandbox_url=slack.url,
            ),
        )
        await submit(stack, await until(lambda: top(stack, REPLY_VIEW)), {"reply": "At 9."})
        await until(lambda: any(m.body == "At 9." for m in twilio.messages(to=ANA)))
        async with stack.ctx.db.read() as session:
            [answer] = await session.scalars(select(Campaign).where(Campaign.source == "reply"))
        assert answer.name == "Reply to Ana (+44*******001)"
        assert problems(paused_message(answer)) == []  # should it ever pause, it reads so
        for command in (
            "list",
            f"status {cid}",
            f"cancel {cid}",
            f"optout list {BEN}",
            "optout list",
            "templates",
            "contacts",
            "frobnicate",
        ):
            await sms(stack, command)
        await until(lambda: len(slack.ephemeral(CAMPAIGNS, ALICE)) >= 10)
        home = {"type": "app_home_opened", "user": ALICE, "tab": "home"}
        await post(stack, requests.event_callback(SIGNING_SECRET, home))
        await until(lambda: slack.home_view(ALICE))
        progress = slack.message(CAMPAIGNS, ts)
        await post(
            stack,
            requests.block_actions(
                SIGNING_SECRET,
                VIEW_REPORT,
                message=progress,
                channel_id=CAMPAIGNS,
                sandbox_url=slack.url,
            ),
        )
        await until(lambda: any(v["callback_id"] == REPORT for v in slack.modal_stack(ALICE)))
        await post(
            stack,
            requests.block_actions(
                SIGNING_SECRET,
                EXPORT_CSV,
                message=progress,
                channel_id=CAMPAIGNS,
                sandbox_url=slack.url,
            ),
        )
        await until(lambda: [c for c in slack.calls("files.completeUploadExternal") if c.ok])

        seen = everything_shown(stack)
        assert {
            "chat.postMessage",
            "chat.update",
            "response_url",
            "views.open",
            "views.update",
            "views.publish",
            "files.completeUploadExternal",
        } <= {method for method, _ in seen}
        found = [f"{method}: {problem}" for method, args in seen for problem in problems(args)]
        assert found == []
        transcript = slack.transcript(CAMPAIGNS)
        assert "nothing left to cancel" in transcript and "by text" in transcript
