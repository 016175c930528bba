"""/sms new with expensive and unexpected destinations, through signed Slack requests: the preview
lists each refused row with its reason, and flags a number read as another country's."""

from __future__ import annotations

import pytest

from bot.blocks.compose import COMPOSE
from bot.blocks.preview import PREVIEW
from campaigns.service import get_campaign
from campaigns.settings import Settings
from sandbox.slack import SlackSandbox
from tests.bot.conftest import Api, slack_settings
from tests.bot.test_slack_compose import filled, showing, sms, submit, until
from tests.sandbox.slack_fixtures import slack_config_fixture, slack_fixture  # noqa: F401

PASTED = "(202) 555-0123\n1 900 555 0123\n+881612345678\n+33 6 12 34 56 78\n447911123456\n"


@pytest.fixture
def api_settings(slack: SlackSandbox, request: pytest.FixtureRequest) -> Settings:
    return slack_settings(slack.url, request, DEFAULT_REGION="US", SENDER_NUMBERS="+14155550100:5")


async def test_the_preview_lists_each_refused_number_with_a_plain_reason(
    web: Api, slack: SlackSandbox
) -> None:
    await sms(web, slack, "new")
    compose = await until(showing(slack, COMPOSE))
    await submit(web, slack, compose, filled(paste=PASTED, message="Your appointment is soon"))
    preview = await until(showing(slack, PREVIEW))
    text = str(preview["blocks"])
    assert "4 rows left out" in text
    assert (
        "Row 2: `1 900 555 0123`: a premium-rate number: calls and texts to it cost extra" in text
    )
    assert "Row 3: `+881612345678`: a satellite phone" in text
    assert (
        "Row 4: `+33 6 12 34 56 78`: in France (+33): this workspace only texts the United States"
    ) in text
    assert "Row 5: `447911123456`: in Guernsey (+44)" in text
    draft_id = preview["blocks"][-1]["elements"][0]["value"]
    draft = (await get_campaign(web.runtime.ctx, draft_id)).view
    assert draft.counts.total == 1  # only (202) 555-0123 is stored


@pytest.mark.parametrize("api_settings", [{"ALLOWED_COUNTRIES": "US,GB"}], indirect=True)
async def test_a_number_read_as_another_country_is_flagged_in_the_preview(
    web: Api, slack: SlackSandbox
) -> None:
    await sms(web, slack, "new")
    compose = await until(showing(slack, COMPOSE))
    await submit(web, slack, compose, filled(paste="2025550123\n447700900123\n"))
    preview = await until(showing(slack, PREVIEW))
    text = str(preview["blocks"])
    assert "Check 1 number read as abroad" in text
    assert (
        "Row 2: `447700900123`: read as a number in the United Kingdom (+44 7700 900123), "
        "not in the United States"
    ) in text
    assert "left out" not in text  # kept: allowed, only flagged
