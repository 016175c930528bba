"""What a recipient's text means: an opt-out, an opt-in, a request for help, or a reply.

A keyword counts only as the whole message, in any case, with surrounding spaces and punctuation
ignored ("Stop.", " STOP! " and "stop" are; "Stop texting me" is a reply a person reads). Twilio's
Advanced Opt-Out (on a Messaging Service) says what it matched in `OptOutType`, which wins: the
team may have added keywords there that Textcast does not know. Teams texting in other languages
add their own opt-out words with the EXTRA_OPT_OUT_KEYWORDS setting.
"""

from __future__ import annotations

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
