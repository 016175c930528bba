"""The suppression list as CSV: every number opted out now, since when, and how.

Neutralised for spreadsheets as the campaign export is (campaigns/export.py). Written in pieces,
the header then a page of rows at a time, so a streamed export never holds the whole file.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from campaigns.export import neutralised

if TYPE_CHECKING:  # the service layer builds the file from these pieces (no import cycle)
    from campaigns.service.optouts import Suppressed

HEADER = ["phone", "opted_out_since_utc", "keyword", "source", "by", "campaign_id"]


def header_bytes() -> bytes:
    """The file's start: the byte-order mark (so Excel reads accents right) and the header."""
    return "\ufeff".encode() + _csv_lines([HEADER])


def rows_bytes(rows: Iterable[Suppressed]) -> bytes:
    """Rows to follow `header_bytes`."""
    return _csv_lines(_cells(row) for row in rows)


def suppression_csv(rows: Sequence[Suppressed]) -> bytes:
    """The whole file at once (`suppression_csv_chunks` in the service layer streams it)."""
    return header_bytes() + rows_bytes(rows)


def _cells(row: Suppressed) -> list[str]:
    cells = [row.phone, row.since.strftime("%Y-%m-%d %H:%M:%S"), row.keyword, row.source,
             row.actor, row.campaign_id]  # fmt: skip
    return [neutralised(c) for c in cells]


def _csv_lines(rows: Iterable[Sequence[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode("utf-8")
