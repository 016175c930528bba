"""Replies and opt-outs end to end: handsets text the Twilio stand-in, which posts the signed
webhook to the running web app (or, without PUBLIC_BASE_URL, the worker polls for them); a real
arq worker sends and posts to the Slack stand-in; buttons are signed Slack requests."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

import worker.inbound
from bot.blocks.actions import CANCEL_WAITING, REPLY_TO_TEXT
from bot.blocks.conversation import REPLY_VIEW
from campaigns.db import Database
from campaigns.models import InboundMessage
from campaigns.recipients import check_recipient_list
from campaigns.service import NewCampaign, create_campaign, get_campaign, opted_out_among
from campaigns.service.claims import OPTED_OUT
from campaigns.service.inbound import IncomingSms, record_inbound
from sandbox.slack import ALICE, BOB, CAMPAIGNS, SIGNING_SECRET, requests
from sandbox.twilio.handsets import inbound_params
from tests.worker.stack import Stack, running_stack

ONE, TWO = "+14155550100", "+14155550101"
NOTICE = "will not text this number again"
SARAH, JAMES, AMIR, LENA = "+447400000001", "+447400000002", "+447400000003", "+447400000009"


async def until(check: Callable[[], Awaitable[Any]], timeout: float = 15.0) -> Any:
    async with asyncio.timeout(timeout):
        while not (found := await check()):
            await asyncio.sleep(0.05)
    return found


def person(phone: str, name: str) -> dict[str, Any]:
    return {"phone": phone, "variables": {"first_name": name}}


async def inbound_rows(stack: Stack) -> int:
    async with stack.ctx.db.read() as session:
        query = select(func.count()).select_from(InboundMessage)
        return (await session.execute(query)).scalar_one()


def digests(stack: Stack, ts: str, containing: str = "") -> list[Any]:
    """The digests of texts in the thread at `ts` (one, once a text came)."""
    assert stack.slack is not None
    return [m for m in stack.slack.thread(CAMPAIGNS, ts)
            if "Texts back" in m.text and containing in str(m.blocks)]  # fmt: skip


def thread_texts(stack: Stack, ts: str) -> list[str]:
    assert stack.slack is not None
    return [f"{m.text} {m.blocks}" for m in stack.slack.thread(CAMPAIGNS, ts)]


async def progress_ts(stack: Stack, campaign_id: str) -> str:
    async def posted() -> str | None:
        return (await get_campaign(stack.ctx, campaign_id)).view.campaign.progress_message_ts

    return await until(posted)


async def claimed(stack: Stack, campaign_id: str, phone: str) -> bool:
    detail = await get_campaign(stack.ctx, campaign_id, recipients_limit=10)
    return any(r.phone == phone and r.status == "queued" for r in detail.recipients)


async def sent_to(stack: Stack, phone: str) -> bool:
    return bool(stack.twilio.sandbox.messages(to=phone))


def later() -> str:
    return (datetime.now(UTC) + timedelta(hours=2)).isoformat()


async def test_a_stop_mid_campaign_stops_the_number_and_its_notice_cancels_what_waits(
    db: Database,
) -> None:
    async with running_stack(db, senders={ONE: 1.0}, callbacks=True, slack=True) as stack:
        sandbox = stack.twilio.sandbox
        sandbox.set_inbound_url(f"{stack.settings.PUBLIC_BASE_URL}/twilio/inbound")
        await stack.start_worker()
        # Scheduled for later: a message to Sarah and one to James wait in it.
        waiting = await stack.create(
            name="Reminder", message_template="Hi {{first_name}}",
            recipients=[person(SARAH, "Sarah"), person(JAMES, "James")],
            from_number=ONE, schedule_type="schedule", scheduled_at=later(),
        )  # fmt: skip
        # At one message a second: Sarah first, Lena's a few seconds later.
        running = await stack.create(
            name="Flu jabs", message_template="Hi {{first_name}}, flu jabs are open",
            recipients=[person(SARAH, "Sarah"), person(AMIR, "Amir"), person("+447400000004", "B"),
                        person("+447400000005", "C"), person("+447400000006", "D"),
                        person(LENA, "Lena")],
            from_number=ONE,
        )  # fmt: skip
        await until(lambda: sent_to(stack, SARAH))
        await sandbox.reply(SARAH, ONE, "Stop.")  # punctuation around the keyword is ignored
        # Lena's message is claimed, screened and booked for its slot a few seconds ahead: her
        # STOP comes after the screening, before the request. It must not go.
        await until(lambda: claimed(stack, running, LENA))
        assert not sandbox.messages(to=LENA)
        await sandbox.reply(LENA, ONE, "STOP")
        await stack.until_finished(running, timeout=30)

        detail = await get_campaign(stack.ctx, running, recipients_limit=10)
        lena = next(r for r in detail.recipients if r.phone == LENA)
        assert (lena.status, lena.error_reason, lena.error_code) == ("failed", OPTED_OUT, None)
        assert not sandbox.messages(to=LENA)  # Textcast stopped it; Twilio never saw a request
        assert await opted_out_among(stack.ctx, [SARAH, LENA]) == {SARAH, LENA}

        # Sarah's STOP is in the digest in the thread of the campaign she answered, with what
        # still waits for her number and a button to cancel it.
        ts = await progress_ts(stack, running)
        [digest] = await until(lambda: _async(digests(stack, ts, "2 opted out")))
        assert "+44*******001" in str(digest.blocks) and SARAH not in str(digest.blocks)
        assert "*Lena* +44*******009" in str(digest.blocks)
        assert "1 message to this number still waits" in str(digest.blocks)
        click = requests.block_actions(
            SIGNING_SECRET, CANCEL_WAITING, message=digest, sandbox_url=stack.slack.url
        )
        answer = await stack.web.post("/slack/events", data=click.body, headers=click.headers)
        assert answer.status == 200
        # Slack is answered first (ack), the button's work follows: the person is told, and the
        # digest loses the button.
        await until(lambda: _async(any("cancelled 1 waiting message" in m.text
                                       for m in stack.slack.ephemeral(CAMPAIGNS, ALICE))))  # fmt: skip
        await until(lambda: _async(not any("Cancel those" in str(m.blocks)
                                           for m in digests(stack, ts))))  # fmt: skip
        scheduled = await get_campaign(stack.ctx, waiting, recipients_limit=10)
        assert {r.phone: r.status for r in scheduled.recipients} == {
            SARAH: "cancelled",
            JAMES: "pending",  # exactly hers, nothing else
        }
        assert scheduled.view.campaign.status == "scheduled"

        # START opts her back in (noted in the thread), and a later campaign reaches her.
        await sandbox.reply(SARAH, ONE, "start")
        await until(lambda: _async(not _opted_out_sync(stack, SARAH)))
        await until(lambda: _async(any("opted back in" in t for t in thread_texts(stack, ts))))
        assert len(digests(stack, ts)) == 1  # one message for every text, edited in place
        again = await stack.create(name="Again", message_template="Hello again",
                                   recipients=[person(SARAH, "Sarah")], from_number=ONE)  # fmt: skip
        await stack.until_finished(again, timeout=20)
        assert [m.body for m in sandbox.messages(to=SARAH)][-1] == "Hello again"


async def slack_post(stack: Stack, request: requests.SlackRequest) -> None:
    response = await stack.web.post("/slack/events", data=request.body, headers=request.headers)
    assert response.status == 200, await response.text()


def _top(stack: Stack, callback_id: str, user: str = ALICE) -> dict[str, Any] | None:
    assert stack.slack is not None
    views = stack.slack.modal_stack(user)
    return views[-1] if views and views[-1]["callback_id"] == callback_id else None


async def _async(value: Any) -> Any:
    return value


def _opted_out_sync(stack: Stack, phone: str) -> bool:
    return bool(stack.twilio.sandbox.opted_out(phone, ONE))


async def test_replies_land_in_the_thread_once_and_forged_ones_are_refused(db: Database) -> None:
    async with running_stack(db, senders={ONE: 50.0}, callbacks=True, slack=True) as stack:
        sandbox = stack.twilio.sandbox
        url = f"{stack.settings.PUBLIC_BASE_URL}/twilio/inbound"
        sandbox.set_inbound_url(url)
        await stack.start_worker()
        cid = await stack.create(name="Open day", message_template="Hi {{first_name}}",
                                 recipients=[person(SARAH, "Sarah"), person(JAMES, "James")],
                                 from_number=ONE)  # fmt: skip
        await stack.until_finished(cid, timeout=20)
        ts = await progress_ts(stack, cid)

        reply = await sandbox.reply(SARAH, ONE, "What time does it start?")
        assert reply.webhook is not None and reply.webhook.status == 200
        assert "<Response></Response>" in reply.webhook.body  # empty TwiML: no auto-answer
        [posted] = await until(lambda: _async(digests(stack, ts, "What time does it start?")))
        assert "*Sarah* +44*******001" in str(posted.blocks) and SARAH not in str(posted.blocks)

        detail = await stack.web.get(f"/v1/sms/campaigns/{cid}", headers=stack.auth)
        [text] = (await detail.json())["replies"]
        assert (text["phone"], text["body"], text["meaning"]) == (
            SARAH,
            "What time does it start?",
            "reply",
        )
        # The summary counts it (refreshed like late receipts: within seconds, more when loaded).
        await until(lambda: _async(any("Summary" in t and "1 reply" in t
                                       for t in thread_texts(stack, ts))), timeout=40)  # fmt: skip

        # Answered from Slack: the Reply button, the modal, Send (twice: a double click).
        [shown] = digests(stack, ts)
        await slack_post(stack, requests.block_actions(
            SIGNING_SECRET, REPLY_TO_TEXT, message=shown, sandbox_url=stack.slack.url))  # fmt: skip
        modal = await until(lambda: _async(_top(stack, REPLY_VIEW)))
        for _ in range(2):
            await slack_post(stack, requests.view_submission(
                SIGNING_SECRET, modal, {"reply": "Doors open at 9."},
                sandbox_url=stack.slack.url))  # fmt: skip
        await until(lambda: _async(
            any(m.body == "Doors open at 9." for m in sandbox.messages(to=SARAH))))  # fmt: skip
        # Delivered once the receipt is in (finished campaigns are refreshed every 10 s).
        await until(lambda: _async(any(
            "Doors open at 9." in t and "Delivered" in t for t in thread_texts(stack, ts))),
            timeout=25)  # fmt: skip
        await asyncio.sleep(1.0)
        assert [m.body for m in sandbox.messages(to=SARAH)].count("Doors open at 9.") == 1
        assert [m.from_ for m in sandbox.messages(to=SARAH)][-1] == ONE
        assert len([t for t in thread_texts(stack, ts) if "Doors open at 9." in t]) == 1
        # The digest says who answered; a second person opening Reply is warned first, and
        # sees the conversation so far.
        [shown] = await until(lambda: _async(digests(stack, ts, "Answered by <@U0ALICE>")))
        await slack_post(stack, requests.block_actions(
            SIGNING_SECRET, REPLY_TO_TEXT, message=shown, user_id=BOB,
            sandbox_url=stack.slack.url))  # fmt: skip
        second = await until(lambda: _async(_top(stack, REPLY_VIEW, BOB)))
        warning = str(second["blocks"][0])
        assert "<@U0ALICE> answered this text already" in warning and "Doors open at 9." in warning
        assert second["submit"]["text"] == "Send anyway"
        listed = await stack.web.get("/v1/sms/campaigns", headers=stack.auth)
        assert [c["name"] for c in (await listed.json())["campaigns"]] == ["Open day"]

        # Twilio posting the same MessageSid again: stored once, posted once.
        params = inbound_params(reply.message, sandbox.config.account_sid)
        again = await sandbox.callbacks.post(sandbox.callbacks.sign(url, params))
        assert again.status == 200
        await asyncio.sleep(1.5)  # a sweep and a job's worth of time
        assert await inbound_rows(stack) == 1
        assert len(digests(stack, ts)) == 1 and "1 reply" in str(digests(stack, ts)[0].blocks)

        # A forged request (signed with another token) is refused and records nothing.
        forged = await stack.web.post(
            "/twilio/inbound",
            data={**params, "MessageSid": "SM" + "f" * 32, "Body": "STOP"},
            headers={"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"},
        )
        assert forged.status == 403
        assert await inbound_rows(stack) == 1
        assert not await opted_out_among(stack.ctx, [SARAH])

        # HELP is answered with the help text; the team sees who asked.
        helped = await sandbox.reply(JAMES, ONE, "help")
        assert helped.webhook is not None and "Reply STOP to stop" in helped.webhook.body
        await until(lambda: _async(any("Asked for help" in t for t in thread_texts(stack, ts))))


async def test_without_a_public_url_replies_and_stops_are_fetched_by_polling(db: Database) -> None:
    async with running_stack(
        db, senders={ONE: 50.0}, callbacks=False, slack=True, INBOUND_POLL_SECONDS=2
    ) as stack:
        sandbox = stack.twilio.sandbox
        await stack.start_worker()
        cid = await stack.create(name="Open day", message_template="Hi {{first_name}}",
                                 recipients=[person(SARAH, "Sarah"), person(JAMES, "James")],
                                 from_number=ONE)  # fmt: skip
        await stack.until_finished(cid, timeout=20)
        ts = await progress_ts(stack, cid)
        reply = await sandbox.reply(SARAH, ONE, "See you there")
        assert reply.webhook is None  # Twilio has nowhere to post it
        await sandbox.reply(JAMES, ONE, "STOP")
        await until(lambda: opted_out_among(stack.ctx, [JAMES]), timeout=30)  # loaded: slower

        def both_shown() -> bool:
            texts = thread_texts(stack, ts)
            return any("See you there" in t for t in texts) and any(NOTICE in t for t in texts)

        await until(lambda: _async(both_shown()), timeout=10)
        await asyncio.sleep(2.5)  # another poll finds the same messages: nothing new
        assert await inbound_rows(stack) == 2


@pytest.mark.parametrize(
    "garbled",
    [
        {"garbled_fields": {"num_media": "two"}},
        {"garbled_page_fields": {"next_page_uri": 7}},
    ],
    ids=["num_media", "next_page_uri"],
)
async def test_a_garbled_answer_from_twilio_never_stops_the_inbound_poll(
    db: Database, garbled: dict[str, Any]
) -> None:
    """A field the worker cannot read costs at most that number's poll: the texts to the other
    number are still found, a STOP among them included."""
    async with running_stack(db, senders={ONE: 50.0, TWO: 50.0}, INBOUND_POLL_SECONDS=2) as stack:
        sandbox = stack.twilio.sandbox
        sandbox.set_faults(**garbled)
        await sandbox.reply(SARAH, ONE, "Is the clinic open on Saturday?")
        await sandbox.reply(JAMES, TWO, "STOP")
        await stack.start_worker()
        await until(lambda: opted_out_among(stack.ctx, [JAMES]), timeout=20)

        async def both_recorded() -> bool:
            return await inbound_rows(stack) == 2

        await until(both_recorded, timeout=10)


async def test_with_only_a_messaging_service_its_numbers_texts_are_polled(db: Database) -> None:
    """SENDER_NUMBERS unset: the numbers to poll are the Messaging Service's, as Twilio lists
    them (GET /v1/Services/{sid}/PhoneNumbers)."""
    service = "MG" + "5" * 32
    async with running_stack(
        db, senders={ONE: 50.0, TWO: 50.0}, SENDER_NUMBERS="",
        TWILIO_MESSAGING_SERVICE_SID=service, INBOUND_POLL_SECONDS=2,
    ) as stack:  # fmt: skip
        assert stack.settings.sender_phones == ()
        sandbox = stack.twilio.sandbox
        sandbox.config.messaging_services[service] = (ONE, TWO)
        await sandbox.reply(SARAH, ONE, "Thanks!")
        await sandbox.reply(JAMES, TWO, "STOP")
        await stack.start_worker()
        await until(lambda: opted_out_among(stack.ctx, [JAMES]), timeout=20)

        async def both_recorded() -> bool:
            return await inbound_rows(stack) == 2

        await until(both_recorded, timeout=10)


async def test_a_text_whose_hand_off_was_lost_is_posted_by_the_sweep(db: Database) -> None:
    """The web process stored the text and died before handing it on (or Redis lost the job):
    the sweep finds it. One that answers no campaign goes to SLACK_NOTIFY_CHANNEL."""
    async with running_stack(db, senders={ONE: 50.0}, callbacks=True, slack=True) as stack:
        a_minute_ago = datetime.now(UTC) - timedelta(minutes=1)
        await record_inbound(stack.ctx, IncomingSms(
            "SM" + "a" * 32, "+447400000077", ONE, "Is the shop open on Sunday?",
            received_at=a_minute_ago))  # fmt: skip
        assert stack.slack is not None
        assert not stack.slack.messages(CAMPAIGNS)
        await stack.start_worker()
        [posted] = await until(lambda: _async(
            [m for m in stack.slack.messages(CAMPAIGNS) if "Sunday" in str(m.blocks)]))  # fmt: skip
        assert "+44*******077" in str(posted.blocks)  # top level: it answers no campaign
        assert "Texts that answer no campaign" in posted.text
        await asyncio.sleep(1.5)  # more sweeps: posted once
        assert len([m for m in stack.slack.messages(CAMPAIGNS) if "Sunday" in str(m.blocks)]) == 1


async def test_a_stop_whose_webhook_failed_is_found_by_the_backstop_poll(db: Database) -> None:
    async with running_stack(db, senders={ONE: 50.0}, callbacks=True, slack=True,
                             INBOUND_BACKSTOP_SECONDS=2) as stack:  # fmt: skip
        sandbox = stack.twilio.sandbox
        # The webhook fails (here: a wrong path; in life, the web process down or its database
        # away), and Twilio does not post an incoming message twice.
        sandbox.set_inbound_url(f"{stack.settings.PUBLIC_BASE_URL}/twilio/nowhere")
        await stack.start_worker()
        reply = await sandbox.reply(JAMES, ONE, "STOP")
        assert reply.webhook is not None and reply.webhook.status == 404
        await until(lambda: opted_out_among(stack.ctx, [JAMES]), timeout=30)  # loaded: slower
        assert await inbound_rows(stack) == 1


async def test_a_reply_to_a_campaign_made_in_slack_mentions_its_creator(db: Database) -> None:
    """A reply may need an answer: whoever made the campaign is mentioned on it (an opt-out
    needs none, and mentions nobody)."""
    async with running_stack(db, senders={ONE: 50.0}, callbacks=True, slack=True) as stack:
        sandbox = stack.twilio.sandbox
        sandbox.set_inbound_url(f"{stack.settings.PUBLIC_BASE_URL}/twilio/inbound")
        await stack.start_worker()
        made = await create_campaign(stack.ctx, NewCampaign(
            name="Open day", message_template="Hi {{first_name}}",
            recipients=check_recipient_list([person(SARAH, "Sarah"), person(JAMES, "James")], "GB"),
            from_numbers=[ONE], send_at=None, source="slack", consent_confirmed=True,
            channel_id=CAMPAIGNS), f"slack:{ALICE}")  # fmt: skip
        cid = made.campaign.id
        await stack.until_finished(cid, timeout=20)
        ts = await progress_ts(stack, cid)

        await sandbox.reply(SARAH, ONE, "Can I bring my son?")
        await sandbox.reply(JAMES, ONE, "STOP")
        [digest] = await until(lambda: _async(digests(stack, ts, "1 opted out")))
        assert digest.text.startswith(f"<@{ALICE}> Texts back to Open day")
        assert "1 waits for an answer" in str(digest.blocks)
        # Answered: nothing waits, nobody is mentioned.
        await slack_post(stack, requests.block_actions(
            SIGNING_SECRET, REPLY_TO_TEXT, message=digest, sandbox_url=stack.slack.url))  # fmt: skip
        modal = await until(lambda: _async(_top(stack, REPLY_VIEW)))
        await slack_post(stack, requests.view_submission(
            SIGNING_SECRET, modal, {"reply": "Of course."}, sandbox_url=stack.slack.url))  # fmt: skip
        [digest] = await until(lambda: _async(digests(stack, ts, "Answered by")))
        assert "<@" not in digest.text and "for an answer" not in str(digest.blocks)


async def test_a_later_reply_is_told_to_the_creator_once_in_their_direct_messages(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The digest's first post mentions the creator; its edits notify nobody (Slack notifies a
    mention only as a message is posted). A later reply that waits for an answer is told in the
    creator's direct messages, and a burst of them once, not once each."""
    monkeypatch.setattr(worker.inbound, "NUDGE_SECONDS", 4)  # 10 minutes in production
    async with running_stack(db, senders={ONE: 50.0}, callbacks=True, slack=True,
                             PROGRESS_INTERVAL_SECONDS=0.5) as stack:  # fmt: skip
        assert stack.slack is not None
        sandbox = stack.twilio.sandbox
        sandbox.set_inbound_url(f"{stack.settings.PUBLIC_BASE_URL}/twilio/inbound")
        await stack.start_worker()
        people = [person(SARAH, "Sarah"), person(JAMES, "James"), person(AMIR, "Amir"),
                  person(LENA, "Lena")]  # fmt: skip
        made = await create_campaign(stack.ctx, NewCampaign(
            name="Open day", message_template="Hi {{first_name}}",
            recipients=check_recipient_list(people, "GB"), from_numbers=[ONE], send_at=None,
            source="slack", consent_confirmed=True, channel_id=CAMPAIGNS), f"slack:{ALICE}")  # fmt: skip
        cid = made.campaign.id
        await stack.until_finished(cid, timeout=20)
        ts = await progress_ts(stack, cid)
        dm = stack.slack.workspace.dm(ALICE).id

        await sandbox.reply(SARAH, ONE, "Can I bring my son?")
        [digest] = await until(lambda: _async(digests(stack, ts, "1 waits for an answer")))
        assert digest.text.startswith(f"<@{ALICE}>")  # the post itself notifies her
        await sandbox.reply(LENA, ONE, "STOP")  # needs no answer: nobody is told
        await until(lambda: _async(digests(stack, ts, "1 opted out")))
        assert stack.slack.messages(dm) == []  # nor for a question just told by the post

        await asyncio.sleep(4)  # the post's mention counts as telling her, for a while
        await sandbox.reply(JAMES, ONE, "Do I need to book?")
        [told] = await until(lambda: _async(stack.slack.messages(dm)))
        assert "2 replies to *Open day* wait for an answer" in str(told.blocks)
        assert f"<#{CAMPAIGNS}>" in told.text
        await sandbox.reply(AMIR, ONE, "Is it free?")
        await until(lambda: _async(digests(stack, ts, "3 wait for an answer")))
        await asyncio.sleep(0.5)
        assert len(stack.slack.messages(dm)) == 1  # told once for the burst
