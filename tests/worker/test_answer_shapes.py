"""Every shape Twilio (or what stands in front of it) answers a create in, through a real worker.

A refusal means the same whether it comes as Twilio's legacy body, as an RFC 9457 problem body
(the SDK raises another exception for it) or as a page that is not JSON (a proxy's: only its HTTP
status says anything). And a 2xx that names a SID made a message, whatever else in the answer
cannot be read, and whatever goes wrong in our own bookkeeping after it.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from campaigns.db import Database
from campaigns.service import get_campaign, opted_out_among
from campaigns.service.sending import FailureWindow
from campaigns.status import FINISHED
from tests.worker.stack import Stack, people, running_stack
from worker.engine import Driver

ONE = "+14155550100"
SENDERS = {ONE: 50.0}


async def _until_status(stack: Stack, campaign_id: str, wanted: set[str], timeout: float) -> str:
    async with asyncio.timeout(timeout):
        while True:
            status = (await get_campaign(stack.ctx, campaign_id)).view.campaign.status
            if status in wanted:
                return status
            await asyncio.sleep(0.05)


async def _run(stack: Stack, count: int, **faults: Any) -> str:
    stack.twilio.sandbox.set_faults(**faults)
    await stack.start_worker()
    return await stack.create(
        name="Shapes", message_template="Hi {{n}}", recipients=people(count), from_number=ONE
    )


@pytest.mark.parametrize("shape", ["problem", "legacy"])
async def test_21610_in_any_shape_records_the_opt_out_and_fails_the_recipient(
    db: Database, shape: str
) -> None:
    """Before: a problem body was an unknown outcome: no 21610 and no opt-out recorded, and the
    recipient was looked up, found absent, asked for again and refused again, never failed."""
    async with running_stack(db, senders=SENDERS) as stack:
        stopped = "+447400000001"
        await stack.twilio.sandbox.reply(stopped, ONE, "STOP")  # Twilio's own opt-out list
        cid = await _run(stack, 3, error_shape=shape)
        await _until_status(stack, cid, set(FINISHED), timeout=15)
        detail = await get_campaign(stack.ctx, cid, recipients_limit=10)
        refused = next(r for r in detail.recipients if r.phone == stopped)
        assert (refused.status, refused.error_code) == ("failed", 21610)
        assert "replied STOP" in (refused.error_reason or "")
        assert await opted_out_among(stack.ctx, [stopped]) == {stopped}
        assert stack.twilio.sandbox.lookups([stopped]) == 0  # never in doubt
        assert [r.phone for r in detail.recipients if r.status == "failed"] == [stopped]


@pytest.mark.parametrize(
    ("shape", "status", "code"),
    [("problem", 401, 20003), ("legacy", 401, 20003), ("html", 401, 20003), ("html", 403, 20003)],
)
async def test_an_account_refusal_in_any_shape_pauses_the_campaign(
    db: Database, shape: str, status: int, code: int
) -> None:
    """Before: a problem body was an unknown outcome (nothing paused; looked up, sent again), and
    a page that is not JSON failed the recipient with "Twilio error 401" and sent on."""
    async with running_stack(db, senders={ONE: 5.0}) as stack:
        cid = await _run(stack, 6, error_shape=shape, fail_next=1, fail_status=status,
                         fail_code=code)  # fmt: skip
        assert await _until_status(stack, cid, {"paused", *FINISHED}, timeout=15) == "paused"
        await asyncio.sleep(0.5)
        detail = await get_campaign(stack.ctx, cid, recipients_limit=10)
        assert "Twilio refused to send" in (detail.view.campaign.pause_reason or "")
        assert not [r for r in detail.recipients if r.status == "failed"]
        sent = len(stack.twilio.sandbox.messages())
        assert sum(r.status == "pending" for r in detail.recipients) == 6 - sent


@pytest.mark.parametrize("status", [400, 404, 422])
async def test_a_page_that_is_not_json_refuses_by_its_status(db: Database, status: int) -> None:
    """Before: the SDK's stand-in code (the HTTP status) was stored as Twilio's error code."""
    async with running_stack(db, senders=SENDERS) as stack:
        cid = await _run(stack, 3, error_shape="html", fail_next=1, fail_status=status)
        await _until_status(stack, cid, set(FINISHED), timeout=15)
        detail = await get_campaign(stack.ctx, cid, recipients_limit=10)
        (refused,) = [r for r in detail.recipients if r.status == "failed"]
        assert refused.error_code is None  # Twilio gave no code: none is made up
        assert f"HTTP {status}" in (refused.error_reason or "")
        assert len(stack.twilio.sandbox.messages()) == 2
        assert stack.twilio.sandbox.lookups([p["phone"] for p in people(3)]) == 0


async def test_a_page_that_is_not_json_with_429_is_retried_and_with_5xx_looked_up(
    db: Database,
) -> None:
    """429: surely not made, sent again after a backoff. 502: it may have been made, so it is
    looked up before anything else happens (here: found absent, then sent once)."""
    async with running_stack(db, senders=SENDERS) as stack:
        phones = [p["phone"] for p in people(3)]
        cid = await _run(stack, 3, error_shape="html", fail_next=2, fail_status=429)
        await _until_status(stack, cid, set(FINISHED), timeout=15)
        assert stack.twilio.sandbox.per_recipient() == dict.fromkeys(phones, 1)
        assert stack.twilio.sandbox.lookups(phones) == 0
        assert all(sid for sid in (await stack.stored_sids(cid)).values())

        others = [p["phone"] for p in people(3, start=10)]
        stack.twilio.sandbox.set_faults(fail_next=1, fail_status=502)
        again = await stack.create(name="Shapes 5xx", message_template="Hi {{n}}",
                                   recipients=people(3, start=10), from_number=ONE)  # fmt: skip
        await _until_status(stack, again, set(FINISHED), timeout=20)
        counts = stack.twilio.sandbox.per_recipient()
        assert {p: counts[p] for p in others} == dict.fromkeys(others, 1)
        assert stack.twilio.sandbox.lookups(others) >= 1  # the unknown one, before its resend


async def test_a_201_with_a_sid_and_odd_fields_is_submitted_never_looked_up(db: Database) -> None:
    """Before: int("abc") raised after the answer named the message, the send counted as an
    unknown outcome, and each was looked up in Twilio (a lookup that misses it resends it)."""
    async with running_stack(db, senders=SENDERS) as stack:
        phones = [p["phone"] for p in people(4)]
        cid = await _run(stack, 4, odd_next=4)
        await _until_status(stack, cid, set(FINISHED), timeout=15)
        sandbox = stack.twilio.sandbox
        assert sandbox.faults.injected["odd"] == 4
        assert sandbox.per_recipient() == dict.fromkeys(phones, 1)
        assert await stack.stored_sids(cid) == {m.to: m.sid for m in sandbox.messages()}
        assert sandbox.lookups(phones) == 0
        detail = await get_campaign(stack.ctx, cid, recipients_limit=10)
        assert all(r.error_reason is None for r in detail.recipients)


@pytest.mark.parametrize("broken", ["failure window", "outcome"])
async def test_a_bug_in_recording_a_submitted_message_keeps_its_sid(
    db: Database, monkeypatch: pytest.MonkeyPatch, broken: str
) -> None:
    """Our own bookkeeping fails right after Twilio answered with a SID: the failure-spike window
    raises, or recording the outcome does at its very start. Before: the SID was never recorded,
    the recipient stayed held, idle, and the campaign waited for its send loop's slice to end
    (10 minutes), then for a lookup to find the message (a lookup that missed it resends it)."""

    def bug(*_: object) -> None:
        raise RuntimeError(f"a bug in the {broken}")

    if broken == "failure window":
        monkeypatch.setattr(FailureWindow, "add", bug)
    else:
        monkeypatch.setattr(Driver, "_outcome", bug)
    async with running_stack(db, senders=SENDERS) as stack:
        phones = [p["phone"] for p in people(4)]
        cid = await _run(stack, 4)
        await _until_status(stack, cid, set(FINISHED), timeout=15)
        sandbox = stack.twilio.sandbox
        assert sandbox.per_recipient() == dict.fromkeys(phones, 1)
        assert await stack.stored_sids(cid) == {m.to: m.sid for m in sandbox.messages()}
        assert sandbox.lookups(phones) == 0
