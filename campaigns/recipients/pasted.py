"""A plain list of numbers, as pasted: separated by commas, semicolons, tabs, spaces or newlines.

Spaces are the hard part: "+44 7700 900123" is one number, "+447700900123 +447700900456" two. A
piece is read whole first; only when that fails is it split on spaces, into the shortest runs of
words that are valid numbers.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator

from campaigns.recipients.phones import PhoneResult

Normalise = Callable[[str], PhoneResult]

_SEPARATORS = re.compile(r"[,;\t|]")
_BEFORE_PLUS = re.compile(r"\s+(?=\+)")  # a + only ever starts a number
_MAX_WORDS = 8  # "+44 (0) 77 00 90 01 23" is as spread out as numbers get


def pasted_pieces(text: str) -> Iterator[tuple[int, str]]:
    """Each piece between separators other than spaces, with its line number."""
    for number, line in enumerate(io.StringIO(text, newline=None), start=1):
        for piece in _SEPARATORS.split(line):
            piece = piece.strip().strip("\"'").strip()
            if piece:
                yield number, piece


def split_piece(
    piece: str, whole: PhoneResult, normalise: Normalise
) -> list[tuple[str, PhoneResult]]:
    """The numbers in a piece, given how it reads whole; spaces only split what does not."""
    if whole.e164 is not None or len(piece.split()) == 1:
        return [(piece, whole)]
    items: list[tuple[str, PhoneResult]] = []
    for part in _BEFORE_PLUS.split(piece):
        items += _split_words(part.split(), normalise)
    return items


def _split_words(words: list[str], normalise: Normalise) -> list[tuple[str, PhoneResult]]:
    """Runs of words that read as numbers; words between them that belong to none are kept together
    as one invalid item, so a mistyped "07700 90012" is reported as written, not word by word."""
    items: list[tuple[str, PhoneResult]] = []
    start = 0
    while start < len(words):
        found = _shortest_number(words, start, normalise)
        if found is not None:
            end, result = found
            items.append((" ".join(words[start:end]), result))
            start = end
            continue
        end = start + 1
        while end < len(words) and _shortest_number(words, end, normalise) is None:
            end += 1
        junk = " ".join(words[start:end])
        items.append((junk, normalise(junk)))
        start = end
    return items


def _shortest_number(
    words: list[str], start: int, normalise: Normalise
) -> tuple[int, PhoneResult] | None:
    for end in range(start + 1, min(len(words), start + _MAX_WORDS) + 1):
        result = normalise(" ".join(words[start:end]))
        if result.e164 is not None:
            return end, result
    return None
