"""Files as slack_sdk's ``files_upload_v2`` sends them: files.getUploadURLExternal, the bytes
POSTed to the upload URL it hands out, then files.completeUploadExternal; and each completed
file's ``url_private`` for the bot to download."""

from __future__ import annotations

import mimetypes
import secrets
import time
from email.message import Message
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from trustbot.devtools.slack_api.blocks import MAX_TEXT, message_content
from trustbot.devtools.slack_api.workspace import (
    Handler,
    SlackApiFailure,
    StoredFile,
    StoredMessage,
    Workspace,
)

__all__ = ["Files"]

_MAX_ALT_TXT = 1000


class Files:
    """The files.* methods, the upload URL and the files' download URL."""

    def __init__(self, workspace: Workspace) -> None:
        self.ws = workspace
        self.pending: dict[str, StoredFile] = {}  # id -> not yet completed
        self._upload_keys: dict[str, str] = {}  # the secret part of an upload URL -> file id

    def handlers(self) -> dict[str, Handler]:
        return {
            "files.getUploadURLExternal": self._files_get_upload_url_external,
            "files.completeUploadExternal": self._files_complete_upload_external,
        }

    def routes(self) -> list[Route]:
        return [
            Route("/upload/v1/{key}", self._upload, methods=["POST"]),
            Route("/files-pri/{team_file}/{name}", self._file_download, methods=["GET"]),
        ]

    def files_in(self, channel: str) -> list[StoredFile]:
        """Files shared in a channel (a U… id means the bot's DM with that user), in order."""
        return list(self.ws.files_by_channel.get(self.ws.channel_key(channel), ()))

    async def _upload(self, request: Request) -> Response:
        """The upload URL files.getUploadURLExternal hands out; the URL is the credential.

        slack_sdk POSTs the raw bytes (application/octet-stream) without a token; Slack also
        takes a multipart/form-data body, whose first file part is the content.
        """
        file_id = self._upload_keys.get(request.path_params["key"])
        stored = self.pending.get(file_id) if file_id is not None else None
        if stored is None:
            return PlainTextResponse("not_found", status_code=404)
        raw = await request.body()
        content_type = request.headers.get("content-type", "")
        content = raw
        if content_type.split(";")[0].strip().lower() == "multipart/form-data":
            part = _multipart_file(content_type, raw)
            if part is None:
                return PlainTextResponse("no_file_data", status_code=400)
            content = part
        if len(content) != stored.length:
            # The emulator's own check: the bytes must be the length the ticket declared.
            return PlainTextResponse(
                f"length_mismatch: declared {stored.length}, received {len(content)}",
                status_code=400,
            )
        stored.content = content
        return PlainTextResponse(f"OK - {len(content)}")

    async def _file_download(self, request: Request) -> Response:
        """A completed file's url_private: its bytes, for the bot token only."""
        if request.headers.get("authorization", "") != f"Bearer {self.ws.bot_token}":
            return PlainTextResponse("not_authed", status_code=403)
        _, _, file_id = request.path_params["team_file"].partition("-")
        stored = self.ws.files.get(file_id)
        if stored is None or stored.content is None:
            return PlainTextResponse("file_not_found", status_code=404)
        return Response(stored.content, media_type=self._file_mimetype(stored))

    @staticmethod
    def _file_mimetype(stored: StoredFile) -> str:
        if stored.snippet_type:
            return "text/plain"
        return mimetypes.guess_type(stored.filename)[0] or "application/octet-stream"

    def file_json(self, stored: StoredFile) -> dict[str, Any]:
        """The file object Slack returns (the fields a bot reads; no thumbnails)."""
        _, dot, extension = stored.filename.rpartition(".")
        filetype = stored.snippet_type or (extension.lower() if dot else "") or "binary"
        url = f"{self.ws.url()}/files-pri/{self.ws.team_id}-{stored.id}/{quote(stored.filename)}"
        body: dict[str, Any] = {
            "id": stored.id,
            "created": stored.created,
            "timestamp": stored.created,
            "name": stored.filename,
            "title": stored.title,
            "mimetype": self._file_mimetype(stored),
            "filetype": filetype,
            "pretty_type": filetype.upper(),
            "user": self.ws.bot_user_id,
            "user_team": self.ws.team_id,
            "editable": stored.snippet_type is not None,
            "size": stored.length,
            "mode": "snippet" if stored.snippet_type else "hosted",
            "is_external": False,
            "external_type": "",
            "is_public": any(c.startswith("C") for c in stored.channels),
            "public_url_shared": False,
            "display_as_bot": False,
            "username": "",
            "url_private": url,
            "url_private_download": url,
            "permalink": (
                f"https://{self.ws.team_domain}.slack.com/files/{self.ws.bot_user_id}/{stored.id}/"
                f"{quote(stored.filename)}"
            ),
            "channels": [c for c in stored.channels if c.startswith("C")],
            "groups": [c for c in stored.channels if c.startswith("G")],
            "ims": [c for c in stored.channels if c.startswith("D")],
            "has_rich_preview": False,
            "file_access": "visible",
        }
        if stored.alt_txt:
            body["alt_txt"] = stored.alt_txt
        return body

    def _files_get_upload_url_external(self, args: dict[str, Any]) -> dict[str, Any]:
        filename = args.get("filename")
        raw_length = args.get("length")
        if not filename or raw_length in (None, ""):
            raise SlackApiFailure("missing_argument")
        try:
            length = int(raw_length)
        except (TypeError, ValueError):
            raise SlackApiFailure("invalid_arguments") from None
        if length == 0:
            # Slack's documented cause of missing_argument: a length of 0.
            raise SlackApiFailure("missing_argument")
        if length < 0:
            raise SlackApiFailure("invalid_arguments")
        alt_txt = args.get("alt_txt")
        if alt_txt is not None and len(str(alt_txt)) > _MAX_ALT_TXT:
            raise SlackApiFailure("alt_txt_too_large")
        snippet_type = args.get("snippet_type")
        file_id = self.ws.new_id("F")
        key = secrets.token_urlsafe(16)
        self.pending[file_id] = StoredFile(
            id=file_id,
            filename=str(filename),
            length=length,
            alt_txt=None if alt_txt is None else str(alt_txt),
            snippet_type=None if snippet_type is None else str(snippet_type),
        )
        self._upload_keys[key] = file_id
        return {"upload_url": f"{self.ws.url()}/upload/v1/{key}", "file_id": file_id}

    def _files_complete_upload_external(self, args: dict[str, Any]) -> dict[str, Any]:
        # Everything is checked before anything changes: a refused call shares nothing.
        items = args.get("files")
        if (
            not isinstance(items, list)
            or not items
            or not all(isinstance(item, dict) and item.get("id") for item in items)
        ):
            raise SlackApiFailure("invalid_arguments")
        completing: list[StoredFile] = []
        for item in items:
            stored = self.pending.get(str(item["id"]))
            # Unknown, already completed, listed twice, or its bytes never reached the upload URL.
            if stored is None or stored.content is None or stored in completing:
                raise SlackApiFailure("file_not_found")
            completing.append(stored)

        channels: list[str] = []
        if args.get("channel_id"):
            channels.append(self.ws.resolve_channel(args["channel_id"], allow_user_id=False))
        for raw in str(args.get("channels") or "").split(","):
            if raw.strip():
                channel = self.ws.resolve_channel(raw.strip(), allow_user_id=True)
                if channel not in channels:
                    channels.append(channel)
        thread_ts = str(args["thread_ts"]) if args.get("thread_ts") else None
        comment = str(args["initial_comment"]) if args.get("initial_comment") else None
        # Sharing needs a channel: a reply goes into exactly one, and a comment without a
        # channel would be lost (the emulator refuses what Slack might drop silently).
        if thread_ts is not None and len(channels) != 1:
            raise SlackApiFailure("invalid_arguments")
        if comment is not None and not channels:
            raise SlackApiFailure("invalid_arguments")
        if comment is not None and len(comment) > MAX_TEXT:
            raise SlackApiFailure("msg_too_long")
        # Slack ignores blocks when there is an initial_comment.
        blocks: list[dict[str, Any]] = []
        if comment is None and args.get("blocks") is not None:
            _, blocks = message_content({"blocks": args["blocks"]})

        created = int(time.time())
        for stored, item in zip(completing, items, strict=True):
            stored.title = str(item.get("title") or stored.filename)
            highlight_type = item.get("highlight_type")
            stored.highlight_type = None if highlight_type is None else str(highlight_type)
            stored.channels = list(channels)
            stored.initial_comment = comment
            stored.thread_ts = thread_ts
            stored.created = created
            del self.pending[stored.id]
            self.ws.files[stored.id] = stored
        for channel in channels:
            message = StoredMessage(
                channel=channel,
                ts=self.ws.next_ts(),
                text=comment or "",
                blocks=blocks,
                user=self.ws.bot_user_id,
                thread_ts=thread_ts,
                files=[stored.id for stored in completing],
            )
            self.ws.store_message(message)
            for stored in completing:
                stored.message_ts[channel] = message.ts
                self.ws.files_by_channel[channel].append(stored)
        return {"files": [self.file_json(stored) for stored in completing]}


def _multipart_file(content_type: str, body: bytes) -> bytes | None:
    """The content of the first file part (else the first part) of a multipart/form-data body.

    Split by hand on the boundary so that binary content comes back byte for byte.
    """
    header = Message()
    header["content-type"] = content_type
    boundary = header.get_param("boundary")
    if not isinstance(boundary, str) or not boundary:
        return None
    first: bytes | None = None
    for section in body.split(b"--" + boundary.encode("latin-1"))[1:]:
        if section.startswith(b"--"):  # the closing delimiter
            break
        head, separator, content = section.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if not separator:
            continue
        content = content.removesuffix(b"\r\n")
        if b"filename=" in head.lower():
            return content
        if first is None:
            first = content
    return first
