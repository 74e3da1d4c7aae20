"""A bare WhatsApp echo bot: the baseline of the load benchmark's WhatsApp mode (what a
signed webhook delivery + one reply to the Cloud API cost, with no storage): aiohttp, the
signature checked, each message's text (or reply title) sent back as a text message."""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os

import aiohttp
from aiohttp import web

from bot.cli.serve import event_loop_factory


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    secret = os.environ["WHATSAPP_APP_SECRET"].encode()
    url = (
        f"{os.environ['WHATSAPP_API_BASE']}/v21.0/{os.environ['WHATSAPP_PHONE_NUMBER_ID']}/messages"
    )
    headers = {"Authorization": f"Bearer {os.environ['WHATSAPP_TOKEN']}"}
    http: list[aiohttp.ClientSession] = []

    async def deliver(request: web.Request) -> web.Response:
        body = await request.read()
        expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(request.headers.get("X-Hub-Signature-256", ""), expected):
            return web.Response(status=403)
        if not http:
            http.append(aiohttp.ClientSession(headers=headers))
        for entry in json.loads(body)["entry"]:
            for change in entry["changes"]:
                for m in change["value"].get("messages", []):
                    text = (m.get("text") or {}).get("body") or "pressed"
                    payload = {
                        "messaging_product": "whatsapp",
                        "to": m["from"],
                        "type": "text",
                        "text": {"body": text},
                    }
                    async with http[0].post(url, json=payload) as response:
                        await response.read()
        return web.Response(text="ok")

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_post("/whatsapp", deliver)
    app.router.add_get("/healthz", healthz)
    factory = event_loop_factory()
    loop = factory() if factory is not None else asyncio.new_event_loop()
    web.run_app(app, host="127.0.0.1", port=args.port, print=None, loop=loop)


if __name__ == "__main__":
    main()
