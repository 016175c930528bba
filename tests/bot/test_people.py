"""Who a message mentions: the creator (never for their own change, never an API key) and the
approvers (issue 22, points 1 and 3)."""

from __future__ import annotations

from bot.blocks.changes import cancelled_notice, change_notice, change_of, edited_notice
from bot.blocks.people import approvers, for_creator
from tests.bot.test_blocks import make_campaign
from tests.conftest import make_settings


def test_the_creator_is_mentioned_unless_they_did_it_or_it_came_over_the_api() -> None:
    mine = make_campaign()  # created by slack:U0ALICE
    assert for_creator(mine, "Paused.") == "<@U0ALICE> Paused."
    assert for_creator(mine, "Approved.", unless="slack:U0ALICE") == "Approved."
    api = make_campaign(source="api", created_by="api:key_ab12")
    assert for_creator(api, "Paused.") == "Paused."


def test_a_change_is_told_only_when_someone_else_made_it() -> None:
    campaign = make_campaign()
    assert change_notice(campaign, change_of("slack:U0ALICE", changed=["name"])) is None
    assert change_notice(campaign, change_of("slack:U0BOB", unsent=4)) == cancelled_notice(
        campaign, "slack:U0BOB", 4
    )
    told = edited_notice(campaign, "api:key_ab12", ["send_hours", "name", "message"])
    assert told.startswith("<@U0ALICE> :pencil2: API key key_ab12 changed *March promotion*: ")
    assert "its name, the message and its sending hours." in told


def test_approvers_are_the_group_else_those_who_may_send_else_here() -> None:
    group = make_settings(APPROVERS_SLACK_USERGROUP="S0APPROVE", ALLOWED_SLACK_USERS="U1,U2")
    assert approvers(group, ["slack:U1"]) == "<!subteam^S0APPROVE>"
    few = make_settings(ALLOWED_SLACK_USERS="U1,U2,U3")
    assert approvers(few, ["slack:U1"]) == "<@U2> and <@U3>"
    assert approvers(make_settings(ALLOWED_SLACK_USERS="U1"), ["slack:U1"]) == "<!here>"
    many = make_settings(ALLOWED_SLACK_USERS=",".join(f"U{i}" for i in range(9)))
    assert approvers(many) == "<!here>"  # too many to name
    both = make_settings(ALLOWED_SLACK_USERS="U1", ALLOWED_SLACK_USERGROUP="S0SEND")
    assert approvers(both) == "<@U1> and <!subteam^S0SEND>"
    assert approvers(make_settings()) == "<!here>"
