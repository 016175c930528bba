"""The sandbox's Slack: an aiohttp application answering the Web API and Socket Mode's WebSocket,
and its Python handle.

In a test, with the real SDK:
    slack = await start()  # 127.0.0.1, a free port
    client = AsyncWebClient(token=BOT_TOKEN, base_url=slack.url)
    ...
    print(slack.transcript("#campaigns"))
    await slack.stop()
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from sandbox.slack import dispatch, files, inspection, responses, socket_mode, transcript, views
from sandbox.slack.context import SANDBOX
from sandbox.slack.files import File
from sandbox.slack.history import History, Message
from sandbox.slack.ids import Ids, Timestamps
from sandbox.slack.ratelimit import SLACK_RATE_LIMITS, RateLimit, RateLimiter
from sandbox.slack.recorder import Call, Recorder
from sandbox.slack.scopes import MANIFEST_BOT_SCOPES
from sandbox.slack.socket_mode import SocketMode
from sandbox.slack.triggers import TRIGGER_TTL, issue_trigger_id, response_url
from sandbox.slack.workspace import (
    ALICE,
    APP_ID,
    APP_TOKEN,
    BOT_ID,
    BOT_NAME,
    BOT_TOKEN,
    BOT_USER_ID,
    SIGNING_SECRET,
    TEAM_DOMAIN,
    TEAM_ID,
    TEAM_NAME,
    Channel,
    User,
    Workspace,
)


@dataclass(slots=True)
class SlackConfig:
    team_id: str = TEAM_ID
    team_name: str = TEAM_NAME
    team_domain: str = TEAM_DOMAIN
    # The Enterprise Grid org the workspace belongs to (auth.test names it); None: on no Grid.
    enterprise_id: str | None = None
    bot_token: str = BOT_TOKEN
    bot_user_id: str = BOT_USER_ID
    bot_id: str = BOT_ID
    bot_name: str = BOT_NAME
    app_id: str = APP_ID
    app_token: str = APP_TOKEN  # app-level: opens Socket Mode connections, calls nothing else
    signing_secret: str = SIGNING_SECRET  # the app verifies the builders' signatures with it
    trigger_ttl: float = TRIGGER_TTL  # how long a trigger id can be exchanged for a modal
    # Slack's own, by default ({}: none); `SlackSandbox.set_rate_limit` changes one at run time.
    rate_limits: dict[str, RateLimit] = field(default_factory=lambda: dict(SLACK_RATE_LIMITS))
    # The bot token's scopes: the manifest's by default; None grants every one.
    scopes: frozenset[str] | None = MANIFEST_BOT_SCOPES
    # Whether the bot may post to public channels it is not in; None: when the scopes grant
    # chat:write.public (they do by default, as the manifest does).
    chat_write_public: bool | None = None
    seed: bool = True  # the seeded people and channels (ALICE, BOB, CAROL, #general, ...)


class SlackSandbox:
    """The sandbox's Slack workspace, its Web API application, and what tests read back."""

    def __init__(self, config: SlackConfig | None = None) -> None:
        self.config = config or SlackConfig()
        self.workspace = Workspace(
            team_id=self.config.team_id,
            team_name=self.config.team_name,
            team_domain=self.config.team_domain,
            bot_user_id=self.config.bot_user_id,
            bot_id=self.config.bot_id,
            bot_name=self.config.bot_name,
            seed=self.config.seed,
        )
        self.tokens: dict[str, str] = {self.config.bot_token: self.config.bot_user_id}
        # App-level tokens, kept apart: each kind is refused where the other is expected.
        self.app_tokens: dict[str, str] = {self.config.app_token: self.config.app_id}
        self.socket_mode = SocketMode(self.config.app_id)
        self.history = History()
        self.files: dict[str, File] = {}
        self.views = views.Views()
        self.recorder = Recorder()
        self.limiter = RateLimiter(self.config.rate_limits)
        # The bot token's scopes (changeable, e.g. an app installed from an older manifest):
        # a method needing another answers `missing_scope`; None grants every one.
        self.scopes: set[str] | None = (
            None if self.config.scopes is None else set(self.config.scopes)
        )
        self.timestamps = Timestamps()
        self.ids = Ids()
        self.used_triggers: set[str] = set()
        self.response_url_uses: dict[str, int] = {}
        self.app = self._build_app()
        self._runner: web.AppRunner | None = None
        self._origin: str | None = None

    # -- running

    def _build_app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app[SANDBOX] = self
        app.router.add_route("*", "/api/{method}", dispatch.api)
        app.router.add_post("/upload/v1/{file_id}", files.upload)
        app.router.add_get("/files-pri/{team_file}/download/{name}", files.download)
        app.router.add_get("/files-pri/{team_file}/{name}", files.download)
        app.router.add_post("/response/{path:.+}", responses.respond)
        app.router.add_get(socket_mode.LINK_PATH, socket_mode.link)
        app.on_shutdown.append(socket_mode.close_connections)
        app.router.add_get("/_sandbox/transcript/{channel}", inspection.transcript)
        app.router.add_get("/_sandbox/calls", inspection.calls)
        app.router.add_post("/_sandbox/reset", inspection.reset)
        app.router.add_post("/_sandbox/files", inspection.add_file)
        app.router.add_get("/_sandbox/messages/{channel}", inspection.messages)
        app.router.add_get("/_sandbox/views/{user}", inspection.modal_stack)
        app.router.add_post("/_sandbox/views/{view_id}/answer", inspection.submission_answer)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> SlackSandbox:
        """Serve on host:port (0: a free port); `url` then is the base_url for slack_sdk."""
        runner = web.AppRunner(self.app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        self._runner = runner
        bound_host, bound_port = runner.addresses[0][:2]
        shown_host = f"[{bound_host}]" if ":" in bound_host else bound_host
        self._origin = f"http://{shown_host}:{bound_port}"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> SlackSandbox:
        if self._runner is None:
            await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def origin(self) -> str:
        """scheme://host:port of the running server."""
        if self._origin is None:
            raise RuntimeError("the Slack sandbox is not started")
        return self._origin

    @property
    def url(self) -> str:
        """The Web API base URL to give slack_sdk (SLACK_API_URL), ending with a slash."""
        return f"{self.origin}/api/"

    # -- reading back what happened

    def calls(self, method: str | None = None, channel: str | None = None) -> list[Call]:
        """Every call received, in order; only one method's or one channel's if asked."""
        channel_id = self.workspace.channel(channel).id if channel else None
        return self.recorder.calls(method, channel_id)

    def messages(self, channel: str) -> list[Message]:
        """What the channel shows, oldest first: not thread replies (unless also sent to the
        channel), not ephemeral messages, not deleted ones. Edits are applied in place."""
        return self.history.top_level(self.workspace.channel(channel).id)

    def thread(self, channel: str, ts: str) -> list[Message]:
        """The replies to the message at `ts`, oldest first (the parent itself not included)."""
        return self.history.replies(self.workspace.channel(channel).id, ts)

    def ephemeral(self, channel: str, user: str | None = None) -> list[Message]:
        """Ephemeral messages in the channel, to one user if asked."""
        return self.history.ephemeral(self.workspace.channel(channel).id, user)

    def message(self, channel: str, ts: str) -> Message:
        found = self.history.find(self.workspace.channel(channel).id, ts)
        if found is None:
            raise KeyError(f"no message {ts} in {channel}")
        return found

    def transcript(self, channel: str) -> str:
        return transcript.render(self, self.workspace.channel(channel).id)

    def reset(self) -> None:
        """Forget calls, messages, views, files, used triggers and rate-limit counts. The people,
        channels, tokens and configured rate limits stay."""
        self.recorder.clear()
        self.history.clear()
        self.files.clear()
        self.views.clear()
        self.used_triggers.clear()
        self.response_url_uses.clear()
        self.limiter.clear()

    # -- views

    def view(self, view_id: str) -> dict[str, Any]:
        return self.views.find(view_id=view_id)

    def modal_stack(self, user_id: str) -> list[dict[str, Any]]:
        """The user's open modals, root first."""
        return self.views.stack(user_id)

    def home_view(self, user_id: str) -> dict[str, Any] | None:
        home_id = self.views.homes.get(user_id)
        return self.views.by_id[home_id] if home_id else None

    def close_view(self, user_id: str, *, everything: bool = False) -> None:
        """The user closes the top modal (or all), as after a submission or Cancel."""
        self.views.close(user_id, everything=everything)

    # -- changing the workspace

    def add_user(
        self, user_id: str, name: str, real_name: str, tz: str = "Europe/London", **more: Any
    ) -> User:
        """A person (more: email, is_admin, deleted, locale). Joins #general, as people do."""
        user = self.workspace.add_user(User(user_id, name, real_name, tz, **more))
        for channel in self.workspace.channels.values():
            if channel.is_general:
                channel.members.add(user_id)
        return user

    def add_channel(
        self, channel_id: str, name: str, members: set[str] | None = None, **more: Any
    ) -> Channel:
        """A channel (more: is_private, is_archived, topic, purpose). Members default to everyone,
        the bot included; leave the bot out to see not_in_channel."""
        if members is None:
            members = set(self.workspace.users)
        return self.workspace.add_channel(Channel(channel_id, name, set(members), **more))

    @property
    def chat_write_public(self) -> bool:
        """Whether the bot may post to a public channel it is not in."""
        if self.config.chat_write_public is not None:
            return self.config.chat_write_public
        return self.scopes is None or "chat:write.public" in self.scopes

    def add_token(self, token: str, user_id: str) -> None:
        """Another token the Web API accepts, acting as `user_id`."""
        self.tokens[token] = user_id

    def add_app_token(self, token: str) -> None:
        """Another app-level token apps.connections.open accepts (and every other method refuses)."""
        self.app_tokens[token] = self.config.app_id

    # -- Socket Mode

    async def socket_send(
        self,
        type: str,
        payload: dict[str, Any],
        *,
        accepts_response_payload: bool | None = None,
        retry_attempt: int = 0,
        retry_reason: str = "",
        timeout: float = 3.0,  # noqa: ASYNC109 (Slack's ack deadline, part of the protocol)
    ) -> dict[str, Any]:
        """Send the connected app an envelope (`slash_commands`, `interactive`, `events_api`)
        carrying `payload` (a request builder's `SlackRequest.payload`), and return the payload
        of its acknowledgement ({} for a bare ack). SocketModeError if no app is connected, the
        connection closes first, or no ack comes within `timeout` seconds (Slack's 3)."""
        return await self.socket_mode.send(
            type,
            payload,
            accepts_response_payload=accepts_response_payload,
            retry_attempt=retry_attempt,
            retry_reason=retry_reason,
            timeout=timeout,
        )

    def socket_connections(self, *, staying: bool = False) -> int:
        """How many Socket Mode connections the app holds open (`staying`: only those not told
        to leave by a `disconnect`)."""
        return sum(
            1
            for c in self.socket_mode.connections
            if not c.socket.closed and not (staying and c.leaving)
        )

    def socket_moved_on(self) -> bool:
        """After a `disconnect`: the app holds one connection, a new one (the old one alone is
        still open until the app has made the new one)."""
        return self.socket_connections() == self.socket_connections(staying=True) == 1

    async def socket_disconnect(
        self, reason: str = "refresh_requested", *, close_after: float | None = 10.0
    ) -> None:
        """Slack's `disconnect` to every open connection, as when it refreshes them; each still
        open `close_after` seconds later is closed (None: left for the app to close)."""
        await self.socket_mode.disconnect(reason, close_after=close_after)

    def add_file(
        self,
        name: str,
        content: bytes | str,
        *,
        user: str = ALICE,
        channel: str | None = None,
        title: str | None = None,
        comment: str = "",
    ) -> File:
        """A file a person uploaded, e.g. a CSV of recipients; shared in `channel` if given, with
        a message from that person carrying it."""
        data = content.encode() if isinstance(content, str) else content
        file = File(id=self.ids.next("F"), name=name, content=data, user=user, title=title or "")
        self.files[file.id] = file
        if channel:
            channel_id = self.workspace.channel(channel).id
            file.channels.append(channel_id)
            self.history.add(
                Message(
                    channel=channel_id,
                    ts=self.timestamps.next(),
                    user=user,
                    text=comment,
                    files=[file.id],
                    source="user",
                )
            )
        return file

    def file_object(self, file_id: str) -> dict[str, Any]:
        """The file as files.info returns it (and as a file_input puts it in view state)."""
        return self.files[file_id].to_dict(self.origin, self.workspace.team_id, self)

    def add_message(
        self,
        channel: str,
        user: str,
        text: str,
        *,
        thread_ts: str | None = None,
        blocks: list[dict] | None = None,
    ) -> Message:
        """A message a person posted (pair it with an event from the request builders)."""
        channel_id = self.workspace.channel(channel).id
        return self.history.add(
            Message(
                channel=channel_id,
                ts=self.timestamps.next(),
                user=user,
                text=text,
                blocks=blocks or [],
                thread_ts=self.history.parent_ts(channel_id, thread_ts),
                source="user",
            )
        )

    # -- rate limits and handles

    def set_rate_limit(
        self,
        method: str,
        calls: int,
        per_seconds: float = 60.0,
        *,
        per_channel: bool = False,
        burst: int = 0,
    ) -> None:
        """Replace one method's limit (e.g. raised, with a comment why, for a test that posts
        hundreds of messages on purpose)."""
        self.limiter.set(method, RateLimit(calls, per_seconds, per_channel, burst))

    def clear_rate_limit(self, method: str) -> None:
        self.limiter.set(method, None)

    def refuse_next(self, method: str, times: int = 1, retry_after: int = 1) -> None:
        """The next `times` calls to `method` get HTTP 429 with `Retry-After: retry_after`."""
        self.limiter.refuse_next(method, times, retry_after)

    def issue_trigger_id(self, user_id: str = ALICE) -> str:
        return issue_trigger_id(user_id)

    def response_url(
        self, channel: str, user_id: str = ALICE, *, message_ts: str | None = None
    ) -> str:
        return response_url(
            self.origin, self.workspace.channel(channel).id, user_id, message_ts=message_ts
        )


# -- entry points


def create_app(config: SlackConfig | None = None) -> web.Application:
    """The Web API application alone; its SlackSandbox is `app[SANDBOX]`."""
    return SlackSandbox(config).app


async def start(
    host: str = "127.0.0.1", port: int = 0, config: SlackConfig | None = None
) -> SlackSandbox:
    """A running sandbox; `await sandbox.stop()` when done."""
    return await SlackSandbox(config).start(host, port)
