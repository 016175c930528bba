"""The campaign the demo plays, step by step, and the counts it must end with.

A dental clinic texts 50 patients from a CSV export: three rows are not numbers, one patient is
listed twice, one asked by phone not to be texted, one phone is switched off. Alice opts the
phone-call patient out, sends the campaign from Slack, one patient texts STOP, one asks a
question, and Alice answers it from the thread.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import aiohttp

from bot.blocks.actions import REPLY_TO_TEXT
from bot.blocks.compose import ALL_NUMBERS, COMPOSE
from bot.blocks.conversation import REPLY_VIEW
from bot.blocks.preview import CONFIRM, PREVIEW
from sandbox.slack import blocks as block_kit
from sandbox.slack.workspace import Workspace
from textcast.demo.person import Person, StuckError, until, with_button
from textcast.demo.screen import Screen

SENDERS = "+14155550100:3,+14155550101:3"  # sandbox numbers; 6 a second keeps it under a minute
CSV_NAME = "riverside-patients.csv"
MESSAGE = (
    "Hi {{first_name}}, Riverside Dental here: your check-up is on {{appointment}}. "
    "Reply with any question, or STOP to opt out."
)
ASKED_BY_PHONE = "+15105550137"  # Ruby Price: opted out by hand before the campaign
SWITCHED_OFF = "+15105550117"  # Diego Lopez: the carrier reports 30003
SAYS_STOP = "+15105550115"  # Tom Reid
ASKS = "+16285550110"  # Sarah Chen
QUESTION = "Can I bring my son along to mine?"
ANSWER = "Of course! We'll see you both on Monday at 9:30."
HELP_TEXT = "Riverside Dental reminders. Call (415) 555-0199. Reply STOP to stop."


@dataclass(frozen=True)
class Outcome:
    """What the campaign ended with, as the API and the Twilio stand-in report it."""

    total: int
    delivered: int
    failed: int
    pending: int
    cancelled: int
    failures: dict[str, int]  # Twilio's error code, or Textcast's reason, -> recipients
    replies: int  # texts that answered the campaign
    opt_outs: int  # STOPs by text
    answer_reached: bool  # Alice's answer from Slack reached the handset, once
    duplicates: int  # numbers that got one campaign message more than once
    status: str = "done"
    final_summary: bool = True  # the summary says every receipt is in


EXPECTED = Outcome(
    total=46,  # 50 rows - 3 that are not numbers - 1 duplicate
    delivered=44,
    failed=2,
    pending=0,
    cancelled=0,
    failures={"opted_out": 1, "30003": 1},
    replies=1,
    opt_outs=1,
    answer_reached=True,
    duplicates=0,
)


def differences(seen: Outcome, expected: Outcome = EXPECTED) -> list[str]:
    """Each way `seen` differs from `expected`, in words; empty when the demo did its job."""
    return [
        f"{name}: expected {want!r}, got {got!r}"
        for name in expected.__dataclass_fields__
        if (want := getattr(expected, name)) != (got := getattr(seen, name))
    ]


def sample_csv() -> bytes:
    return resources.files("textcast.demo").joinpath("recipients.csv").read_bytes()


@dataclass
class Twilio:
    """The handsets on the Twilio stand-in."""

    http: aiohttp.ClientSession
    url: str

    async def messages(self, to: str | None = None) -> list[dict[str, Any]]:
        params = {"to": to} if to else {}
        async with self.http.get(f"{self.url}/sandbox/messages", params=params) as answer:
            answer.raise_for_status()
            found = (await answer.json())["messages"]
        return [m for m in found if m["direction"] != "inbound"]

    async def delivered_to(self, phone: str) -> dict[str, Any] | None:
        found = [m for m in await self.messages(phone) if m["status"] == "delivered"]
        return found[0] if found else None

    async def text(self, handset: str, to: str, body: str) -> None:
        data = {"From": handset, "To": to, "Body": body}
        async with self.http.post(f"{self.url}/sandbox/reply", json=data) as answer:
            answer.raise_for_status()

    async def configure_carrier(self) -> None:
        carrier = {
            "step_delay": 0.4,  # queued, sent, delivered: a receipt a second or so after sending
            "recipient_failures": {SWITCHED_OFF: {"code": 30003}},
        }
        async with self.http.post(f"{self.url}/sandbox/carrier", json=carrier) as answer:
            answer.raise_for_status()

    async def duplicates(self) -> int:
        async with self.http.get(f"{self.url}/sandbox/summary") as answer:
            return len((await answer.json())["duplicates"])


@dataclass
class Api:
    http: aiohttp.ClientSession
    url: str
    key: str

    async def campaign(self, campaign_id: str) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.key}"}
        url = f"{self.url}/v1/sms/campaigns/{campaign_id}?recipients_limit=100"
        async with self.http.get(url, headers=headers) as answer:
            answer.raise_for_status()
            return dict(await answer.json())


@dataclass
class Scenario:
    alice: Person
    twilio: Twilio
    api: Api
    screen: Screen
    campaign_id: str = ""
    _watching: asyncio.Task[None] | None = field(default=None, repr=False)

    async def play(self) -> Outcome:
        self._watching = asyncio.create_task(self._watch())
        try:
            await self._prepare()
            await self._compose_and_confirm()
            await self._while_it_sends()
            return await self._outcome()
        finally:
            self._watching.cancel()
            with contextlib.suppress(aiohttp.ClientError):
                self.screen.show(await self.alice.sees())

    async def _watch(self) -> None:
        """Keep the screen on what Alice sees, as it changes."""
        while True:
            try:
                self.screen.show(await self.alice.sees())
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.25)

    async def _prepare(self) -> None:
        await self.twilio.configure_carrier()
        self.screen.step(
            f"Ruby Price phoned to say no more texts: Alice types /sms optout add {ASKED_BY_PHONE}"
        )
        await self.alice.command(f"optout add {ASKED_BY_PHONE}")
        await until(self._opt_out_confirmed, "the opt-out's confirmation", 15)

    async def _opt_out_confirmed(self) -> bool:
        return "opted out" in (await self.alice.sees()).lower()

    async def _compose_and_confirm(self) -> None:
        self.screen.step(
            "Alice types /sms new and fills in the form with the clinic's CSV export (50 rows)"
        )
        await self.alice.command("new")
        compose = await self.alice.modal(COMPOSE)
        upload = await self.alice.upload(CSV_NAME, sample_csv())
        values = {
            "name": "Check-up reminders",
            "sender": ALL_NUMBERS,
            "file": [upload],
            "message": MESSAGE,
            "when": "now",
            "consent": ["yes"],
        }
        errors = await self.alice.submit(compose, values)
        if errors:
            raise StuckError(f"the form was refused: {errors}")
        preview = await self.alice.modal(PREVIEW, timeout=30)
        self.campaign_id = preview["blocks"][-1]["elements"][0]["value"]
        self.screen.block("The preview Alice checks:", view_text(preview))
        await asyncio.sleep(self.screen.reading_pause)
        self.screen.close()
        self.screen.step(
            "Preview: 46 recipients, 3 rows left out, 1 duplicate, 1 opted out. Alice presses Confirm"
        )
        await self.alice.click_in_modal(preview, CONFIRM)

    async def _while_it_sends(self) -> None:
        self.screen.step("The worker sends, paced at 3 messages a second on each of 2 numbers")
        try:
            # A group: a phone that gets stuck stops the rest, and so does a cancel.
            async with asyncio.TaskGroup() as phones:
                phones.create_task(self._handset_says_stop())
                phones.create_task(self._handset_asks_and_alice_answers())
                await until(self._done, "the campaign to finish", 90)
        except ExceptionGroup as failed:
            raise failed.exceptions[0] from None
        await until(self._summary_is_final, "the summary's last delivery receipt", 60)

    async def _handset_says_stop(self) -> None:
        got = await until(lambda: self.twilio.delivered_to(SAYS_STOP), "Tom's message", 60)
        self.screen.step("Tom Reid's phone gets the message; he texts back STOP")
        await self.twilio.text(SAYS_STOP, got["from"], "STOP")

    async def _handset_asks_and_alice_answers(self) -> None:
        got = await until(lambda: self.twilio.delivered_to(ASKS), "Sarah's message", 60)
        self.screen.step(f'Sarah Chen texts back: "{QUESTION}"')
        await self.twilio.text(ASKS, got["from"], QUESTION)

        async def shown() -> dict[str, Any] | None:
            return with_button(await self.alice.messages(), REPLY_TO_TEXT, QUESTION)

        reply = await until(shown, "Sarah's text in the campaign's thread", 30)
        self.screen.step("Her text lands in the campaign's thread; Alice presses Reply and answers")
        await self.alice.click(reply, REPLY_TO_TEXT)
        modal = await self.alice.modal(REPLY_VIEW)
        await self.alice.submit(modal, {"reply": ANSWER})
        await until(self._answer_reached, "Alice's answer to reach Sarah's phone", 30)
        self.screen.step("Sarah's phone gets Alice's answer")

    async def _answer_reached(self) -> bool:
        return any(m["body"] == ANSWER and m["status"] == "delivered"
                   for m in await self.twilio.messages(ASKS))  # fmt: skip

    async def _done(self) -> bool:
        return (await self.api.campaign(self.campaign_id))["status"] == "done"

    async def _summary_is_final(self) -> bool:
        seen = await self.alice.sees()
        return "Final:" in seen and "1 reply" in seen and "1 opt-out" in seen

    async def _outcome(self) -> Outcome:
        detail = await self.api.campaign(self.campaign_id)
        failures = Counter(
            str(r["error_code"] or r["error_reason"])
            for r in detail["recipients"]
            if r["status"] in ("failed", "undelivered", "sent")
        )
        meanings = Counter(text["meaning"] for text in detail["replies"])
        answers = [m for m in await self.twilio.messages(ASKS) if m["body"] == ANSWER]
        seen = await self.alice.sees()
        return Outcome(
            total=detail["total_count"],
            delivered=detail["delivered_count"],
            failed=detail["failed_count"],
            pending=detail["pending_count"],
            cancelled=detail["cancelled_count"],
            failures=dict(failures),
            replies=meanings["reply"],
            opt_outs=meanings["opt_out"],
            answer_reached=[m["status"] for m in answers] == ["delivered"],
            duplicates=await self.twilio.duplicates(),
            status=detail["status"],
            final_summary="Final:" in seen,
        )


def view_text(view: dict[str, Any]) -> str:
    """A modal as the stand-in renders it in plain text."""
    return "\n".join(block_kit.render(view.get("blocks") or [], Workspace()))
