"""Uploaded pictures: stored with the campaign that carries them, and read back to serve them.

A create or an edit stores its uploads in its own transaction (`attach_media`), so a refused
request leaves no file behind, and checks every `upload:<id>` the campaign names: that it is
stored, and that the pictures stay within Twilio's 5 MB for one message.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns.errors import InputError
from campaigns.media_files import FIELD, MediaUpload, check_total_size, upload_id
from campaigns.models import Campaign, MediaFile
from campaigns.service.context import Context


async def attach_media(
    session: AsyncSession, campaign: Campaign, uploads: Sequence[MediaUpload], actor: str
) -> None:
    """Store `uploads` for `campaign` and check the uploads its media list names, in the
    caller's transaction (InputError rolls it back)."""
    for upload in uploads:
        session.add(
            MediaFile(
                id=upload.id, campaign_id=campaign.id, filename=upload.filename,
                content_type=upload.content_type, size=upload.size, data=upload.data,
                created_by=actor, created_at=campaign.updated_at,
            )
        )  # fmt: skip
    named = [fid for ref in campaign.media_urls or () if (fid := upload_id(ref))]
    new = {upload.id: upload.size for upload in uploads}
    stored = await _stored_sizes(session, [fid for fid in named if fid not in new])
    missing = [fid for fid in named if fid not in new and fid not in stored]
    if missing:
        raise InputError(
            f"No uploaded picture {missing[0]} is stored in Textcast: remove the line "
            f"upload:{missing[0]}, or upload the picture again.",
            field=FIELD,
        )
    check_total_size(sum(new.get(fid) or stored[fid] for fid in named))


async def _stored_sizes(session: AsyncSession, file_ids: list[str]) -> dict[str, int]:
    if not file_ids:
        return {}
    rows = await session.execute(
        select(MediaFile.id, MediaFile.size).where(MediaFile.id.in_(file_ids))
    )
    return {fid: size for fid, size in rows.all()}


async def media_file_exists(ctx: Context, file_id: str) -> bool:
    async with ctx.db.read() as session:
        found = await session.execute(select(MediaFile.id).where(MediaFile.id == file_id))
        return found.first() is not None


async def get_media_file(ctx: Context, file_id: str) -> MediaFile | None:
    """The stored picture, bytes and all, or None."""
    async with ctx.db.read() as session:
        return await session.get(MediaFile, file_id)
