"""What a recipient's text means: an opt-out, an opt-in, a request for help, or a reply.

A keyword counts only as the whole message, in any case, with surrounding spaces and punctuation
ignored ("Stop.", " STOP! " and "stop" are; "Stop texting me" is a reply a person reads). Twilio's
Advanced Opt-Out (on a Messaging Service) says what it matched in `OptOutType`, which wins: the
team may have added keywords there that Textcast does not know. Teams texting in other languages
add their own opt-out words with the EXTRA_OPT_OUT_KEYWORDS setting.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

OPT_OUT_KEYWORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
)
OPT_IN_KEYWORDS = frozenset({"START", "YES", "UNSTOP"})
HELP_KEYWORDS = frozenset({"HELP", "INFO"})
# Around the word, not inside it: "OPT-OUT" is not OPTOUT, as for Twilio.
MAX_KEYWORD = 32  # the column that keeps it
_AROUND = string.whitespace + string.punctuation + "¡¿…“”‘’«»"


class Meaning(StrEnum):
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"
    REPLY = "reply"


@dataclass(frozen=True, slots=True)
class Understood:
    meaning: Meaning
    keyword: str | None  # the word as matched ("STOP"), None for a reply


_OPT_OUT_TYPES = {"STOP": Meaning.OPT_OUT, "START": Meaning.OPT_IN, "HELP": Meaning.HELP}


def normalised_word(body: str) -> str:
    """The message as one upper-case word, without what surrounds it."""
    return unicodedata.normalize("NFKC", body).strip(_AROUND).upper()


def understand(
    body: str, opt_out_type: str | None = None, extra_opt_out: Iterable[str] = ()
) -> Understood:
    """What `body` means; `opt_out_type` is Twilio's OptOutType field when it sent one."""
    word = normalised_word(body)
    by_twilio = _OPT_OUT_TYPES.get((opt_out_type or "").strip().upper())
    if by_twilio is not None:
        return Understood(by_twilio, (word or str(opt_out_type).upper())[:MAX_KEYWORD])
    if word in OPT_OUT_KEYWORDS or word in {normalised_word(w) for w in extra_opt_out}:
        return Understood(Meaning.OPT_OUT, word)
    if word in OPT_IN_KEYWORDS:
        return Understood(Meaning.OPT_IN, word)
    if word in HELP_KEYWORDS:
        return Understood(Meaning.HELP, word)
    return Understood(Meaning.REPLY, None)


# A reply that is not a keyword but asks, in words, not to be texted: flagged for a person to
# decide (one click opts the number out), never acted on by itself. Looked for as phrases, so
# "stop by tomorrow" or "don't stop the reminders" are not flagged; "stop" alone with politeness
# around it ("please stop", "STOP NOW") is.
_POLITE = frozenset({"PLEASE", "PLS", "PLZ", "NOW", "IT", "THANKS", "THANK", "YOU", "OK", "JUST"})
_NEGATION = r"(?<!\bdon't )(?<!\bdont )(?<!\bdo not )(?<!\bnever )(?<!\bnot )(?<!\bnt )"
_ASKING_TO_STOP = re.compile(
    r"|".join(
        (
            _NEGATION + r"\b(stop|quit|cease)\s+(texting|messaging|sending|contacting|txting|"
            r"texts?|messages?|sms)\b",
            r"\bunsubscribe\b",
            r"\b(remove|delete|take)\s+(me|my\s+(number|details))\b.{0,20}\b(from|off)\b",
            r"\bremove\s+me\b",
            r"\bopt\s*-?\s*(me\s+)?out\b",
            r"\bno\s+more\s+(texts|messages|sms|txts)\b",
            r"\b(don'?t|do\s+not|never)\s+(text|message|contact|txt|sms)\s+(me|this\s+number)\b",
            r"\bleave\s+me\s+alone\b",
        )
    )
)


def asks_to_stop(body: str) -> bool:
    """Whether a reply asks, in words rather than a keyword, not to be texted again."""
    text = " ".join(unicodedata.normalize("NFKC", body).replace("’", "'").lower().split())
    words = [w.strip(_AROUND).upper() for w in text.split()]
    words = [w for w in words if w]
    if "STOP" in words and all(w == "STOP" or w in _POLITE for w in words):
        return True
    return bool(_ASKING_TO_STOP.search(text))
