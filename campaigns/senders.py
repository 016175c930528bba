"""Which configured numbers a campaign sends from, and how fast they may send together."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from campaigns.errors import InputError
from campaigns.settings import Settings

ALL_NUMBERS = "all"


class SenderMode(StrEnum):
    NUMBER = "number"  # one number
    POOL = "pool"  # several numbers share the load; each recipient sticks to one
    SERVICE = "service"  # a Twilio Messaging Service picks the number


@dataclass(frozen=True, slots=True)
class SenderChoice:
    mode: SenderMode
    numbers: tuple[str, ...]  # empty for SERVICE


def _configured(settings: Settings) -> str:
    phones = ", ".join(settings.sender_phones) or "none"
    return f"the configured numbers are: {phones}"


def choose_senders(
    settings: Settings, numbers: Sequence[str] | None, *, field: str = "from_number"
) -> SenderChoice:
    """Resolve what the person asked for (numbers, "all", or a Messaging Service SID)."""
    wanted = [n.strip() for n in numbers or () if n and n.strip()]
    service_sid = settings.TWILIO_MESSAGING_SERVICE_SID
    if not wanted:
        if len(settings.sender_phones) == 1:
            return SenderChoice(SenderMode.NUMBER, settings.sender_phones)
        if service_sid and not settings.sender_phones:
            return SenderChoice(SenderMode.SERVICE, ())
        raise InputError(f"Choose the number to send from: {_configured(settings)}.", field=field)
    if wanted == [ALL_NUMBERS]:
        if not settings.sender_phones:
            raise InputError("No sender numbers are configured (SENDER_NUMBERS).", field=field)
        mode = SenderMode.POOL if len(settings.sender_phones) > 1 else SenderMode.NUMBER
        return SenderChoice(mode, settings.sender_phones)
    if service_sid and wanted == [service_sid]:
        return SenderChoice(SenderMode.SERVICE, ())
    compact = [n.replace(" ", "").replace("-", "") for n in wanted]
    unknown = [n for n in compact if n not in settings.sender_phones]
    if unknown:
        raise InputError(
            f"{', '.join(unknown)} is not one of your sender numbers: {_configured(settings)}.",
            field=field,
        )
    unique = tuple(dict.fromkeys(compact))
    return SenderChoice(SenderMode.POOL if len(unique) > 1 else SenderMode.NUMBER, unique)


def messages_per_second(settings: Settings, choice: SenderChoice) -> int:
    """Segments per second the chosen senders may send, all together."""
    if choice.mode is SenderMode.SERVICE:
        return settings.TWILIO_MESSAGING_SERVICE_MPS
    # A number since removed from SENDER_NUMBERS is assumed to have the default 1 MPS.
    return sum(sender.mps if (sender := settings.sender(phone)) else 1 for phone in choice.numbers)
