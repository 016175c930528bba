import random
from dataclasses import FrozenInstanceError

import pytest

from campaigns.segments import GSM7_BASIC, GSM7_EXTENDED, SegmentInfo, count_segments

BASIC_TABLE = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
EXTENSION_TABLE = "\f^{}\\[~]|€"


def reference_count(text: str) -> tuple[str, int, int]:
    """Slow, obvious model: lay the body out unit by unit and cut parts greedily."""
    if all(c in BASIC_TABLE or c in EXTENSION_TABLE for c in text):
        encoding = "GSM-7"
        atoms = [2 if c in EXTENSION_TABLE else 1 for c in text]
        single, multi = 160, 153
    else:
        encoding = "UCS-2"
        atoms = [2 if ord(c) > 0xFFFF else 1 for c in text]
        single, multi = 70, 67
    units = sum(atoms)
    if units <= single:
        return encoding, 1, units
    parts, used = 1, 0
    for size in atoms:
        if used + size > multi:
            parts, used = parts + 1, 0
        used += size
    return encoding, parts, units


def test_tables_are_exactly_gsm_03_38():
    assert len(BASIC_TABLE) == 127  # 128 code points less the escape
    assert frozenset(BASIC_TABLE) == GSM7_BASIC
    assert frozenset(EXTENSION_TABLE) == GSM7_EXTENDED


def test_empty_text_is_one_gsm7_part():
    assert count_segments("") == SegmentInfo("GSM-7", 1, 0, ())


@pytest.mark.parametrize(
    ("length", "segments"),
    [(1, 1), (153, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3), (460, 4)],
)
def test_gsm7_part_boundaries(length, segments):
    assert count_segments("a" * length) == SegmentInfo("GSM-7", segments, length, ())


def test_whole_basic_table_is_gsm7():
    info = count_segments(BASIC_TABLE)
    assert (info.encoding, info.units, info.segments, info.ucs2_chars) == ("GSM-7", 127, 1, ())


@pytest.mark.parametrize("char", list(EXTENSION_TABLE))
def test_each_extended_char_costs_two_septets(char):
    assert count_segments(char) == SegmentInfo("GSM-7", 1, 2, ())
    assert count_segments("a" + char + "a").units == 4


def test_euro_tips_a_message_into_two_parts():
    assert count_segments("a" * 159 + "€") == SegmentInfo("GSM-7", 2, 161, ())
    assert count_segments("a" * 158 + "€") == SegmentInfo("GSM-7", 1, 160, ())


def test_escape_pair_straddling_153_moves_to_the_next_part():
    # 306 septets would divide into two parts, but the escape would sit at septet 153 alone.
    straddling = count_segments("a" * 152 + "€" + "a" * 152)
    assert (straddling.units, straddling.segments) == (306, 3)
    fitting = count_segments("a" * 151 + "€" + "a" * 153)
    assert (fitting.units, fitting.segments) == (306, 2)


def test_escape_pairs_straddling_several_boundaries():
    text = "a" * 152 + "{" + "a" * 151 + "}" + "a" * 10
    assert count_segments(text).segments == reference_count(text)[1] == 3


def test_one_emoji_makes_the_whole_message_ucs2():
    info = count_segments("Thanks for coming 🎉 see you soon")
    assert info.encoding == "UCS-2"
    assert info.ucs2_chars == ("🎉",)
    assert info.units == len("Thanks for coming  see you soon") + 2
    assert info.segments == 1


@pytest.mark.parametrize(
    ("length", "segments"), [(70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4)]
)
def test_ucs2_part_boundaries(length, segments):
    assert count_segments("ж" * length) == SegmentInfo("UCS-2", segments, length, ("ж",))


def test_emoji_straddling_67_moves_to_the_next_part():
    straddling = count_segments("ж" * 66 + "😀" + "ж" * 66)
    assert (straddling.units, straddling.segments) == (134, 3)
    fitting = count_segments("ж" * 65 + "😀" + "ж" * 67)
    assert (fitting.units, fitting.segments) == (134, 2)


def test_emoji_fits_a_single_part_by_units():
    assert count_segments("😀" * 35).segments == 1
    info = count_segments("😀" * 36)
    assert (info.units, info.segments) == (72, 2)


@pytest.mark.parametrize("char", ["’", "‘", "“", "”", "–", "—", "…", "\u00a0"])
def test_smart_punctuation_forces_ucs2_and_is_named(char):
    info = count_segments(f"Don{char}t miss it")
    assert info.encoding == "UCS-2"
    assert info.ucs2_chars == (char,)


@pytest.mark.parametrize("char", ["\t", "`", "ç", "ë", "á", "\x1b", "ω", "e\u0301", "\u200b"])
def test_lookalikes_outside_the_table_force_ucs2(char):
    assert count_segments("ok " + char).encoding == "UCS-2"


def test_ucs2_chars_are_distinct_in_first_appearance_order():
    info = count_segments("“Hi” – it’s “done”… 👍 ’ 👍")
    assert info.ucs2_chars == ("“", "”", "–", "’", "…", "👍")


def test_extended_chars_in_a_ucs2_message_cost_one_unit_and_are_not_blamed():
    info = count_segments("€5 ’")
    assert info == SegmentInfo("UCS-2", 1, 4, ("’",))


def test_gsm7_multipart_with_line_breaks():
    text = "line\r\n" * 30  # 180 septets, \r and \n are both in the basic table
    assert count_segments(text) == SegmentInfo("GSM-7", 2, 180, ())


def test_segment_info_is_immutable():
    info = count_segments("hello")
    with pytest.raises(FrozenInstanceError):
        info.segments = 2  # type: ignore[misc]


def test_matches_the_reference_model_on_random_bodies():
    rng = random.Random(20240514)
    alphabets = [
        BASIC_TABLE,
        BASIC_TABLE + EXTENSION_TABLE * 5,
        EXTENSION_TABLE,
        BASIC_TABLE + "’😀",
        "ж😀👍🏽",
        "a😀",
    ]
    for _ in range(3000):
        alphabet = rng.choice(alphabets)
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 480)))
        info = count_segments(text)
        assert (info.encoding, info.segments, info.units) == reference_count(text), text
