"""What an import produced: the recipients, the rows that were refused and why, and the totals."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from campaigns.errors import LimitError
from campaigns.limits import MAX_RECIPIENTS
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


@dataclass(slots=True)
class ImportReport:
    recipients: list[Recipient]  # valid, deduplicated, in input order (first occurrence kept)
    invalid: list[InvalidRow]
    duplicates: int  # rows dropped because their number was already seen
    variables: list[str]  # variable (column) names, in column order
    phone_column: str | None  # header of the column used; None for a plain list or no header
    encoding: str  # "utf-8", "utf-16", "cp1252"
    warnings: list[str] = field(default_factory=list)  # plain sentences

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
            "sample": [
                {"phone": r.phone, "variables": dict(r.variables)} for r in self.recipients[:sample]
            ],
        }


def shorten(value: str) -> str:
    return value if len(value) <= MAX_SHOWN_CHARS else value[: MAX_SHOWN_CHARS - 1] + "…"


class Collector:
    """Keeps the first row of each number, counts the repeats, and holds the count to the limit."""

    def __init__(self) -> None:
        self.recipients: list[Recipient] = []
        self.invalid: list[InvalidRow] = []
        self.duplicates = 0
        self._seen: set[str] = set()

    def add(self, row: int, raw: str, result: PhoneResult, variables: dict[str, str]) -> None:
        phone = result.e164
        if phone is None:
            self.invalid.append(InvalidRow(row, shorten(raw.strip()), result.reason or ""))
        elif phone in self._seen:
            self.duplicates += 1
        else:
            self._seen.add(phone)
            # Past the limit only the count matters, for the error message.
            if len(self._seen) <= MAX_RECIPIENTS:
                self.recipients.append(Recipient(row, phone, variables))

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
        )

    def _nothing_valid(self) -> str:
        reason, _ = Counter(bad.reason for bad in self.invalid).most_common(1)[0]
        rows = len(self.invalid)
        return (
            f"No valid phone number: {rows:,} {'row was' if rows == 1 else 'rows were'} refused, "
            f"most often as “{reason}”."
        )
