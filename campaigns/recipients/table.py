"""A recipient table: its delimiter, its rows, its header, and which column holds the numbers.

Everything here works on text and on a predicate that says whether a cell is a valid phone number,
so it knows nothing of regions or of phonenumbers.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from campaigns.errors import RecipientFileError

DELIMITERS = (",", ";", "\t", "|")  # in order of preference when two read equally well
PHONE_WORDS = frozenset(
    {"phone", "number", "mobile", "tel", "telephone", "cell"}
    | {"cellphone", "mobilephone", "mobilenumber", "phonenumber", "telno", "msisdn"}
)
MOBILE_WORDS = frozenset({"mobile", "cell", "cellphone", "mobilephone", "mobilenumber"})

Row = tuple[int, list[str]]  # the spreadsheet's row number (header = 1) and its stripped cells
IsPhone = Callable[[str], bool]

_SNIFF_CHARS = 64 * 1024
_SNIFF_ROWS = 100
_FIELD_LIMIT = csv.field_size_limit()
# A line no real file holds: if the reader never returns it on its own, a quote swallowed it.
_END_OF_INPUT = "\ufdd0textcast-end-of-input\ufdd0"
_CAMEL_CASE = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_LETTERS = re.compile(r"[^\W\d_]+")
_LETTER = re.compile(r"[^\W\d_]")
_DIGIT = re.compile(r"\d")


@dataclass(frozen=True, slots=True)
class Layout:
    has_header: bool
    phone_index: int | None
    phone_column: str | None  # the header of the phone column, None without a header
    variables: tuple[tuple[int, str], ...]  # (column index, variable name), in column order
    width: int  # the number of columns the header (or the widest sampled row) has


def header_words(header: str) -> list[str]:
    """`PhoneNumber`, `phone_number` and `Phone 1 - Value` all hold the words phone and number."""
    return [word.lower() for word in _LETTERS.findall(_CAMEL_CASE.sub(" ", header))]


def is_phone_header(header: str) -> bool:
    return not PHONE_WORDS.isdisjoint(header_words(header))


def is_mobile_header(header: str) -> bool:
    return not MOBILE_WORDS.isdisjoint(header_words(header))


def sniff_delimiter(text: str) -> str | None:
    """The delimiter that splits the first rows into the most consistent number of cells (>1)."""
    sample = text[:_SNIFF_CHARS]
    if len(text) > len(sample):
        sample = sample[: sample.rfind("\n") + 1] or sample
    best, best_score = None, (0.0, 0)
    for delimiter in DELIMITERS:
        if delimiter not in sample:
            continue
        counts = _cell_counts(sample, delimiter)
        if not counts:
            continue
        cells, rows = Counter(counts).most_common(1)[0]
        score = (rows / len(counts), cells)
        if cells > 1 and score > best_score:
            best, best_score = delimiter, score
    return best


def read_rows(text: str, delimiter: str | None) -> Iterator[Row]:
    """Non-blank rows with stripped cells; a text without a delimiter has one cell per line."""
    return _csv_rows(text, delimiter) if delimiter else _line_rows(text)


def detect_layout(sample: Sequence[list[str]], is_phone: IsPhone) -> Layout | None:
    """How the first rows of a table read, or None when they read best as a plain list of numbers.

    The first row is a header when it holds nothing that looks like a phone number and either a
    cell names a phone column or the rows under it hold phone numbers. Without a header, a table
    needs at least two columns and one of them mostly text (names, say); numbers alone are a list.
    """
    if not sample:
        return None
    first, rest = sample[0], sample[1:]
    width = max(len(row) for row in sample)
    if not any(_looks_like_number(cell) or _is_number(cell, is_phone) for cell in first):
        below = _column_stats(rest, width, is_phone)
        if any(is_phone_header(cell) for cell in first) or any(s.phones for s in below):
            return _with_header(first, below)
    stats = _column_stats(sample, width, is_phone)
    if width > 1 and len(sample) > 1 and any(s.mostly_text for s in stats):
        return _without_header(stats)
    return None


@dataclass(slots=True)
class _ColumnStats:
    filled: int = 0
    phones: int = 0
    numeric: int = 0  # cells with digits that are not valid numbers, e.g. 4.47701E+11
    text: int = 0  # cells with letters that are not valid numbers

    @property
    def mostly_text(self) -> bool:
        return self.text * 2 > self.filled


def _with_header(header: list[str], stats: list[_ColumnStats]) -> Layout:
    """Columns beyond the header are left out, except a phone column found there by its values."""
    phone = _choose_phone_column(header + [""] * (len(stats) - len(header)), stats)
    width = max(len(header), 0 if phone is None else phone + 1)
    header = header + [""] * (width - len(header))
    names = _unique_names(header)
    variables = tuple(
        (index, names[index])
        for index in range(width)
        if index != phone and (header[index] or stats[index].filled)
    )
    phone_column = names[phone] if phone is not None else None
    return Layout(True, phone, phone_column, variables, width)


def _choose_phone_column(header: list[str], stats: list[_ColumnStats]) -> int | None:
    """Prefer a mobile column, then the best-parsing one; a named column none of whose values
    parse (Google's "Phone 1 - Type") is passed over while any column holds numbers."""
    named = [i for i, cell in enumerate(header) if is_phone_header(cell)]
    parsing = [i for i in named if stats[i].phones]
    if parsing:
        mobile = [i for i in parsing if is_mobile_header(header[i])]
        return max(mobile or parsing, key=lambda i: stats[i].phones)
    holding = [i for i, column in enumerate(stats) if column.phones]
    if holding:
        return max(holding, key=lambda i: stats[i].phones)
    if named:
        # The header says where the numbers are; every row will then say what is wrong with it.
        return max(named, key=lambda i: stats[i].numeric)
    return None


def _without_header(stats: list[_ColumnStats]) -> Layout:
    holding = [i for i, column in enumerate(stats) if column.phones * 2 >= column.filled > 0]
    if not holding:
        holding = [max(range(len(stats)), key=lambda i: stats[i].phones)]
    phone = holding[0] if stats[holding[0]].phones else None
    variables = tuple(
        (index, f"column{index + 1}")
        for index, column in enumerate(stats)
        if index != phone and column.filled
    )
    return Layout(False, phone, None, variables, len(stats))


def _unique_names(header: list[str]) -> list[str]:
    """Header texts as written, numbered where they repeat ("Phone", "Phone_2"), case ignored."""
    names: list[str] = []
    taken: set[str] = set()
    for index, cell in enumerate(header):
        base = cell or f"column{index + 1}"
        name, copy = base, 1
        while name.casefold() in taken:
            copy += 1
            name = f"{base}_{copy}"
        taken.add(name.casefold())
        names.append(name)
    return names


def _column_stats(rows: Sequence[list[str]], width: int, is_phone: IsPhone) -> list[_ColumnStats]:
    stats = [_ColumnStats() for _ in range(width)]
    for row in rows:
        for column, cell in zip(stats, row, strict=False):
            if not cell:
                continue
            column.filled += 1
            if _is_number(cell, is_phone):
                column.phones += 1
            elif _LETTER.search(cell):
                column.text += 1
            elif _DIGIT.search(cell):
                column.numeric += 1
    return stats


def _is_number(cell: str, is_phone: IsPhone) -> bool:
    # Most cells of a wide export are names and addresses: without a digit, no need to parse.
    return _DIGIT.search(cell) is not None and is_phone(cell)


def _looks_like_number(cell: str) -> bool:
    """A mistyped number is still not a header: six digits or more, and mostly digits."""
    digits = len(_DIGIT.findall(cell))
    return digits >= 6 and digits * 2 >= len(cell.replace(" ", ""))


def _cell_counts(sample: str, delimiter: str) -> list[int]:
    reader = csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter)
    try:
        rows = [row for row in itertools.islice(reader, _SNIFF_ROWS) if any(map(str.strip, row))]
    except csv.Error:
        return []
    return [len(row) for row in rows]


def _line_rows(text: str) -> Iterator[Row]:
    for number, line in enumerate(io.StringIO(text, newline=None), start=1):
        cell = _unquote(line.strip())
        if cell:
            yield number, [cell]


def _unquote(cell: str) -> str:
    if len(cell) >= 2 and cell[0] == cell[-1] == '"':
        return cell[1:-1].replace('""', '"').strip()
    return cell


def _csv_rows(text: str, delimiter: str) -> Iterator[Row]:
    lines = itertools.chain(io.StringIO(text, newline=""), (_END_OF_INPUT,))
    reader = csv.reader(lines, delimiter=delimiter)
    number = 0
    try:
        for record in reader:
            number += 1
            if record == [_END_OF_INPUT]:
                return
            cells = [cell.strip() for cell in record]
            if any(cells):
                yield number, cells
    except csv.Error as error:
        raise RecipientFileError(_unreadable_row(number + 1, error)) from error
    raise RecipientFileError(
        f'Row {number} has a quote (") that is never closed, so everything after it would land '
        f"in one cell. Close the quote in row {number} (or remove it) and try again."
    )


def _unreadable_row(number: int, error: csv.Error) -> str:
    if "field larger than field limit" in str(error):
        return (
            f"Row {number} has a cell longer than {_FIELD_LIMIT:,} characters, which usually "
            f'means a quote (") is never closed. Check the quotes in row {number}.'
        )
    return f"Row {number} cannot be read as CSV ({error}). Check the quotes in that row."
