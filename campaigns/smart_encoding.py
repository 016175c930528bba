"""Twilio's Smart Encoding: the look-alike characters a Messaging Service replaces in a body.

A Messaging Service with Smart Encoding (on by default for services created since 2017) turns
curly quotes, long dashes, odd spaces and other look-alikes into plain GSM-7 characters before it
stores and sends a message, when that leaves no character GSM-7 cannot carry (a body with an
emoji or a non-Latin letter is left as it is). So the body Twilio lists is not always the body
Textcast asked for, and anything that matches a listed message to a request must compare them
as Twilio would have changed them.

The table is Twilio's "List of characters replaced by Smart Encoding" (docs, Messaging Services),
as Twilio's own message-segment-calculator carries it, grouped here by what replaces them. It is pure text, so both
the worker (matching a lost answer's message) and the stand-in (playing a service) use this one
copy: they cannot drift apart, and a character added here is learnt by both.
"""

from __future__ import annotations

from campaigns.segments import count_segments

# Each run of characters is replaced, one by one, by the text on its right.
_REPLACED_BY: tuple[tuple[str, str], ...] = (
    # Double quotes.
    ("\u00ab\u00bb\u201c\u201d\u02ba\u02ee\u201f\u201e\u275d\u275e\u301d\u301e\uff02", '"'),
    # Single quotes, apostrophes, accents used as quotes.
    (
        "\u2018\u2019\u02bb\u02c8\u02bc\u02bd\u02b9\u201b\uff07\u00b4\u02ca\u0060\u02cb\u275b"
        "\u275c\u0313\u0314\ufe10\ufe11",
        "'",
    ),
    ("\u00f7\u29f8\u0337\u0338\u2044\u2215\uff0f", "/"),
    ("\u00bc", "1/4"),
    ("\u00bd", "1/2"),
    ("\u00be", "3/4"),
    ("\u29f9\u29f5\u20e5\ufe68\uff3c", "\\"),
    ("\u0332\uff3f\u2017", "_"),
    ("\u20d2\u20d3\u2223\uff5c\u23b8\u23b9\u23d0\u239c\u239f", "|"),
    # Dashes, hyphens, bullets.
    ("\u23bc\u23bd\u2015\ufe63\uff0d\u2010\u2043\u2014\u2013\u2022", "-"),
    ("\ufe6b\uff20", "@"),
    ("\ufe69\uff04", "$"),
    ("\u01c3\ufe15\ufe57\uff01", "!"),
    ("\u203c", "!!"),
    ("\ufe5f\uff03", "#"),
    ("\ufe6a\uff05", "%"),
    ("\ufe60\uff06", "&"),
    ("\u201a\u0326\ufe50\ufe51\uff0c\uff64\u3001", ","),
    ("\u2768\u276a\ufe59\uff08\u27ee\u2985", "("),
    ("\u2769\u276b\ufe5a\uff09\u27ef\u2986", ")"),
    (
        "\u204e\u2217\u229b\u2722\u2723\u2724\u2725\u2731\u2732\u2733\u273a\u273b\u273c\u273d"
        "\u2743\u2749\u274a\u274b\u29c6\ufe61\uff0a",
        "*",
    ),
    ("\u02d6\ufe62\uff0b", "+"),
    ("\u3002\ufe52\uff0e\uff61", "."),
    ("\u2026", "..."),
    ("\u02d0\u02f8\u2982\ua789\ufe13\uff1a", ":"),
    ("\u204f\ufe14\ufe54\uff1b", ";"),
    ("\ufe64\uff1c\u203a", "<"),
    ("\u0347\ua78a\ufe66\uff1d", "="),
    ("\ufe65\uff1e\u2039", ">"),
    ("\ufe16\ufe56\uff1f", "?"),
    ("\u02c6\u0302\uff3e\u1dcd", "^"),
    ("\u2774\ufe5b\uff5b", "{"),
    ("\u2775\ufe5c\uff5d", "}"),
    ("\uff3b", "["),
    ("\uff3d", "]"),
    ("\u02dc\u02f7\u0303\u0330\u0334\u223c\uff5e", "~"),
    # Spaces of every width, and the C1 controls that look like one.
    (
        "\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f"
        "\u3000\u2028\u2029\u0080\u008d\u0090\u009b\u009f",
        " ",
    ),
    # Invisible: zero-width characters and C0 controls GSM-7 has no room for.
    ("\u200b\u2060\ufeff\u0003\u0004\u0010\u0011\u0012\u0013\u0014\u0017\u0019", ""),
)
# Fullwidth digits and capitals, and the small capitals, stand for the plain ones.
_LOOK_ALIKE_LETTERS = {chr(0xFF10 + n): str(n) for n in range(10)} | {
    chr(0xFF21 + n): chr(ord("A") + n) for n in range(26)
}
_SMALL_CAPITALS = dict(
    zip(
        "\u1d00\u0299\u1d04\u1d05\u1d07\ua730\u0262\u029c\u026a\u1d0a\u1d0b\u029f\u1d0d\u0274"
        "\u1d0f\u1d18\u0280\ua731\u1d1b\u1d1c\u1d20\u1d21\u028f\u1d22",
        "ABCDEFGHIJKLMNOPRSTUVWYZ",  # no small capital Q or X in the table
        strict=True,
    )
)
SMART_ENCODING: dict[str, str] = (
    {char: plain for chars, plain in _REPLACED_BY for char in chars}
    | _LOOK_ALIKE_LETTERS
    | _SMALL_CAPITALS
)
_TABLE = str.maketrans(SMART_ENCODING)


def transliterated(text: str) -> str:
    """`text` with every character of the table replaced, whatever else it holds."""
    return text.translate(_TABLE)


def smart_encoded(text: str) -> str:
    """The body a Messaging Service with Smart Encoding stores for `text`: replaced when that
    makes it plain GSM-7, else unchanged (a character with no plain look-alike stays UCS-2, and
    Twilio then leaves the whole body alone)."""
    replaced = transliterated(text)
    if replaced == text or count_segments(replaced).encoding != "GSM-7":
        return text
    return replaced


def same_text(ours: str, listed: str) -> bool:
    """Whether `listed` (a body Twilio lists) can be the message Textcast asked for as `ours`.

    Both sides are compared after the table, so a body a service changed still matches, whether
    Twilio replaced its look-alikes or (with an emoji in it) kept them; and with runs of spaces
    made one, since the table's widths of space are where Twilio's own copies disagree. Looser
    is the safe side here: a miss resends a message someone already has.
    """
    return ours == listed or _comparable(ours) == _comparable(listed)


def _comparable(text: str) -> str:
    return " ".join(transliterated(text).split())
