"""Files: what people "uploaded", files.info, the files_upload_v2 steps, and serving the bytes.

As on Slack, a file's bytes come back from `url_private(_download)` only with the bot token in
`Authorization: Bearer`; without it Slack answers 200 with an HTML sign-in page, which code that
forgets the header must notice for itself.
"""

from __future__ import annotations

import mimetypes
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiohttp import web

from sandbox.slack.args import Args
from sandbox.slack.context import SANDBOX, Context
from sandbox.slack.errors import SlackError
from sandbox.slack.history import Message

if TYPE_CHECKING:
    from sandbox.slack.app import SlackSandbox

_TYPES = {
    "csv": ("csv", "CSV", "text/csv"),
    "tsv": ("tsv", "TSV", "text/tab-separated-values"),
    "txt": ("text", "Plain Text", "text/plain"),
    "json": ("json", "JSON", "application/json"),
    "xlsx": (
        "xlsx",
        "Excel Spreadsheet",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
    "xls": ("xls", "Excel Spreadsheet", "application/vnd.ms-excel"),
    "vcf": ("vcard", "vCard", "text/vcard"),
    "pdf": ("pdf", "PDF", "application/pdf"),
    "png": ("png", "PNG", "image/png"),
    "jpg": ("jpg", "JPEG", "image/jpeg"),
}

LOGIN_PAGE = """<!DOCTYPE html>
<html lang="en-US">
<head><meta charset="utf-8"><title>Sign in | Slack</title></head>
<body>
<h1>Sign in to your workspace</h1>
<p>You need to sign in to see this page.</p>
<form action="/signin" method="post"><input type="email" name="email"><button>Continue</button></form>
</body>
</html>
"""


def file_type(name: str) -> tuple[str, str, str]:
    """(filetype, pretty_type, mimetype) the way Slack names them for a file name."""
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension in _TYPES:
        return _TYPES[extension]
    guessed = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return (extension or "binary", (extension or "binary").upper(), guessed)


@dataclass(slots=True)
class File:
    id: str
    name: str
    content: bytes
    user: str
    title: str = ""
    mimetype: str = ""
    filetype: str = ""
    pretty_type: str = ""
    created: int = field(default_factory=lambda: int(time.time()))
    channels: list[str] = field(default_factory=list)
    uploaded: bool = True  # False between files.getUploadURLExternal and the upload itself
    alt_txt: str | None = None
    # Set by a test: the file's URLs answer 302 to this address instead of the bytes, to see
    # that a download follows the token nowhere but Slack.
    redirect_to: str | None = None

    def __post_init__(self) -> None:
        filetype, pretty, mimetype = file_type(self.name)
        self.title = self.title or self.name
        self.filetype = self.filetype or filetype
        self.pretty_type = self.pretty_type or pretty
        self.mimetype = self.mimetype or mimetype

    def to_dict(self, origin: str, team_id: str, sandbox: SlackSandbox | None = None) -> dict:
        """The file object Slack returns from files.info and puts in events and view state."""
        base = f"{origin}/files-pri/{team_id}-{self.id}"
        channels, groups, ims = [], [], []
        for channel_id in self.channels:
            channel = sandbox.workspace.channels.get(channel_id) if sandbox else None
            if channel is not None and channel.is_im:
                ims.append(channel_id)
            elif channel is not None and channel.is_private:
                groups.append(channel_id)
            else:
                channels.append(channel_id)
        return {
            "id": self.id,
            "created": self.created,
            "timestamp": self.created,
            "name": self.name,
            "title": self.title,
            "mimetype": self.mimetype,
            "filetype": self.filetype,
            "pretty_type": self.pretty_type,
            "user": self.user,
            "user_team": team_id,
            "editable": False,
            "size": len(self.content),
            "mode": "hosted",
            "is_external": False,
            "external_type": "",
            "is_public": bool(channels),
            "public_url_shared": False,
            "display_as_bot": False,
            "username": "",
            "url_private": f"{base}/{self.name}",
            "url_private_download": f"{base}/download/{self.name}",
            "permalink": f"{origin}/files/{self.user}/{self.id}/{self.name}",
            "permalink_public": f"{origin}/files-pub/{team_id}-{self.id}",
            "channels": channels,
            "groups": groups,
            "ims": ims,
            "comments_count": 0,
            "alt_txt": self.alt_txt,
        }


# -- Web API methods


def info(call: Context, args: Args) -> dict:
    sandbox = call.sandbox
    file = sandbox.files.get(args.required("file", "file_not_found"))
    if file is None or not file.uploaded:
        raise SlackError("file_not_found")
    return {
        "file": file.to_dict(call.origin, sandbox.workspace.team_id, sandbox),
        "comments": [],
        "response_metadata": {"next_cursor": ""},
    }


def get_upload_url(call: Context, args: Args) -> dict:
    sandbox = call.sandbox
    name = args.required("filename")
    length = args.number("length")
    if length is None:
        raise SlackError("invalid_arguments", "[ERROR] missing required field: length")
    file = File(
        id=sandbox.ids.next("F"),
        name=name,
        content=b"",
        user=call.user_id,
        uploaded=False,
        alt_txt=args.text("alt_txt"),
    )
    sandbox.files[file.id] = file
    return {"upload_url": f"{call.origin}/upload/v1/{file.id}", "file_id": file.id}


def complete_upload(call: Context, args: Args) -> dict:
    sandbox = call.sandbox
    entries = args.structured("files")
    if not isinstance(entries, list) or not entries:
        raise SlackError("invalid_arguments", "[ERROR] missing required field: files")
    files: list[File] = []
    for entry in entries:
        file = sandbox.files.get(entry.get("id", "")) if isinstance(entry, dict) else None
        if file is None or not file.uploaded:
            raise SlackError("file_not_found")
        files.append(file)
    channel_ids = [args.text("channel_id")] if args.text("channel_id") else []
    channel_ids += [c for c in (args.text("channels") or "").split(",") if c]
    channels = []
    for channel_id in channel_ids:
        try:
            channel = sandbox.workspace.channel(channel_id)
        except SlackError:
            raise SlackError("invalid_channel") from None
        if call.user_id not in channel.members:
            raise SlackError("posting_to_channel_denied")
        channels.append(channel)
    for entry, file in zip(entries, files, strict=True):
        file.title = entry.get("title") or file.title
    for channel in channels:
        call.channel = channel.id
        thread_ts = sandbox.history.parent_ts(channel.id, args.text("thread_ts"))
        sandbox.history.add(
            Message(
                channel=channel.id,
                ts=sandbox.timestamps.next(),
                user=call.user_id,
                text=args.text("initial_comment") or "",
                blocks=args.structured("blocks") or [],
                thread_ts=thread_ts,
                files=[f.id for f in files],
                bot_id=sandbox.workspace.bot_id,
                app_id=sandbox.config.app_id,
                source="files.completeUploadExternal",
            )
        )
        for file in files:
            if channel.id not in file.channels:
                file.channels.append(channel.id)
    return {"files": [{"id": f.id, "title": f.title} for f in files]}


METHODS = {
    "files.info": info,
    "files.getUploadURLExternal": get_upload_url,
    "files.completeUploadExternal": complete_upload,
}


# -- plain HTTP: the upload URL and the file URLs


async def _upload_bytes(request: web.Request) -> bytes:
    if request.content_type.startswith("multipart/"):
        reader = await request.multipart()
        async for part in reader:
            if getattr(part, "filename", None) or getattr(part, "name", None) == "file":
                return await part.read()  # type: ignore[union-attr]
        return b""
    return await request.read()


async def upload(request: web.Request) -> web.Response:
    """The `upload_url` files.getUploadURLExternal hands out: answers "OK - <bytes>" as Slack does."""
    sandbox: SlackSandbox = request.app[SANDBOX]
    file = sandbox.files.get(request.match_info["file_id"])
    content = await _upload_bytes(request)
    sandbox.recorder.record("upload_url", {"file": request.match_info["file_id"]}, ok=bool(file))
    if file is None:
        return web.Response(status=404, text="Not Found", content_type="text/plain")
    file.content = content
    file.uploaded = True
    return web.Response(text=f"OK - {len(content)}", content_type="text/plain")


async def download(request: web.Request) -> web.StreamResponse:
    """url_private and url_private_download: the bytes for the bot token, a sign-in page otherwise."""
    sandbox: SlackSandbox = request.app[SANDBOX]
    team_id, _, file_id = request.match_info["team_file"].partition("-")
    authorization = request.headers.get("Authorization", "")
    token = (
        authorization.removeprefix("Bearer ").strip() if authorization.startswith("Bearer ") else ""
    )
    authorized = token in sandbox.tokens
    file = sandbox.files.get(file_id)
    sandbox.recorder.record(
        "file_download", {"file": file_id, "authorized": authorized}, ok=authorized and bool(file)
    )
    if file is not None and file.redirect_to:
        raise web.HTTPFound(file.redirect_to)
    if not authorized:
        return web.Response(text=LOGIN_PAGE, content_type="text/html", charset="utf-8")
    if file is None or not file.uploaded or team_id != sandbox.workspace.team_id:
        return web.Response(status=404, text="Not Found", content_type="text/plain")
    headers = {}
    if "/download/" in request.path:
        headers["Content-Disposition"] = f'attachment; filename="{file.name}"'
    return web.Response(body=file.content, content_type=file.mimetype, headers=headers)
