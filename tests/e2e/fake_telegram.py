"""A fake Telegram Bot API server (aiohttp, loopback) and a user simulator.

The bot under test uses its real aiogram HTTP session pointed at this server with
TELEGRAM_API_BASE. The server keeps every chat's messages (with their inline keyboards
and later edits), hands out updates through getUpdates long polling, and can inject
faults: 429 with retry_after, 403 (blocked), 400, 5xx.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

BOT_ID = 7000001
BOT_USERNAME = "rss_test_bot"
TOKEN = f"{BOT_ID}:AAFakeTokenForTestsOnly_abcdefghijklmnop"
JSON_FIELDS = {
    "chat_id",
    "message_id",
    "reply_markup",
    "protect_content",
    "offset",
    "limit",
    "timeout",
    "allowed_updates",
    "show_alert",
    "cache_time",
    "commands",
    "scope",
    "link_preview_options",
    "drop_pending_updates",
}


@dataclass
class BotMessage:
    chat_id: int
    message_id: int
    text: str
    reply_markup: dict[str, Any] | None
    protect_content: bool
    edits: int = 0
    file: bytes | None = None
    kind: str = "text"
    #: the file id Telegram gave a sent file (a voice note's, to send it again)
    file_id: str | None = None

    def buttons(self) -> list[dict[str, Any]]:
        if not self.reply_markup:
            return []
        return [b for row in self.reply_markup.get("inline_keyboard", []) for b in row]

    def labels(self) -> list[str]:
        return [b["text"] for b in self.buttons()]


@dataclass
class Fault:
    method: str
    status: int
    description: str
    retry_after: int | None = None
    times: int = 1


#: the Bot API takes files of up to 50 MB (sendDocument, sendPhoto)
UPLOAD_LIMIT = 50 * 1024 * 1024


@dataclass
class FakeTelegram:
    host: str = "127.0.0.1"
    port: int = 0
    messages: dict[int, list[BotMessage]] = field(default_factory=dict)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    alerts: dict[int, list[str]] = field(default_factory=dict)
    blocked: set[int] = field(default_factory=set)
    faults: list[Fault] = field(default_factory=list)
    #: per-chat faults: chat id -> (status, description, times)
    chat_faults: dict[int, list[Fault]] = field(default_factory=dict)
    #: coroutines called with the chat id before each sendMessage (tests' side effects)
    on_send: list[Any] = field(default_factory=list)
    #: webhook mode: a coroutine that POSTs an update to the bot (instead of getUpdates)
    deliver: Any = None
    deliveries: set[Any] = field(default_factory=set)
    #: method (lower case, or "*" for any) -> seconds each call takes (a slow connection)
    delays: dict[str, float] = field(default_factory=dict)
    #: every call as it began: (method, the methods still being answered at that moment)
    began: list[tuple[str, frozenset[str]]] = field(default_factory=list)
    #: every call's method and how its parameters came (JSON body, form or multipart)
    encodings: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        #: every file Telegram holds (sent by the bot or by users): file id -> bytes
        self.files: dict[str, bytes] = {}
        #: the file ids of the voice notes the bot uploaded (not sent by file id)
        self.voice_uploads: list[str] = []
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(100)
        self._new_update = asyncio.Event()
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.acknowledged = 0
        self._in_flight: dict[str, int] = {}

    # -- server ---------------------------------------------------------------------------

    async def start(self) -> str:
        app = web.Application(client_max_size=UPLOAD_LIMIT)
        app.router.add_post("/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        sockets = site._server.sockets  # type: ignore[union-attr]
        self.port = sockets[0].getsockname()[1]
        return self.base_url

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def stop(self) -> None:
        self._new_update.set()
        if self._runner is not None:
            await self._runner.cleanup()

    def fail(
        self,
        method: str,
        status: int,
        description: str = "",
        *,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        self.faults.append(
            Fault(method, status, description or f"Error {status}", retry_after, times)
        )

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != TOKEN:
            return self._error(401, "Unauthorized")
        method = request.match_info["method"].lower()
        params: dict[str, Any] = {}
        files: dict[str, bytes] = {}
        self.encodings.append((method, request.content_type))
        if request.content_type == "application/json":  # (the Bot API takes both)
            for key, value in (await request.json()).items():
                # the same values as from a form, where scalars arrive as text
                keep = isinstance(value, str) or key in JSON_FIELDS
                params[key] = value if keep else json.dumps(value)
        else:
            form = await request.post()
            for key, value in form.items():
                if not isinstance(value, str):
                    files[key] = value.file.read()
                    continue
                params[key] = json.loads(value) if key in JSON_FIELDS else value
        for key, value in list(params.items()):
            if isinstance(value, str) and value.startswith("attach://"):
                params[key] = files.get(value.removeprefix("attach://"), b"")
        self.calls.append((method, params))
        self.began.append((method, frozenset(self._in_flight)))
        self._in_flight[method] = self._in_flight.get(method, 0) + 1
        try:
            await asyncio.sleep(self.delays.get(method, self.delays.get("*", 0)))
            return await self._answer(method, params)
        finally:
            self._in_flight[method] -= 1
            if not self._in_flight[method]:
                del self._in_flight[method]

    async def _answer(self, method: str, params: dict[str, Any]) -> web.Response:
        for fault in self.faults + self.chat_faults.get(_chat(params), []):
            if fault.method.lower() == method and fault.times > 0:
                fault.times -= 1
                return self._error(fault.status, fault.description, fault.retry_after)
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return self._error(404, "Not Found: method not found")
        result = await handler(params)
        if isinstance(result, web.Response):
            return result
        async with self._changed:
            self._changed.notify_all()
        return web.json_response({"ok": True, "result": result})

    @staticmethod
    def _error(status: int, description: str, retry_after: int | None = None) -> web.Response:
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if retry_after is not None:
            body["parameters"] = {"retry_after": retry_after}
        return web.json_response(body, status=status)

    # -- Bot API methods ------------------------------------------------------------------

    async def _m_getme(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"id": BOT_ID, "is_bot": True, "first_name": "RSS", "username": BOT_USERNAME}

    async def _m_deletewebhook(self, p: dict[str, Any]) -> bool:
        return True

    async def _m_setmycommands(self, p: dict[str, Any]) -> bool:
        return True

    async def _m_getupdates(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(p.get("offset") or 0)
        if offset:
            self.acknowledged = max(self.acknowledged, offset - 1)
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        deadline = time.monotonic() + min(float(p.get("timeout") or 0), 1.0)
        while not self._updates and time.monotonic() < deadline:
            self._new_update.clear()
            try:
                await asyncio.wait_for(self._new_update.wait(), deadline - time.monotonic())
            except TimeoutError:
                break
        return list(self._updates[: int(p.get("limit") or 100)])

    def _message_json(self, m: BotMessage) -> dict[str, Any]:
        out: dict[str, Any] = {
            "message_id": m.message_id,
            "date": int(time.time()),
            "chat": {"id": m.chat_id, "type": "private" if m.chat_id > 0 else "supergroup"},
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "RSS"},
            "text": m.text,
        }
        if m.kind == "photo":
            out.pop("text")
            out["caption"] = m.text
            out["photo"] = [{"file_id": "ph", "file_unique_id": "ph", "width": 1, "height": 1}]
        elif m.kind == "document":
            out.pop("text")
            out["caption"] = m.text
            out["document"] = {"file_id": m.file_id or "doc", "file_unique_id": "doc"}
        elif m.kind == "voice":
            out.pop("text")
            if m.text:
                out["caption"] = m.text
            out["voice"] = {
                "file_id": m.file_id,
                "file_unique_id": f"u{m.file_id}",
                "duration": 2,
                "mime_type": voice_type(m.file or b""),
                "file_size": len(m.file or b""),
            }
        if m.reply_markup:
            out["reply_markup"] = m.reply_markup
        return out

    async def _m_sendmessage(self, p: dict[str, Any]) -> dict[str, Any] | web.Response:
        chat_id = int(p["chat_id"])
        for hook in list(self.on_send):
            await hook(chat_id)
        if chat_id in self.blocked:
            return self._error(403, "Forbidden: bot was blocked by the user")
        text = p.get("text", "")
        if not text.strip():
            return self._error(400, "Bad Request: message text is empty")
        if len(text) > 4096:
            return self._error(400, "Bad Request: message is too long")
        message = BotMessage(
            chat_id=chat_id,
            message_id=next(self._message_ids),
            text=_strip_html(text),
            reply_markup=p.get("reply_markup"),
            protect_content=bool(p.get("protect_content")),
        )
        self.messages.setdefault(chat_id, []).append(message)
        return self._message_json(message)

    async def _send_file(self, p: dict[str, Any], kind: str) -> dict[str, Any] | web.Response:
        chat_id = int(p["chat_id"])
        if chat_id in self.blocked:
            return self._error(403, "Forbidden: bot was blocked by the user")
        data = p.get(kind)
        message = BotMessage(
            chat_id=chat_id,
            message_id=next(self._message_ids),
            text=p.get("caption", ""),
            reply_markup=None,
            protect_content=bool(p.get("protect_content")),
            file=data if isinstance(data, bytes) else None,
            kind=kind,
        )
        self.messages.setdefault(chat_id, []).append(message)
        return self._message_json(message)

    async def _m_sendphoto(self, p: dict[str, Any]) -> dict[str, Any] | web.Response:
        return await self._send_file(p, "photo")

    async def _m_senddocument(self, p: dict[str, Any]) -> dict[str, Any] | web.Response:
        return await self._send_file(p, "document")

    async def _m_sendvoice(self, p: dict[str, Any]) -> dict[str, Any] | web.Response:
        """A voice note: an upload (OGG Opus, MP3 or M4A; anything else arrives as a
        document, as the Bot API says) or a file id Telegram gave before."""
        chat_id = int(p["chat_id"])
        if chat_id in self.blocked:
            return self._error(403, "Forbidden: bot was blocked by the user")
        voice = p.get("voice")
        if isinstance(voice, bytes):
            file_id = f"VOICE{len(self.files) + 1}"
            self.files[file_id] = voice
            self.voice_uploads.append(file_id)
        elif isinstance(voice, str) and voice in self.files:
            file_id = voice
        else:
            return self._error(400, "Bad Request: wrong file identifier/HTTP URL specified")
        data = self.files[file_id]
        message = BotMessage(
            chat_id=chat_id,
            message_id=next(self._message_ids),
            text=_strip_html(p.get("caption", "")),
            reply_markup=p.get("reply_markup"),
            protect_content=bool(p.get("protect_content")),
            file=data,
            kind="voice" if voice_type(data) else "document",
            file_id=file_id,
        )
        self.messages.setdefault(chat_id, []).append(message)
        return self._message_json(message)

    async def _m_getfile(self, p: dict[str, Any]) -> dict[str, Any] | web.Response:
        file_id = str(p.get("file_id", ""))
        if file_id not in self.files:
            return self._error(400, "Bad Request: invalid file_id")
        size = len(self.files[file_id])
        if size > 20 * 1024 * 1024:  # (bots download files of up to 20 MB)
            return self._error(400, "Bad Request: file is too big")
        return {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_size": size,
                "file_path": f"voice/{file_id}.oga"}  # fmt: skip

    async def _download(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != TOKEN:
            return web.Response(status=401)
        file_id = request.match_info["path"].removeprefix("voice/").removesuffix(".oga")
        if file_id not in self.files:
            return web.Response(status=404)
        return web.Response(body=self.files[file_id])

    def _find(self, p: dict[str, Any]) -> BotMessage | None:
        chat_id, message_id = int(p["chat_id"]), int(p["message_id"])
        return next((m for m in self.messages.get(chat_id, []) if m.message_id == message_id), None)

    async def _m_editmessagetext(self, p: dict[str, Any]) -> dict[str, Any] | web.Response:
        message = self._find(p)
        if message is None:
            return self._error(400, "Bad Request: message to edit not found")
        message.text = _strip_html(p.get("text", ""))
        message.reply_markup = p.get("reply_markup")
        message.edits += 1
        return self._message_json(message)

    async def _m_editmessagereplymarkup(self, p: dict[str, Any]) -> dict[str, Any] | web.Response:
        message = self._find(p)
        if message is None:
            return self._error(400, "Bad Request: message to edit not found")
        message.reply_markup = p.get("reply_markup")
        message.edits += 1
        return self._message_json(message)

    async def _m_answercallbackquery(self, p: dict[str, Any]) -> bool:
        query_id = p["callback_query_id"]
        chat_id = int(query_id.split(":")[0])
        if p.get("text"):
            self.alerts.setdefault(chat_id, []).append(p["text"])
        return True

    # -- producing updates ----------------------------------------------------------------

    def push(self, update: dict[str, Any]) -> int:
        update_id = next(self._update_ids)
        full = {"update_id": update_id, **update}
        if self.deliver is not None:  # webhook mode: POST it to the bot
            task = asyncio.get_running_loop().create_task(self.deliver(full))
            self.deliveries.add(task)
            task.add_done_callback(self.deliveries.discard)
            return update_id
        self._updates.append(full)
        self._new_update.set()
        return update_id

    def redeliver(self, update_id: int, update: dict[str, Any]) -> None:
        """Deliver an update again with the same id (as Telegram does after a failure)."""
        self._updates.append({"update_id": update_id, **update})
        self._new_update.set()

    async def wait_changed(self, timeout: float) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait(), timeout)


def _chat(params: dict[str, Any]) -> int:
    try:
        return int(params.get("chat_id", 0))
    except (TypeError, ValueError):
        return 0


def voice_type(data: bytes) -> str | None:
    """The MIME type Telegram plays as a voice note, from the file's first bytes."""
    if data.startswith(b"OggS") and b"OpusHead" in data[:64]:
        return "audio/ogg"
    if data.startswith(b"ID3") or data[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        return "audio/mpeg"
    if data[4:8] == b"ftyp":
        return "audio/mp4"
    return None


def _strip_html(text: str) -> str:
    import html

    return html.unescape(re.sub(r"</?(b|i|u|s|code|pre)>", "", text))


class FakeUser:
    """A returnee with a phone: sends text, presses buttons by label, blocks the bot."""

    def __init__(
        self,
        server: FakeTelegram,
        user_id: int,
        language_code: str = "en",
        *,
        chat: dict[str, Any] | None = None,
    ) -> None:
        self.server, self.user_id, self.language_code = server, user_id, language_code
        #: the chat this user writes in (their private chat with the bot by default)
        self.chat = chat or {"id": user_id, "type": "private"}
        self._seen = 0
        self._callbacks = itertools.count(1)
        self.last_update: tuple[int, dict[str, Any]] | None = None

    @property
    def chat_id(self) -> int:
        return int(self.chat["id"])

    def in_chat(self, chat_id: int, kind: str = "supergroup") -> FakeUser:
        """The same person writing in another chat (a group, a supergroup, a channel)."""
        return FakeUser(
            self.server,
            self.user_id,
            self.language_code,
            chat={"id": chat_id, "type": kind, "title": "Community"},
        )

    @property
    def messages(self) -> list[BotMessage]:
        return self.server.messages.get(self.chat_id, [])

    def _user(self) -> dict[str, Any]:
        return {
            "id": self.user_id,
            "is_bot": False,
            "first_name": "Test",
            "language_code": self.language_code,
        }

    def _message(self, **content: Any) -> dict[str, Any]:
        return {
            "message_id": next(self.server._message_ids),
            "date": int(time.time()),
            "chat": dict(self.chat),
            "from": self._user(),
            **content,
        }

    def _push(self, update: dict[str, Any]) -> None:
        self._seen = len(self.messages)
        update_id = self.server.push(update)
        self.last_update = (update_id, update)

    def send(self, text: str) -> None:
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            command = text.split()[0]
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        self._push({"message": self._message(**content)})

    def send_sticker(self) -> None:
        self._push(
            {
                "message": self._message(
                    sticker={
                        "file_id": "CAAC",
                        "file_unique_id": "u1",
                        "type": "regular",
                        "width": 512,
                        "height": 512,
                        "is_animated": False,
                        "is_video": False,
                    }
                )
            }
        )

    def send_voice(self, data: bytes, *, seconds: int = 3, mime_type: str = "audio/ogg") -> None:
        """A voice note recorded in the app (Telegram keeps the file; the bot fetches it
        with getFile)."""
        file_id = f"USERVOICE{len(self.server.files) + 1}"
        self.server.files[file_id] = data
        self._push(
            {
                "message": self._message(
                    voice={
                        "file_id": file_id,
                        "file_unique_id": f"u{file_id}",
                        "duration": seconds,
                        "mime_type": mime_type,
                        "file_size": len(data),
                    }
                )
            }
        )

    def send_photo(self) -> None:
        self._push(
            {
                "message": self._message(
                    photo=[{"file_id": "AgAC", "file_unique_id": "p1", "width": 90, "height": 90}]
                )
            }
        )

    def last_with_buttons(self) -> BotMessage:
        for message in reversed(self.messages):
            if message.buttons():
                return message
        raise AssertionError(f"no message with buttons in chat {self.chat_id}")

    def press(self, label: str, message: BotMessage | None = None) -> None:
        """Press the button with this label (exact, or the only one that contains it)."""
        message = message or self.last_with_buttons()
        buttons = message.buttons()
        exact = [b for b in buttons if b["text"] == label]
        partial = [b for b in buttons if label in b["text"]]
        chosen = exact or partial
        if len(chosen) != 1:
            raise AssertionError(f"button {label!r} not found once in {message.labels()}")
        self.press_data(chosen[0]["callback_data"], message)

    def press_nth(self, index: int, message: BotMessage | None = None) -> None:
        message = message or self.last_with_buttons()
        self.press_data(message.buttons()[index]["callback_data"], message)

    def press_data(self, data: str, message: BotMessage) -> None:
        self._push(
            {
                "callback_query": {
                    "id": f"{self.chat_id}:{next(self._callbacks)}",
                    "from": self._user(),
                    "chat_instance": str(self.chat_id),
                    "data": data,
                    # (a button pressed in a group is on a message in that group)
                    "message": {**self.server._message_json(message), "chat": dict(self.chat)},
                }
            }
        )

    def block(self) -> None:
        self.server.blocked.add(self.chat_id)
        self._membership("member", "kicked")

    def unblock(self) -> None:
        self.server.blocked.discard(self.chat_id)
        self._membership("kicked", "member")

    def _membership(self, old: str, new: str) -> None:
        bot = {"id": BOT_ID, "is_bot": True, "first_name": "RSS"}
        new_member: dict[str, Any] = {"status": new, "user": bot}
        if new == "kicked":
            new_member["until_date"] = 0
        old_member: dict[str, Any] = {"status": old, "user": bot}
        if old == "kicked":
            old_member["until_date"] = 0
        self._push(
            {
                "my_chat_member": {
                    "chat": {"id": self.chat_id, "type": "private"},
                    "from": self._user(),
                    "date": int(time.time()),
                    "old_chat_member": old_member,
                    "new_chat_member": new_member,
                }
            }
        )

    async def expect(self, fragment: str, timeout: float = 10.0) -> BotMessage:
        """Wait for a new (or edited) bot message containing ``fragment``."""
        deadline = time.monotonic() + timeout
        while True:
            for message in self.messages[self._seen :]:
                if fragment in message.text:
                    self._seen = self.messages.index(message) + 1
                    return message
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                recent = [m.text[:80] for m in self.messages[-5:]]
                raise AssertionError(f"no message containing {fragment!r}; last: {recent}")
            with contextlib.suppress(TimeoutError):
                await self.server.wait_changed(min(remaining, 0.2))

    async def expect_alert(self, fragment: str, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for alert in self.server.alerts.get(self.chat_id, []):
                if fragment in alert:
                    return alert
            await asyncio.sleep(0.02)
        raise AssertionError(
            f"no alert containing {fragment!r}: {self.server.alerts.get(self.chat_id)}"
        )

    async def settle(self, quiet: float = 0.3, timeout: float = 10.0) -> None:
        """Wait until the server has been quiet for ``quiet`` seconds and updates are acked."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            before = len(self.server.calls)
            await asyncio.sleep(quiet)
            if len(self.server.calls) - before <= 1 and not self.server._updates:
                return
        raise AssertionError("the bot did not settle")
