"""A fake WhatsApp Cloud API (aiohttp, loopback) and a returnee's phone that writes to the
bot's webhook.

People are known as Meta knows them since 2026: by a business-scoped user id (BSUID,
``SN.…``) and, unless they adopted a username, their phone number; the bot writes to a
number in ``to`` and to a BSUID in ``recipient`` (a BSUID in ``to``, or a number in
``recipient``, is refused as the Cloud API refuses it). A number change retires the old
identifiers (a message to them is kept apart and refused) and is delivered as a
``system`` message. A phone can write in a group (``group_id``), and failed statuses are
delivered with ``recipient_id`` / ``recipient_user_id`` and the message's
``biz_opaque_callback_data``. Deliveries from a number that is not a registered person
have the shape of the years before BSUIDs (``from`` and ``wa_id`` only).

The server checks what the real one checks: the bearer token (190, HTTP 401), the
interactive limits (3 reply buttons of 20 characters, 10 list rows of 24 characters with
72-character descriptions, bodies of 1024, texts of 4096, unique ids: 131009 "parameter
value is not valid"), the 24-hour window (a free-form message to someone who has not
written for 24 hours: 131047), templates that exist in the language asked (132001), and
numbers that cannot receive messages (131026). Faults can be injected (rate limits, 5xx).
The phone signs its deliveries with the app secret (X-Hub-Signature-256), as Meta does.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import itertools
import json
import re
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import aiohttp
from aiohttp import web

TOKEN = "EAAG-fake-whatsapp-token-for-tests"
PHONE_NUMBER_ID = "109876543210"
APP_SECRET = "fake-app-secret-for-tests"
VERIFY_TOKEN = "fake-verify-token"
WINDOW = timedelta(hours=24)


def continued() -> frozenset[str]:
    """The body of a list that continues the one before (a question with more than 10
    choices), in every language the bot speaks."""
    from bot.i18n import Translator
    from bot.languages import languages

    return frozenset(Translator(code)("More choices") for code in languages().interface)


@dataclass
class WaMessage:
    """A message the bot sent: text, reply buttons, a list, or a template."""

    id: str
    to: str
    kind: str
    body: str = ""
    #: (reply id, title, description or "") for buttons and list rows
    options: list[tuple[str, str, str]] = field(default_factory=list)
    template: str | None = None
    language: str | None = None
    parameters: list[str] = field(default_factory=list)
    quick_reply: str | None = None
    #: an audio message's media id
    media_id: str | None = None
    #: the identifier it was sent to (a phone number or a BSUID) and in which field
    address: str = ""
    field: str = "to"
    #: ``biz_opaque_callback_data``, given back in the message's statuses
    callback: str | None = None

    @property
    def text(self) -> str:
        return self.body

    def labels(self) -> list[str]:
        return [title for _id, title, _d in self.options]


#: the audio types the Cloud API takes, and its size limit for audio
AUDIO_TYPES = frozenset({"audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg"})
MEDIA_LIMIT = 16 * 1024 * 1024


def sniffed(data: bytes) -> str | None:
    """The audio type a file's first bytes say (Ogg must carry Opus)."""
    if data.startswith(b"OggS"):
        return "audio/ogg" if b"OpusHead" in data[:64] else None
    if data.startswith(b"ID3") or data[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        return "audio/mpeg"
    if data[4:8] == b"ftyp":
        return "audio/mp4"
    if data.startswith(b"#!AMR"):
        return "audio/amr"
    return None


@dataclass
class WaFault:
    status: int
    code: int
    message: str
    times: int = 1


def _error(status: int, code: int, message: str) -> web.Response:
    return web.json_response(
        {
            "error": {
                "message": message,
                "type": "OAuthException",
                "code": code,
                "error_data": {"messaging_product": "whatsapp", "details": message},
                "fbtrace_id": "AbCdEf",
            }
        },
        status=status,
    )


@dataclass
class Person:
    """Someone on WhatsApp as the Cloud API knows them."""

    key: str
    user_id: str
    phone: str | None
    #: False for someone who adopted a username: no number in any payload
    shows_number: bool = True
    username: str | None = None
    name: str = "Test"


def bsuid_for(seed: str, country: str = "SN") -> str:
    """A business-scoped user id, as Meta shapes them (a country code, a dot, digits)."""
    digits = str(int(hashlib.sha256(seed.encode()).hexdigest(), 16))[:20]
    return f"{country}.{digits}"


@dataclass
class FakeWhatsApp:
    host: str = "127.0.0.1"
    port: int = 0
    #: the bot's webhook, where the phones deliver
    webhook_url: str = ""
    #: several workers' webhooks: deliveries go to each in turn (a load balancer)
    webhook_urls: list[str] = field(default_factory=list)
    #: the access tokens the API accepts
    tokens: set[str] = field(default_factory=lambda: {TOKEN})
    #: how many times a delivery is tried, as Meta retries a delivery that failed (no
    #: answer, or not 200), each time at the next webhook in turn; 1: the first answer
    attempts: int = 1
    messages: dict[str, list[WaMessage]] = field(default_factory=dict)
    #: every request body the bot sent (to check that nothing else went out)
    requests: list[dict[str, Any]] = field(default_factory=list)
    undeliverable: set[str] = field(default_factory=set)
    faults: list[WaFault] = field(default_factory=list)
    #: approved templates: name -> languages
    templates: dict[str, set[str]] = field(
        default_factory=lambda: {
            "rss_reminder": {"en", "fr", "ar"},
            "rss_invitation": {"en", "fr", "ar"},
        }
    )
    #: the clock of the window (a test moves it forward)
    offset: timedelta = timedelta(0)

    def __post_init__(self) -> None:
        #: uploaded and received media: id -> (bytes, MIME type)
        self.media: dict[str, tuple[bytes, str]] = {}
        #: the ids of the media the bot uploaded, in order
        self.uploads: list[str] = []
        self._ids = itertools.count(1)
        self._turn = itertools.count()
        self._last_inbound: dict[str, float] = {}
        #: the people who have a BSUID, by their key (the test's name for them)
        self.people: dict[str, Person] = {}
        #: every identifier (phone number, BSUID) of a person -> their key
        self.addresses: dict[str, str] = {}
        #: identifiers given up by a number change, and what the bot sent to them after
        self.retired: set[str] = set()
        self.sent_to_retired: list[dict[str, Any]] = []
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None

    def now(self) -> float:
        return time.time() + self.offset.total_seconds()

    async def start(self) -> str:
        app = web.Application(client_max_size=MEDIA_LIMIT * 2)
        app.router.add_get("/{version}/{phone}", self._phone_number)
        app.router.add_post("/{version}/{phone}/messages", self._send)
        app.router.add_post("/{version}/{phone}/media", self._upload)
        app.router.add_get("/download/{media_id}", self._download)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self.base_url

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def fail(self, status: int, code: int, message: str = "", *, times: int = 1) -> None:
        self.faults.append(WaFault(status, code, message or f"error {code}", times))

    def _authorised(self, request: web.Request) -> bool:
        return (
            request.headers.get("Authorization") in {f"Bearer {t}" for t in self.tokens}
            and request.match_info["phone"] == PHONE_NUMBER_ID
        )

    async def _phone_number(self, request: web.Request) -> web.Response:
        """The phone number's fields, or a media id's download URL (the same path
        shape: /{version}/{id})."""
        if request.headers.get("Authorization") not in {f"Bearer {t}" for t in self.tokens}:
            return _error(401, 190, "Invalid OAuth access token - Cannot parse access token")
        found = request.match_info["phone"]
        if found in self.media:
            data, mime = self.media[found]
            return web.json_response(
                {
                    "messaging_product": "whatsapp",
                    "url": f"{self.base_url}/download/{found}",
                    "mime_type": mime,
                    "sha256": hashlib.sha256(data).hexdigest(),
                    "file_size": len(data),
                    "id": found,
                }
            )
        if found != PHONE_NUMBER_ID:
            return _error(400, 100, f"Unsupported get request. Object with ID '{found}' "
                          "does not exist")  # fmt: skip
        return web.json_response({"display_phone_number": "+1 555 0100", "id": PHONE_NUMBER_ID})

    async def _upload(self, request: web.Request) -> web.Response:
        """POST /{phone}/media: a file for later messages (the audio types the Cloud API
        takes, at most 16 MB)."""
        if not self._authorised(request):
            return _error(401, 190, "Invalid OAuth access token - Cannot parse access token")
        form = await request.post()
        file = form.get("file")
        mime = str(form.get("type", ""))
        if form.get("messaging_product") != "whatsapp" or isinstance(file, str) or file is None:
            return _error(400, 100, "(#100) The parameter messaging_product is required.")
        data = file.file.read()
        if mime.split(";")[0] not in AUDIO_TYPES or sniffed(data) != mime.split(";")[0]:
            return _error(400, 131053, f"Media upload error: unsupported type {mime}")
        if len(data) > MEDIA_LIMIT:
            return _error(400, 131053, "Media upload error: file too large")
        media_id = f"MEDIA{len(self.media) + 1:04d}"
        self.media[media_id] = (data, mime)
        self.uploads.append(media_id)
        return web.json_response({"id": media_id})

    async def _download(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") not in {f"Bearer {t}" for t in self.tokens}:
            return web.Response(status=401)
        found = self.media.get(request.match_info["media_id"])
        if found is None:
            return web.Response(status=404)
        return web.Response(body=found[0], content_type=found[1].split(";")[0])

    async def _send(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return _error(401, 190, "Invalid OAuth access token - Cannot parse access token")
        payload = await request.json()
        self.requests.append(payload)
        if self.faults:
            fault = self.faults[0]
            fault.times -= 1
            if fault.times <= 0:
                self.faults.pop(0)
            return _error(fault.status, fault.code, fault.message)
        kind = payload.get("type")
        problem = self._invalid(payload) or self._invalid_recipient(payload)
        if problem is not None:
            return _error(400, 131009, f"(#131009) Parameter value is not valid: {problem}")
        address = str(payload.get("to") or payload.get("recipient"))
        group = payload.get("recipient_type") == "group"
        if address in self.retired:
            self.sent_to_retired.append(payload)
            return _error(400, 131026, "Message undeliverable")
        to = f"group:{address}" if group else self.addresses.get(address, address)
        if address in self.undeliverable or to in self.undeliverable:
            return _error(400, 131026, "Message undeliverable")
        if kind != "template":
            last = self._last_inbound.get(to)
            if not group and (last is None or self.now() - last > WINDOW.total_seconds()):
                return _error(
                    400,
                    131047,
                    "Re-engagement message: more than 24 hours have passed since the "
                    "recipient last replied",
                )
        else:
            template = payload["template"]
            if template["language"]["code"] not in self.templates.get(template["name"], set()):
                return _error(404, 132001, "Template name does not exist in the translation")
        message = self._record(to, kind, payload)
        message.address, message.field = address, "recipient" if "recipient" in payload else "to"
        message.callback = payload.get("biz_opaque_callback_data")
        async with self._changed:
            self._changed.notify_all()
        person = self.people.get(to)
        contact: dict[str, Any] = {"input": address}
        if person is None:
            contact["wa_id"] = address
        else:
            contact["user_id"] = person.user_id
            if person.shows_number and person.phone:
                contact["wa_id"] = person.phone
        return web.json_response(
            {
                "messaging_product": "whatsapp",
                "contacts": [contact],
                "messages": [{"id": message.id}],
            }
        )

    @staticmethod
    def _invalid_recipient(payload: dict[str, Any]) -> str | None:
        """A BSUID goes in ``recipient``, a phone number (or a group id) in ``to``."""
        to, recipient = payload.get("to"), payload.get("recipient")
        if bool(to) == bool(recipient):
            return "exactly one of to and recipient"
        if payload.get("recipient_type", "individual") not in ("individual", "group"):
            return "recipient_type"
        if to and "." in str(to):
            return "to: a business-scoped user id goes in recipient"
        if recipient and not re.fullmatch(r"[A-Z]{2}\.(ENT\.)?[A-Za-z0-9]{1,128}", str(recipient)):
            return "recipient: not a business-scoped user id"
        return None

    def _invalid(self, payload: dict[str, Any]) -> str | None:
        kind = payload.get("type")
        if payload.get("messaging_product") != "whatsapp":
            return "messaging_product"
        if kind == "text":
            body = payload["text"]["body"]
            return None if 0 < len(body) <= 4096 else "text.body length"
        if kind == "template":
            return None if payload.get("template", {}).get("name") else "template.name"
        if kind == "audio":
            return None if payload.get("audio", {}).get("id") in self.media else "audio.id"
        if kind != "interactive":
            return f"type {kind}"
        interactive = payload["interactive"]
        body = interactive.get("body", {}).get("text", "")
        if not 0 < len(body) <= 1024:
            return "interactive.body.text length"
        action = interactive["action"]
        if interactive["type"] == "button":
            buttons = action["buttons"]
            if not 1 <= len(buttons) <= 3:
                return "at most 3 buttons"
            ids = [b["reply"]["id"] for b in buttons]
            titles = [b["reply"]["title"] for b in buttons]
            if len(set(ids)) != len(ids) or len(set(titles)) != len(titles):
                return "button ids and titles must be unique"
            if any(not 0 < len(t) <= 20 for t in titles) or any(len(i) > 256 for i in ids):
                return "button title length"
            return None
        if interactive["type"] == "list":
            if not 0 < len(action.get("button", "")) <= 20:
                return "list button length"
            rows = [row for section in action["sections"] for row in section["rows"]]
            if not 1 <= len(rows) <= 10:
                return "at most 10 rows"
            if len({r["id"] for r in rows}) != len(rows):
                return "row ids must be unique"
            for row in rows:
                if not 0 < len(row["title"]) <= 24 or len(row["id"]) > 200:
                    return "row title length"
                if len(row.get("description", "")) > 72:
                    return "row description length"
            return None
        return f"interactive type {interactive['type']}"

    def _record(self, to: str, kind: str, payload: dict[str, Any]) -> WaMessage:
        message = WaMessage(id=f"wamid.out{next(self._ids)}", to=to, kind=kind)
        if kind == "text":
            message.body = payload["text"]["body"]
        elif kind == "audio":
            message.media_id = payload["audio"]["id"]
        elif kind == "interactive":
            interactive = payload["interactive"]
            message.body = interactive["body"]["text"]
            message.kind = interactive["type"]
            action = interactive["action"]
            if interactive["type"] == "button":
                message.options = [
                    (b["reply"]["id"], b["reply"]["title"], "") for b in action["buttons"]
                ]
            else:
                message.options = [
                    (r["id"], r["title"], r.get("description", ""))
                    for section in action["sections"]
                    for r in section["rows"]
                ]
        else:
            template = payload["template"]
            message.template, message.language = template["name"], template["language"]["code"]
            for component in template.get("components", []):
                if component["type"] == "body":
                    message.parameters = [p["text"] for p in component["parameters"]]
                elif component["type"] == "button":
                    message.quick_reply = component["parameters"][0]["payload"]
            message.body = f"[template {message.template}] " + " ".join(message.parameters)
        self.messages.setdefault(to, []).append(message)
        return message

    # -- deliveries to the bot -------------------------------------------------------------

    def register(self, person: Person) -> Person:
        self.people[person.key] = person
        self.addresses[person.user_id] = person.key
        if person.phone:
            self.addresses[person.phone] = person.key
        return person

    def change_number(self, key: str, new_phone: str) -> tuple[bytes, str]:
        """The person changes their number: a new BSUID, the old identifiers retired; the
        ``system`` message Meta sends, signed (deliver it with :meth:`post`)."""
        person = self.people[key]
        old_phone, old_user = person.phone, person.user_id
        self.retired.update(v for v in (old_phone, old_user) if v)
        self.addresses.pop(old_user, None)
        if old_phone:
            self.addresses.pop(old_phone, None)
        person.phone, person.user_id = new_phone, bsuid_for(f"{key}:{new_phone}")
        self.register(person)
        system: dict[str, Any] = {
            "body": f"User {person.name} changed from {old_phone} to {new_phone}",
            "type": "user_changed_number",
            "user_id": person.user_id,
        }
        message: dict[str, Any] = {
            "id": f"wamid.system.{next(self._ids)}",
            "timestamp": str(int(time.time())),
            "type": "system",
            "from_user_id": old_user,
            "system": system,
        }
        if person.shows_number:
            system["wa_id"] = new_phone
            message["from"] = old_phone
        value = self.message_value(None, message)
        value.pop("contacts", None)  # (system messages carry no contacts)
        return self.signed(self.envelope([value]))

    def message_value(self, key: str | None, message: dict[str, Any]) -> dict[str, Any]:
        """The ``value`` of a messages change: the message from ``key`` and its contact,
        with the identifiers Meta gives for that person."""
        person = self.people.get(key) if key is not None else None
        if key is not None and message.get("type") != "system":
            self._last_inbound[key] = self.now()  # (they wrote: their 24 hours start)
        message = dict(message)
        contact: dict[str, Any] = {"profile": {"name": "Test"}}
        if person is None:
            contact["wa_id"] = key
        else:
            contact["user_id"] = person.user_id
            contact["profile"] = {"name": person.name}
            if person.username:
                contact["profile"]["username"] = person.username
            message["from_user_id"] = person.user_id
            message.pop("from", None)
            if person.shows_number and person.phone:
                contact["wa_id"] = message["from"] = person.phone
        return {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550100", "phone_number_id": PHONE_NUMBER_ID},
            "contacts": [contact],
            "messages": [message],
        }

    @staticmethod
    def envelope(values: list[dict[str, Any]], field: str = "messages") -> dict[str, Any]:
        return {
            "object": "whatsapp_business_account",
            "entry": [{"id": "WABA-1", "changes": [{"field": field, "value": v} for v in values]}],
        }

    def signed(self, delivery: dict[str, Any], secret: str = APP_SECRET) -> tuple[bytes, str]:
        body = json.dumps(delivery).encode()
        return body, "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()

    def failed_status(self, message: WaMessage, code: int = 131026) -> tuple[bytes, str]:
        """The signed status delivery saying ``message`` was not delivered (by phone
        number and BSUID, as Meta identifies the person)."""
        person = self.people.get(message.to)
        status: dict[str, Any] = {
            "id": message.id,
            "status": "failed",
            "timestamp": str(int(time.time())),
            "recipient_type": "individual",
            "errors": [{"code": code, "title": "Message undeliverable"}],
        }
        if person is None:
            status["recipient_id"] = message.to
        else:
            status["recipient_user_id"] = person.user_id
            if person.shows_number and person.phone:
                status["recipient_id"] = person.phone
        if message.callback is not None:
            status["biz_opaque_callback_data"] = message.callback
        value = {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550100", "phone_number_id": PHONE_NUMBER_ID},
            "statuses": [status],
        }
        return self.signed(self.envelope([value]))

    def delivery(self, wa_id: str, message: dict[str, Any]) -> dict[str, Any]:
        """A webhook delivery of one message, shaped as Meta sends it."""
        if wa_id in self.people:
            return self.envelope([self.message_value(wa_id, message)])
        return {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": "WABA-1",
                    "changes": [
                        {
                            "field": "messages",
                            "value": {
                                "messaging_product": "whatsapp",
                                "metadata": {
                                    "display_phone_number": "15550100",
                                    "phone_number_id": PHONE_NUMBER_ID,
                                },
                                "contacts": [{"profile": {"name": "Test"}, "wa_id": wa_id}],
                                "messages": [message],
                            },
                        }
                    ],
                }
            ],
        }

    async def post(self, body: bytes, signature: str | None) -> int:
        """POST a delivery to the bot's webhook; its HTTP status."""
        headers = {"Content-Type": "application/json"}
        if signature is not None:
            headers["X-Hub-Signature-256"] = signature
        for attempt in range(1, self.attempts + 1):
            url = self.webhook_url
            if self.webhook_urls:
                url = self.webhook_urls[next(self._turn) % len(self.webhook_urls)]
            try:
                async with (
                    aiohttp.ClientSession() as http,
                    http.post(url, data=body, headers=headers) as response,
                ):
                    if response.status == 200 or attempt == self.attempts:
                        return response.status
            except aiohttp.ClientError:
                if attempt == self.attempts:
                    raise
            await asyncio.sleep(0.1)
        raise AssertionError("unreachable")

    def signed_delivery(
        self, wa_id: str, message: dict[str, Any], secret: str = APP_SECRET
    ) -> tuple[bytes, str]:
        """A delivery of a message from ``wa_id`` and its signature, as Meta makes them
        (the returnee's 24-hour window opens)."""
        self._last_inbound[wa_id] = self.now()
        return self.signed(self.delivery(wa_id, message), secret)

    async def deliver(self, wa_id: str, message: dict[str, Any], secret: str = APP_SECRET) -> int:
        """Deliver a message from ``wa_id``, signed as Meta signs it."""
        return await self.post(*self.signed_delivery(wa_id, message, secret))

    async def wait_changed(self, timeout: float) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait(), timeout)


class WaUser:
    """A returnee with WhatsApp: types text, taps reply buttons and list rows by title."""

    def __init__(
        self,
        server: FakeWhatsApp,
        wa_id: str,
        *,
        bsuid: bool = True,
        username: str | None = None,
        name: str = "Test",
    ) -> None:
        """``wa_id``: the person's number (and the test's name for them). With ``bsuid``
        (the 2026 norm) they have a BSUID in every payload; with a ``username`` their
        number is in none. Without ``bsuid``: payloads as before BSUIDs existed."""
        self.server, self.wa_id = server, wa_id
        self.person: Person | None = None
        if bsuid:
            self.person = server.register(
                Person(
                    key=wa_id,
                    user_id=bsuid_for(wa_id),
                    phone=wa_id,
                    shows_number=username is None,
                    username=username,
                    name=name,
                )
            )
        self._seen = 0
        #: the bot's messages since this user's last message (what their screen shows last)
        self._batch_start = 0
        self._ids = itertools.count(1)
        self.statuses: list[int] = []
        self.last_message: dict[str, Any] | None = None

    @property
    def messages(self) -> list[WaMessage]:
        return self.server.messages.get(self.wa_id, [])

    def _new_id(self) -> str:
        return f"wamid.in.{self.wa_id[-4:]}.{next(self._ids)}.{time.monotonic_ns()}"

    def _deliver(self, message: dict[str, Any]) -> None:
        self._seen = self._batch_start = len(self.messages)
        self.last_message = message
        self.statuses.append(-1)
        index = len(self.statuses) - 1

        async def go() -> None:
            try:
                self.statuses[index] = await self.server.deliver(self.wa_id, message)
            except aiohttp.ClientError:  # (the bot is not listening yet, or any more)
                self.statuses[index] = 0

        task = asyncio.get_running_loop().create_task(go())
        _background.add(task)
        task.add_done_callback(_background.discard)

    def send(self, text: str) -> None:
        self._deliver(
            {
                "from": self.wa_id,
                "id": self._new_id(),
                "timestamp": str(int(time.time())),
                "type": "text",
                "text": {"body": text},
            }
        )

    def send_voice(self, data: bytes, mime_type: str = "audio/ogg; codecs=opus") -> None:
        """A voice note recorded in WhatsApp (the Cloud API holds it; the bot fetches it
        by its media id)."""
        media_id = f"INBOUND{len(self.server.media) + 1:04d}"
        self.server.media[media_id] = (data, mime_type)
        self._deliver(
            {
                "from": self.wa_id,
                "id": self._new_id(),
                "timestamp": str(int(time.time())),
                "type": "audio",
                "audio": {"id": media_id, "mime_type": mime_type, "voice": True,
                          "sha256": hashlib.sha256(data).hexdigest()},
            }
        )  # fmt: skip

    def send_photo(self) -> None:
        self._deliver(
            {
                "from": self.wa_id,
                "id": self._new_id(),
                "timestamp": str(int(time.time())),
                "type": "image",
                "image": {"id": "MEDIA-1", "mime_type": "image/jpeg"},
            }
        )

    def gets_bsuid(self) -> None:
        """From now on Meta gives this person's BSUID with their number (a person
        enrolled before BSUIDs, or by the number in the caseload)."""
        assert self.person is None
        self.person = self.server.register(
            Person(key=self.wa_id, user_id=bsuid_for(self.wa_id), phone=self.wa_id)
        )

    @property
    def user_id(self) -> str | None:
        """The BSUID the bot knows this person by (None: a payload without BSUIDs)."""
        return None if self.person is None else self.person.user_id

    def send_in_group(self, text: str, group_id: str = "GROUP-1") -> None:
        """A message this person writes in a WhatsApp group the business is in."""
        self._deliver(
            {
                "from": self.wa_id,
                "id": self._new_id(),
                "timestamp": str(int(time.time())),
                "type": "text",
                "group_id": group_id,
                "text": {"body": text},
            }
        )

    def send_raw(self, message: dict[str, Any]) -> None:
        """Any message object (a sticker, a location, a reaction...) from this person."""
        self._deliver({"from": self.wa_id, "id": self._new_id(),
                       "timestamp": str(int(time.time())), **message})  # fmt: skip

    async def change_number(self, new_phone: str) -> int:
        """Change number (a new BSUID; Meta tells the bot with a ``system`` message); the
        test keeps calling this person by their first number. The delivery's status."""
        return await self.server.post(*self.server.change_number(self.wa_id, new_phone))

    def redeliver(self) -> None:
        """Meta delivers the last message again (same id)."""
        assert self.last_message is not None
        self._deliver(self.last_message)

    def reply(self, reply_id: str, title: str, list_row: bool) -> None:
        kind = "list_reply" if list_row else "button_reply"
        self._deliver(
            {
                "from": self.wa_id,
                "id": self._new_id(),
                "timestamp": str(int(time.time())),
                "type": "interactive",
                "interactive": {"type": kind, kind: {"id": reply_id, "title": title}},
            }
        )

    def tap_template_button(self, message: WaMessage, text: str = "Start") -> None:
        assert message.quick_reply is not None
        self._deliver(
            {
                "from": self.wa_id,
                "id": self._new_id(),
                "timestamp": str(int(time.time())),
                "type": "button",
                "button": {"payload": message.quick_reply, "text": text},
            }
        )

    def _options(self, message: WaMessage | None) -> list[tuple[WaMessage, tuple[str, str, str]]]:
        """The choices on screen: those of ``message``, or of every message with choices
        sent since this user last wrote (a question may come as two lists)."""
        if message is not None:
            return [(message, option) for option in message.options]
        recent = [m for m in self.messages[self._batch_start :] if m.options]
        if not recent:  # the last question's choices: its list, and its continuations
            with_options = [m for m in self.messages if m.options]
            while with_options:
                recent.insert(0, with_options.pop())
                if recent[0].body not in continued():
                    break
        if not recent:
            raise AssertionError(f"no message with choices for {self.wa_id}")
        return [(m, option) for m in recent for option in m.options]

    def press(self, label: str, message: WaMessage | None = None) -> None:
        """Tap the button or list row with this title (exact, or the only one that
        contains it, in its title or its description)."""
        options = self._options(message)
        exact = [(m, o) for m, o in options if o[1] == label]
        partial = [(m, o) for m, o in options if label in o[1] or label in o[2]]
        chosen = exact or partial
        if len(chosen) != 1:
            raise AssertionError(
                f"choice {label!r} not found once in {[o[1] for _m, o in options]}"
            )
        found, (reply_id, title, _d) = chosen[0]
        self.reply(reply_id, title, found.kind == "list")

    def press_nth(self, index: int, message: WaMessage | None = None) -> None:
        found, (reply_id, title, _d) = self._options(message)[index]
        self.reply(reply_id, title, found.kind == "list")

    def labels(self) -> list[str]:
        return [o[1] for _m, o in self._options(None)]

    async def expect(self, fragment: str, timeout: float = 10.0) -> WaMessage:
        """Wait for a new bot message containing ``fragment``."""
        deadline = time.monotonic() + timeout
        while True:
            for message in self.messages[self._seen :]:
                if fragment in message.body:
                    self._seen = self.messages.index(message) + 1
                    return message
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                recent = [m.body[:80] for m in self.messages[-5:]]
                raise AssertionError(f"no message containing {fragment!r}; last: {recent}")
            with contextlib.suppress(TimeoutError):
                await self.server.wait_changed(min(remaining, 0.2))

    async def settle(self, quiet: float = 0.3, timeout: float = 10.0) -> None:
        """Wait until every delivery was answered and the bot has been quiet a while."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            before = len(self.server.requests)
            await asyncio.sleep(quiet)
            if len(self.server.requests) == before and -1 not in self.statuses:
                return
        raise AssertionError("the bot did not settle")


_background: set[asyncio.Task[None]] = set()
