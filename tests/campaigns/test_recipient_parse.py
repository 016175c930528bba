"""Recipient files as people export them: encodings, delimiters, headers, damage and mistakes."""

from __future__ import annotations

import codecs

import pytest

from campaigns.errors import RecipientFileError
from campaigns.recipients import ImportReport, InvalidRow, Recipient, parse_recipients
from campaigns.recipients.decode import NOT_UTF8_WARNING
from campaigns.recipients.parse import NO_PHONE_COLUMN


def phones(report: ImportReport) -> list[str]:
    return [r.phone for r in report.recipients]


def test_the_header_names_the_phone_column_and_the_rest_become_variables() -> None:
    report = parse_recipients(
        b"first_name,Mobile Phone,appointment\n"
        b"Amara, +44 7700 900123 ,Tue 10:00\n"
        b"Ben,07700 900456,Wed 11:30\n",
        "GB",
    )
    assert report.phone_column == "Mobile Phone"
    assert report.variables == ["first_name", "appointment"]
    assert report.recipients == [
        Recipient(2, "+447700900123", {"first_name": "Amara", "appointment": "Tue 10:00"}),
        Recipient(3, "+447700900456", {"first_name": "Ben", "appointment": "Wed 11:30"}),
    ]
    assert report.encoding == "utf-8"
    assert report.warnings == []


def test_a_utf8_bom_is_not_part_of_the_first_header() -> None:
    report = parse_recipients(codecs.BOM_UTF8 + "phone,name\n+447700900123,Zoë\n".encode(), None)
    assert report.phone_column == "phone"
    assert report.recipients[0].variables == {"name": "Zoë"}
    assert report.encoding == "utf-8"


@pytest.mark.parametrize("newline", ["\r\n", "\r", "\n"])
def test_any_newline_convention_reads_the_same(newline: str) -> None:
    text = newline.join(["name,phone", "Amara,+447700900123", "Ben,+447700900456", ""])
    report = parse_recipients(text.encode(), None)
    assert phones(report) == ["+447700900123", "+447700900456"]
    assert [r.row for r in report.recipients] == [2, 3]
    assert report.recipients[1].variables == {"name": "Ben"}


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_european_and_tab_separated_exports_are_read(delimiter: str) -> None:
    rows = [["Name", "Telefon", "Betrag"], ["Jörg", "+49 1512 3456789", "12,50"]]
    rows.append(["Anna", "+49 1512 3456780", "7,00"])
    text = "\n".join(delimiter.join(row) for row in rows)
    report = parse_recipients(text.encode(), "DE")
    assert report.phone_column == "Telefon"
    assert phones(report) == ["+4915123456789", "+4915123456780"]
    assert report.recipients[0].variables == {"Name": "Jörg", "Betrag": "12,50"}


def test_quoted_fields_keep_their_commas_quotes_and_newlines() -> None:
    report = parse_recipients(
        b'name,phone,note\n"Okafor, Amara",+447700900123,"said ""hi""\nthen left"\n'
        b'Ben,+447700900456,"a, b"\n'
        b"Cara,not a number,x\n",
        None,
    )
    assert report.recipients[0].variables == {
        "name": "Okafor, Amara",
        "note": 'said "hi"\nthen left',
    }
    assert report.recipients[1].variables == {"name": "Ben", "note": "a, b"}
    # The quoted newline is one spreadsheet row, so Ben is row 3 and Cara row 4.
    assert [r.row for r in report.recipients] == [2, 3]
    assert report.invalid == [InvalidRow(4, "not a number", "not a phone number")]


def test_blank_lines_are_skipped_but_rows_keep_their_spreadsheet_numbers() -> None:
    report = parse_recipients(b"\nphone,name\n\n+447700900123,A\n,\n  \n+44770090,B\n", None)
    assert [r.row for r in report.recipients] == [4]
    assert report.invalid == [InvalidRow(7, "+44770090", "not a valid number for GB")]
    assert report.phone_column == "phone"


def test_a_google_contacts_export_uses_the_value_column_not_the_type() -> None:
    header = (
        "Name,Given Name,Family Name,Phone 1 - Type,Phone 1 - Value,Phone 2 - Type,Phone 2 - Value"
    )
    rows = [
        "Amara Okafor,Amara,Okafor,Mobile,+44 7700 900123,Home,+44 113 496 0000",
        "Ben Hughes,Ben,Hughes,Mobile,+44 7700 900456 ::: 07700 900789,,",
        "Cara Ng,Cara,Ng,Work,+44 20 7946 0123,,",
    ]
    report = parse_recipients("\n".join([header, *rows]).encode(), None)
    assert report.phone_column == "Phone 1 - Value"
    assert phones(report) == ["+447700900123", "+447700900456", "+442079460123"]
    assert "Phone 1 - Type" in report.variables
    assert report.recipients[0].variables["Phone 2 - Value"] == "+44 113 496 0000"


def test_an_outlook_export_prefers_the_mobile_column() -> None:
    header = "First Name,Last Name,Home Phone,Mobile Phone,Business Phone,E-mail Address"
    rows = [
        "Amara,Okafor,0113 496 0000,07700 900123,020 7946 0000,amara@example.com",
        "Ben,Hughes,0113 496 0001,,020 7946 0001,ben@example.com",
        "Cara,Ng,0113 496 0002,07700 900789,,cara@example.com",
    ]
    report = parse_recipients("\r\n".join([header, *rows]).encode(), "GB")
    assert report.phone_column == "Mobile Phone"
    assert phones(report) == ["+447700900123", "+447700900789"]
    assert report.invalid == [InvalidRow(3, "", "empty")]
    assert report.variables == [
        "First Name",
        "Last Name",
        "Home Phone",
        "Business Phone",
        "E-mail Address",
    ]


def test_a_matching_header_is_judged_by_its_values() -> None:
    report = parse_recipients(
        b"Order Number,Customer,Contact\n10023,Amara,+447700900123\n10024,Ben,+447700900456\n",
        "GB",
    )
    assert report.phone_column == "Contact"
    assert report.variables == ["Order Number", "Customer"]
    assert len(report.recipients) == 2


@pytest.mark.parametrize("header", ["PhoneNumber", "phone_number", "TEL", "mobileNo", "Cell"])
def test_header_spellings_that_name_a_phone_column(header: str) -> None:
    data = f"Telephony,{header}\n+447700900123,+447700900456\n+447700900789,hello\n"
    report = parse_recipients(data.encode(), None)
    assert report.phone_column == header
    assert report.variables == ["Telephony"]
    assert report.invalid == [InvalidRow(3, "hello", "not a phone number")]


def test_a_file_without_a_header_uses_the_first_phone_column() -> None:
    report = parse_recipients(
        b"Amara,+447700900123,Leeds,07700 900999\nBen,+447700900456,York,\n", "GB"
    )
    assert report.phone_column is None
    assert report.variables == ["column1", "column3", "column4"]
    assert report.recipients[0] == Recipient(
        1, "+447700900123", {"column1": "Amara", "column3": "Leeds", "column4": "07700 900999"}
    )
    assert report.recipients[1].row == 2


def test_repeated_and_empty_headers_are_made_unique() -> None:
    report = parse_recipients(b"Name,phone,name,,Phone\nA,+447700900123,B,C,D\n", None)
    assert report.phone_column == "phone"
    assert report.variables == ["Name", "name_2", "column4", "Phone_2"]
    assert report.recipients[0].variables == {
        "Name": "A",
        "name_2": "B",
        "column4": "C",
        "Phone_2": "D",
    }


def test_ragged_rows_are_padded_or_cut_with_a_warning() -> None:
    report = parse_recipients(
        b"phone,name,city,\n+447700900123,Amara\n+447700900456,Ben,York,,extra\n", None
    )
    assert report.variables == ["name", "city"]
    assert report.recipients[0].variables == {"name": "Amara", "city": ""}
    assert report.warnings == [
        "Row 3 has more cells than the header row; the extra cells were ignored."
    ]


def test_a_windows_1252_file_is_read_with_a_warning() -> None:
    data = "name;phone\nJosé Müller;+447700900123\nRenée;+447700900456 €\n".encode("cp1252")
    report = parse_recipients(data, None)
    assert report.encoding == "cp1252"
    assert report.warnings == [NOT_UTF8_WARNING]
    assert report.recipients[0].variables == {"name": "José Müller"}
    assert report.recipients[1].variables == {"name": "Renée"}


def test_bytes_windows_1252_lacks_are_read_as_latin1() -> None:
    report = parse_recipients(b"name,phone\nA\x81\xe9,+447700900123\n", None)
    assert report.recipients[0].variables == {"name": "A\x81é"}
    assert report.encoding == "cp1252"


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be"])
def test_excel_unicode_text_in_utf16_is_read(codec: str) -> None:
    text = "Name\tMobile\nZoë\t07700 900123\nŁukasz\t07700 900456\n"
    data = text.encode(codec)
    if codec != "utf-16":  # Excel writes a BOM; a BOM-less file is recognised by its zero bytes
        assert not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    report = parse_recipients(data, "GB")
    assert report.encoding == "utf-16"
    assert phones(report) == ["+447700900123", "+447700900456"]
    assert report.recipients[1].variables == {"Name": "Łukasz"}


@pytest.mark.parametrize(
    ("data", "warning"),
    [
        (b"", "The file is empty."),
        (codecs.BOM_UTF8, "The file is empty."),
        (b"  \r\n\n\t\n", "The file holds only blank lines and spaces."),
        ("", "The text is empty."),
        ("\n \n", "The text holds only blank lines and spaces."),
    ],
)
def test_empty_input_is_a_report_with_a_warning(data: bytes | str, warning: str) -> None:
    report = parse_recipients(data, "GB")
    assert (report.recipients, report.invalid, report.duplicates) == ([], [], 0)
    assert report.warnings == [warning]
    assert report.to_json()["valid"] == 0


def test_cells_that_are_all_empty_still_get_a_warning() -> None:
    report = parse_recipients(b'"",""\n,\n', "GB")
    assert report.recipients == [] and report.invalid == []
    assert report.warnings == ["No phone numbers found."]


def test_a_table_without_any_phone_column_says_so() -> None:
    report = parse_recipients(b"name,email\nAmara,a@example.com\nBen,b@example.com\n", "GB")
    assert report.recipients == [] and report.invalid == []
    assert report.warnings == [NO_PHONE_COLUMN]
    assert "No column holds phone numbers" in report.warnings[0]


def test_a_header_without_rows_says_so() -> None:
    report = parse_recipients(b"first_name,phone\n", "GB")
    assert report.phone_column == "phone"
    assert report.warnings == ["The file has a header row but no recipients under it."]


def test_when_nothing_is_valid_the_warning_names_the_commonest_problem() -> None:
    report = parse_recipients(b"phone\n07700 900123\n07700 900456\nhello\n", None)
    assert report.recipients == []
    assert [bad.row for bad in report.invalid] == [2, 3, 4]
    assert len(report.warnings) == 1
    assert "written without a country code" in report.warnings[0]


@pytest.mark.parametrize(
    "data",
    [
        b"phone\n+447700900123\n\x00\x01\x02\x03\x00garbage\x00",
        b"PK\x03\x04\x14\x00\x06\x00" + bytes(range(256)),
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(64),
        b"PK\x03\x04only text after the zip signature",
    ],
)
def test_binary_files_and_workbooks_are_refused(data: bytes) -> None:
    with pytest.raises(RecipientFileError) as caught:
        parse_recipients(data, "GB")
    assert "binary file, not CSV" in caught.value.message
    assert "save it as CSV" in caught.value.message


def test_text_with_nul_characters_is_refused() -> None:
    with pytest.raises(RecipientFileError, match="binary"):
        parse_recipients("phone\n+447700900123\x00\n", None)


def test_an_unterminated_quote_names_its_row() -> None:
    data = b'name,phone\nAmara,+447700900123\n"Ben,+447700900456\nCara,+447700900789\n'
    with pytest.raises(RecipientFileError, match="Row 3 ") as caught:
        parse_recipients(data, None)
    assert "quote" in caught.value.message


def test_an_unterminated_quote_in_a_large_file_names_its_row() -> None:
    rows = [f"Person {i},+4477009{i % 1000:05d}" for i in range(12_000)]
    rows[5000] = '"Person 5000,+447700900000'  # spreadsheet row 5002, counting the header
    data = ("name,phone\n" + "\n".join(rows) + "\n").encode()
    with pytest.raises(RecipientFileError, match="Row 5002 "):
        parse_recipients(data, None)


def test_invalid_rows_carry_row_value_and_reason() -> None:
    long_value = "call me on the landline after six o'clock please and thank you"
    report = parse_recipients(
        (f"name,phone\nA,+447700900123\nB,\nC,12\nD,{long_value}\nE,+999 1234 5678\n").encode(),
        "GB",
    )
    assert report.invalid == [
        InvalidRow(3, "", "empty"),
        InvalidRow(4, "12", "too short"),
        InvalidRow(5, long_value[:49] + "…", "not a phone number"),
        InvalidRow(6, "+999 1234 5678", "unknown country code"),
    ]
    assert len(report.invalid[2].value) == 50


def test_duplicates_are_dropped_counted_and_the_first_row_kept() -> None:
    report = parse_recipients(
        b"name,phone\nA,+447700900123\nB,07700 900123\nC,+447700900456\nD,+44 7700 900123\n",
        "GB",
    )
    assert phones(report) == ["+447700900123", "+447700900456"]
    assert report.recipients[0].variables == {"name": "A"}
    assert report.duplicates == 2
    assert report.to_json()["duplicates"] == 2


def test_national_numbers_follow_the_region() -> None:
    data = b"phone\n07700 900123\n+447700900456\n"
    without = parse_recipients(data, None)
    assert phones(without) == ["+447700900456"]
    assert without.invalid[0].row == 2
    assert "country code" in without.invalid[0].reason
    assert phones(parse_recipients(data, "GB")) == ["+447700900123", "+447700900456"]


def test_spreadsheet_damage_in_a_file() -> None:
    report = parse_recipients(
        b'name,phone\nA,"=""+447700900123"""\nB,447700900456.0\nC,4.47701E+11\n', "GB"
    )
    assert phones(report) == ["+447700900123", "+447700900456"]
    assert report.invalid == [
        InvalidRow(4, "4.47701E+11", report.invalid[0].reason),
    ]
    assert "format the column as text" in report.invalid[0].reason


def test_a_damaged_phone_column_is_still_chosen_so_each_row_says_why() -> None:
    report = parse_recipients(b"name,mobile\nA,4.47701E+11\nB,4.47701E+11\n", "GB")
    assert report.phone_column == "mobile"
    assert [bad.row for bad in report.invalid] == [2, 3]
    assert all("scientific notation" in bad.reason for bad in report.invalid)


def test_to_json_has_the_report_fields_and_a_sample() -> None:
    report = parse_recipients(
        b"phone,name\n" + b"".join(b"+4477009001%02d,P%d\n" % (i, i) for i in range(8)) + b"x,y\n",
        None,
    )
    data = report.to_json(sample=3)
    assert data["valid"] == 8
    assert data["invalid"] == [{"row": 10, "value": "x", "reason": "not a phone number"}]
    assert data["duplicates"] == 0
    assert data["variables"] == ["name"]
    assert data["phone_column"] == "phone"
    assert data["encoding"] == "utf-8"
    assert data["warnings"] == []
    assert data["sample"] == [
        {"phone": "+447700900100", "variables": {"name": "P0"}},
        {"phone": "+447700900101", "variables": {"name": "P1"}},
        {"phone": "+447700900102", "variables": {"name": "P2"}},
    ]
    assert parse_recipients(b"phone\n+447700900100\n", None).to_json()["sample"] == [
        {"phone": "+447700900100", "variables": {}}
    ]
