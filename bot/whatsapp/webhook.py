"""The WhatsApp webhook: Meta's verification handshake (GET) and signed deliveries (POST).

A delivery is handled only if its ``X-Hub-Signature-256`` is the HMAC-SHA256 of the raw
body under the app secret: none is 401, a wrong one 403, and nothing is read from it.
Messages are handled before the answer: an error answers 503 and Meta delivers again
(each message is applied once, :mod:`bot.whatsapp.conversation`). Status deliveries say
when a message could not be delivered (the returnee is marked unreachable).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from typing import Any

from aiohttp import web

from bot.whatsapp.conversation import Inbound, WhatsAppConversation

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Hub-Signature-256"


def signature(body: bytes, app_secret: str) -> str:
    """The value of ``X-Hub-Signature-256`` for ``body``."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def inbound_messages(delivery: Any) -> tuple[list[Inbound], list[tuple[str, int]]]:
    """The messages of a delivery, and its failed statuses (recipient, error code)."""
    messages: list[Inbound] = []
    failures: list[tuple[str, int]] = []
    if not isinstance(delivery, dict):
        return messages, failures
    for entry in delivery.get("entry") or []:
        for change in entry.get("changes") or []:
            value = change.get("value") or {}
            for m in value.get("messages") or []:
                sender, message_id = m.get("from"), m.get("id")
                if not sender or not message_id:
                    continue
                kind, text, reply = m.get("type"), None, None
                if kind == "text":
                    text = (m.get("text") or {}).get("body")
                elif kind == "interactive":
                    interactive = m.get("interactive") or {}
                    chosen = interactive.get(interactive.get("type", "")) or {}
                    reply, text = chosen.get("id"), chosen.get("title")
                elif kind == "button":  # a template's quick-reply button
                    button = m.get("button") or {}
                    reply, text = button.get("payload"), button.get("text")
                audio = None
                if kind == "audio":  # a voice note (or an audio file)
                    media = m.get("audio") or {}
                    if media.get("id"):
                        audio = (str(media["id"]), str(media.get("mime_type") or ""))
                messages.append(Inbound(str(sender), str(message_id), text, reply, audio))
            for status in value.get("statuses") or []:
                if status.get("status") == "failed" and status.get("recipient_id"):
                    for error in status.get("errors") or []:
                        failures.append((str(status["recipient_id"]), int(error.get("code", 0))))
    return messages, failures


def add_routes(
    app: web.Application,
    conversation: WhatsAppConversation,
    *,
    path: str,
    app_secret: str,
    verify_token: str,
) -> None:
    """Serve the webhook at ``path`` of ``app``."""

    async def verify(request: web.Request) -> web.Response:
        query = request.query
        if (
            query.get("hub.mode") == "subscribe"
            and verify_token
            and hmac.compare_digest(query.get("hub.verify_token", ""), verify_token)
        ):
            return web.Response(text=query.get("hub.challenge", ""))
        return web.Response(status=403, text="verification failed")

    async def deliver(request: web.Request) -> web.Response:
        body = await request.read()
        given = request.headers.get(SIGNATURE_HEADER)
        if not given:
            return web.Response(status=401, text="signature missing")
        if not hmac.compare_digest(given, signature(body, app_secret)):
            log.warning("WhatsApp delivery with a wrong signature: refused")
            return web.Response(status=403, text="signature mismatch")
        try:
            delivery = json.loads(body)
        except ValueError:
            return web.Response(status=400, text="not JSON")
        messages, failures = inbound_messages(delivery)
        try:
            for inbound in messages:
                await conversation.handle(inbound)
            for wa_id, code in failures:
                await conversation.status_failed(wa_id, code)
        except Exception as exc:  # Meta delivers again: each message is applied once
            log.warning(
                "WhatsApp delivery not handled (%s): Meta will deliver it again",
                exc.__class__.__name__,
            )
            return web.Response(status=503, text="try again later")
        return web.Response(text="ok")

    app.router.add_get(path, verify)
    app.router.add_post(path, deliver)
