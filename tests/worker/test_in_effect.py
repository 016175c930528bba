"""Once a cancel or an opt-out is acknowledged to the person, no create for that campaign, or to
that number, reaches Twilio: a real arq worker, the twilio SDK and the stand-in, a fast campaign.

Each create is dated as it leaves the worker (it runs in this process), on the monotonic clock,
and compared with when the API's answer reached the test. The stand-in's own arrival times are
not used: in this same event loop, it may note a request that left before the answer after it.
"""

from __future__ import annotations

import asyncio

from campaigns.db import Database
from campaigns.service import get_campaign
from tests.worker.stack import Stack, people, recorded_departures, running_stack

COUNT = 600  # four seconds at the three numbers' 150 messages a second


async def sent_at_least(stack: Stack, count: int) -> int:
    sandbox = stack.twilio.sandbox
    async with asyncio.timeout(15):
        while len(sandbox.create_requests) < count:
            await asyncio.sleep(0.01)
    return len(sandbox.create_requests)


def _report(late: list[float]) -> str:
    return f"{len(late)} creates after the acknowledgement, the latest {max(late) * 1000:.0f} ms"


async def test_no_create_reaches_twilio_after_a_cancel_is_acknowledged(db: Database) -> None:
    async with running_stack(db) as stack, recorded_departures() as left:
        await stack.start_worker()
        cid = await stack.create(name="Fast", message_template="Hi {{n}}",
                                 recipients=people(COUNT), from_number="all")  # fmt: skip
        await sent_at_least(stack, 100)
        loop = asyncio.get_running_loop()
        asked = loop.time()
        answer = await stack.web.delete(f"/v1/sms/campaigns/{cid}", headers=stack.auth)
        assert answer.status == 200, await answer.text()
        acknowledged = loop.time()
        await asyncio.sleep(1.0)
        departures = [d.at for d in left]
        late = [at - acknowledged for at in departures if at > acknowledged]
        assert late == [], _report(late)
        assert len(departures) < COUNT, "everyone was sent before the cancel: it proves nothing"
        last = max(departures)
        print(f"cancel answered in {(acknowledged - asked) * 1000:.0f} ms; the last create "
              f"left {(acknowledged - last) * 1000:.0f} ms before")  # fmt: skip
        # Nobody is left half-way: cancelled, or handed to Twilio, once the worker has given back
        # what it held (on a busy machine that can take it more than the second above).
        await stack.twilio.sandbox.settled()
        halfway = await left_halfway(stack, cid)
        assert halfway == [], f"{len(halfway)} left half-way, e.g. {halfway[:3]}"


async def left_halfway(stack: Stack, cid: str) -> list[tuple[str, str]]:
    """Recipients neither cancelled nor handed to Twilio, after up to 10 s for the worker."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while True:
        detail = await get_campaign(stack.ctx, cid, recipients_limit=COUNT)
        halfway = [(r.phone, r.status) for r in detail.recipients
                   if not (r.status == "cancelled" or r.twilio_sid)]  # fmt: skip
        if not halfway or loop.time() > deadline:
            return halfway
        await asyncio.sleep(0.1)


async def test_no_create_to_a_number_reaches_twilio_after_its_opt_out_is_acknowledged(
    db: Database,
) -> None:
    async with running_stack(db) as stack, recorded_departures() as left:
        await stack.start_worker()
        everyone = people(COUNT)
        cid = await stack.create(name="Fast", message_template="Hi {{n}}",
                                 recipients=everyone, from_number="all")  # fmt: skip
        sent = await sent_at_least(stack, 100)
        # Numbers due over the next second and a half: whenever their opt-outs land (they queue
        # for the database), some are claimed, screened and waiting for their slots.
        numbers = [p["phone"] for p in everyone[sent + 10 : sent + 250 : 4]]
        loop = asyncio.get_running_loop()

        async def opt_out(phone: str) -> tuple[str, float]:
            answer = await stack.web.post(
                "/v1/sms/optouts", json={"phone": phone}, headers=stack.auth
            )
            assert answer.status in (200, 201), await answer.text()
            return phone, loop.time()

        acknowledged = dict(await asyncio.gather(*(opt_out(phone) for phone in numbers)))
        await stack.until_finished(cid, timeout=30)
        late = [
            d.at - acknowledged[d.to]
            for d in left
            if d.to in acknowledged and d.at > acknowledged[d.to]
        ]
        assert late == [], _report(late)
        before = [acknowledged[d.to] - d.at for d in left if d.to in acknowledged]
        if before:
            print(f"{len(before)} of the {len(numbers)} opted out were texted before their "
                  f"opt-outs were answered, the last {min(before) * 1000:.0f} ms before")  # fmt: skip
        detail = await get_campaign(stack.ctx, cid, recipients_limit=COUNT)
        stopped = [r for r in detail.recipients if r.phone in acknowledged]
        assert all(r.twilio_sid or r.error_reason == "opted_out" for r in stopped)
        assert any(r.error_reason == "opted_out" for r in stopped), "all sent: it proves nothing"


async def test_no_create_to_a_number_reaches_twilio_after_its_stop_is_answered(
    db: Database,
) -> None:
    async with running_stack(db, callbacks=True) as stack, recorded_departures() as left:
        sandbox = stack.twilio.sandbox
        sandbox.set_inbound_url(f"{stack.settings.PUBLIC_BASE_URL}/twilio/inbound")
        await stack.start_worker()
        everyone = people(COUNT)
        cid = await stack.create(name="Fast", message_template="Hi {{n}}",
                                 recipients=everyone, from_number="all")  # fmt: skip
        sent = await sent_at_least(stack, 100)
        numbers = [p["phone"] for p in everyone[sent + 10 : sent + 250 : 4]]
        ours = stack.settings.sender_phones[0]
        loop = asyncio.get_running_loop()

        async def stop(phone: str) -> tuple[str, float]:
            # Returns once Textcast has answered the webhook: Twilio's acknowledgement then goes.
            reply = await sandbox.reply(phone, ours, "STOP")
            assert reply.webhook is not None and reply.webhook.status == 200
            return phone, loop.time()

        answered = dict(await asyncio.gather(*(stop(phone) for phone in numbers)))
        await stack.until_finished(cid, timeout=30)
        late = [d.at - answered[d.to] for d in left if d.to in answered and d.at > answered[d.to]]
        assert late == [], _report(late)
        detail = await get_campaign(stack.ctx, cid, recipients_limit=COUNT)
        stopped = [r for r in detail.recipients if r.phone in answered]
        assert any(r.error_reason == "opted_out" for r in stopped), "all sent: it proves nothing"
