"""The Web API's one route, /api/<method>: reading arguments, the token, the rate limit, the call log.

Checks come in Slack's order: a known method, then the bearer token (`not_authed`,
`invalid_auth`, or `not_allowed_token_type` for an app-level token outside the app-level methods
and any other token inside them), then the bot token's scopes (`missing_scope` for a method they do
not cover: by default exactly the manifest's), then the rate limit (HTTP 429 with `Retry-After`),
then the method's own arguments. Errors are `{"ok": false, "error": ...}` with HTTP 200, as on
Slack.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from sandbox.slack import chat, directory, files, scopes, socket_mode, views
from sandbox.slack.args import Args
from sandbox.slack.context import SANDBOX, Context
from sandbox.slack.errors import SlackError

if TYPE_CHECKING:
    from sandbox.slack.app import SlackSandbox

Handler = Callable[[Context, Args], dict[str, Any]]

METHODS: dict[str, Handler] = {
    **directory.METHODS,
    **chat.METHODS,
    **views.METHODS,
    **files.METHODS,
    **socket_mode.METHODS,
}
STRUCTURED_ARGS = ("blocks", "attachments", "view", "metadata", "files")


def _json(
    body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        status=status,
        text=json.dumps(body),
        content_type="application/json",
        charset="utf-8",
        headers=headers,
    )


async def _read_args(request: web.Request) -> dict[str, Any]:
    values: dict[str, Any] = dict(request.query)
    if not request.body_exists:
        return values
    if request.content_type == "application/json":
        try:
            body = json.loads(await request.read() or b"{}")
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise SlackError("invalid_json") from None
        if not isinstance(body, dict):
            raise SlackError("json_not_object")
        values.update(body)
    elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()
        for name, value in form.items():
            values[name] = value.file.read() if isinstance(value, web.FileField) else value
    elif request.content_type not in ("", "application/octet-stream", "text/plain"):
        raise SlackError("invalid_post_type")
    return values


def _token(request: web.Request, values: dict[str, Any]) -> str | None:
    authorization = request.headers.get("Authorization", "")
    if authorization.lower().startswith("bearer "):
        return authorization[7:].strip() or None
    token = values.get("token")
    return str(token) if token else None


def _caller(sandbox: SlackSandbox, method: str, token: str) -> str:
    """Whom the token acts for: a user (the bot or a person), or for app-level methods the app.
    A token of the other kind is `not_allowed_token_type`, an unknown one `invalid_auth`."""
    app_level = method in socket_mode.APP_LEVEL_METHODS
    accepted, other = (
        (sandbox.app_tokens, sandbox.tokens) if app_level else (sandbox.tokens, sandbox.app_tokens)
    )
    if token in accepted:
        return accepted[token]
    raise SlackError("not_allowed_token_type" if token in other else "invalid_auth")


async def api(request: web.Request) -> web.Response:
    sandbox = request.app[SANDBOX]
    method = request.match_info["method"]
    try:
        values = await _read_args(request)
    except SlackError as error:
        sandbox.recorder.record(method, {}, ok=False, error=error.code, response=error.to_dict())
        return _json(error.to_dict())
    token = _token(request, values)
    values.pop("token", None)
    args = Args(values)
    logged = args.decoded(STRUCTURED_ARGS)
    raw_channel = args.values.get("channel") or args.values.get("channel_id")

    def finish(
        body: dict[str, Any],
        *,
        status: int = 200,
        channel: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> web.Response:
        sandbox.recorder.record(
            method,
            logged,
            ok=bool(body.get("ok")),
            error=body.get("error"),
            status=status,
            channel=channel,
            response=body,
        )
        return _json(body, status, headers)

    if method not in METHODS:
        return finish({"ok": False, "error": "unknown_method", "req_method": method})
    if token is None:
        return finish({"ok": False, "error": "not_authed"})
    try:
        user_id = _caller(sandbox, method, token)
    except SlackError as error:
        return finish(error.to_dict())
    needed = scopes.needed(method, sandbox.workspace, str(raw_channel) if raw_channel else None)
    granted = sandbox.scopes if token == sandbox.config.bot_token else None  # people's: all
    if granted is not None and needed and not granted.intersection(needed):
        provided = ",".join(sorted(granted))
        return finish({"ok": False, "error": "missing_scope", "needed": ",".join(needed),
                       "provided": provided})  # fmt: skip
    retry_after = sandbox.limiter.check(method, str(raw_channel) if raw_channel else None)
    if retry_after is not None:
        return finish(
            {"ok": False, "error": "ratelimited"},
            status=429,
            headers={"Retry-After": str(retry_after)},
        )
    context = Context(sandbox=sandbox, origin=str(request.url.origin()), user_id=user_id)
    try:
        body = {"ok": True, **METHODS[method](context, args)}
    except SlackError as error:
        body = error.to_dict()
    return finish(body, channel=context.channel)
