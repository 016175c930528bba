"""The bot token's scopes: what each Web API method needs, and what Textcast's manifest grants.

By default the sandbox's bot token has exactly manifest.yml's bot scopes (`MANIFEST_BOT_SCOPES`,
kept in step with the manifest by tests/sandbox/test_slack_scopes.py), so a call the installed app
could not make answers `missing_scope` here as it would on Slack. The needs are Slack's, from each
method's page on docs.slack.dev; the conversations.* ones depend on the kind of conversation.
"""

from __future__ import annotations

from sandbox.slack.workspace import Channel, Workspace

# manifest.yml, oauth_config.scopes.bot
MANIFEST_BOT_SCOPES: frozenset[str] = frozenset(
    {
        "commands",
        "chat:write",
        "chat:write.public",
        "files:read",
        "files:write",
        "im:write",
        "usergroups:read",
        "users:read",
    }
)

# Methods that need one scope whatever they are called on.
SCOPES: dict[str, str] = {
    "chat.postMessage": "chat:write",
    "chat.postEphemeral": "chat:write",
    "chat.update": "chat:write",
    "chat.delete": "chat:write",
    "conversations.open": "im:write",  # a 1:1 DM, the only kind the sandbox opens
    "files.info": "files:read",
    "files.getUploadURLExternal": "files:write",
    "files.completeUploadExternal": "files:write",
    "usergroups.users.list": "usergroups:read",
    "users.info": "users:read",
    "users.list": "users:read",
    "users.lookupByEmail": "users:read.email",
}

# Methods that need no scope (apps.connections.open takes an app-level token instead).
NO_SCOPE: frozenset[str] = frozenset(
    {
        "auth.test",
        "chat.getPermalink",
        "views.open",
        "views.push",
        "views.update",
        "views.publish",
        "apps.connections.open",
    }
)

# Methods whose scope depends on the conversation: channels:* for a public channel, groups:*
# for a private one, im:* for a DM (mpim:* for a group DM, which the sandbox does not model).
BY_CONVERSATION: dict[str, str] = {
    "conversations.info": "read",
    "conversations.members": "read",
    "conversations.history": "history",
    "conversations.replies": "history",
}
KINDS = ("channels", "groups", "mpim", "im")


def _kind(channel: Channel) -> str:
    if channel.is_im:
        return "im"
    return "groups" if channel.is_private else "channels"


def needed(method: str, workspace: Workspace, channel_ref: str | None) -> tuple[str, ...]:
    """The scopes of which the token needs one for this call; () when it needs none."""
    if method in SCOPES:
        return (SCOPES[method],)
    access = BY_CONVERSATION.get(method)
    if access is None:
        return ()
    channel = workspace.channels.get(channel_ref or "")
    if channel is None:  # Slack names every kind it could have been
        return tuple(f"{kind}:{access}" for kind in KINDS)
    return (f"{_kind(channel)}:{access}",)
