"""Which configured numbers a campaign sends from, and how fast they may send together."""

from __future__ import annotations

import hashlib
import math
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
            raise InputError(
                "Textcast has no numbers to send from: ask whoever runs it to add one.", field=field
            )
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


def preferred_senders(phone: str, pool: Sequence[tuple[str, int]]) -> list[str]:
    """The pool's numbers, the recipient's sticky sender first, by weighted rendezvous hashing.

    Each (phone, number) pair draws a stable pseudo-random score scaled by the number's MPS, so a
    phone keeps its first choice across campaigns with the same pool, only the phones whose best
    score belonged to an added or removed number move, and each number comes first for a share of
    phones proportional to its MPS.
    """
    scored: list[tuple[float, str]] = []
    for sender, weight in pool:
        if weight <= 0:
            raise ValueError(f"{sender} has MPS {weight}: a sender's weight must be positive")
        scored.append((-weight / math.log(_unit_hash(phone, sender)), sender))
    # The number itself breaks ties, so the order never depends on the pool's order.
    scored.sort(key=lambda pair: (-pair[0], pair[1]))
    return [sender for _, sender in scored]


def sticky_sender(phone: str, pool: Sequence[tuple[str, int]]) -> str:
    """`preferred_senders(phone, pool)[0]`, without ordering the rest."""
    return StickyPicker(pool)(phone)


class StickyPicker:
    """`sticky_sender` for one pool, prepared once: a send loop asks it for every message, and
    with twenty numbers that is twenty hashes a message (the most CPU the loop spent on
    anything but requests, when it asked again each time a message was booked)."""

    def __init__(self, pool: Sequence[tuple[str, int]]) -> None:
        if not pool:
            raise ValueError("an empty pool has no sender")
        for sender, weight in pool:
            if weight <= 0:
                raise ValueError(f"{sender} has MPS {weight}: a sender's weight must be positive")
        self._pool = [(sender, weight, sender.encode()) for sender, weight in pool]

    def __call__(self, phone: str) -> str:
        # The same digest as _unit_hash's: the phone's part is hashed once, then copied.
        prefix = hashlib.blake2b(f"{phone}\x00".encode(), digest_size=8)
        best_score, best = -math.inf, ""
        for sender, weight, encoded in self._pool:
            digest = prefix.copy()
            digest.update(encoded)
            score = -weight / math.log(_unit(digest.digest()))
            if score > best_score or (score == best_score and sender < best):
                best_score, best = score, sender
        return best


def _unit_hash(phone: str, sender: str) -> float:
    """A stable number strictly between 0 and 1 (Python's `hash` changes with every process)."""
    return _unit(hashlib.blake2b(f"{phone}\x00{sender}".encode(), digest_size=8).digest())


def _unit(digest: bytes) -> float:
    # 53 bits, the most a float holds exactly: with 64 the largest draws would round to 1.0.
    return ((int.from_bytes(digest, "big") >> 11) + 0.5) / 2**53
