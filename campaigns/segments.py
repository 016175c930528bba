"""How many SMS parts a message body costs, and in which encoding it travels.

A body made only of GSM 03.38 characters is sent as GSM-7: 160 septets in one part, 153 per part
once it is split (the user data header takes the rest), with the extension characters costing two
septets each (an escape and the character). Any other character makes the whole body UCS-2: 70
UTF-16 code units in one part, 67 per part once split. A part never ends between an escape and its
character, nor between the two halves of a surrogate pair, so a split can leave a part one unit
short; counting fills parts greedily for that reason instead of dividing.

This runs once per recipient of a campaign, so the common case (a short GSM-7 body) is one regular
expression scan and a length.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

Encoding = Literal["GSM-7", "UCS-2"]

# The GSM 03.38 default alphabet, without the escape (0x1B), which is not a character of its own.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table: each of these is sent as an escape followed by the character.
GSM7_EXTENDED = frozenset("\f^{}\\[~]|€")

GSM7_SINGLE = 160
GSM7_MULTI = 153
UCS2_SINGLE = 70
UCS2_MULTI = 67

# Measured faster than str.translate or frozenset.issuperset on typical bodies, and for a pure
# GSM-7 body it returns an empty list, which is all the hot path needs to know.
_NOT_BASIC = re.compile("[^" + re.escape("".join(sorted(GSM7_BASIC))) + "]")
_EXTENDED = re.compile("[" + re.escape("".join(sorted(GSM7_EXTENDED))) + "]")
_HIGH_SURROGATE_BYTES = range(0xD8, 0xDC)


@dataclass(frozen=True, slots=True)
class SegmentInfo:
    encoding: Encoding
    segments: int  # SMS parts Twilio will bill
    units: int  # septets for GSM-7 (extended chars count 2), UTF-16 code units for UCS-2
    ucs2_chars: tuple[str, ...]  # distinct characters that forced UCS-2, in order; () for GSM-7


def count_segments(text: str) -> SegmentInfo:
    """Encoding, billed parts and size of one message body."""
    outside_basic = _NOT_BASIC.findall(text)
    if not outside_basic:
        units = len(text)
        if units <= GSM7_SINGLE:
            return _GSM7_SINGLE_PART[units]
        return SegmentInfo("GSM-7", -(-units // GSM7_MULTI), units, ())
    if GSM7_EXTENDED.issuperset(outside_basic):
        return _gsm7_with_extended(text, len(text) + len(outside_basic))
    if GSM7_EXTENDED.isdisjoint(outside_basic):
        forcing = tuple(dict.fromkeys(outside_basic))
    else:
        forcing = tuple(dict.fromkeys(c for c in outside_basic if c not in GSM7_EXTENDED))
    return _ucs2(text, forcing)


def _gsm7_with_extended(text: str, units: int) -> SegmentInfo:
    if units <= GSM7_SINGLE:
        return _GSM7_SINGLE_PART[units]
    # Septet offset of each escape: the character's own offset plus the escapes before it.
    escapes = {match.start() + before for before, match in enumerate(_EXTENDED.finditer(text))}
    return SegmentInfo("GSM-7", _fill_parts(units, escapes.__contains__, GSM7_MULTI), units, ())


def _ucs2(text: str, forcing: tuple[str, ...]) -> SegmentInfo:
    # surrogatepass so that a lone surrogate (which Python strings can hold) is counted, not fatal.
    encoded = text.encode("utf-16-le", "surrogatepass")
    units = len(encoded) // 2
    if units <= UCS2_SINGLE:
        return SegmentInfo("UCS-2", 1, units, forcing)
    if units == len(text):  # no surrogate pairs, so no part boundary can move
        return SegmentInfo("UCS-2", -(-units // UCS2_MULTI), units, forcing)
    segments = _fill_parts(units, lambda i: encoded[2 * i + 1] in _HIGH_SURROGATE_BYTES, UCS2_MULTI)
    return SegmentInfo("UCS-2", segments, units, forcing)


def _fill_parts(units: int, opens_pair: Callable[[int], bool], per_part: int) -> int:
    """Parts needed when a part may not end on a unit that opens a two-unit pair.

    `opens_pair(i)` says whether unit i is the first half of a pair (an escape, a high surrogate);
    when the last unit of a full part is one, the pair moves whole to the next part.
    """
    parts = 1
    start = 0
    while units - start > per_part:
        end = start + per_part
        if opens_pair(end - 1):
            end -= 1
        start = end
        parts += 1
    return parts


# Most bodies are one GSM-7 part, and the answer then depends on the length alone; sharing these
# (they are immutable) saves building a frozen dataclass per recipient.
_GSM7_SINGLE_PART = tuple(SegmentInfo("GSM-7", 1, units, ()) for units in range(GSM7_SINGLE + 1))
