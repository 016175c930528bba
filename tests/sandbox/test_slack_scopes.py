"""The stand-in's bot token has exactly the manifest's scopes, as an install from it would: what
they do not cover is `missing_scope`, and chat:write.public lets it post to public channels it is
not in (never private ones)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from sandbox.slack import (
    ALICE,
    CAMPAIGNS,
    MANIFEST_BOT_SCOPES,
    RANDOM,
    STAFF,
    SlackConfig,
    SlackSandbox,
    scopes,
)
from sandbox.slack.dispatch import METHODS
from sandbox.slack.scopes import BY_CONVERSATION, NO_SCOPE, SCOPES
from sandbox.slack.workspace import Workspace
from tests.sandbox.slack_fixtures import (  # noqa: F401
    client_fixture,
    slack_config_fixture,
    slack_fixture,
)

MANIFEST = Path(__file__).resolve().parents[2] / "manifest.yml"


def test_the_default_scopes_are_the_manifests() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text())
    assert MANIFEST_BOT_SCOPES == set(manifest["oauth_config"]["scopes"]["bot"])
    assert SlackConfig().scopes == MANIFEST_BOT_SCOPES


def test_every_method_the_stand_in_answers_says_what_scope_it_needs() -> None:
    classified = set(SCOPES) | set(BY_CONVERSATION) | NO_SCOPE
    assert set(METHODS) == classified
    assert not set(SCOPES) & set(BY_CONVERSATION) and not set(SCOPES) & NO_SCOPE


async def test_a_method_the_manifest_does_not_grant_is_missing_scope(
    client: AsyncWebClient,
) -> None:
    with pytest.raises(SlackApiError) as raised:
        await client.conversations_history(channel=CAMPAIGNS)
    assert raised.value.response["error"] == "missing_scope"
    assert raised.value.response["needed"] == "channels:history"
    with pytest.raises(SlackApiError) as raised:
        await client.users_lookupByEmail(email="alice@example.com")
    assert raised.value.response["needed"] == "users:read.email"
    # What the manifest grants works.
    assert (await client.users_info(user=ALICE))["ok"]
    assert (await client.conversations_open(users=ALICE))["ok"]


async def test_chat_write_public_posts_to_a_public_channel_the_bot_is_not_in(
    slack: SlackSandbox, client: AsyncWebClient
) -> None:
    assert (await client.chat_postMessage(channel=RANDOM, text="hello #random"))["ok"]
    assert [m.text for m in slack.messages(RANDOM)] == ["hello #random"]
    with pytest.raises(SlackApiError) as raised:
        await client.chat_postMessage(channel=STAFF, text="a private channel")
    assert raised.value.response["error"] == "not_in_channel"


async def test_without_chat_write_public_the_bot_posts_only_where_it_is_a_member(
    slack: SlackSandbox, client: AsyncWebClient
) -> None:
    slack.scopes = set(MANIFEST_BOT_SCOPES) - {"chat:write.public"}  # an older install
    with pytest.raises(SlackApiError) as raised:
        await client.chat_postMessage(channel=RANDOM, text="not a member")
    assert raised.value.response["error"] == "not_in_channel"
    assert (await client.chat_postMessage(channel=CAMPAIGNS, text="a member"))["ok"]


def test_the_stand_in_asks_the_scopes_the_manifest_test_expects() -> None:
    """tests/test_manifest.py's table of what each call Textcast makes needs agrees with the
    stand-in's, so neither can drift from Slack's docs alone."""
    from tests.test_manifest import METHOD_SCOPES

    methods = {"files_upload_v2": "files.getUploadURLExternal"}
    for call, scope in METHOD_SCOPES.items():
        method = methods.get(call) or call.replace("_", ".")
        assert scopes.needed(method, Workspace(), None) == ((scope,) if scope else ()), call
