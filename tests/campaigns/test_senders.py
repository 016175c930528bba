"""Sender numbers: choosing them for a campaign, and the stored list kept in step with settings."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from campaigns.errors import InputError
from campaigns.models import AuditEntry
from campaigns.senders import SenderMode, choose_senders, messages_per_second
from campaigns.service import Context, sync_sender_numbers
from tests.conftest import make_settings


async def test_sync_adds_updates_and_disables(ctx: Context) -> None:
    rows = await sync_sender_numbers(ctx)
    assert [(r.phone, r.mps, r.enabled) for r in rows] == [
        ("+14155550100", 5, True),
        ("+14155550101", 5, True),
        ("+14155550102", 10, True),
    ]
    changed = Context(
        ctx.db, make_settings(SENDER_NUMBERS="+14155550100:8,+14155550103"), ctx.clock
    )
    rows = await sync_sender_numbers(changed)
    assert [(r.phone, r.mps, r.enabled) for r in rows] == [
        ("+14155550100", 8, True),
        ("+14155550101", 5, False),
        ("+14155550102", 10, False),
        ("+14155550103", 1, True),
    ]
    await sync_sender_numbers(changed)  # a repeat changes nothing: the audit counts below stay
    async with ctx.db.read() as session:
        actions = list(
            (await session.execute(select(AuditEntry.action).order_by(AuditEntry.id))).scalars()
        )
    assert actions.count("sender.add") == 4
    assert actions.count("sender.update") == 1
    assert actions.count("sender.disable") == 2


def test_choose_one_several_all_or_the_messaging_service() -> None:
    settings = make_settings(
        TWILIO_MESSAGING_SERVICE_SID="MG" + "0" * 32, TWILIO_MESSAGING_SERVICE_MPS=30
    )
    one = choose_senders(settings, ["+1 415-555-0100"])
    assert (one.mode, one.numbers) == (SenderMode.NUMBER, ("+14155550100",))
    pool = choose_senders(settings, ["+14155550100", "+14155550102", "+14155550100"])
    assert (pool.mode, pool.numbers) == (SenderMode.POOL, ("+14155550100", "+14155550102"))
    assert messages_per_second(settings, pool) == 15
    everyone = choose_senders(settings, ["all"])
    assert messages_per_second(settings, everyone) == 20
    service = choose_senders(settings, ["MG" + "0" * 32])
    assert (service.mode, messages_per_second(settings, service)) == (SenderMode.SERVICE, 30)
    with pytest.raises(InputError, match="Choose the number to send from"):
        choose_senders(settings, [])


def test_the_only_number_is_the_default() -> None:
    settings = make_settings(SENDER_NUMBERS="+14155550100:3")
    choice = choose_senders(settings, None)
    assert (choice.mode, choice.numbers) == (SenderMode.NUMBER, ("+14155550100",))
