"""What an import produced: the recipients, the rows that were refused and why, and the totals."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from campaigns.errors import LimitError
from campaigns.limits import MAX_RECIPIENTS
from campaigns.recipients.destinations import Destinations, read_abroad_note
from campaigns.recipients.phones import PhoneResult

MAX_SHOWN_CHARS = 50


@dataclass(frozen=True, slots=True)
class Recipient:
    row: int  # 1-based row in the user's input: spreadsheet row, pasted line, or list index + 1
    phone: str  # E.164
    variables: dict[str, str]  # the other columns, keyed by header text as written (deduplicated)


@dataclass(frozen=True, slots=True)
class InvalidRow:
    row: int
    value: str  # the phone cell as written, shortened to about 50 characters
    reason: str


@dataclass(frozen=True, slots=True)
class ReadAbroad:
    """A number written without a country code that is not valid in the region, but is valid read
    as another country's: kept, and shown, for a person to check."""

    row: int
    value: str  # as written
    phone: str  # E.164, as read
    note: str  # "read as a number in Guernsey (+44 7911 123456), not in the United States"


@dataclass(slots=True)
class ImportReport:
    recipients: list[Recipient]  # valid, deduplicated, in input order (first occurrence kept)
    invalid: list[InvalidRow]
    duplicates: int  # rows dropped because their number was already seen
    variables: list[str]  # variable (column) names, in column order
    phone_column: str | None  # header of the column used; None for a plain list or no header
    encoding: str  # "utf-8", "utf-16", "cp1252"
    warnings: list[str] = field(default_factory=list)  # plain sentences
    read_abroad: list[ReadAbroad] = field(default_factory=list)  # of the recipients kept
    # What every recipient was checked against when read (None: not checked), so that sending
    # need not check each number again unless the workspace's destinations were narrowed since.
    destinations: Destinations | None = None

    def to_json(self, sample: int = 5) -> dict[str, Any]:
        return {
            "valid": len(self.recipients),
            "invalid": [
                {"row": bad.row, "value": bad.value, "reason": bad.reason} for bad in self.invalid
            ],
            "duplicates": self.duplicates,
            "variables": list(self.variables),
            "phone_column": self.phone_column,
            "encoding": self.encoding,
            "warnings": list(self.warnings),
            "read_abroad": [
                {"row": r.row, "value": r.value, "phone": r.phone, "note": r.note}
                for r in self.read_abroad
            ],
            "sample": [
                {"phone": r.phone, "variables": dict(r.variables)} for r in self.recipients[:sample]
            ],
        }


def shorten(value: str) -> str:
    return value if len(value) <= MAX_SHOWN_CHARS else value[: MAX_SHOWN_CHARS - 1] + "…"


class Collector:
    """Keeps the first row of each number, counts the repeats, and holds the count to the limit.

    With `destinations`, a number the workspace may not text is refused like an invalid one, with
    its reason; `region` is the one numbers without a country code were read in.
    """

    def __init__(self, destinations: Destinations | None = None, region: str | None = None) -> None:
        self.recipients: list[Recipient] = []
        self.invalid: list[InvalidRow] = []
        self.duplicates = 0
        self.read_abroad: list[ReadAbroad] = []
        self._seen: set[str] = set()
        self._destinations = destinations
        self._region = region

    def add(self, row: int, raw: str, result: PhoneResult, variables: dict[str, str]) -> None:
        phone = result.e164
        refusal = None
        if phone is not None and self._destinations is not None:
            refusal = self._destinations.refusal(result)
        if phone is None or refusal is not None:
            self.invalid.append(
                InvalidRow(row, shorten(raw.strip()), refusal or result.reason or "")
            )
        elif phone in self._seen:
            self.duplicates += 1
        else:
            self._seen.add(phone)
            # Past the limit only the count matters, for the error message.
            if len(self._seen) <= MAX_RECIPIENTS:
                self.recipients.append(Recipient(row, phone, variables))
                if result.read_abroad:
                    note = read_abroad_note(phone, self._region)
                    self.read_abroad.append(ReadAbroad(row, shorten(raw.strip()), phone, note))

    def reject(self, row: int, value: str, reason: str) -> None:
        self.invalid.append(InvalidRow(row, shorten(value), reason))

    def report(
        self,
        *,
        variables: list[str],
        phone_column: str | None,
        encoding: str,
        warnings: list[str],
    ) -> ImportReport:
        if len(self._seen) > MAX_RECIPIENTS:
            raise LimitError(
                f"The list has {len(self._seen):,} different phone numbers; the limit is "
                f"{MAX_RECIPIENTS:,} per campaign. Split it into smaller campaigns.",
                field="recipients",
            )
        warnings = list(warnings)
        if self.read_abroad:
            warnings.append(read_abroad_warning(self.read_abroad))
        if not self.recipients and self.invalid:
            warnings.append(self._nothing_valid())
        elif not self.recipients and not warnings:
            warnings.append("No phone numbers found.")
        return ImportReport(
            recipients=self.recipients,
            invalid=self.invalid,
            duplicates=self.duplicates,
            variables=variables,
            phone_column=phone_column,
            encoding=encoding,
            warnings=warnings,
            read_abroad=self.read_abroad,
            destinations=self._destinations,
        )

    def _nothing_valid(self) -> str:
        reason, _ = Counter(bad.reason for bad in self.invalid).most_common(1)[0]
        rows = len(self.invalid)
        return (
            f"No valid phone number: {rows:,} {'row was' if rows == 1 else 'rows were'} refused, "
            f"most often as “{reason}”."
        )


def read_abroad_warning(rows: list[ReadAbroad]) -> str:
    """One sentence for the preview: which numbers were read as another country's, and what to do."""
    first = rows[0]
    if len(rows) == 1:
        which = f"Row {first.row}: {first.value} was {first.note}."
    else:
        which = (
            f"{len(rows):,} numbers written without a country code were read as numbers abroad "
            f"(the first, row {first.row}: {first.value} was {first.note})."
        )
    return (
        f"{which} If that is not right, correct the list; write numbers from abroad with + and "
        "their country code."
    )


def refused_among(
    recipients: list[Recipient], destinations: Destinations
) -> tuple[list[Recipient], list[InvalidRow]]:
    """Stored numbers (a contact group's) checked as a list is when read: those the workspace may
    text now, and the rest with the reason. CPU: 100,000 take a second or two, in the pool."""
    kept: list[Recipient] = []
    refused: list[InvalidRow] = []
    for recipient in recipients:
        reason = destinations.refusal_for(recipient.phone)
        if reason is None:
            kept.append(recipient)
        else:
            refused.append(InvalidRow(recipient.row, recipient.phone, reason))
    return kept, refused
