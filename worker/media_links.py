"""A campaign's media as Twilio gets them: public links as they are, and each uploaded picture
(`upload:<id>`) as a signed link to PUBLIC_BASE_URL/media/<token> (campaigns/media_tokens.py).

Links are minted when messages are made, not when the campaign was created, so a campaign
scheduled a week ahead, held for days by its sending hours or sending for many hours at a slow
rate still hands Twilio links valid for as long as Twilio may hold each message (at least the
whole lifetime, at most a quarter more).

Expiries fall on a grid of a quarter of the lifetime, so every send loop, in every worker,
hands out the same link for a picture within a quarter: Twilio fetches a MediaUrl for each
message it makes, and caches the file by its URL when the answer allows it (bot/media.py), so
a stable URL is fetched from Textcast once a quarter instead of once a message.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from campaigns.media_files import upload_id
from campaigns.media_tokens import link_lifetime, media_url, signing_key
from campaigns.settings import Settings

UNREACHABLE = (
    "Its uploaded pictures cannot be sent: Twilio fetches them from Textcast, which is not set "
    "up to serve them now. Ask whoever runs Textcast to set that up again, then resume; or "
    "cancel."
)
# What whoever runs Textcast reads in the worker's log: the settings to look at.
UNREACHABLE_SETTINGS = (
    "uploaded pictures cannot be linked: PUBLIC_BASE_URL and TWILIO_AUTH_TOKEN must be set"
)


class PicturesUnreachable(Exception):
    """A campaign names uploaded pictures, but no link to them can be made (the settings were
    removed after it was confirmed): its messages are held, not sent without their pictures."""

    def __init__(self) -> None:
        super().__init__(UNREACHABLE_SETTINGS)
        self.reason = UNREACHABLE  # for people in Slack: no setting names


class MediaLinks:
    """What `MediaUrl` carries for one campaign's messages; `urls()` before each message."""

    def __init__(
        self, media: Sequence[str], settings: Settings, now: Callable[[], datetime]
    ) -> None:
        self._media = tuple(media)
        self._base = settings.PUBLIC_BASE_URL
        self._key = signing_key(settings)
        self._lifetime = link_lifetime(settings)
        self._now = now
        self._urls: tuple[str, ...] = ()
        self._step = max(1, self._lifetime // 4)
        self._quarter: int | None = None
        self._uploads = any(upload_id(m) for m in self._media)

    def urls(self) -> tuple[str, ...]:
        """Raises PicturesUnreachable when uploads cannot be linked: a message without the
        picture it was written for is not what the person confirmed."""
        if not self._uploads:
            return self._media
        if self._base is None or self._key is None:
            raise PicturesUnreachable
        quarter = int(self._now().timestamp()) // self._step
        if quarter != self._quarter:
            # From now, at least the lifetime is left, and at most a quarter more.
            expires = (quarter + 1) * self._step + self._lifetime
            self._urls = tuple(self._link(m, expires) for m in self._media)
            self._quarter = quarter
        return self._urls

    def _link(self, media: str, expires: int) -> str:
        file_id = upload_id(media)
        if file_id is None or self._base is None or self._key is None:
            return media
        return media_url(self._base, self._key, file_id, expires)


def media_for(
    media: Sequence[str], settings: Settings, now: Callable[[], datetime]
) -> tuple[str, ...]:
    """The media for one message made now (a test message)."""
    return MediaLinks(media, settings, now).urls()
