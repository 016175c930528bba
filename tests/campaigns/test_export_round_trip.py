"""Textcast's own export read back by its import: the row and outcome columns are left out and
the apostrophe it put before a cell comes off again; in any other file nothing is taken off."""

from __future__ import annotations

from campaigns.export import neutralised, restored, to_csv
from campaigns.models import Recipient
from campaigns.recipients import parse_recipients

VALUES = ["=SUM(A1)", "+44", "-", "@home", "'quoted", "''", "O'Brien", "'", "plain", ""]


def test_restored_undoes_neutralised_and_nothing_else() -> None:
    for value in VALUES:
        assert restored(neutralised(value)) == value
    # What Textcast never writes is left as it is: an apostrophe before ordinary text.
    assert restored("'plain") == "'plain" and restored("O'Brien") == "O'Brien"


def test_an_export_reads_back_as_its_recipients() -> None:
    people = [
        Recipient(row=i + 2, phone=f"+4477009000{i:02d}", status="pending",
                  variables={"first_name": value, "=odd name": str(i)})
        for i, value in enumerate(VALUES)
    ]  # fmt: skip
    data = to_csv(["first_name", "=odd name"], [people], {"+447700900001": "text STOP"})
    report = parse_recipients(data, None)
    assert report.variables == ["first_name", "=odd name"]
    assert [(r.phone, r.variables) for r in report.recipients] == [
        (p.phone, p.variables) for p in people
    ]


def test_a_file_that_is_not_an_export_keeps_its_apostrophes() -> None:
    """Someone's own spreadsheet, even with a column named status, is read as written."""
    text = "row,phone,first_name,status\n1,+447700900001,'=SUM(A1),ok\n"
    report = parse_recipients(text.encode(), None)
    [person] = report.recipients
    assert person.variables == {"row": "1", "first_name": "'=SUM(A1)", "status": "ok"}


def test_an_export_from_before_opted_out_by_reads_back_too() -> None:
    text = (
        "row,phone,first_name,status,error_code,error_reason,sender,twilio_sid,last_change_utc\n"
        "2,'+447700900001,'=SUM(A1),delivered,,,+14155550100,SM1,2026-12-01 09:00:00\n"
    )
    [person] = parse_recipients(("\ufeff" + text).encode(), None).recipients
    assert (person.phone, person.variables) == ("+447700900001", {"first_name": "=SUM(A1)"})
