"""The sandbox's Slack workspace: its team, people, channels and user groups, seeded and extendable.

The seeded ids are constants so that tests, the demo and the request builders can name them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sandbox.slack.errors import SlackError

TEAM_ID = "T0SANDBOX"
TEAM_NAME = "Textcast Sandbox"
TEAM_DOMAIN = "textcast-sandbox"
ENTERPRISE_ID = None

BOT_TOKEN = "xoxb-sandbox-bot-token"
BOT_USER_ID = "U0BOT"
BOT_ID = "B0BOT"
BOT_NAME = "Textcast"
APP_ID = "A0TEXTCAST"
APP_TOKEN = "xapp-1-A0TEXTCAST-1-sandbox"  # app-level (Socket Mode): apps.connections.open only
SIGNING_SECRET = "sandbox-signing-secret"
VERIFICATION_TOKEN = "sandbox-verification-token"  # Slack still puts this in every payload

GENERAL = "C0GENERAL"
CAMPAIGNS = "C0CAMPAIGNS"
# Public, but the bot is not a member: posting there works only with chat:write.public (which
# the manifest grants, so by default it works), as on Slack.
RANDOM = "C0RANDOM"
STAFF = "C0STAFF"  # private, the bot not a member: posting there fails with not_in_channel

ALICE = "U0ALICE"  # Europe/London
BOB = "U0BOB"  # America/New_York
CAROL = "U0CAROL"  # Asia/Kolkata: a half-hour offset

SENDERS_GROUP = "S0SENDERS"  # Alice and Bob

_TZ_LABELS = {
    "GMT": "Greenwich Mean Time",
    "BST": "British Summer Time",
    "EST": "Eastern Standard Time",
    "EDT": "Eastern Daylight Time",
    "CST": "Central Standard Time",
    "CDT": "Central Daylight Time",
    "MST": "Mountain Standard Time",
    "MDT": "Mountain Daylight Time",
    "PST": "Pacific Standard Time",
    "PDT": "Pacific Daylight Time",
    "CET": "Central European Time",
    "CEST": "Central European Summer Time",
    "IST": "India Standard Time",
    "JST": "Japan Standard Time",
    "AEST": "Australian Eastern Standard Time",
    "AEDT": "Australian Eastern Daylight Time",
    "UTC": "Coordinated Universal Time",
}


def tz_offset_and_label(tz: str, at: datetime | None = None) -> tuple[int, str]:
    """Slack's `tz_offset` (seconds east of UTC, DST applied) and `tz_label` for a zone, now."""
    local = (at or datetime.now(UTC)).astimezone(ZoneInfo(tz))
    offset = local.utcoffset()
    abbreviation = local.tzname() or tz
    seconds = int(offset.total_seconds()) if offset is not None else 0
    return seconds, _TZ_LABELS.get(abbreviation, abbreviation)


@dataclass(slots=True)
class User:
    id: str
    name: str  # the handle, e.g. "alice"
    real_name: str
    tz: str = "Europe/London"
    email: str = ""
    is_bot: bool = False
    is_admin: bool = False
    deleted: bool = False
    locale: str = "en-GB"
    bot_id: str | None = None
    phone: str = ""  # the profile's phone, as the person typed it (Slack does not check it)

    def to_dict(self, team_id: str, *, include_locale: bool = False) -> dict:
        offset, label = tz_offset_and_label(self.tz)
        first, _, last = self.real_name.partition(" ")
        profile = {
            "real_name": self.real_name,
            "real_name_normalized": self.real_name,
            "display_name": self.name,
            "display_name_normalized": self.name,
            "first_name": first,
            "last_name": last,
            "email": self.email,
            "phone": self.phone,
            "status_text": "",
            "status_emoji": "",
            "image_48": f"https://avatars.invalid/{self.id}_48.png",
            "image_72": f"https://avatars.invalid/{self.id}_72.png",
            "team": team_id,
        }
        if self.is_bot:
            profile["bot_id"] = self.bot_id
            profile.pop("email")
        user = {
            "id": self.id,
            "team_id": team_id,
            "name": self.name,
            "deleted": self.deleted,
            "color": "9f69e7",
            "real_name": self.real_name,
            "tz": self.tz,
            "tz_label": label,
            "tz_offset": offset,
            "profile": profile,
            "is_admin": self.is_admin,
            "is_owner": False,
            "is_primary_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "updated": 1_700_000_000,
            "is_email_confirmed": not self.is_bot,
        }
        if include_locale:
            user["locale"] = self.locale
        return user


@dataclass(slots=True)
class Channel:
    id: str
    name: str
    members: set[str] = field(default_factory=set)
    is_private: bool = False
    is_im: bool = False
    is_archived: bool = False
    is_general: bool = False
    topic: str = ""
    purpose: str = ""
    created: int = 1_700_000_000
    creator: str = ALICE

    @property
    def display_name(self) -> str:
        return self.name if self.is_im else f"#{self.name}"

    def to_dict(self, bot_user_id: str, *, include_num_members: bool = False) -> dict:
        if self.is_im:
            other = next((m for m in sorted(self.members) if m != bot_user_id), bot_user_id)
            return {
                "id": self.id,
                "created": self.created,
                "is_im": True,
                "is_org_shared": False,
                "user": other,
                "is_archived": False,
                "priority": 0,
            }
        channel = {
            "id": self.id,
            "name": self.name,
            "name_normalized": self.name,
            "is_channel": not self.is_private,
            "is_group": False,
            "is_im": False,
            "is_mpim": False,
            "is_private": self.is_private,
            "created": self.created,
            "creator": self.creator,
            "is_archived": self.is_archived,
            "is_general": self.is_general,
            "unlinked": 0,
            "is_shared": False,
            "is_org_shared": False,
            "is_ext_shared": False,
            "is_pending_ext_shared": False,
            "is_member": bot_user_id in self.members,
            "topic": {"value": self.topic, "creator": "", "last_set": 0},
            "purpose": {"value": self.purpose, "creator": "", "last_set": 0},
            "previous_names": [],
        }
        if include_num_members:
            channel["num_members"] = len(self.members)
        return channel


@dataclass(slots=True)
class Usergroup:
    id: str
    handle: str
    name: str
    users: list[str] = field(default_factory=list)


class Workspace:
    """Who and what exists in the sandbox's team. Lookups raise SlackError with Slack's codes."""

    def __init__(
        self,
        *,
        team_id: str = TEAM_ID,
        team_name: str = TEAM_NAME,
        team_domain: str = TEAM_DOMAIN,
        bot_user_id: str = BOT_USER_ID,
        bot_id: str = BOT_ID,
        bot_name: str = BOT_NAME,
        seed: bool = True,
    ) -> None:
        self.team_id = team_id
        self.team_name = team_name
        self.team_domain = team_domain
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.bot_name = bot_name
        self.users: dict[str, User] = {}
        self.channels: dict[str, Channel] = {}
        self.usergroups: dict[str, Usergroup] = {}
        self.add_user(
            User(
                id=bot_user_id,
                name=bot_name.lower(),
                real_name=bot_name,
                tz="America/Los_Angeles",
                is_bot=True,
                bot_id=bot_id,
            )
        )
        if seed:
            self._seed()

    def _seed(self) -> None:
        people = [
            User(
                ALICE, "alice", "Alice Smith", "Europe/London", "alice@example.com", is_admin=True
            ),
            User(BOB, "bob", "Bob Jones", "America/New_York", "bob@example.com", locale="en-US"),
            User(
                CAROL, "carol", "Carol Singh", "Asia/Kolkata", "carol@example.com", locale="en-IN"
            ),
        ]
        for person in people:
            self.add_user(person)
        everyone = {ALICE, BOB, CAROL, self.bot_user_id}
        self.add_channel(
            Channel(GENERAL, "general", set(everyone), is_general=True, purpose="Everyone")
        )
        self.add_channel(
            Channel(
                CAMPAIGNS, "campaigns", set(everyone), purpose="SMS campaigns and their reports"
            )
        )
        self.add_channel(Channel(RANDOM, "random", {ALICE, BOB}))
        self.add_channel(Channel(STAFF, "staff", {ALICE, BOB}, is_private=True))
        self.add_usergroup(Usergroup(SENDERS_GROUP, "sms-senders", "SMS senders", [ALICE, BOB]))

    # -- changing the directory

    def add_user(self, user: User) -> User:
        self.users[user.id] = user
        return user

    def add_channel(self, channel: Channel) -> Channel:
        self.channels[channel.id] = channel
        return channel

    def add_usergroup(self, group: Usergroup) -> Usergroup:
        self.usergroups[group.id] = group
        return group

    # -- lookups

    def user(self, user_id: str | None) -> User:
        user = self.users.get(user_id or "")
        if user is None:
            raise SlackError("user_not_found")
        return user

    def channel(self, ref: str | None) -> Channel:
        """A channel by id, by name (with or without '#'), or a user id meaning the app's DM."""
        ref = (ref or "").strip()
        if ref in self.channels:
            return self.channels[ref]
        if ref[:1] in ("U", "W") and ref in self.users:
            return self.dm(ref)
        name = ref.removeprefix("#")
        for channel in self.channels.values():
            if not channel.is_im and channel.name == name:
                return channel
        raise SlackError("channel_not_found")

    @staticmethod
    def dm_id(user_id: str) -> str:
        return "D" + user_id[1:]

    def dm(self, user_id: str) -> Channel:
        """The app's direct-message conversation with a person, opened on first use."""
        self.user(user_id)
        channel_id = self.dm_id(user_id)
        if channel_id not in self.channels:
            self.add_channel(
                Channel(
                    channel_id,
                    user_id,
                    {user_id, self.bot_user_id},
                    is_private=True,
                    is_im=True,
                    created=int(time.time()),
                )
            )
        return self.channels[channel_id]

    def display_name(self, user_id: str | None) -> str:
        user = self.users.get(user_id or "")
        return user.real_name if user else (user_id or "someone")

    def channel_label(self, channel_id: str) -> str:
        channel = self.channels.get(channel_id)
        if channel is None:
            return channel_id
        if channel.is_im:
            return f"DM with {self.display_name(channel.name)}"
        return channel.display_name
