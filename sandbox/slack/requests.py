"""What Slack sends to an app, built as complete signed HTTP requests.

Each builder returns a SlackRequest (body bytes and headers) signed the way Slack signs:
`X-Slack-Request-Timestamp` and `X-Slack-Signature: v0=` + HMAC-SHA256 of `v0:{timestamp}:{body}`
with the app's signing secret, so slack_bolt's verification accepts it. Slash commands are
form-encoded; interactive payloads are form-encoded with one `payload` field of JSON; events are
JSON. Trigger ids in them are ones the sandbox's views.open accepts (once, within its TTL).

Pass `sandbox_url` (the sandbox's Web API base URL) to make `response_url`s that reach the sandbox;
without it they point at an unreachable hooks.slack.com address, as a real one would from here.

View submissions are filled in like a person would: `values` maps an input's action_id (or a
`(block_id, action_id)` pair) to what was typed or picked; inputs not given keep their initial
value, and a required input left empty raises ValueError, because Slack would not submit the form.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from yarl import URL

from sandbox.slack.history import Message
from sandbox.slack.triggers import issue_trigger_id, response_url
from sandbox.slack.workspace import (
    ALICE,
    APP_ID,
    BOB,
    BOT_USER_ID,
    CAMPAIGNS,
    CAROL,
    GENERAL,
    RANDOM,
    TEAM_DOMAIN,
    TEAM_ID,
    VERIFICATION_TOKEN,
)

USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"
_USER_NAMES = {ALICE: "alice", BOB: "bob", CAROL: "carol", BOT_USER_ID: "textcast"}
_CHANNEL_NAMES = {GENERAL: "general", CAMPAIGNS: "campaigns", RANDOM: "random"}


@dataclass(frozen=True, slots=True)
class SlackRequest:
    body: bytes
    headers: dict[str, str]
    payload: dict[str, Any]  # what the body carries: the form fields, or the JSON / payload JSON

    @property
    def timestamp(self) -> str:
        return self.headers["X-Slack-Request-Timestamp"]

    @property
    def signature(self) -> str:
        return self.headers["X-Slack-Signature"]


def signature(signing_secret: str, timestamp: str, body: bytes) -> str:
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()


def signed(
    signing_secret: str,
    body: bytes,
    content_type: str,
    payload: dict[str, Any],
    *,
    timestamp: int | None = None,
    extra_headers: Mapping[str, str] | None = None,
) -> SlackRequest:
    """Any body, signed and headed as Slack sends it."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    headers = {
        "Content-Type": content_type,
        "User-Agent": USER_AGENT,
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature(signing_secret, stamp, body),
        **(extra_headers or {}),
    }
    return SlackRequest(body=body, headers=headers, payload=payload)


def _form(signing_secret: str, fields: dict[str, str], timestamp: int | None) -> SlackRequest:
    body = urlencode(fields).encode()
    return signed(
        signing_secret, body, "application/x-www-form-urlencoded", fields, timestamp=timestamp
    )


def _interactive(
    signing_secret: str, payload: dict[str, Any], timestamp: int | None
) -> SlackRequest:
    body = urlencode({"payload": json.dumps(payload, separators=(",", ":"))}).encode()
    return signed(
        signing_secret, body, "application/x-www-form-urlencoded", payload, timestamp=timestamp
    )


def _json_event(
    signing_secret: str,
    payload: dict[str, Any],
    timestamp: int | None,
    extra_headers: Mapping[str, str] | None = None,
) -> SlackRequest:
    body = json.dumps(payload, separators=(",", ":")).encode()
    return signed(
        signing_secret,
        body,
        "application/json",
        payload,
        timestamp=timestamp,
        extra_headers=extra_headers,
    )


def _origin(sandbox_url: str) -> str:
    return str(URL(sandbox_url).origin())


def _response_url(
    sandbox_url: str | None,
    channel_id: str,
    user_id: str,
    *,
    message_ts: str | None = None,
    ephemeral: bool = False,
) -> str:
    if sandbox_url is None:
        return f"https://hooks.slack.com/commands/{TEAM_ID}/{secrets.randbelow(10**12)}/unreachable"
    return response_url(
        _origin(sandbox_url), channel_id, user_id, message_ts=message_ts, ephemeral=ephemeral
    )


def _user(user_id: str, team_id: str, user_name: str | None) -> dict[str, str]:
    name = user_name or _USER_NAMES.get(user_id, user_id.lower())
    return {"id": user_id, "username": name, "name": name, "team_id": team_id}


def _channel_name(channel_id: str, channel_name: str | None) -> str:
    if channel_name:
        return channel_name
    if channel_id.startswith("D"):
        return "directmessage"
    return _CHANNEL_NAMES.get(channel_id, channel_id.lower())


# -- slash commands


def slash_command(
    signing_secret: str,
    text: str = "",
    *,
    command: str = "/sms",
    user_id: str = ALICE,
    user_name: str | None = None,
    channel_id: str = CAMPAIGNS,
    channel_name: str | None = None,
    team_id: str = TEAM_ID,
    api_app_id: str = APP_ID,
    trigger_id: str | None = None,
    response_url: str | None = None,
    sandbox_url: str | None = None,
    timestamp: int | None = None,
) -> SlackRequest:
    """`/sms new` as typed by `user_id` in `channel_id`, with a fresh trigger id."""
    fields = {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel_id,
        "channel_name": _channel_name(channel_id, channel_name),
        "user_id": user_id,
        "user_name": user_name or _USER_NAMES.get(user_id, user_id.lower()),
        "command": command,
        "text": text,
        "api_app_id": api_app_id,
        "is_enterprise_install": "false",
        "response_url": response_url or _response_url(sandbox_url, channel_id, user_id),
        "trigger_id": trigger_id or issue_trigger_id(user_id),
    }
    return _form(signing_secret, fields, timestamp)


# -- what a person typed into a view, in view.state.values shape


def _options(element: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield from element.get("options") or []
    for group in element.get("option_groups") or []:
        yield from group.get("options") or []


def _option(element: dict[str, Any], value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    for option in _options(element):
        if option.get("value") == value:
            return option
    if element["type"] in ("external_select", "multi_external_select"):
        return {"text": {"type": "plain_text", "text": str(value), "emoji": True}, "value": value}
    known = [o.get("value") for o in _options(element)]
    raise ValueError(f"{value!r} is not an option of {element.get('action_id')!r}: {known}")


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple, set)) else [value]


def _typed_value(element: dict[str, Any], value: Any) -> dict[str, Any]:
    """The state entry for an element given what the person entered (never None here)."""
    kind = element["type"]
    if kind in ("plain_text_input", "email_text_input", "url_text_input", "number_input"):
        text = str(value)
        if kind == "plain_text_input":
            max_length = element.get("max_length")
            min_length = element.get("min_length", 0)
            if max_length is not None and len(text) > max_length:
                raise ValueError(f"{element.get('action_id')!r} takes at most {max_length} chars")
            if len(text) < min_length:
                raise ValueError(f"{element.get('action_id')!r} needs at least {min_length} chars")
        return {"value": text}
    if kind == "rich_text_input":
        section = {"type": "rich_text_section", "elements": [{"type": "text", "text": str(value)}]}
        return {"rich_text_value": {"type": "rich_text", "elements": [section]}}
    if kind in ("static_select", "external_select", "radio_buttons"):
        return {"selected_option": _option(element, value)}
    if kind in ("multi_static_select", "multi_external_select", "checkboxes"):
        return {"selected_options": [_option(element, v) for v in _as_list(value)]}
    if kind == "users_select":
        return {"selected_user": value}
    if kind == "multi_users_select":
        return {"selected_users": _as_list(value)}
    if kind == "conversations_select":
        return {"selected_conversation": value}
    if kind == "multi_conversations_select":
        return {"selected_conversations": _as_list(value)}
    if kind == "channels_select":
        return {"selected_channel": value}
    if kind == "multi_channels_select":
        return {"selected_channels": _as_list(value)}
    if kind == "datepicker":
        return {"selected_date": value.isoformat() if isinstance(value, date) else str(value)}
    if kind == "timepicker":
        picked = value.strftime("%H:%M") if hasattr(value, "strftime") else str(value)
        entry: dict[str, Any] = {"selected_time": picked}
        if element.get("timezone"):
            entry["timezone"] = element["timezone"]
        return entry
    if kind == "datetimepicker":
        if isinstance(value, datetime):
            if value.tzinfo is None:
                raise ValueError(
                    "a datetimepicker value must be an aware datetime or epoch seconds"
                )
            value = value.timestamp()
        return {"selected_date_time": int(value)}
    if kind == "file_input":
        files = _as_list(value)
        if not all(isinstance(f, dict) and "id" in f for f in files):
            raise ValueError("file_input takes file objects (SlackSandbox.file_object(file_id))")
        return {"files": files}
    raise ValueError(f"the sandbox cannot fill in a {kind!r} element")


_INITIAL = {
    "plain_text_input": ("initial_value", "value"),
    "email_text_input": ("initial_value", "value"),
    "url_text_input": ("initial_value", "value"),
    "number_input": ("initial_value", "value"),
    "static_select": ("initial_option", "selected_option"),
    "external_select": ("initial_option", "selected_option"),
    "radio_buttons": ("initial_option", "selected_option"),
    "multi_static_select": ("initial_options", "selected_options"),
    "multi_external_select": ("initial_options", "selected_options"),
    "checkboxes": ("initial_options", "selected_options"),
    "users_select": ("initial_user", "selected_user"),
    "multi_users_select": ("initial_users", "selected_users"),
    "conversations_select": ("initial_conversation", "selected_conversation"),
    "multi_conversations_select": ("initial_conversations", "selected_conversations"),
    "channels_select": ("initial_channel", "selected_channel"),
    "multi_channels_select": ("initial_channels", "selected_channels"),
    "datepicker": ("initial_date", "selected_date"),
    "timepicker": ("initial_time", "selected_time"),
    "datetimepicker": ("initial_date_time", "selected_date_time"),
    "file_input": ("", "files"),
    "rich_text_input": ("initial_value", "rich_text_value"),
}
_EMPTY_LISTS = {"selected_options", "selected_users", "selected_conversations", "selected_channels"}


def _untouched_value(element: dict[str, Any]) -> dict[str, Any]:
    """The state entry of an element the person left alone: its initial value, else empty."""
    initial_key, state_key = _INITIAL.get(element["type"], ("", "value"))
    initial = element.get(initial_key) if initial_key else None
    if initial is not None:
        return {state_key: initial}
    if element["type"] == "file_input":
        return {"files": []}
    return {state_key: [] if state_key in _EMPTY_LISTS else None}


def _is_empty(entry: dict[str, Any]) -> bool:
    values = [v for k, v in entry.items() if k not in ("type", "timezone")]
    return all(v is None or v == [] or v == "" for v in values)


def _interactive_elements(view_blocks: list[dict]) -> Iterator[tuple[dict, dict]]:
    """(block, element) for every element that can hold a value."""
    for block in view_blocks:
        if block.get("type") == "input" and isinstance(block.get("element"), dict):
            yield block, block["element"]
        elif block.get("type") == "actions":
            for element in block.get("elements") or []:
                yield block, element
        elif block.get("type") == "section" and isinstance(block.get("accessory"), dict):
            yield block, block["accessory"]


def view_state(
    view: Mapping[str, Any], values: Mapping[Any, Any], *, submitting: bool = True
) -> dict[str, Any]:
    """`view.state` after a person entered `values` (by action_id or (block_id, action_id)).

    Only a submission needs every required input filled: a click inside the view (a menu, a
    button) carries the state as it is, empty inputs and all, as Slack sends it."""
    remaining = dict(values)
    state: dict[str, dict[str, Any]] = {}
    action_counts: dict[str, int] = {}
    for _, element in _interactive_elements(view.get("blocks") or []):
        action_id = element.get("action_id", "")
        action_counts[action_id] = action_counts.get(action_id, 0) + 1
    for block, element in _interactive_elements(view.get("blocks") or []):
        action_id = element.get("action_id")
        block_id = block.get("block_id")
        if not action_id:
            continue
        if not block_id:
            raise ValueError("a block has no block_id: pass the view as the sandbox returned it")
        key: Any = None
        if (block_id, action_id) in remaining:
            key = (block_id, action_id)
        elif action_id in remaining:
            if action_counts[action_id] > 1:
                raise ValueError(
                    f"{action_id!r} is in several blocks: key it (block_id, action_id)"
                )
            key = action_id
        is_input = block.get("type") == "input"
        if key is not None:
            given = remaining.pop(key)
            entry = {"type": element["type"]}
            entry.update(
                _untouched_value(element) if given is None else _typed_value(element, given)
            )
        elif is_input:
            entry = {"type": element["type"], **_untouched_value(element)}
        else:
            continue  # an untouched button or menu outside an input leaves no state
        if submitting and is_input and not block.get("optional", False) and _is_empty(entry):
            raise ValueError(f"{action_id!r} is required: Slack would not submit the view")
        state.setdefault(block_id, {})[action_id] = entry
    if remaining:
        raise ValueError(f"no such input in the view: {sorted(map(str, remaining))}")
    return {"values": state}


# -- interactive payloads


def _team(team_id: str) -> dict[str, str]:
    return {"id": team_id, "domain": TEAM_DOMAIN}


def view_submission(
    signing_secret: str,
    view: Mapping[str, Any],
    values: Mapping[Any, Any] | None = None,
    *,
    user_id: str = ALICE,
    user_name: str | None = None,
    team_id: str = TEAM_ID,
    api_app_id: str = APP_ID,
    sandbox_url: str | None = None,
    timestamp: int | None = None,
) -> SlackRequest:
    """The person pressed Submit on `view` (as the sandbox returned it) after entering `values`."""
    submitted = {**view, "state": view_state(view, values or {})}
    response_urls = []
    for block, element in _interactive_elements(view.get("blocks") or []):
        if element.get("response_url_enabled") and block.get("type") == "input":
            entry = submitted["state"]["values"].get(block.get("block_id"), {})
            picked = entry.get(element.get("action_id"), {})
            channel_id = picked.get("selected_conversation") or picked.get("selected_channel")
            if channel_id:
                response_urls.append(
                    {
                        "block_id": block["block_id"],
                        "action_id": element["action_id"],
                        "channel_id": channel_id,
                        "response_url": _response_url(sandbox_url, channel_id, user_id),
                    }
                )
    payload = {
        "type": "view_submission",
        "team": _team(team_id),
        "user": _user(user_id, team_id, user_name),
        "api_app_id": api_app_id,
        "token": VERIFICATION_TOKEN,
        "trigger_id": issue_trigger_id(user_id),
        "view": submitted,
        "response_urls": response_urls,
        "is_enterprise_install": False,
        "enterprise": None,
    }
    return _interactive(signing_secret, payload, timestamp)


def view_closed(
    signing_secret: str,
    view: Mapping[str, Any],
    *,
    user_id: str = ALICE,
    is_cleared: bool = False,
    team_id: str = TEAM_ID,
    api_app_id: str = APP_ID,
    timestamp: int | None = None,
) -> SlackRequest:
    """The person closed a view that asked for notify_on_close."""
    payload = {
        "type": "view_closed",
        "team": _team(team_id),
        "user": _user(user_id, team_id, None),
        "api_app_id": api_app_id,
        "token": VERIFICATION_TOKEN,
        "view": dict(view),
        "is_cleared": is_cleared,
        "is_enterprise_install": False,
        "enterprise": None,
    }
    return _interactive(signing_secret, payload, timestamp)


def _find_element(blocks: list[dict], action_id: str) -> tuple[dict, dict]:
    for block, element in _interactive_elements(blocks):
        if element.get("action_id") == action_id:
            return block, element
    for block in blocks:
        if block.get("type") == "context":
            for element in block.get("elements") or []:
                if element.get("action_id") == action_id:
                    return block, element
    raise ValueError(f"no element with action_id {action_id!r}: the person cannot click it")


def _action(block: dict, element: dict, value: Any, action_ts: str) -> dict[str, Any]:
    action: dict[str, Any] = {
        "type": element["type"],
        "action_id": element["action_id"],
        "block_id": block.get("block_id", ""),
        "action_ts": action_ts,
    }
    if element["type"] == "button":
        action["text"] = element.get("text")
        if element.get("value") is not None or value is not None:
            action["value"] = value if value is not None else element["value"]
        if element.get("style"):
            action["style"] = element["style"]
        return action
    if element["type"] == "overflow":
        action["selected_option"] = _option(element, value)
        return action
    if value is None:
        raise ValueError(f"say what the person picked in {element['action_id']!r} (value=...)")
    action.update(_typed_value(element, value))
    if "placeholder" in element:
        action["placeholder"] = element["placeholder"]
    return action


def block_actions(
    signing_secret: str,
    action_id: str,
    *,
    value: Any = None,
    message: Message | Mapping[str, Any] | None = None,
    channel_id: str | None = None,
    view: Mapping[str, Any] | None = None,
    view_values: Mapping[Any, Any] | None = None,
    user_id: str = ALICE,
    user_name: str | None = None,
    team_id: str = TEAM_ID,
    api_app_id: str = APP_ID,
    sandbox_url: str | None = None,
    timestamp: int | None = None,
) -> SlackRequest:
    """A click on the element `action_id` in `message` (in `channel_id`) or in `view`.

    `value` is the button's value (default: the one in the blocks) or, for a menu, what was
    picked. A Message from the sandbox carries its channel; an ephemeral one is sent as Slack
    sends it, flagged in the container and without the message itself.
    """
    now = time.time()
    action_ts = f"{now:.6f}"
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": _user(user_id, team_id, user_name),
        "api_app_id": api_app_id,
        "token": VERIFICATION_TOKEN,
        "trigger_id": issue_trigger_id(user_id),
        "team": _team(team_id),
        "enterprise": None,
        "is_enterprise_install": False,
    }
    if view is not None:
        block, element = _find_element(view.get("blocks") or [], action_id)
        payload["container"] = {"type": "view", "view_id": view.get("id")}
        payload["view"] = {**view, "state": view_state(view, view_values or {}, submitting=False)}
        payload["actions"] = [_action(block, element, value, action_ts)]
        return _interactive(signing_secret, payload, timestamp)
    if message is None:
        raise ValueError("give the message (or view) the clicked element is in")
    ephemeral = isinstance(message, Message) and message.ephemeral_to is not None
    if isinstance(message, Message):
        channel_id = channel_id or message.channel
        message = message.to_dict(team_id)
    if channel_id is None:
        raise ValueError("give the channel_id of the message")
    block, element = _find_element(list(message.get("blocks") or []), action_id)
    payload["container"] = {
        "type": "message",
        "message_ts": message["ts"],
        "channel_id": channel_id,
        "is_ephemeral": ephemeral,
    }
    payload["channel"] = {"id": channel_id, "name": _channel_name(channel_id, None)}
    if not ephemeral:
        payload["message"] = dict(message)
    payload["state"] = {"values": {}}
    payload["response_url"] = _response_url(
        sandbox_url, channel_id, user_id, message_ts=message["ts"], ephemeral=ephemeral
    )
    payload["actions"] = [_action(block, element, value, action_ts)]
    return _interactive(signing_secret, payload, timestamp)


def block_suggestion(
    signing_secret: str,
    view: Mapping[str, Any],
    action_id: str,
    typed: str = "",
    *,
    user_id: str = ALICE,
    team_id: str = TEAM_ID,
    api_app_id: str = APP_ID,
    timestamp: int | None = None,
) -> SlackRequest:
    """The person typed `typed` into the external_select `action_id` of `view`: Slack asks the
    app for the options to show (the answer is `{"options": [...]}`)."""
    block, _ = _find_element(view.get("blocks") or [], action_id)
    payload = {
        "type": "block_suggestion",
        "user": _user(user_id, team_id, None),
        "team": _team(team_id),
        "api_app_id": api_app_id,
        "token": VERIFICATION_TOKEN,
        "container": {"type": "view", "view_id": view.get("id")},
        "action_id": action_id,
        "block_id": block.get("block_id"),
        "value": typed,
        "view": {**view, "state": view_state(view, {}, submitting=False)},
        "enterprise": None,
        "is_enterprise_install": False,
    }
    return _interactive(signing_secret, payload, timestamp)


# -- events


def event_callback(
    signing_secret: str,
    event: Mapping[str, Any],
    *,
    team_id: str = TEAM_ID,
    api_app_id: str = APP_ID,
    event_id: str | None = None,
    event_time: int | None = None,
    retry_num: int | None = None,
    retry_reason: str | None = None,
    timestamp: int | None = None,
) -> SlackRequest:
    """Any Events API event, wrapped as Slack wraps it; retry_num makes it one of Slack's retries."""
    payload = {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "context_team_id": team_id,
        "context_enterprise_id": None,
        "api_app_id": api_app_id,
        "event": dict(event),
        "type": "event_callback",
        "event_id": event_id or f"Ev{secrets.token_hex(5).upper()}",
        "event_time": event_time or int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": BOT_USER_ID,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": secrets.token_hex(16),
    }
    headers = {}
    if retry_num is not None:
        headers["X-Slack-Retry-Num"] = str(retry_num)
        headers["X-Slack-Retry-Reason"] = retry_reason or "http_timeout"
    return _json_event(signing_secret, payload, timestamp, headers)


def _message_fields(
    text: str, user_id: str, channel_id: str, ts: str | None, thread_ts: str | None, team_id: str
) -> dict[str, Any]:
    stamp = ts or f"{time.time():.6f}"
    event: dict[str, Any] = {
        "user": user_id,
        "text": text,
        "ts": stamp,
        "team": team_id,
        "channel": channel_id,
        "event_ts": stamp,
        "client_msg_id": secrets.token_hex(16),
        "blocks": [
            {
                "type": "rich_text",
                "block_id": secrets.token_hex(3),
                "elements": [
                    {"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}
                ],
            }
        ],
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def app_mention(
    signing_secret: str,
    text: str,
    *,
    user_id: str = ALICE,
    channel_id: str = CAMPAIGNS,
    ts: str | None = None,
    thread_ts: str | None = None,
    team_id: str = TEAM_ID,
    timestamp: int | None = None,
) -> SlackRequest:
    """Someone mentioned the bot; the mention is put in front of `text` if it is not there."""
    mention = f"<@{BOT_USER_ID}>"
    full_text = text if mention in text else f"{mention} {text}"
    event = {
        "type": "app_mention",
        **_message_fields(full_text, user_id, channel_id, ts, thread_ts, team_id),
    }
    return event_callback(signing_secret, event, team_id=team_id, timestamp=timestamp)


def message_event(
    signing_secret: str,
    text: str,
    *,
    user_id: str = ALICE,
    channel_id: str = CAMPAIGNS,
    ts: str | None = None,
    thread_ts: str | None = None,
    channel_type: str | None = None,
    team_id: str = TEAM_ID,
    timestamp: int | None = None,
) -> SlackRequest:
    """A person's message in a channel (or, for a D... id, in the app's DM)."""
    kind = channel_type or ("im" if channel_id.startswith("D") else "channel")
    event = {
        "type": "message",
        **_message_fields(text, user_id, channel_id, ts, thread_ts, team_id),
        "channel_type": kind,
    }
    return event_callback(signing_secret, event, team_id=team_id, timestamp=timestamp)


def url_verification(
    signing_secret: str, challenge: str | None = None, *, timestamp: int | None = None
) -> SlackRequest:
    """Slack's check of a new Request URL: the app must answer with the challenge."""
    payload = {
        "token": VERIFICATION_TOKEN,
        "challenge": challenge or secrets.token_urlsafe(24),
        "type": "url_verification",
    }
    return _json_event(signing_secret, payload, timestamp)
