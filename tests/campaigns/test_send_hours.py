"""Sending hours in the recipient's zone: parsing, zones from the number or the record, the
next opening, and daylight-saving changes (fixed instants, so any date and hour will do)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from campaigns.db import Database
from campaigns.errors import InputError
from campaigns.recipients import ImportReport, check_recipient_list
from campaigns.send_hours import (
    SendHours,
    effective_hours,
    next_allowed,
    parse_send_hours,
    window_closes,
    zone_variable,
    zones_for,
)
from campaigns.service import Context, create_campaign, preview_campaign, preview_new_campaign
from campaigns.settings import SettingsError, load_settings
from tests.campaigns.test_service_create import new_campaign
from tests.conftest import Clock, make_settings

DAYTIME = SendHours(time(8), time(21))
LONDON = ("Europe/London",)
NEW_YORK = ("America/New_York",)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_hours_are_read_and_shown_as_written() -> None:
    assert parse_send_hours("08:00-21:00") == DAYTIME
    assert parse_send_hours(" 9:30 - 20:00 ") == SendHours(time(9, 30), time(20))
    assert str(parse_send_hours("22:00-06:00:30")) == "22:00-06:00:30"
    assert parse_send_hours("ANY") is None
    assert effective_hours(None, "08:00-21:00") == DAYTIME
    assert effective_hours("any", "08:00-21:00") is None


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("8-21", "write them like 08:00-21:00"),
        ("25:00-26:00", "from 00:00 to 23:59"),
        ("09:00-09:00", "empty window"),
        ("", "write them like"),
    ],
)
def test_malformed_hours_say_how_to_write_them(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse_send_hours(text)


def test_a_malformed_setting_stops_start_up_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEND_HOURS", "8am-9pm")
    with pytest.raises(SettingsError, match="SEND_HOURS"):
        load_settings()


def test_zones_come_from_the_number_or_from_the_record() -> None:
    assert "Europe/London" in zones_for("+447400000001")
    assert zones_for("+16285550110") == ("America/Los_Angeles",)  # by area code
    assert zones_for("+16285550110", {"Time Zone": "Europe/Paris"}) == ("Europe/Paris",)
    assert zone_variable({"tz": "Not/AZone"}) is None  # only a real zone counts
    assert len(zones_for("+18005550100")) > 5  # toll-free: all of North America


def test_inside_the_window_is_now_and_outside_is_its_next_opening() -> None:
    assert next_allowed(at("2026-12-01 12:00"), LONDON, DAYTIME) is None
    assert next_allowed(at("2026-12-01 21:00"), LONDON, DAYTIME) == at("2026-12-02 08:00")
    assert next_allowed(at("2026-12-01 03:00"), NEW_YORK, DAYTIME) == at("2026-12-01 13:00")
    assert next_allowed(at("2026-12-01 03:00"), NEW_YORK, None) is None  # `any`
    assert next_allowed(at("2026-12-01 03:00"), (), DAYTIME) is None  # zone unknown


def test_a_number_in_several_zones_gets_only_the_hours_all_of_them_allow() -> None:
    both = ("America/New_York", "America/Los_Angeles")
    # 09:00 in New York is 06:00 in Los Angeles: the window opens for both at 08:00 there.
    assert next_allowed(at("2026-12-01 14:00"), both, DAYTIME) == at("2026-12-01 16:00")
    # 20:30 in Los Angeles is 23:30 in New York, past its end: wait for the morning.
    assert next_allowed(at("2026-12-02 04:30"), both, DAYTIME) == at("2026-12-02 16:00")


def test_an_overnight_window_runs_past_midnight() -> None:
    night = SendHours(time(22), time(6))
    assert next_allowed(at("2026-12-01 23:30"), LONDON, night) is None
    assert next_allowed(at("2026-12-02 05:59"), LONDON, night) is None
    assert next_allowed(at("2026-12-02 06:00"), LONDON, night) == at("2026-12-02 22:00")


def test_the_window_follows_daylight_saving_changes() -> None:
    # London springs forward on 29 March 2026: 08:00 is 08:00 UTC before, 07:00 UTC after.
    assert next_allowed(at("2026-03-28 22:00"), LONDON, DAYTIME) == at("2026-03-29 07:00")
    assert next_allowed(at("2026-03-28 07:30"), LONDON, DAYTIME) == at("2026-03-28 08:00")
    # ...and falls back on 25 October: 20:30 UTC is 21:30 BST before, 20:30 GMT after.
    assert next_allowed(at("2026-10-24 20:30"), LONDON, DAYTIME) == at("2026-10-25 08:00")
    assert next_allowed(at("2026-10-25 20:30"), LONDON, DAYTIME) is None
    # New York changes on 8 March: 08:00 EST is 13:00 UTC, 08:00 EDT is 12:00 UTC.
    assert next_allowed(at("2026-03-08 02:00"), NEW_YORK, DAYTIME) == at("2026-03-08 12:00")
    # A start inside the spring-forward gap (02:30 does not exist that night) is read with the
    # offset before the change: 03:30 EDT, at most the gap late, never early.
    gap = SendHours(time(2, 30), time(5))
    assert next_allowed(at("2026-03-08 06:00"), NEW_YORK, gap) == at("2026-03-08 07:30")


# -- in the preview (the service, on a fixed clock: 09:00 UTC, 09:00 in London, 01:00 in LA) --


def mixed_list() -> ImportReport:
    londoners = [{"phone": f"+4474000000{i:02d}", "variables": {}} for i in range(3)]
    californians = [{"phone": f"+1628555{i:04d}", "variables": {}} for i in range(110, 112)]
    paris = [{"phone": "+447400000099", "variables": {"time_zone": "Asia/Tokyo"}}]
    return check_recipient_list(londoners + californians + paris, "GB")


def test_the_window_closes_when_the_first_of_the_zones_leaves_it() -> None:
    assert window_closes(at("2026-12-06 20:59:30"), LONDON, DAYTIME) == at("2026-12-06 21:00")
    paris_and_london = ("Europe/London", "Europe/Paris")
    assert window_closes(at("2026-12-06 09:00"), paris_and_london, DAYTIME) == at(
        "2026-12-06 20:00"
    )
    overnight = SendHours(time(22), time(6))
    assert window_closes(at("2026-12-06 23:00"), LONDON, overnight) == at("2026-12-07 06:00")
    # Nothing to close: outside the window, no hours, no zone known.
    assert window_closes(at("2026-12-06 21:00"), LONDON, DAYTIME) is None
    assert window_closes(at("2026-12-06 12:00"), LONDON, None) is None
    assert window_closes(at("2026-12-06 12:00"), (), DAYTIME) is None


def test_a_window_ending_in_an_hour_the_clocks_skip_closes_when_they_jump() -> None:
    # London, 29 March 2026: 01:00 GMT becomes 02:00 BST, so 01:30 never comes.
    to_half_past_one = SendHours(time(22), time(1, 30))
    assert window_closes(at("2026-03-29 00:30"), LONDON, to_half_past_one) == at("2026-03-29 01:00")
    # 25 October 2026: 01:30 comes twice; the window closes at the first.
    assert window_closes(at("2026-10-25 00:10"), LONDON, to_half_past_one) == at("2026-10-25 00:30")


async def test_the_preview_says_who_waits_until_when_and_counts_it_in_the_duration(
    db: Database, clock: Clock
) -> None:
    ctx = Context(db=db, settings=make_settings(SEND_HOURS="08:00-21:00"), clock=clock)
    new = new_campaign(recipients=mixed_list())
    draft = await create_campaign(ctx, new, "slack:U1", launch=False)
    preview = await preview_campaign(ctx, draft.campaign.id)
    # 09:00 UTC is 18:00 in Tokyo (inside), 01:00 in Los Angeles (outside until 16:00 UTC).
    assert preview.send_hours == "08:00-21:00"
    assert [(g.count, g.release, g.zone, g.local) for g in preview.waiting] == [
        (2, at("2026-11-23 16:00"), "America/Los_Angeles", "08:00")
    ]
    assert timedelta(hours=7) < preview.send_duration < timedelta(hours=7, minutes=1)


async def test_a_campaign_can_have_its_own_hours_or_none(db: Database, clock: Clock) -> None:
    ctx = Context(db=db, settings=make_settings(SEND_HOURS="08:00-21:00"), clock=clock)
    anytime = await create_campaign(ctx, new_campaign(recipients=mixed_list(), send_hours="ANY"),
                                    "slack:U1", launch=False)  # fmt: skip
    assert anytime.campaign.send_hours == "any"
    assert (await preview_campaign(ctx, anytime.campaign.id)).waiting == ()
    late = await create_campaign(ctx, new_campaign(recipients=mixed_list(),
                                                   send_hours="10:00-20:00"),
                                 "slack:U1", launch=False)  # fmt: skip
    waiting = (await preview_campaign(ctx, late.campaign.id)).waiting
    assert {(g.zone, g.local) for g in waiting} == {
        ("America/Los_Angeles", "10:00"), ("Europe/London and 2 other zones", "10:00"),
    }  # fmt: skip
    with pytest.raises(InputError, match="08:00-21:00") as refused:
        await create_campaign(ctx, new_campaign(send_hours="9 to 5"), "slack:U1")
    assert refused.value.field == "send_hours"


async def test_the_preview_of_a_list_not_stored_agrees_with_the_stored_drafts(
    db: Database, clock: Clock
) -> None:
    """The API's preview (nothing stored) and Slack's (a draft) say the same."""
    ctx = Context(db=db, settings=make_settings(SEND_HOURS="08:00-21:00", FREQUENCY_CAP="1/24h",
                                                MONTHLY_BUDGET="50"), clock=clock)  # fmt: skip
    new = new_campaign(recipients=mixed_list(), message_template="We\u2019re open {{nickname}}")
    draft = await create_campaign(ctx, new, "slack:U1", launch=False)
    stored = await preview_campaign(ctx, draft.campaign.id)
    fresh = await preview_new_campaign(ctx, new, "slack:U1")
    same = ("opted_out_count", "stats", "cost", "messages_per_second", "send_duration", "send_at",
            "send_hours", "waiting", "frequency_cap", "frequency_capped", "content", "approval",
            "import_report")  # fmt: skip
    assert {n: getattr(fresh, n) for n in same} == {n: getattr(stored, n) for n in same}
    assert fresh.view.counts.total == stored.view.counts.total == 6
    assert [(s.row, s.phone, s.text) for s in fresh.samples] == [
        (s.row, s.phone, s.text) for s in stored.samples
    ]
    assert fresh.spend is not None and stored.spend is not None
    assert (fresh.spend.month, fresh.spend.cost) == (stored.spend.month, stored.spend.cost)
