from collections.abc import Iterator, Mapping
from dataclasses import FrozenInstanceError

import pytest

from campaigns.templates import Rendered, compile_template, normalise_name


class CountingMapping(Mapping[str, str]):
    """A recipient's variables that count how often they are walked in full."""

    def __init__(self, data: dict[str, str]) -> None:
        self._data = data
        self.walks = 0

    def __getitem__(self, key: str) -> str:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        self.walks += 1
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


def test_fills_placeholders_with_and_without_spaces_inside_the_braces():
    template = compile_template("Hi {{first_name}}, see you at {{ clinic }} on {{  date\t}}.")
    rendered = template.render({"first_name": "Ann", "clinic": "Riverside", "date": "Tue"})
    assert rendered == Rendered("Hi Ann, see you at Riverside on Tue.", ())


def test_text_without_placeholders_renders_as_is():
    template = compile_template("Clinic closed Monday. Reply STOP to opt out.")
    assert template.placeholders == ()
    assert template.warnings == ()
    assert template.render({}) == Rendered(template.text, ())


def test_empty_template():
    template = compile_template("")
    assert (template.placeholders, template.warnings) == ((), ())
    assert template.render({"a": "b"}) == Rendered("", ())


def test_missing_variable_renders_empty_and_is_reported():
    template = compile_template("Hi {{first_name}} {{last_name}}!")
    assert template.render({"first_name": "Ann"}) == Rendered("Hi Ann !", ("last_name",))


def test_empty_value_counts_as_missing():
    template = compile_template("Hi {{first_name}}, code {{code}}")
    assert template.render({"first_name": "", "code": "42"}) == Rendered(
        "Hi , code 42", ("first_name",)
    )


def test_missing_is_reported_once_per_placeholder_in_order():
    template = compile_template("{{b}} {{a}} {{b}} {{ a }} {{c}}")
    assert template.render({"c": "C"}) == Rendered("    C", ("b", "a"))


def test_placeholders_are_distinct_in_order_of_first_appearance():
    template = compile_template("{{ b }}{{a}}{{b}}{{c}}{{  a  }}")
    assert template.placeholders == ("b", "a", "c")
    assert template.render({"a": "1", "b": "2", "c": "3"}).text == "21231"


def test_placeholders_keep_the_spelling_they_were_written_with():
    template = compile_template("{{First Name}} {{first_name}}")
    assert template.placeholders == ("First Name", "first_name")
    assert template.render({"first_name": "Ann"}).text == "Ann Ann"


def test_placeholder_finds_a_csv_header_by_normalised_name():
    template = compile_template("Hi {{first_name}}, your {{ appt-time }} slot")
    variables = {"First Name": "Ann", "Appt Time ": "10:30"}
    assert template.render(variables) == Rendered("Hi Ann, your 10:30 slot", ())


def test_header_style_placeholder_finds_a_snake_case_variable():
    template = compile_template("Hi {{ First Name }} ({{PHONE NUMBER}})")
    variables = {"first_name": "Ann", "phone_number": "+15551234567"}
    assert template.render(variables).text == "Hi Ann (+15551234567)"


def test_exact_key_wins_over_a_normalised_match():
    template = compile_template("{{First Name}}")
    assert template.render({"first_name": "snake", "First Name": "exact"}).text == "exact"


def test_normalised_collision_prefers_a_variable_with_a_value():
    template = compile_template("{{first_name}}")
    assert template.render({"First Name": "", "FIRST-NAME": "Ann"}).text == "Ann"


def test_variables_are_not_normalised_when_every_exact_key_is_present():
    template = compile_template("{{a}} {{b}} {{a}}")
    variables = CountingMapping({"a": "1", "b": "2", "Other Column": "x"})
    assert template.render(variables).text == "1 2 1"
    assert variables.walks == 0


def test_variables_are_normalised_at_most_once_per_render():
    template = compile_template("{{first_name}} {{last_name}} {{city}} {{zip}}")
    variables = CountingMapping({"First Name": "Ann", "Last Name": "Lee", "City": "Leeds"})
    assert template.render(variables) == Rendered("Ann Lee Leeds ", ("zip",))
    assert variables.walks == 1


@pytest.mark.parametrize(
    ("name", "normalised"),
    [
        ("first_name", "first_name"),
        ("First Name", "first_name"),
        ("  FIRST--name ", "first_name"),
        ("Phone 1 - Value", "phone_1_value"),
        ("__class__", "class"),
        ("Prénom", "prénom"),
        ("---", ""),
    ],
)
def test_normalise_name(name, normalised):
    assert normalise_name(name) == normalised


def test_placeholder_that_normalises_to_nothing_only_matches_exactly():
    template = compile_template("[{{ -- }}]")
    assert template.placeholders == ("--",)
    assert template.render({"": "blank header", "__": "x"}) == Rendered("[]", ("--",))
    assert template.render({"--": "dashes"}).text == "[dashes]"
    assert template.unknown_placeholders(["", "__"]) == ("--",)


def test_unknown_placeholders_flags_typos():
    template = compile_template("Hi {{frist_name}} {{ Last Name }} {{city}} {{ZIP}}")
    headers = ["phone", "first_name", "last_name", "City", "zip"]
    assert template.unknown_placeholders(headers) == ("frist_name",)
    assert template.unknown_placeholders(iter(headers)) == ("frist_name",)
    assert template.unknown_placeholders([]) == ("frist_name", "Last Name", "city", "ZIP")


def test_value_is_inserted_literally_and_never_expanded_again():
    template = compile_template("{{a}}|{{b}}")
    rendered = template.render({"a": "{{b}} {0} %s ${x}", "b": "{{a}}"})
    assert rendered.text == "{{b}} {0} %s ${x}|{{a}}"


@pytest.mark.parametrize(
    "text",
    [
        "{0} {1!r} {a.b} {a[0]}",
        "%s %(name)s %d %%",
        "${x} $x ${{x}",
        "{% if x %}yes{% endif %} {# note #}",
        "{{ x | upper }} {{ x.__class__ }} {{ x['y'] }} {{ 7*7 }}",
    ],
)
def test_no_template_syntax_but_placeholders_means_anything(text):
    template = compile_template(text)
    rendered = template.render({"x": "X", "name": "N", "a": "A", "upper": "U", "y": "Y"})
    for placeholder in template.placeholders:
        assert placeholder in rendered.missing
    assert "49" not in rendered.text
    assert "<class" not in rendered.text
    if not template.placeholders:
        assert rendered.text == text


def test_dunder_placeholder_is_just_a_name():
    template = compile_template("{{__class__}}{{ __init__.__globals__ }}{{0}}")
    assert template.placeholders == ("__class__", "__init__.__globals__", "0")
    assert template.render({}) == Rendered("", ("__class__", "__init__.__globals__", "0"))
    assert template.render({"__class__": "plain", "0": "zero"}).text == "plainzero"


def test_format_and_percent_syntax_render_literally():
    text = "Save {0}% on {item!r} %s ${x} {% raw %} today"
    template = compile_template(text)
    assert template.placeholders == ()
    assert template.render({"0": "zero", "item": "I", "x": "X", "s": "S"}).text == text


def test_unclosed_braces_warn_and_render_literally():
    template = compile_template("Hi {{first_name, welcome")
    assert template.placeholders == ()
    assert template.warnings == (
        '"{{first_name, welcom…" has no closing "}}", so it is sent as written.',
    )
    assert template.render({"first_name": "Ann"}).text == "Hi {{first_name, welcome"


def test_unclosed_braces_do_not_swallow_the_next_line():
    template = compile_template("Hi {{first\nname}} and {{city}}")
    assert template.placeholders == ("city",)
    assert template.warnings == (
        '"{{first" has no closing "}}", so it is sent as written.',
        '"name}}" has a "}}" with no opening "{{", so it is sent as written.',
    )
    assert template.render({"city": "Leeds"}).text == "Hi {{first\nname}} and Leeds"


@pytest.mark.parametrize("empty", ["{{}}", "{{ }}", "{{\t}}"])
def test_empty_placeholder_warns_and_renders_literally(empty):
    template = compile_template(f"a {empty} b {{{{x}}}}")
    assert template.placeholders == ("x",)
    assert template.warnings == (
        f'"{empty}" has no variable name inside, so it is sent as written.',
    )
    assert template.render({"x": "X"}).text == f"a {empty} b X"


def test_stray_closing_braces_warn_and_render_literally():
    template = compile_template("Hi first_name}}, {{city}} }}")
    assert template.warnings == (
        '"Hi first_name}}" has a "}}" with no opening "{{", so it is sent as written.',
        '" }}" has a "}}" with no opening "{{", so it is sent as written.',
    )
    assert template.render({"city": "Leeds"}).text == "Hi first_name}}, Leeds }}"


def test_brace_inside_a_placeholder_name_warns():
    template = compile_template("{{name}x}} and {{a{b}}")
    assert template.placeholders == ()
    assert template.warnings == (
        '"{{name}x}}" has a brace inside its name, so it is sent as written.',
        '"{{a{b}}" has a brace inside its name, so it is sent as written.',
    )
    assert template.render({"name": "N"}).text == "{{name}x}} and {{a{b}}"


def test_single_braces_around_a_name_warn():
    template = compile_template("Hi {first_name}, from ${ Clinic Name } ({0})")
    assert template.warnings == (
        '"{first_name}" has single braces, so it is sent as written; '
        "write {{first_name}} to fill it from each recipient's variables.",
        '"{ Clinic Name }" has single braces, so it is sent as written; '
        "write {{Clinic Name}} to fill it from each recipient's variables.",
    )
    assert template.render({"first_name": "Ann"}).text == template.text


def test_extra_braces_around_a_placeholder_stay_as_text():
    template = compile_template("{{{code}}} and {{{{code}}")
    assert template.placeholders == ("code",)
    assert template.warnings == ('"{{" has no closing "}}", so it is sent as written.',)
    assert template.render({"code": "42"}).text == "{42} and {{42"


def test_repeated_problems_are_warned_once():
    template = compile_template("{{}} {{}} }}\n}}")
    assert template.warnings == (
        '"{{}}" has no variable name inside, so it is sent as written.',
        '" }}" has a "}}" with no opening "{{", so it is sent as written.',
        '"}}" has a "}}" with no opening "{{", so it is sent as written.',
    )


def test_placeholders_beside_non_ascii_and_emoji():
    template = compile_template("¡Hola {{nombre}}! 🎉{{ciudad}}🎉")
    assert template.render({"nombre": "Zoë", "ciudad": "Málaga"}).text == "¡Hola Zoë! 🎉Málaga🎉"


def test_template_and_rendered_are_immutable_and_compare_by_text():
    template = compile_template("Hi {{a}}")
    assert template == compile_template("Hi {{a}}")
    with pytest.raises(FrozenInstanceError):
        template.text = "other"  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        template.render({}).text = "other"  # type: ignore[misc]
    assert "_pieces" not in repr(template)


@pytest.mark.parametrize(
    "text",
    ["Hi", "Hi {{first_name}}, {{ First Name }}!", "{{a}}" * 50, "{{}} {{a}} {{b}}{ {{c}}}",
     "{{missing}} and {{a}}", "Zoë {{a}} 😀"],
)  # fmt: skip
@pytest.mark.parametrize(
    "variables",
    [{}, {"a": "x" * 100}, {"First Name": "Zoë", "b": "", "c": "🙂"}, {"a": "1", "A": "22"}],
)
def test_a_message_length_is_known_without_making_it(text: str, variables: dict[str, str]) -> None:
    template = compile_template(text)
    assert template.length(variables) == len(template.render(variables).text)
    assert template.shortest == len(template.render({}).text)
