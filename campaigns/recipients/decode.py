"""Turning an uploaded file's bytes into text, or saying why it is not a text file at all."""

from __future__ import annotations

import codecs
from dataclasses import dataclass

from campaigns.errors import LimitError, RecipientFileError
from campaigns.limits import MAX_INPUT_BYTES

NOT_UTF8_WARNING = (
    "The file is not UTF-8; read it as Windows-1252. Check that names with accents look right."
)
_BINARY = (
    "This looks like a binary file, not CSV. If it is an Excel workbook (.xlsx or .xls), "
    "save it as CSV first."
)
_WORKBOOK_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")  # .xlsx (zip), .xls (OLE2)

# The five bytes cp1252 leaves undefined are read as latin-1, i.e. as the control characters
# they are in every other single-byte Western encoding, instead of failing the whole file.
_CP1252 = {
    byte: bytes([byte]).decode("cp1252", errors="replace").replace("\ufffd", chr(byte))
    for byte in range(0x80, 0xA0)
}


@dataclass(frozen=True, slots=True)
class Decoded:
    text: str
    encoding: str  # "utf-8", "utf-16" or "cp1252"
    warnings: tuple[str, ...] = ()


def decode_bytes(data: bytes) -> Decoded:
    """The text of an uploaded file: UTF-8 (BOM or not), UTF-16 with a BOM, else Windows-1252."""
    check_size(len(data))
    if data.startswith(_WORKBOOK_MAGIC):
        raise RecipientFileError(_BINARY)
    if data.startswith(codecs.BOM_UTF8):
        return Decoded(_decode(data[len(codecs.BOM_UTF8) :], "utf-8"), "utf-8")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return Decoded(_decode(data, "utf-16"), "utf-16")
    if b"\x00" in data:
        return Decoded(_decode(data, _utf16_without_bom(data)), "utf-16")
    try:
        return Decoded(data.decode("utf-8"), "utf-8")
    except UnicodeDecodeError:
        return Decoded(_decode_cp1252(data), "cp1252", (NOT_UTF8_WARNING,))


def decode_text(text: str) -> Decoded:
    """Pasted (or already decoded) text, held to the same size and sanity rules as a file."""
    size = len(text) if len(text) * 4 <= MAX_INPUT_BYTES else len(text.encode("utf-8", "replace"))
    check_size(size)
    if "\x00" in text:
        raise RecipientFileError(_BINARY)
    return Decoded(text.removeprefix("\ufeff"), "utf-8")


def check_size(size: int) -> None:
    if size > MAX_INPUT_BYTES:
        raise LimitError(
            f"The recipient list is {size / 1024 / 1024:.1f} MB; the limit is "
            f"{MAX_INPUT_BYTES // 1024 // 1024} MB. Split it into smaller lists.",
            field="recipients",
        )


def _decode(data: bytes, encoding: str) -> str:
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as error:
        raise RecipientFileError(
            f"The file cannot be read as {encoding.upper()} (byte {error.start + 1} is not valid). "
            "Save it again as CSV UTF-8."
        ) from error
    if "\x00" in text:
        raise RecipientFileError(_BINARY)
    return text.removeprefix("\ufeff")


def _utf16_without_bom(data: bytes) -> str:
    """UTF-16 without its BOM, recognised by the zero high byte of Latin text; else binary."""
    even, odd = data[0::2], data[1::2]
    if len(data) % 2 == 0 and len(data) >= 4:
        if not even.count(0) and odd.count(0) >= 0.9 * len(odd):
            return "utf-16-le"
        if not odd.count(0) and even.count(0) >= 0.9 * len(even):
            return "utf-16-be"
    raise RecipientFileError(_BINARY)


def _decode_cp1252(data: bytes) -> str:
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1").translate(_CP1252)
