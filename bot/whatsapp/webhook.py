"""The WhatsApp webhook: Meta's verification handshake (GET) and signed deliveries (POST).

A delivery is handled only if its ``X-Hub-Signature-256`` is the HMAC-SHA256 of the raw
body under the app secret: none is 401, a wrong one 403, and nothing is read from it.
Messages are handled before the answer: an error answers 503 and Meta delivers again
(each message is applied once, :mod:`bot.whatsapp.conversation`). What a delivery holds is
read by :mod:`bot.whatsapp.payloads`: number changes, messages, and failed statuses (a
reminder's failure reaches its round; an undeliverable number marks the returnee
unreachable); anything else is answered 200 and let go.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging

from aiohttp import web

from bot.whatsapp.conversation import WhatsAppConversation
from bot.whatsapp.payloads import read_delivery

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Hub-Signature-256"


def signature(body: bytes, app_secret: str) -> str:
    """The value of ``X-Hub-Signature-256`` for ``body``."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


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
        found = read_delivery(delivery)
        try:
            for change in found.changes:
                await conversation.number_changed(change)
            for inbound in found.messages:
                await conversation.handle(inbound)
            for failure in found.failures:
                await conversation.status_failed(failure)
        except Exception as exc:  # Meta delivers again: each message is applied once
            log.warning(
                "WhatsApp delivery not handled (%s): Meta will deliver it again",
                exc.__class__.__name__,
            )
            return web.Response(status=503, text="try again later")
        if found.other:
            log.debug("WhatsApp delivery: also %s", dict(found.other))
        return web.Response(text="ok")

    app.router.add_get(path, verify)
    app.router.add_post(path, deliver)
