"""A campaign's recipients as CSV: one row each, with what happened to their message.

Cells are neutralised for spreadsheets: a cell that starts with `=`, `+`, `-`, `@`, a tab or a
carriage return is read as a formula by Excel, LibreOffice and Google Sheets (CSV injection), so
it gets a leading apostrophe, which they show as text. Phone numbers (+44...) are among them:
they stay readable, and nobody's name column can run a formula.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from campaigns.models import Recipient

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
FIXED = ["row", "phone"]
OUTCOME = ["status", "error_code", "error_reason", "sender", "twilio_sid", "last_change_utc"]


def neutralised(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def header(variables: Sequence[str]) -> list[str]:
    return [*FIXED, *variables, *OUTCOME]


def row_of(recipient: Recipient, variables: Sequence[str]) -> list[str]:
    values = recipient.variables or {}
    changed = recipient.updated_at.strftime("%Y-%m-%d %H:%M:%S") if recipient.updated_at else ""
    cells: list[object] = [
        recipient.row, recipient.phone, *(values.get(name, "") for name in variables),
        recipient.status, recipient.error_code, recipient.error_reason, recipient.sender,
        recipient.twilio_sid, changed,
    ]  # fmt: skip
    return [neutralised(cell) for cell in cells]


def to_csv(variables: Sequence[str], pages: Iterable[Sequence[Recipient]]) -> bytes:
    """The whole file, UTF-8 with a byte-order mark (so Excel reads accents right)."""
    return header_bytes(variables) + b"".join(rows_bytes(page, variables) for page in pages)


def header_bytes(variables: Sequence[str]) -> bytes:
    """The file's start: the byte-order mark and the header row."""
    return "\ufeff".encode() + _csv_lines([[neutralised(name) for name in header(variables)]])


def rows_bytes(page: Iterable[Recipient], variables: Sequence[str]) -> bytes:
    """One page of rows, to follow `header_bytes` (a streamed export writes them as it reads)."""
    return _csv_lines(row_of(r, variables) for r in page)


def _csv_lines(rows: Iterable[Sequence[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode("utf-8")
