"""The preview's content warnings: each one found when it should be, and only then."""

from __future__ import annotations

from campaigns.content_checks import content_warnings, lookalikes, plain_characters
from campaigns.messages import analyse_messages
from campaigns.templates import compile_template


def codes(
    text: str, rows: list[dict[str, str]] | None = None, columns: list[str] | None = None
) -> list[str]:
    template = compile_template(text)
    rows = rows if rows is not None else [{"first_name": "Sarah"}]
    _, stats = analyse_messages(template, rows, columns or ["first_name"])
    return [w.code for w in content_warnings(text, stats)]


def test_a_plain_message_with_a_way_to_stop_has_no_warnings() -> None:
    assert codes("Hi {{first_name}}, flu jabs are open. Reply STOP to opt out") == []
    assert codes("Hi, opt-out any time: text back UNSUBSCRIBE") == []


def test_each_problem_is_named_with_its_code() -> None:
    assert codes("Hi {{first_name}}, flu jabs are open") == ["no_opt_out"]
    assert "link_shortener" in codes("Book at https://bit.ly/3xYz now. Reply STOP to opt out")
    assert "link_shortener" not in codes("Book at https://clinic.example/book. Reply STOP")
    assert codes("We\u2019re open \u2013 come in. Reply STOP to opt out") == ["unicode_lookalikes"]
    assert codes("Hi {{first_name}}. Reply STOP", rows=[{"first_name": ""}]) == [
        "empty_placeholder"
    ]
    assert codes("Hi {{nickname}}. Reply STOP") == ["unknown_placeholder"]
    assert codes("Reply STOP. " + "All day long we are open for you. " * 40) == ["long_message"]


def test_an_emoji_is_not_a_look_alike_and_is_left_alone() -> None:
    assert codes("Flu jabs are open \U0001f489 Reply STOP to opt out") == []


def test_plain_characters_replace_only_the_look_alikes() -> None:
    text = "We\u2019re open \u2013 \u201cwalk in\u201d\u00a0today\u2026 \U0001f489"
    assert plain_characters(text) == 'We\'re open - "walk in" today... \U0001f489'
    assert lookalikes(text) == ["\u2019", "\u2013", "\u201c", "\u201d", "\u00a0", "\u2026"]
