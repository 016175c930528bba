"""auth.test, users.*, conversations.* and usergroups.*: who and where, and reading history back."""

from __future__ import annotations

from sandbox.slack.args import Args
from sandbox.slack.context import Context
from sandbox.slack.errors import SlackError
from sandbox.slack.history import Message


def auth_test(call: Context, args: Args) -> dict:
    workspace = call.sandbox.workspace
    user = workspace.user(call.user_id)
    answer = {
        "url": f"https://{workspace.team_domain}.slack.com/",
        "team": workspace.team_name,
        "user": user.name,
        "team_id": workspace.team_id,
        "user_id": user.id,
    }
    if user.is_bot:
        answer["bot_id"] = user.bot_id
    enterprise_id = call.sandbox.config.enterprise_id
    if enterprise_id:  # a workspace on a Grid org: Slack names the org too
        answer["enterprise_id"] = enterprise_id
    answer["is_enterprise_install"] = False
    return answer


def users_info(call: Context, args: Args) -> dict:
    workspace = call.sandbox.workspace
    user = workspace.user(args.required("user", "user_not_found"))
    return {"user": user.to_dict(workspace.team_id, include_locale=args.flag("include_locale"))}


def users_lookup_by_email(call: Context, args: Args) -> dict:
    workspace = call.sandbox.workspace
    email = args.required("email", "users_not_found").lower()
    for user in workspace.users.values():
        if user.email.lower() == email:
            return {"user": user.to_dict(workspace.team_id)}
    raise SlackError("users_not_found")


def users_list(call: Context, args: Args) -> dict:
    workspace = call.sandbox.workspace
    members = [u.to_dict(workspace.team_id) for u in workspace.users.values()]
    return {"members": members, "cache_ts": 0, "response_metadata": {"next_cursor": ""}}


def conversations_info(call: Context, args: Args) -> dict:
    workspace = call.sandbox.workspace
    channel_ref = args.required("channel", "channel_not_found")
    if channel_ref[:1] in ("U", "W"):
        raise SlackError("channel_not_found")
    channel = workspace.channel(channel_ref)
    call.channel = channel.id
    return {
        "channel": channel.to_dict(
            workspace.bot_user_id, include_num_members=args.flag("include_num_members")
        )
    }


def conversations_open(call: Context, args: Args) -> dict:
    """The caller's DM with one person (`users`, the caller left out as Slack does), opened on
    first use, or an open DM resumed by its id (`channel`). Slack says `no_op` and
    `already_open` when it was open; `return_im` asks for the whole conversation object."""
    workspace = call.sandbox.workspace
    resumed = args.text("channel")
    if resumed:
        channel = workspace.channels.get(resumed)
        if channel is None:
            raise SlackError("channel_not_found")
        if not channel.is_im:
            raise SlackError("method_not_supported_for_channel_type")
        was_open = True
    else:
        users = [u.strip() for u in (args.text("users") or "").split(",") if u.strip()]
        users = [u for u in users if u != call.user_id]
        if not users:
            raise SlackError("users_list_not_supplied")
        if len(users) > 1:  # a multi-person DM: not modelled here
            raise SlackError("method_not_supported_for_channel_type")
        workspace.user(users[0])  # user_not_found before anything is opened
        was_open = workspace.dm_id(users[0]) in workspace.channels
        channel = workspace.dm(users[0])
    call.channel = channel.id
    shown = channel.to_dict(workspace.bot_user_id) if args.flag("return_im") else {"id": channel.id}
    answer: dict = {"channel": shown}
    if was_open:
        answer.update(no_op=True, already_open=True)
    return answer


def conversations_members(call: Context, args: Args) -> dict:
    channel = call.sandbox.workspace.channel(args.required("channel", "channel_not_found"))
    call.channel = channel.id
    return {"members": sorted(channel.members), "response_metadata": {"next_cursor": ""}}


def _readable(call: Context, args: Args) -> str:
    channel = call.sandbox.workspace.channel(args.required("channel", "channel_not_found"))
    call.channel = channel.id
    if call.user_id not in channel.members:
        raise SlackError("not_in_channel")
    return channel.id


def _as_dict(call: Context, message: Message, *, with_metadata: bool) -> dict:
    sandbox = call.sandbox
    files = [
        sandbox.files[f].to_dict(call.origin, sandbox.workspace.team_id, sandbox)
        for f in message.files
        if f in sandbox.files
    ]
    out = message.to_dict(sandbox.workspace.team_id, files=files)
    if not with_metadata:
        out.pop("metadata", None)
    if not message.is_reply:
        out.update(sandbox.history.thread_summary(message))
    return out


def conversations_history(call: Context, args: Args) -> dict:
    channel_id = _readable(call, args)
    limit = args.number("limit", 100) or 100
    oldest = float(args.text("oldest") or 0)
    latest = float(args.text("latest") or "inf")
    inclusive = args.flag("inclusive")
    messages = [
        m
        for m in reversed(call.sandbox.history.top_level(channel_id))
        if (oldest <= float(m.ts) <= latest if inclusive else oldest < float(m.ts) < latest)
    ]
    with_metadata = args.flag("include_all_metadata")
    return {
        "messages": [_as_dict(call, m, with_metadata=with_metadata) for m in messages[:limit]],
        "has_more": len(messages) > limit,
        "pin_count": 0,
        "response_metadata": {"next_cursor": ""},
    }


def conversations_replies(call: Context, args: Args) -> dict:
    channel_id = _readable(call, args)
    history = call.sandbox.history
    parent = history.find(channel_id, args.required("ts", "thread_not_found"))
    if parent is None:
        raise SlackError("thread_not_found")
    if parent.is_reply:
        parent = history.find(channel_id, parent.thread_ts) or parent
    with_metadata = args.flag("include_all_metadata")
    thread = [parent, *history.replies(channel_id, parent.ts)]
    return {
        "messages": [_as_dict(call, m, with_metadata=with_metadata) for m in thread],
        "has_more": False,
        "response_metadata": {"next_cursor": ""},
    }


def usergroups_users_list(call: Context, args: Args) -> dict:
    groups = call.sandbox.workspace.usergroups
    group = groups.get(args.required("usergroup", "no_such_subteam"))
    if group is None:
        raise SlackError("no_such_subteam")
    return {"users": list(group.users)}


METHODS = {
    "auth.test": auth_test,
    "users.info": users_info,
    "users.list": users_list,
    "users.lookupByEmail": users_lookup_by_email,
    "conversations.info": conversations_info,
    "conversations.open": conversations_open,
    "conversations.members": conversations_members,
    "conversations.history": conversations_history,
    "conversations.replies": conversations_replies,
    "usergroups.users.list": usergroups_users_list,
}
