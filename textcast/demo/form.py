"""`/sms new` typed in `textcast demo --keep-running`: the form Textcast opens in the Slack
stand-in, filled in at the terminal a question at a time, submitted as the same signed
view_submission Slack sends, then the preview and Confirm, as in Slack."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.blocks.compose import (
    CHECKING,
    COMPOSE,
    CONSENT,
    FILE,
    MESSAGE,
    NAME,
    PASTE,
    SCHEDULE,
    SEND_AT,
    SEND_NOW,
    SEND_TIME,
    SENDER,
    WHEN,
)
from bot.blocks.preview import CONFIRM, CONFIRM_ANYWAY, PREVIEW
from textcast.demo.person import Person, StuckError, until
from textcast.demo.scenario import view_text

Ask = Callable[[str], Awaitable[str | None]]  # a question; the line typed, None at end of input
Say = Callable[[str], None]

# Which question answers each field, to ask it again when Textcast refuses that field.
QUESTION_OF = {NAME: NAME, SENDER: SENDER, PASTE: "recipients", FILE: "recipients",
               MESSAGE: MESSAGE, WHEN: WHEN, SEND_AT: WHEN, SEND_TIME: WHEN,
               CONSENT: CONSENT}  # fmt: skip
MODAL_SECONDS = 15.0  # Textcast opens a modal within Slack's 3 s; a loaded machine gets more
PREVIEW_SECONDS = 60.0  # a large CSV is read and checked before the preview
CLOSED: dict[str, Any] = {"callback_id": ""}  # no modal open any more


class InputEnded(Exception):
    """The person ended the input (Ctrl-D) in the middle of the form."""


@dataclass
class Answers:
    """What the person typed, kept to offer again when the form comes back with a problem."""

    name: str = ""
    sender: int = 0  # index in the form's options
    recipients: str = ""  # numbers, or the path of a CSV file
    message: str = ""
    when: str = SEND_NOW  # "now", or "YYYY-MM-DD HH:MM" in the person's zone
    consent: bool = False


class ComposeAtTerminal:
    def __init__(self, person: Person, ask: Ask, say: Say) -> None:
        self.person = person
        self._ask = ask
        self.say = say
        self.answers = Answers()

    async def run(self, before: dict[str, Any] | None) -> None:
        """After `/sms new` was sent (`before`: the modal on top until then, if any): the form,
        the preview and Confirm, or why not."""
        view = await self.person.new_modal(before, MODAL_SECONDS)
        if view["callback_id"] != COMPOSE:  # e.g. not allowed to create campaigns
            self._show(view)
            return
        self.say("The form Textcast opened in Slack (New SMS campaign), a question at a time;")
        self.say("press Enter to keep what is in [brackets], Ctrl-D to leave it.")
        try:
            shown = await self._fill_until_preview(view)
            if shown is not None:
                await self._confirm(shown)
        except InputEnded:
            self.say("\nLeft the form; nothing was sent.")

    async def _fill_until_preview(self, view: dict[str, Any]) -> dict[str, Any] | None:
        """The preview; None when Textcast answered something else (already shown)."""
        every = list(dict.fromkeys(QUESTION_OF.values()))
        questions = every
        while True:
            for question in questions:
                await self._question(question, view)
            errors = await self.person.submit(view, await self._values(view))
            if errors:  # shown under their fields in Slack: ask only those again
                self.say("Textcast refused the form:")
                for block_id, problem in errors.items():
                    self.say(f"  {_label(view, block_id)}: {problem}")
                refused = {QUESTION_OF.get(block_id, "") for block_id in errors}
                questions = every if "" in refused else [q for q in every if q in refused]
                continue
            following = await self._after(view)
            if following is not None and following["callback_id"] == COMPOSE:
                self.say(_warning(following))  # the form again, with what to fix on top
                view, questions = following, every
                continue
            return following if following and following["callback_id"] == PREVIEW else None

    async def _after(self, submitted: dict[str, Any]) -> dict[str, Any] | None:
        """The view that follows a submission once Textcast has checked it (shown unless it
        is the form or the preview); None when the modal was closed."""

        async def settled() -> dict[str, Any] | None:
            top = await self.person.top_modal()
            if top is None:
                return CLOSED  # nothing more to wait for
            if top["callback_id"] == CHECKING or top["hash"] == submitted["hash"]:
                return None
            return top

        found = await until(settled, "Textcast's answer", PREVIEW_SECONDS)
        if found is CLOSED:
            self.say("Textcast closed the window.")
            return None
        if found["callback_id"] not in (COMPOSE, PREVIEW):
            self._show(found)
        return dict(found)

    async def _confirm(self, preview: dict[str, Any]) -> None:
        self.say("")
        self.say(view_text(preview))
        button = _confirm_button(preview)
        dialog = button.get("confirm") or {}
        if dialog.get("text"):
            self.say(dialog["text"]["text"])
        if not await self._yes(f"{button['text']['text']}? (y/n) "):
            self.say("Not sent: the campaign stays a draft.")
            return
        await self.person.click_in_modal(preview, button["action_id"])
        following = await self._after(preview)
        if following is not None and following["callback_id"] == PREVIEW:
            self.say(_warning(following))  # not sent, and why

    def _show(self, view: dict[str, Any]) -> None:
        title = (view.get("title") or {}).get("text", "")
        self.say(f"{title}: {view_text(view)}" if title else view_text(view))

    # -- the questions

    async def ask(self, question: str, default: str = "") -> str:
        typed = await self._ask(f"{question}{f' [{default}]' if default else ''}: ")
        if typed is None:
            raise InputEnded
        return typed.strip() or default

    async def _yes(self, question: str) -> bool:
        while True:
            typed = await self._ask(question)
            if typed is None:
                raise InputEnded
            if typed.strip().lower() in ("y", "yes", "n", "no"):
                return typed.strip().lower().startswith("y")

    async def _question(self, question: str, view: dict[str, Any]) -> None:
        a = self.answers
        if question == NAME:
            a.name = await self._required("Campaign name", a.name)
        elif question == SENDER:
            a.sender = await self._sender(view)
        elif question == "recipients":
            a.recipients = await self._required(
                "Recipients: numbers separated by commas, or the path of a CSV file", a.recipients
            )
        elif question == MESSAGE:
            a.message = await self._required(
                "Message, one line ({{column}} takes each recipient's value from a CSV column)",
                a.message,
            )
        elif question == WHEN:
            a.when = await self._when(view)
        elif question == CONSENT:
            a.consent = await self._yes(
                "Did everyone on the list agree to receive texts from you? (y/n) "
            )

    async def _required(self, question: str, default: str) -> str:
        while not (typed := await self.ask(question, default)):
            pass
        return typed

    async def _sender(self, view: dict[str, Any]) -> int:
        options = _element(view, SENDER).get("options") or []
        if len(options) < 2:
            return 0
        self.say("Send from:")
        for number, option in enumerate(options, 1):
            self.say(f"  {number}. {option['text']['text']}")
        while True:
            typed = await self.ask("Number of your choice", str(self.answers.sender + 1))
            if typed.isdigit() and 1 <= int(typed) <= len(options):
                return int(typed) - 1

    async def _when(self, view: dict[str, Any]) -> str:
        zone = _label(view, SEND_TIME).rpartition("(")[2].rstrip(")") or "UTC"
        while True:
            typed = await self.ask(
                f"When: now, or a date and time in {zone} (YYYY-MM-DD HH:MM, 15 minutes to "
                "7 days ahead)",
                self.answers.when,
            )
            if typed.lower() == SEND_NOW or _date_and_time(typed) is not None:
                return typed.lower() if typed.lower() == SEND_NOW else typed

    async def _values(self, view: dict[str, Any]) -> dict[str, Any]:
        """The answers as the form's inputs hold them (the rest left as Textcast filled them)."""
        a = self.answers
        options = _element(view, SENDER).get("options") or []
        values: dict[str, Any] = {NAME: a.name, MESSAGE: a.message}
        if options:
            values[SENDER] = options[min(a.sender, len(options) - 1)]["value"]
        file = await asyncio.to_thread(_read_file, a.recipients)
        if file is not None:  # read now: Slack takes a file when it is picked
            upload = await self.person.upload(*file)
            values.update({FILE: [upload], PASTE: ""})
        else:
            values.update({PASTE: a.recipients, FILE: []})
        moment = _date_and_time(a.when)
        if moment is None:
            values.update({WHEN: SEND_NOW, SEND_AT: None, SEND_TIME: None})
        else:
            values.update({WHEN: SCHEDULE, SEND_AT: f"{moment:%Y-%m-%d}",
                           SEND_TIME: f"{moment:%H:%M}"})  # fmt: skip
        values[CONSENT] = ["yes"] if a.consent else None
        return values


def _read_file(typed: str) -> tuple[str, bytes] | None:
    """The name and bytes of the file `typed` names; None when it names none (numbers)."""
    path = Path(typed).expanduser()
    try:
        return (path.name, path.read_bytes()) if path.is_file() else None
    except OSError:
        return None


def _date_and_time(typed: str) -> datetime | None:
    try:
        return datetime.strptime(typed.strip(), "%Y-%m-%d %H:%M")
    except ValueError:
        return None


def _block(view: dict[str, Any], block_id: str) -> dict[str, Any]:
    return next((b for b in view.get("blocks") or [] if b.get("block_id") == block_id), {})


def _element(view: dict[str, Any], block_id: str) -> dict[str, Any]:
    return dict(_block(view, block_id).get("element") or {})


def _label(view: dict[str, Any], block_id: str) -> str:
    return str((_block(view, block_id).get("label") or {}).get("text") or block_id)


def _warning(view: dict[str, Any]) -> str:
    """The problem a view shows on top (the first section), in plain text."""
    first = next((b for b in view.get("blocks") or [] if b.get("type") == "section"), None)
    return view_text({"blocks": [first]}) if first else "Textcast did not take it."


def _confirm_button(preview: dict[str, Any]) -> dict[str, Any]:
    for block in preview.get("blocks") or []:
        for element in block.get("elements") or []:
            if element.get("action_id") in (CONFIRM, CONFIRM_ANYWAY):
                return dict(element)
    raise StuckError("the preview has no Confirm button")
