"""The WhatsApp Cloud API spoken over aiohttp: send text, interactive (reply buttons,
lists) and template messages, check the access token; errors mapped to what the bot does
about them. The base URL is configurable (a local fake in tests).

Phone numbers and business-scoped user ids travel only in request bodies: never in a URL,
an exception or a log line.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from bot.settings import GRAPH_API
from bot.whatsapp.payloads import is_bsuid

log = logging.getLogger(__name__)

GRAPH_VERSION = "v21.0"

#: the Cloud API's error codes (its documentation: cloud-api/support/error-codes)
WINDOW_CLOSED = 131047  # re-engagement: more than 24 hours since the returnee last wrote
UNDELIVERABLE = frozenset({131026, 131030, 131045})  # not on WhatsApp, not allowed, unregistered
RATE_LIMITED = frozenset({4, 80007, 130429, 131048, 131056})
INVALID_TOKEN = frozenset({190})
#: a media id the Cloud API does not know (expired after 30 days, or never uploaded)
MEDIA_UNKNOWN = frozenset({131052, 131053, 100})


class CloudError(Exception):
    """The Cloud API refused a call (``code`` from its error object)."""

    def __init__(self, status: int, code: int, title: str) -> None:
        super().__init__(f"WhatsApp Cloud API error {code} (HTTP {status}): {title}")
        self.status, self.code, self.title = status, code, title

    @property
    def reason(self) -> str:
        """A short reason for reports: ``window_closed``, ``undeliverable``..."""
        if self.code == WINDOW_CLOSED:
            return "window_closed"
        if self.code in UNDELIVERABLE:
            return "undeliverable"
        if self.code in RATE_LIMITED or self.status == 429:
            return "throttled"
        if self.code in INVALID_TOKEN or self.status == 401:
            return "invalid_token"
        return f"error_{self.code}"


class WindowClosed(CloudError):
    """Free-form messages are refused: the returnee has not written for 24 hours."""


class Undeliverable(CloudError):
    """The number cannot receive WhatsApp messages."""


class RateLimited(CloudError):
    """Too many messages: back off."""


class InvalidToken(CloudError):
    """The access token is wrong or expired: nothing can be sent."""


class MediaTooLarge(Exception):
    """A file a returnee sent is larger than the bot takes."""

    def __init__(self, size: int) -> None:
        super().__init__(f"{size} bytes")
        self.size = size


def cloud_error(status: int, body: Any) -> CloudError:
    error = body.get("error", {}) if isinstance(body, dict) else {}
    code = int(error.get("code") or 0)
    title = str(error.get("message") or error.get("title") or "error")
    if code == WINDOW_CLOSED:
        return WindowClosed(status, code, title)
    if code in UNDELIVERABLE:
        return Undeliverable(status, code, title)
    if code in RATE_LIMITED or status == 429:
        return RateLimited(status, code, title)
    if code in INVALID_TOKEN or status == 401:
        return InvalidToken(status, code, title)
    return CloudError(status, code, title)


@dataclass(frozen=True)
class Row:
    """One row of a list message (title at most 24 characters, description 72)."""

    id: str
    title: str
    description: str | None = None


@dataclass(frozen=True)
class Outgoing:
    """One message: plain text, reply buttons (``buttons``) or a list (``rows`` behind
    the ``button`` label)."""

    body: str
    buttons: tuple[tuple[str, str], ...] = ()
    rows: tuple[Row, ...] = ()
    button: str = ""


class CloudClient:
    """One business phone number's messages endpoint."""

    def __init__(
        self,
        token: str,
        phone_number_id: str,
        *,
        base_url: str = GRAPH_API,
        version: str = GRAPH_VERSION,
        timeout: float = 20.0,
    ) -> None:
        self._token, self.phone_number_id = token, phone_number_id
        self.root = f"{base_url.rstrip('/')}/{version}"
        self.base = f"{self.root}/{phone_number_id}"
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=self._timeout, headers={"Authorization": f"Bearer {self._token}"}
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def check(self) -> str:
        """Ask for the phone number's display name: :class:`InvalidToken` if the token is
        wrong, so a misconfigured bot fails when it starts, not at its first message."""
        async with self._http().get(self.base, params={"fields": "display_phone_number"}) as r:
            body = await r.json(content_type=None)
            if r.status != 200:
                raise cloud_error(r.status, body)
            return str(body.get("display_phone_number", ""))

    async def send(
        self,
        to: str,
        message: dict[str, Any],
        *,
        group: bool = False,
        callback: str | None = None,
    ) -> str:
        """Send one message (``message``: its type and content); returns its id. ``to`` is
        a phone number (sent as ``to``), a business-scoped user id (sent as ``recipient``,
        as the Cloud API takes BSUIDs) or, with ``group``, a group's id; ``callback``
        comes back in the message's statuses (``biz_opaque_callback_data``)."""
        payload: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "recipient_type": "group" if group else "individual",
        }
        payload["recipient" if not group and is_bsuid(to) else "to"] = to
        if callback is not None:
            payload["biz_opaque_callback_data"] = callback
        payload.update(message)
        async with self._http().post(f"{self.base}/messages", json=payload) as r:
            body = await r.json(content_type=None)
            if r.status != 200:
                raise cloud_error(r.status, body)
            return str(body["messages"][0]["id"])

    async def upload_media(self, path: Path, mime_type: str) -> str:
        """Upload a file (an audio prompt) once; the media id to send it by (the Cloud
        API keeps it 30 days)."""
        form = aiohttp.FormData()
        form.add_field("messaging_product", "whatsapp")
        form.add_field("type", mime_type)
        form.add_field("file", path.read_bytes(), filename=path.name, content_type=mime_type)
        async with self._http().post(f"{self.base}/media", data=form) as r:
            body = await r.json(content_type=None)
            if r.status != 200:
                raise cloud_error(r.status, body)
            return str(body["id"])

    async def send_audio(self, to: str, media_id: str) -> str:
        """A voice note, by the media id of an upload."""
        return await self.send(to, {"type": "audio", "audio": {"id": media_id}})

    async def download_media(self, media_id: str, max_bytes: int) -> tuple[bytes, str]:
        """A file a returnee sent (a voice note): its bytes and MIME type. The Cloud API
        gives a short-lived URL for the id, fetched with the same token; a file larger
        than ``max_bytes`` is refused (:class:`MediaTooLarge`) without reading it all."""
        async with self._http().get(f"{self.root}/{media_id}") as r:
            body = await r.json(content_type=None)
            if r.status != 200:
                raise cloud_error(r.status, body)
        if int(body.get("file_size") or 0) > max_bytes:
            raise MediaTooLarge(int(body["file_size"]))
        async with self._http().get(str(body["url"])) as r:
            if r.status != 200:
                raise CloudError(r.status, 0, "media download failed")
            data = await r.content.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise MediaTooLarge(len(data))
        return data, str(body.get("mime_type") or "")

    async def send_messages(
        self, to: str, messages: Sequence[Outgoing], *, callback: str | None = None
    ) -> None:
        """Send ``messages`` in order (text, reply buttons or list, as each is)."""
        for message in messages:
            if message.buttons:
                await self.send_buttons(to, message.body, list(message.buttons), callback=callback)
            elif message.rows:
                await self.send_list(
                    to, message.body, message.button, list(message.rows), callback=callback
                )
            else:
                await self.send_text(to, message.body, callback=callback)

    async def send_text(
        self, to: str, body: str, *, group: bool = False, callback: str | None = None
    ) -> str:
        message = {"type": "text", "text": {"body": body}}
        return await self.send(to, message, group=group, callback=callback)

    async def send_buttons(
        self, to: str, body: str, buttons: list[tuple[str, str]], *, callback: str | None = None
    ) -> str:
        """Reply buttons: at most 3, titles at most 20 characters."""
        return await self.send(
            to,
            {
                "type": "interactive",
                "interactive": {
                    "type": "button",
                    "body": {"text": body},
                    "action": {
                        "buttons": [
                            {"type": "reply", "reply": {"id": id_, "title": title}}
                            for id_, title in buttons
                        ]
                    },
                },
            },
            callback=callback,
        )

    async def send_list(
        self, to: str, body: str, button: str, rows: list[Row], *, callback: str | None = None
    ) -> str:
        """A list message: at most 10 rows behind one button (20 characters)."""
        return await self.send(
            to,
            {
                "type": "interactive",
                "interactive": {
                    "type": "list",
                    "body": {"text": body},
                    "action": {
                        "button": button,
                        "sections": [
                            {
                                "rows": [
                                    {"id": row.id, "title": row.title}
                                    | ({"description": row.description} if row.description else {})
                                    for row in rows
                                ]
                            }
                        ],
                    },
                },
            },
            callback=callback,
        )

    async def send_template(
        self,
        to: str,
        name: str,
        language: str,
        *,
        body: Sequence[str] = (),
        quick_reply: str | None = None,
        callback: str | None = None,
    ) -> str:
        """A pre-approved template (the only kind allowed outside the 24-hour window)."""
        components: list[dict[str, Any]] = []
        if body:
            components.append(
                {"type": "body", "parameters": [{"type": "text", "text": t} for t in body]}
            )
        if quick_reply is not None:
            components.append(
                {
                    "type": "button",
                    "sub_type": "quick_reply",
                    "index": "0",
                    "parameters": [{"type": "payload", "payload": quick_reply}],
                }
            )
        template: dict[str, Any] = {"name": name, "language": {"code": language}}
        if components:
            template["components"] = components
        return await self.send(to, {"type": "template", "template": template}, callback=callback)
