"""Message templates: `{{name}}` placeholders filled from each recipient's variables.

Filling is plain text substitution and nothing else: no expressions, no attribute access, no
format specifications, so a template can never run code or reach into an object. A template is
split once by `compile_template`; rendering it for each recipient is a lookup per placeholder and
a join.

A placeholder finds its variable by exact name first, then by a normalised form of both names
(lowercase, runs of anything but letters and digits turned into one "_", with no "_" at either
end), so `{{first_name}}` is filled from a CSV column "First Name" and `{{ First Name }}` from a
variable "first_name".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

# No braces or line breaks inside: `{{{name}}}` is a brace around a placeholder, and a "{{" left
# open on one line does not swallow the text up to a "}}" further down.
_PLACEHOLDER = re.compile(r"\{\{([^{}\n]*)\}\}")
_DOUBLE_BRACE = re.compile(r"\{\{|\}\}")
# `{name}` or `${name}`: almost certainly meant as a placeholder, and sent as written otherwise.
_SINGLE_BRACED_NAME = re.compile(r"(?<!\{)\{\s*([^\W\d]\w*(?:[ \-]\w+)*)\s*\}(?!\})")
_NOT_ALPHANUMERIC = re.compile(r"[\W_]+")
_SNIPPET = 20


@dataclass(frozen=True, slots=True)
class Rendered:
    text: str
    missing: tuple[str, ...]  # placeholders that had no value (absent or empty) for this recipient


@dataclass(frozen=True, slots=True)
class Template:
    """A compiled template; build one with `compile_template`."""

    text: str
    placeholders: tuple[str, ...]  # distinct names as written (stripped), first appearance first
    warnings: tuple[str, ...]  # plain sentences about braces that will be sent as written
    # The text split at its placeholders: literal pieces, with "" where each placeholder goes.
    _pieces: tuple[str, ...] = field(default=(), repr=False, compare=False)
    # (index into _pieces, index into placeholders) for every placeholder occurrence.
    _slots: tuple[tuple[int, int], ...] = field(default=(), repr=False, compare=False)
    # The normalised form of each name in placeholders, "" when it has none.
    _keys: tuple[str, ...] = field(default=(), repr=False, compare=False)
    # How many times each of placeholders occurs, and the characters outside them: a message's
    # length is known from its values' lengths without building it (see `length`).
    _uses: tuple[int, ...] = field(default=(), repr=False, compare=False)
    _fixed_length: int = field(default=0, repr=False, compare=False)

    @property
    def shortest(self) -> int:
        """The length of a message with every placeholder empty: no recipient's is shorter."""
        return self._fixed_length if self._slots else len(self.text)

    def length(self, variables: Mapping[str, str]) -> int:
        """len(self.render(variables).text), in time that does not grow with the message: a
        placeholder used 2,000 times with a long value would make a message of megabytes."""
        if not self._slots:
            return len(self.text)
        values, _ = self._values(variables)
        return self._fixed_length + sum(
            uses * len(value) for uses, value in zip(self._uses, values, strict=True)
        )

    def render(self, variables: Mapping[str, str]) -> Rendered:
        """The text for one recipient, and the placeholders it had no value for."""
        if not self._slots:
            return Rendered(self.text, ())
        values, missing = self._values(variables)
        pieces = list(self._pieces)
        for piece, which in self._slots:
            pieces[piece] = values[which]
        return Rendered("".join(pieces), tuple(missing))

    def _values(self, variables: Mapping[str, str]) -> tuple[list[str], list[str]]:
        """Each placeholder's value ("" when it has none), and the placeholders without one."""
        values: list[str] = []
        missing: list[str] = []
        normalised: dict[str, str] | None = None
        for name, key in zip(self.placeholders, self._keys, strict=True):
            value = variables.get(name)
            if value is None and key:
                if normalised is None:
                    normalised = _normalised_variables(variables)
                value = normalised.get(key)
            if not value:
                missing.append(name)
                value = ""
            values.append(value)
        return values, missing

    def unknown_placeholders(self, variable_names: Iterable[str]) -> tuple[str, ...]:
        """Placeholders that match none of the names, such as a typo like `{{frist_name}}`."""
        exact = set(variable_names)
        normalised = {normalise_name(name) for name in exact}
        normalised.discard("")
        return tuple(
            name
            for name, key in zip(self.placeholders, self._keys, strict=True)
            if name not in exact and key not in normalised
        )


def compile_template(text: str) -> Template:
    """Split a template at its placeholders once, and say what in it looks wrong."""
    pieces: list[str] = []
    slots: list[tuple[int, int]] = []
    names: dict[str, int] = {}
    warnings: list[str] = []
    position = 0
    for match in _PLACEHOLDER.finditer(text):
        literal = text[position : match.start()]
        warnings += _literal_warnings(literal)
        pieces.append(literal)
        position = match.end()
        name = match.group(1).strip()
        if name:
            slots.append((len(pieces), names.setdefault(name, len(names))))
            pieces.append("")
        else:
            warnings.append(
                f'"{match.group()}" has no variable name inside, so it is sent as written.'
            )
            pieces.append(match.group())
    literal = text[position:]
    warnings += _literal_warnings(literal)
    pieces.append(literal)
    placeholders = tuple(names)
    uses = [0] * len(placeholders)
    for _, which in slots:
        uses[which] += 1
    return Template(
        text=text,
        placeholders=placeholders,
        warnings=tuple(dict.fromkeys(warnings)),
        _pieces=tuple(pieces),
        _slots=tuple(slots),
        _keys=tuple(normalise_name(name) for name in placeholders),
        _uses=tuple(uses),
        _fixed_length=sum(map(len, pieces)),  # a placeholder's piece is "" until filled
    )


@lru_cache(maxsize=4096)
def normalise_name(name: str) -> str:
    """`First Name`, `first-name` and `FIRST_NAME` all become `first_name`."""
    return _NOT_ALPHANUMERIC.sub("_", name.lower()).strip("_")


def _normalised_variables(variables: Mapping[str, str]) -> dict[str, str]:
    # Where two variables normalise alike ("First Name", "first_name"), the first with a value wins.
    normalised: dict[str, str] = {}
    for name, value in variables.items():
        key = normalise_name(name)
        if key and not normalised.get(key):
            normalised[key] = value
    return normalised


def _literal_warnings(literal: str) -> list[str]:
    """Warnings for braces in literal text that look like a broken or mistyped placeholder."""
    if "{" not in literal and "}" not in literal:
        return []
    warnings = []
    tokens = list(_DOUBLE_BRACE.finditer(literal))
    skip_to = 0
    for index, token in enumerate(tokens):
        start = token.start()
        if start < skip_to:
            continue
        if token.group() == "}}":
            before = literal[max(skip_to, start + 1 - _SNIPPET) : start + 2].rsplit("\n", 1)[-1]
            warnings.append(
                f'"{_shorten(before, from_end=True)}" has a "}}}}" with no opening "{{{{", '
                "so it is sent as written."
            )
            skip_to = start + 2
            continue
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        if (
            following is not None
            and following.group() == "}}"
            and literal.find("\n", start, following.start()) == -1
        ):
            # Not a placeholder only because of a single brace inside, as in "{{name}x}}".
            warnings.append(
                f'"{_shorten(literal[start : following.end()])}" has a brace inside its name, '
                "so it is sent as written."
            )
            skip_to = following.end()
        else:
            after = literal[start : start + _SNIPPET + 1].split("\n", 1)[0]
            warnings.append(f'"{_shorten(after)}" has no closing "}}}}", so it is sent as written.')
            skip_to = start + 2
    for match in _SINGLE_BRACED_NAME.finditer(literal):
        warnings.append(
            f'"{match.group()}" has single braces, so it is sent as written; '
            f"write {{{{{match.group(1)}}}}} to fill it from each recipient's variables."
        )
    return warnings


def _shorten(text: str, *, from_end: bool = False) -> str:
    if len(text) <= _SNIPPET:
        return text
    return "…" + text[-_SNIPPET:] if from_end else text[:_SNIPPET] + "…"
