"""views.*: modals (opened with a fresh trigger, stacked up to 3, updated with a hash) and App Home.

A trigger is exchanged at most once and only within `trigger_ttl` seconds of the interaction
(3 s on Slack); a modal stack belongs to the user the trigger was issued for.
"""

from __future__ import annotations

import json
from typing import Any

from sandbox.slack import blocks as block_kit
from sandbox.slack.args import Args
from sandbox.slack.context import Context
from sandbox.slack.errors import SlackError
from sandbox.slack.ids import view_hash
from sandbox.slack.triggers import Trigger, read_trigger_id

MAX_STACK = 3
MAX_VIEW_BYTES = 250_000


class Views:
    """Every view the sandbox has shown, the modal stack of each user, and each user's Home."""

    def __init__(self) -> None:
        self.by_id: dict[str, dict[str, Any]] = {}
        self.owners: dict[str, str] = {}  # view id -> user id
        self.stacks: dict[str, list[str]] = {}  # user id -> modal view ids, root first
        self.homes: dict[str, str] = {}  # user id -> home view id

    def clear(self) -> None:
        self.by_id.clear()
        self.owners.clear()
        self.stacks.clear()
        self.homes.clear()

    def find(self, *, view_id: str | None = None, external_id: str | None = None) -> dict:
        if view_id and view_id in self.by_id:
            return self.by_id[view_id]
        if external_id:
            for view in self.by_id.values():
                if view.get("external_id") == external_id:
                    return view
        raise SlackError("not_found")

    def stack(self, user_id: str) -> list[dict]:
        """The user's open modals, root first (empty when none is open)."""
        return [self.by_id[v] for v in self.stacks.get(user_id, [])]

    def close(self, user_id: str, *, everything: bool = False) -> None:
        """The user closes the top modal (or the whole stack), as Slack's Close/Cancel does."""
        stack = self.stacks.get(user_id, [])
        if everything:
            stack.clear()
        elif stack:
            stack.pop()

    def check_external_id(self, external_id: str, *, own_id: str | None = None) -> None:
        if not external_id:
            return
        for view in self.by_id.values():
            if view.get("external_id") == external_id and view["id"] != own_id:
                raise SlackError("duplicate_external_id")


def _view_argument(args: Args, kind: str) -> dict[str, Any]:
    view = args.structured("view")
    if not isinstance(view, dict):
        raise SlackError("invalid_arguments", "[ERROR] missing required field: view")
    view = dict(view)  # the call log keeps the view as it was sent
    if len(json.dumps(view)) > MAX_VIEW_BYTES:
        raise SlackError("view_too_large")
    problems: list[str] = []

    def fail(pointer: str, message: str) -> None:
        problems.append(f"[ERROR] {message} [json-pointer:/view{pointer}]")

    if view.get("type") != kind:
        fail("/type", f"must be {kind}")
    if kind == "modal":
        for name, required in (("title", True), ("submit", False), ("close", False)):
            text = view.get(name)
            if text is None:
                if required:
                    fail(f"/{name}", "missing required field")
                continue
            if not isinstance(text, dict) or text.get("type") != "plain_text":
                fail(f"/{name}/type", "must be plain_text")
            elif not text.get("text") or len(text["text"]) > 24:
                fail(f"/{name}/text", "must be between 1 and 24 characters")
        has_inputs = any(
            isinstance(b, dict) and b.get("type") == "input" for b in view.get("blocks") or []
        )
        if has_inputs and not view.get("submit"):
            fail("/submit", "must be provided when the view has input blocks")
    for name, limit in (("private_metadata", 3000), ("callback_id", 255), ("external_id", 255)):
        value = view.get(name)
        if value is not None and (not isinstance(value, str) or len(value) > limit):
            fail(f"/{name}", f"must be a string of at most {limit} characters")
    problems += [
        p.replace("[json-pointer:/blocks", "[json-pointer:/view/blocks")
        for p in block_kit.problems(view.get("blocks", []), surface=kind)
    ]
    if problems:
        raise SlackError("invalid_arguments", *problems)
    return view


def _stored(call: Context, view: dict[str, Any], view_id: str, **links: Any) -> dict[str, Any]:
    sandbox = call.sandbox
    stored: dict[str, Any] = {
        "id": view_id,
        "team_id": sandbox.workspace.team_id,
        "type": view["type"],
        "blocks": block_kit.with_block_ids(view.get("blocks", []), view_id),
        "private_metadata": view.get("private_metadata", ""),
        "callback_id": view.get("callback_id", ""),
        "state": {"values": {}},
        "hash": view_hash(),
        "title": view.get("title"),
        "close": view.get("close"),
        "submit": view.get("submit"),
        "clear_on_close": bool(view.get("clear_on_close", False)),
        "notify_on_close": bool(view.get("notify_on_close", False)),
        "external_id": view.get("external_id", ""),
        "previous_view_id": None,
        "root_view_id": view_id,
        "app_id": sandbox.config.app_id,
        "app_installed_team_id": sandbox.workspace.team_id,
        "bot_id": sandbox.workspace.bot_id,
    }
    if "submit_disabled" in view:
        stored["submit_disabled"] = bool(view["submit_disabled"])
    stored.update(links)
    return stored


def _exchange(call: Context, args: Args) -> Trigger:
    sandbox = call.sandbox
    trigger_id = args.text("trigger_id") or args.text("interactivity_pointer")
    trigger = read_trigger_id(trigger_id, ttl=sandbox.config.trigger_ttl)
    if trigger.id in sandbox.used_triggers:
        raise SlackError("exchanged_trigger_id")
    sandbox.used_triggers.add(trigger.id)
    return trigger


def open_view(call: Context, args: Args) -> dict:
    sandbox = call.sandbox
    trigger = _exchange(call, args)
    view = _view_argument(args, "modal")
    sandbox.views.check_external_id(view.get("external_id", ""))
    stored = _stored(call, view, sandbox.ids.next("V"))
    sandbox.views.by_id[stored["id"]] = stored
    sandbox.views.owners[stored["id"]] = trigger.user_id
    sandbox.views.stacks[trigger.user_id] = [stored["id"]]
    return {"view": stored}


def push(call: Context, args: Args) -> dict:
    sandbox = call.sandbox
    trigger = _exchange(call, args)
    view = _view_argument(args, "modal")
    stack = sandbox.views.stacks.get(trigger.user_id)
    if not stack:
        raise SlackError("not_found")
    if len(stack) >= MAX_STACK:
        raise SlackError("push_limit_reached")
    sandbox.views.check_external_id(view.get("external_id", ""))
    stored = _stored(
        call, view, sandbox.ids.next("V"), previous_view_id=stack[-1], root_view_id=stack[0]
    )
    sandbox.views.by_id[stored["id"]] = stored
    sandbox.views.owners[stored["id"]] = trigger.user_id
    stack.append(stored["id"])
    return {"view": stored}


def update(call: Context, args: Args) -> dict:
    sandbox = call.sandbox
    view_id, external_id = args.text("view_id"), args.text("external_id")
    if not view_id and not external_id:
        raise SlackError("invalid_arguments", "[ERROR] view_id or external_id is required")
    current = sandbox.views.find(view_id=view_id, external_id=external_id)
    expected_hash = args.text("hash")
    if expected_hash is not None and expected_hash != current["hash"]:
        raise SlackError("hash_conflict")
    view = _view_argument(args, current["type"])
    view.setdefault("external_id", current.get("external_id", ""))
    sandbox.views.check_external_id(view["external_id"], own_id=current["id"])
    stored = _stored(
        call,
        view,
        current["id"],
        previous_view_id=current["previous_view_id"],
        root_view_id=current["root_view_id"],
    )
    sandbox.views.by_id[current["id"]] = stored
    return {"view": stored}


def publish(call: Context, args: Args) -> dict:
    sandbox = call.sandbox
    user = sandbox.workspace.user(args.required("user_id", "user_not_found"))
    view = _view_argument(args, "home")
    home_id = sandbox.views.homes.get(user.id)
    expected_hash = args.text("hash")
    if home_id and expected_hash is not None:
        if expected_hash != sandbox.views.by_id[home_id]["hash"]:
            raise SlackError("hash_conflict")
    home_id = home_id or sandbox.ids.next("V")
    sandbox.views.check_external_id(view.get("external_id", ""), own_id=home_id)
    stored = _stored(call, view, home_id)
    sandbox.views.by_id[home_id] = stored
    sandbox.views.owners[home_id] = user.id
    sandbox.views.homes[user.id] = home_id
    return {"view": stored}


METHODS = {
    "views.open": open_view,
    "views.push": push,
    "views.update": update,
    "views.publish": publish,
}


def apply_submission_answer(
    sandbox: Any, view_id: str, answer: dict[str, Any] | None
) -> dict[str, Any]:
    """What Slack does with an app's answer to a view_submission: `update` replaces the view
    (a new hash), `push` stacks one, `clear` closes them all, `errors` leaves it open and shows
    them; no response_action closes the submitted view. Returns the errors (empty when none)."""
    answer = answer or {}
    action = answer.get("response_action")
    owner = sandbox.views.owners.get(view_id, "")
    stack = sandbox.views.stacks.get(owner, [])
    if action == "errors":
        return dict(answer.get("errors") or {})
    if action == "update":
        current = sandbox.views.by_id[view_id]
        view = _checked(answer.get("view") or {}, "modal")
        sandbox.views.by_id[view_id] = _stored_for(sandbox, view, current)
    elif action == "push":
        view = _checked(answer.get("view") or {}, "modal")
        if len(stack) >= MAX_STACK:
            raise SlackError("push_limit_reached")
        new_id = sandbox.ids.next("V")
        stored = _stored_for(sandbox, view, None, new_id=new_id)
        stored.update(previous_view_id=view_id, root_view_id=stack[0] if stack else new_id)
        sandbox.views.by_id[new_id] = stored
        sandbox.views.owners[new_id] = owner
        stack.append(new_id)
    elif action == "clear":
        stack.clear()
    elif view_id in stack:
        stack.remove(view_id)
    return {}


class _Answer:
    """Just enough of a Context for `_view_argument` and `_stored` outside a Web API call."""

    def __init__(self, sandbox: Any, view: dict[str, Any]) -> None:
        self.sandbox = sandbox
        self.view = view


def _checked(view: dict[str, Any], kind: str) -> dict[str, Any]:
    # The same checks as views.update: Slack refuses an invalid view in an answer too.
    return _view_argument(Args({"view": view}), kind)


def _stored_for(
    sandbox: Any, view: dict[str, Any], current: dict[str, Any] | None, *, new_id: str = ""
) -> dict[str, Any]:
    call = _Answer(sandbox, view)
    if current is None:
        return _stored(call, view, new_id)  # type: ignore[arg-type]
    return _stored(
        call, view, current["id"],  # type: ignore[arg-type]
        previous_view_id=current["previous_view_id"], root_view_id=current["root_view_id"],
    )  # fmt: skip
