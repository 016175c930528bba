"""Signed Slack requests that must be refused before any listener runs: payloads nested too deep
to parse, and payloads from an Enterprise Grid org (or with no workspace at all) that are not
the install's. Real signed requests into the running web app against the Slack stand-in."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import urlencode

import pytest
from aiohttp import ClientResponse
from pydantic import ValidationError

from campaigns.settings import Settings
from sandbox.slack import ALICE, CAMPAIGNS, SIGNING_SECRET, SlackSandbox, requests
from tests.bot.conftest import Api, slack_settings
from tests.bot.test_slack_compose import until
from tests.conftest import make_settings
from tests.sandbox.slack_fixtures import slack_config_fixture, slack_fixture  # noqa: F401

ORG = "E0ORG"


@pytest.fixture
def api_settings(slack: SlackSandbox, request: pytest.FixtureRequest) -> Settings:
    return slack_settings(slack.url, request, DEFAULT_REGION="GB")


async def post(web: Api, request: requests.SlackRequest) -> ClientResponse:
    return await web.client.post("/slack/events", data=request.body, headers=request.headers)


def command(slack: SlackSandbox, text: str = "list", **change: str | None) -> requests.SlackRequest:
    """`/sms list` from Alice with `change` applied to the form (None drops a field)."""
    fields = dict(requests.slash_command(SIGNING_SECRET, text, sandbox_url=slack.url).payload)
    for name, value in change.items():
        if value is None:
            fields.pop(name, None)
        else:
            fields[name] = value
    body = urlencode(fields).encode()
    return requests.signed(SIGNING_SECRET, body, "application/x-www-form-urlencoded", fields)


async def answered(slack: SlackSandbox) -> bool:
    """Whether `/sms list` was answered to Alice (given a moment to arrive)."""
    await asyncio.sleep(0.3)
    return bool(slack.ephemeral(CAMPAIGNS, ALICE))


# -- nesting


@pytest.mark.parametrize("depth", [100_000, 50_000, 3_000])
async def test_a_signed_payload_nested_too_deep_is_a_400(
    web: Api, slack: SlackSandbox, depth: int
) -> None:
    nested = "[" * depth + "]" * depth
    payload_json = '{"type":"block_actions","team":{"id":"T0TEXTCAST"},"x":' + nested + "}"
    form = urlencode({"payload": payload_json}).encode()
    as_form = requests.signed(SIGNING_SECRET, form, "application/x-www-form-urlencoded", {})
    as_json = requests.signed(SIGNING_SECRET, payload_json.encode(), "application/json", {})
    for request in (as_form, as_json):
        response = await post(web, request)
        assert response.status == 400, await response.text()
        assert "malformed" in (await response.json())["error"]["message"]
    # The process still answers what Slack sends.
    await post(web, command(slack))
    assert await until(lambda: slack.ephemeral(CAMPAIGNS, ALICE))


async def test_a_payload_nested_deep_but_parseable_is_refused_too(
    web: Api, slack: SlackSandbox
) -> None:
    # Below the parser's recursion limit, but deeper than anything Slack sends: anything that
    # walks it later (a log line, a copy) must not be the first to find out.
    nested = {"elements": []}
    for _ in range(200):
        nested = {"elements": [nested]}
    payload = {"type": "block_actions", "team": {"id": "T0TEXTCAST"}, "user": {"id": ALICE},
               "actions": [{"action_id": "a", "block_id": "b", "type": "button", "value": "v",
                           "action_ts": "1"}], "x": nested}  # fmt: skip
    body = urlencode({"payload": json.dumps(payload)}).encode()
    request = requests.signed(SIGNING_SECRET, body, "application/x-www-form-urlencoded", payload)
    response = await post(web, request)
    assert response.status == 400


# -- workspaces and Enterprise Grid


async def test_a_payload_with_no_workspace_is_refused(web: Api, slack: SlackSandbox) -> None:
    response = await post(web, command(slack, team_id=None, team_domain=None))
    assert response.status == 403
    assert not await answered(slack)


async def test_an_enterprise_payload_without_team_id_is_refused(
    web: Api, slack: SlackSandbox
) -> None:
    forged = command(slack, team_id=None, team_domain=None, enterprise_id="E0OTHER",
                     is_enterprise_install="true")  # fmt: skip
    response = await post(web, forged)
    assert response.status == 403
    assert not await answered(slack)


async def test_an_enterprise_payload_for_our_workspace_but_another_org_is_refused(
    web: Api, slack: SlackSandbox
) -> None:
    # The workspace the token belongs to is on no Grid (auth.test names no enterprise).
    response = await post(web, command(slack, enterprise_id="E0OTHER"))
    assert response.status == 403
    assert not await answered(slack)


@pytest.mark.parametrize("api_settings", [{"SLACK_ENTERPRISE_ID": ORG}], indirect=True)
async def test_an_org_wide_install_takes_its_org_and_refuses_others(
    web: Api, slack: SlackSandbox
) -> None:
    ours = command(slack, team_id="T0SISTER", enterprise_id=ORG, is_enterprise_install="true")
    assert (await post(web, ours)).status == 200
    await until(lambda: slack.ephemeral(CAMPAIGNS, ALICE))
    before = len(slack.ephemeral(CAMPAIGNS, ALICE))
    no_team = command(slack, team_id=None, team_domain=None, enterprise_id=ORG,
                      is_enterprise_install="true")  # fmt: skip
    assert (await post(web, no_team)).status == 200
    await until(lambda: len(slack.ephemeral(CAMPAIGNS, ALICE)) > before)
    before = len(slack.ephemeral(CAMPAIGNS, ALICE))
    for forged in (
        command(slack, team_id=None, team_domain=None, enterprise_id="E0OTHER"),
        command(slack, team_id="T0SISTER", enterprise_id="E0OTHER"),
        command(slack, team_id="T0SISTER", enterprise_id=None),  # a workspace on no Grid
        command(slack, team_id=None, team_domain=None),
    ):
        assert (await post(web, forged)).status == 403
    await asyncio.sleep(0.3)
    assert len(slack.ephemeral(CAMPAIGNS, ALICE)) == before


def test_the_enterprise_id_setting_is_checked() -> None:
    assert make_settings(SLACK_ENTERPRISE_ID=" E0ORG ").SLACK_ENTERPRISE_ID == "E0ORG"
    with pytest.raises(ValidationError, match="SLACK_ENTERPRISE_ID"):
        make_settings(SLACK_ENTERPRISE_ID="T0TEXTCAST")


async def test_a_workspace_on_a_grid_takes_its_org_only(web: Api, slack: SlackSandbox) -> None:
    slack.config.enterprise_id = "E0GRID"  # before the app's first auth.test
    ours = command(slack, enterprise_id="E0GRID")
    assert (await post(web, ours)).status == 200
    await until(lambda: slack.ephemeral(CAMPAIGNS, ALICE))
    before = len(slack.ephemeral(CAMPAIGNS, ALICE))
    for forged in (
        command(slack, enterprise_id="E0OTHER"),
        command(slack, team_id=None, team_domain=None, enterprise_id="E0GRID"),
        command(slack, team_id="T0SISTER", enterprise_id="E0GRID"),  # not org-wide
    ):
        assert (await post(web, forged)).status == 403
    await asyncio.sleep(0.3)
    assert len(slack.ephemeral(CAMPAIGNS, ALICE)) == before
