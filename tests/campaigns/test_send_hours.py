"""Sending hours in the recipient's zone: parsing, zones from the number or the record, the
next opening, and daylight-saving changes (fixed instants, so any date and hour will do)."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from campaigns.send_hours import (
    SendHours,
    effective_hours,
    next_allowed,
    parse_send_hours,
    zone_variable,
    zones_for,
)
from campaigns.settings import SettingsError, load_settings

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
