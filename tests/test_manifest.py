"""manifest.yml is a complete app, and asks for exactly the scopes the code uses."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from bot.blocks.answers import HELP
from bot.slack.commands import COMMAND, SUBCOMMANDS
from bot.slack.shortcuts import NEW_CAMPAIGN

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = yaml.safe_load((ROOT / "manifest.yml").read_text())

# The scope each Web API method Textcast calls needs (None: no scope). A new call that is not in
# this table fails the test, so the manifest cannot fall behind the code.
METHOD_SCOPES: dict[str, str | None] = {
    "chat_postMessage": "chat:write",
    "chat_update": "chat:write",
    "chat_delete": "chat:write",
    "chat_postEphemeral": "chat:write",
    "views_open": None,
    "views_update": None,
    "views_push": None,
    "views_publish": None,
    "usergroups_users_list": "usergroups:read",
    "files_info": "files:read",
    "files_upload_v2": "files:write",
    "users_info": "users:read",
    "conversations_open": "im:write",
    "auth_test": None,
}
CALL = re.compile(
    r"\.(chat_\w+|views_\w+|usergroups_\w+|files_\w+|users_\w+|conversations_\w+|auth_test)\("
)


def methods_called() -> set[str]:
    found: set[str] = set()
    for package in ("bot", "worker"):
        for path in (ROOT / package).rglob("*.py"):
            found.update(CALL.findall(path.read_text()))
    return found


def scopes_needed() -> set[str]:
    methods = methods_called()
    unknown = methods - set(METHOD_SCOPES)
    assert not unknown, f"add these Slack methods to METHOD_SCOPES: {sorted(unknown)}"
    needed = {scope for m in methods if (scope := METHOD_SCOPES[m])}
    needed.add("commands")  # /sms and the shortcut
    needed.add("chat:write.public")  # progress messages in public channels without an invite
    code = "\n".join(p.read_text() for p in (ROOT / "bot").rglob("*.py"))
    if "url_private" in code:  # a file from the modal's upload, downloaded with the bot token
        needed.add("files:read")
    return needed


def test_the_scopes_are_exactly_those_the_code_uses() -> None:
    assert set(MANIFEST["oauth_config"]["scopes"]["bot"]) == scopes_needed()


def test_the_manifest_declares_the_command_shortcut_home_and_interactivity() -> None:
    features, settings = MANIFEST["features"], MANIFEST["settings"]
    [command] = features["slash_commands"]
    assert command["command"] == COMMAND and command["description"] and command["usage_hint"]
    assert command["url"].endswith("/slack/events")
    [shortcut] = features["shortcuts"]
    assert shortcut["callback_id"] == NEW_CAMPAIGN and shortcut["type"] == "global"
    assert shortcut["name"] == "New SMS campaign"
    assert features["app_home"]["home_tab_enabled"] is True
    assert features["bot_user"]["display_name"] == "Textcast"
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["interactivity"]["request_url"].endswith("/slack/events")
    assert "app_home_opened" in settings["event_subscriptions"]["bot_events"]
    assert len(MANIFEST["display_information"]["name"]) <= 35


OPTIONS_LISTENER = re.compile(r"\bapp\.options\(")


def test_menus_that_load_their_options_are_given_the_address_to_ask() -> None:
    """An external_select asks for its options at `message_menu_options_url` only (over HTTP;
    Socket Mode needs none): the code answers such requests, so the manifest names the URL."""
    code = "\n".join(p.read_text() for p in (ROOT / "bot").rglob("*.py"))
    assert OPTIONS_LISTENER.search(code), "no options listener left: drop this test and the URL"
    interactivity = MANIFEST["settings"]["interactivity"]
    options_url = interactivity.get("message_menu_options_url", "")
    assert re.match(r"^https?://", options_url), "settings.interactivity.message_menu_options_url"
    assert options_url == interactivity["request_url"]  # Bolt answers both at /slack/events


def _readme_section(heading: str) -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index(f"\n{heading}\n")
    end = text.find("\n#", start + len(heading) + 2)
    return text[start:end]


def test_the_readme_the_usage_hint_and_help_list_every_sms_subcommand() -> None:
    """What /sms accepts (its router) is what people are told it accepts, everywhere."""
    accepted = set(SUBCOMMANDS)
    table = re.findall(r"^\| `/sms (\w+)", _readme_section("### Commands"), re.MULTILINE)
    assert set(table) == accepted
    [command] = MANIFEST["features"]["slash_commands"]
    hint = {part.split()[0] for part in command["usage_hint"].split(" | ")}
    assert hint == accepted
    assert {words.split()[1] for words, _ in HELP} == accepted
