"""The entry points: a file or pasted text, or the HTTP API's list, into an ImportReport."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterable, Mapping, Sequence

from campaigns.errors import InputError
from campaigns.export import FIXED, OUTCOME, OUTCOME_BEFORE_OPT_OUTS, restored
from campaigns.recipients.decode import Decoded, decode_bytes, decode_text
from campaigns.recipients.destinations import Destinations
from campaigns.recipients.pasted import pasted_pieces, split_piece
from campaigns.recipients.phones import check_region, normalise
from campaigns.recipients.report import Collector, ImportReport
from campaigns.recipients.table import Layout, Row, detect_layout, read_rows, sniff_delimiter

SAMPLE_ROWS = 200  # rows read to find the header and score the phone columns
NO_PHONE_COLUMN = (
    "No column holds phone numbers. Put the numbers in a column headed “phone” or “mobile”."
)


def parse_recipients(
    data: bytes | str, region: str | None, destinations: Destinations | None = None
) -> ImportReport:
    """An uploaded file (bytes) or pasted text (str), read as a table or as a plain list; with
    `destinations`, numbers the workspace may not text are refused with their reason."""
    region = check_region(region)
    is_file = isinstance(data, bytes | bytearray | memoryview)
    decoded = decode_bytes(bytes(data)) if is_file else decode_text(str(data))
    what = "file" if is_file else "text"
    if not decoded.text:
        return _empty(decoded, f"The {what} is empty.")
    if not decoded.text.strip():
        return _empty(decoded, f"The {what} holds only blank lines and spaces.")

    rows = read_rows(decoded.text, sniff_delimiter(decoded.text))
    sample = list(itertools.islice(rows, SAMPLE_ROWS))
    is_phone = functools.cache(lambda cell: normalise(cell, region).e164 is not None)
    collector = Collector(destinations, region)
    ours = exported_layout(sample[0][1]) if sample else None
    if ours is not None:  # Textcast's own export: its variables back as they were
        restoring = ((number, [restored(cell) for cell in cells]) for number, cells in rows)
        return _read_table(decoded, ours, itertools.chain(
            ((number, [restored(cell) for cell in cells]) for number, cells in sample), restoring,
        ), region, collector)  # fmt: skip
    layout = detect_layout([cells for _, cells in sample], is_phone)
    if layout is None:
        return _read_list(decoded, region, collector)
    return _read_table(decoded, layout, itertools.chain(sample, rows), region, collector)


def exported_layout(header: Sequence[str]) -> Layout | None:
    """The layout of a file Textcast exported (campaigns/export.py), known by its header: `row`,
    `phone`, the variables, then exactly the outcome columns. Its row number and outcome are
    left out, and only in such a file is the apostrophe it put before a cell taken off again."""
    for outcome in (OUTCOME, OUTCOME_BEFORE_OPT_OUTS):
        tail = len(outcome)
        if (len(header) >= len(FIXED) + tail and list(header[: len(FIXED)]) == FIXED
                and list(header[-tail:]) == outcome):  # fmt: skip
            names = [restored(name) for name in header[len(FIXED) : len(header) - tail]]
            variables = tuple(enumerate(names, start=len(FIXED)))
            return Layout(True, FIXED.index("phone"), "phone", variables, len(header))
    return None


def check_recipient_list(
    items: Sequence[Mapping[str, object]],
    region: str | None,
    destinations: Destinations | None = None,
) -> ImportReport:
    """The HTTP API's `[{"phone": ..., "variables": {...}}]`; row = index + 1."""
    if isinstance(items, str | bytes) or not isinstance(items, Sequence):
        raise InputError("Send the recipients as a list of objects.", field="recipients")
    region = check_region(region)
    collector = Collector(destinations, region)
    for row, item in enumerate(items, start=1):
        problem = _item_problem(item)
        if problem is not None or not isinstance(item, Mapping):
            collector.reject(row, _shown(item), problem or "")
            continue
        phone = item["phone"]
        raw = phone if isinstance(phone, str) else str(phone)
        collector.add(row, raw, normalise(raw, region), _api_variables(item.get("variables")))
    names = list(dict.fromkeys(name for r in collector.recipients for name in r.variables))
    warnings = [] if items else ["The list is empty."]
    return collector.report(variables=names, phone_column=None, encoding="utf-8", warnings=warnings)


def _read_table(
    decoded: Decoded, layout: Layout, rows: Iterable[Row], region: str | None, collector: Collector
) -> ImportReport:
    warnings = list(decoded.warnings)
    phone, width, columns = layout.phone_index, layout.width, layout.variables
    if phone is None:
        return _empty(decoded, NO_PHONE_COLUMN)
    rows = iter(rows)
    if layout.has_header:
        next(rows, None)
    overlong: list[int] = []
    for number, cells in rows:
        if len(cells) < width:
            cells += [""] * (width - len(cells))
        elif len(cells) > width:
            overlong.append(number)
        raw = cells[phone]
        collector.add(number, raw, normalise(raw, region), {n: cells[i] for i, n in columns})
    if layout.has_header and not collector.recipients and not collector.invalid:
        warnings.append("The file has a header row but no recipients under it.")
    if overlong:
        warnings.append(_overlong_warning(overlong))
    return collector.report(
        variables=[name for _, name in columns],
        phone_column=layout.phone_column,
        encoding=decoded.encoding,
        warnings=warnings,
    )


def _read_list(decoded: Decoded, region: str | None, collector: Collector) -> ImportReport:
    read = functools.partial(normalise, region=region)
    for number, piece in pasted_pieces(decoded.text):
        for raw, result in split_piece(piece, read(piece), read):
            collector.add(number, raw, result, {})
    return collector.report(
        variables=[], phone_column=None, encoding=decoded.encoding, warnings=list(decoded.warnings)
    )


def _empty(decoded: Decoded, why: str) -> ImportReport:
    return Collector().report(
        variables=[],
        phone_column=None,
        encoding=decoded.encoding,
        warnings=[*decoded.warnings, why],
    )


def _overlong_warning(rows: list[int]) -> str:
    if len(rows) == 1:
        which = f"Row {rows[0]} has"
    else:
        which = f"{len(rows):,} rows (the first is row {rows[0]}) have"
    return f"{which} more cells than the header row; the extra cells were ignored."


def _item_problem(item: object) -> str | None:
    if not isinstance(item, Mapping):
        return 'not an object like {"phone": "+447700900123"}'
    phone = item.get("phone")
    if phone is None:
        return "no phone"
    if isinstance(phone, bool) or not isinstance(phone, str | int):
        return "phone is not text"
    variables = item.get("variables")
    if variables is not None and not isinstance(variables, Mapping):
        return "variables is not an object"
    return None


def _shown(item: object) -> str:
    if isinstance(item, Mapping):
        phone = item.get("phone")
        return "" if phone is None else str(phone)
    return repr(item)


def _api_variables(variables: object) -> dict[str, str]:
    if not isinstance(variables, Mapping):
        return {}
    return {str(key): _text(value) for key, value in variables.items()}


def _text(value: object) -> str:
    if value is None:
        return ""  # JSON null would otherwise reach a text message as the word "None"
    return value if isinstance(value, str) else str(value)
