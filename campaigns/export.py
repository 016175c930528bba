"""A campaign's recipients as CSV: one row each, with what happened to their message.

Cells are neutralised for spreadsheets: a cell that starts with `=`, `+`, `-`, `@`, a tab or a
carriage return is read as a formula by Excel, LibreOffice and Google Sheets (CSV injection), so
it gets a leading apostrophe, which they show as text. Phone numbers (+44...) are among them:
they stay readable, and nobody's name column can run a formula. A cell that starts with an
apostrophe of its own gets one too, so the apostrophe Textcast adds is always the first of two
or stands before a formula character: importing the file again (campaigns.recipients) takes
exactly that one off and gets every value back as it was.

The last column says how a number that is opted out now opted out: by text ("text STOP"), by
a person in Slack ("Slack (@bob)"), over the API, or by the carrier's refusal.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from campaigns.models import Recipient

if TYPE_CHECKING:  # the service layer reads these for the export (no import cycle)
    from campaigns.service.optouts import OptOutOrigin

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
APOSTROPHE = "'"
FIXED = ["row", "phone"]
OUTCOME = ["status", "error_code", "error_reason", "sender", "twilio_sid", "last_change_utc",
           "opted_out_by"]  # fmt: skip
OUTCOME_BEFORE_OPT_OUTS = OUTCOME[:-1]  # the columns of an export written before opted_out_by


def neutralised(value: object) -> str:
    text = "" if value is None else str(value)
    return APOSTROPHE + text if text.startswith((*FORMULA_STARTS, APOSTROPHE)) else text


def restored(cell: str) -> str:
    """A cell of Textcast's own export as it was before `neutralised`."""
    if cell.startswith(APOSTROPHE) and cell[1:].startswith((*FORMULA_STARTS, APOSTROPHE)):
        return cell[1:]
    return cell


def opted_out_by(origin: OptOutOrigin | None, names: Mapping[str, str] | None = None) -> str:
    """How the number opted out, in words: 'text STOP', 'Slack (@bob)', 'API (key_ab12)'; '' if
    it did not (or opted back in); never starting with a character a spreadsheet would run. `names`: Slack user ids to the names people know them by."""
    if origin is None:
        return ""
    if origin.source == "sms":
        return f"text {origin.keyword or 'STOP'}"
    kind, _, who = (origin.actor or "").partition(":")
    if origin.source == "slack":
        return f"Slack (@{(names or {}).get(who) or who or 'someone'})"
    if origin.source == "api":
        return f"API ({who})" if kind == "api" and who else "API"
    if origin.source.startswith("twilio_"):
        return f"carrier (error {origin.source.removeprefix('twilio_')})"
    return origin.source


def header(variables: Sequence[str]) -> list[str]:
    return [*FIXED, *variables, *OUTCOME]


def row_of(recipient: Recipient, variables: Sequence[str], opted_out: str = "") -> list[str]:
    values = recipient.variables or {}
    changed = recipient.updated_at.strftime("%Y-%m-%d %H:%M:%S") if recipient.updated_at else ""
    cells: list[object] = [
        recipient.row, recipient.phone, *(values.get(name, "") for name in variables),
        recipient.status, recipient.error_code, recipient.error_reason, recipient.sender,
        recipient.twilio_sid, changed, opted_out,
    ]  # fmt: skip
    return [neutralised(cell) for cell in cells]


def to_csv(
    variables: Sequence[str],
    pages: Iterable[Sequence[Recipient]],
    opted_out: Mapping[str, str] | None = None,
) -> bytes:
    """The whole file, UTF-8 with a byte-order mark (so Excel reads accents right);
    `opted_out`: how each opted-out number did (see `opted_out_by`)."""
    return header_bytes(variables) + b"".join(
        rows_bytes(page, variables, opted_out) for page in pages
    )


def header_bytes(variables: Sequence[str]) -> bytes:
    """The file's start: the byte-order mark and the header row."""
    return "\ufeff".encode() + _csv_lines([[neutralised(name) for name in header(variables)]])


def rows_bytes(
    page: Iterable[Recipient], variables: Sequence[str], opted_out: Mapping[str, str] | None = None
) -> bytes:
    """One page of rows, to follow `header_bytes` (a streamed export writes them as it reads)."""
    how = opted_out or {}
    return _csv_lines(row_of(r, variables, how.get(r.phone, "")) for r in page)


def _csv_lines(rows: Iterable[Sequence[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode("utf-8")
