"""Pictures uploaded to Textcast (in the Slack modal), stored in the database and served to
Twilio at PUBLIC_BASE_URL/media/<token> (bot/media.py; the token: campaigns/media_tokens.py).

A campaign names an upload among its media as `upload:<id>`, beside any public links, so
everything that asks "is this an MMS campaign?" (the price, the segments, the summary, the
copy made to edit a scheduled campaign) treats an upload exactly as a link. The worker turns
each `upload:<id>` into a signed link when it sends (worker/media_links.py).

The type is read from the file's first bytes, never from its name or what Slack says: a text
file renamed .png would fail every message at Twilio. JPEG, PNG and GIF are the types every
carrier shows, and Twilio takes 5 MB of media in all for one message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from campaigns.errors import InputError
from campaigns.ids import random_token

MAX_MEDIA_BYTES = 5 * 1024 * 1024  # Twilio: 5 MB of media in all, for one message
UPLOAD_PREFIX = "upload:"
UPLOAD_REF = re.compile(r"upload:(med_[a-z2-7]{20})")
FIELD = "media_files"

# The first bytes of each type Textcast accepts, and the Content-Type it is served with.
SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


@dataclass(frozen=True, slots=True)
class MediaUpload:
    """An uploaded picture, checked, with the id it will be stored under."""

    id: str
    filename: str
    content_type: str
    data: bytes

    @property
    def ref(self) -> str:
        """How a campaign's media list names it."""
        return UPLOAD_PREFIX + self.id

    @property
    def size(self) -> int:
        return len(self.data)


def new_media_id() -> str:
    return "med_" + random_token(12)  # 96 random bits, 20 characters


def image_type(data: bytes) -> str | None:
    """The Content-Type of a JPEG, PNG or GIF read from its first bytes; None for anything else."""
    return next((kind for magic, kind in SIGNATURES if data.startswith(magic)), None)


def checked_upload(filename: str, data: bytes) -> MediaUpload:
    """The upload ready to store, or InputError saying what to fix."""
    name = (filename or "the file")[:255]
    if not data:
        raise InputError(f"{name} is empty: upload the picture again.", field=FIELD)
    if len(data) > MAX_MEDIA_BYTES:
        raise InputError(
            f"{name} is {megabytes(len(data))}; Twilio takes 5 MB of pictures in all for one "
            "message: make it smaller.",
            field=FIELD,
        )
    kind = image_type(data)
    if kind is None:
        raise InputError(
            f"{name} is not a JPEG, PNG or GIF picture (whatever its name says): those are the "
            "types every carrier shows. Save it as one of them and upload it again.",
            field=FIELD,
        )
    return MediaUpload(new_media_id(), name, kind, data)


def upload_id(ref: str) -> str | None:
    """The stored file's id when `ref` names an upload (`upload:<id>`), else None."""
    found = UPLOAD_REF.fullmatch(ref)
    return found.group(1) if found else None


def check_total_size(total: int) -> None:
    if total > MAX_MEDIA_BYTES:
        raise InputError(
            f"The pictures come to {megabytes(total)}; Twilio takes 5 MB in all for one "
            "message: upload fewer or smaller ones.",
            field=FIELD,
        )


def megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"
