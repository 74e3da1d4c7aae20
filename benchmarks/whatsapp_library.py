"""What pywa (the maintained Cloud API library) would cost the WhatsApp worker, per message,
against the project's own parsing and client: the worker CPU of reading one signed
delivery's message and sending one reply to a Cloud API on loopback, each way, in the same
run.

    .venv/bin/python -m benchmarks.whatsapp_library --messages 3000

The Cloud API is a bare aiohttp server in another process (its CPU is not counted). Prints
milliseconds of this process's CPU per message for each side and the difference; issue 31
takes pywa unless the difference exceeds 0.3 ms. Needs pywa: ``pip install -e ".[bench]"`` (not a
dependency of the bot). Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bot.whatsapp.client import CloudClient
from bot.whatsapp.webhook import inbound_messages

PHONE_ID = "109876543210"


def delivery(n: int) -> bytes:
    """A delivery of one text message from a user who shows their number and BSUID."""
    return json.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": "WABA",
                    "changes": [
                        {
                            "field": "messages",
                            "value": {
                                "messaging_product": "whatsapp",
                                "metadata": {
                                    "display_phone_number": "15550000000",
                                    "phone_number_id": PHONE_ID,
                                },
                                "contacts": [
                                    {
                                        "profile": {"name": "A returnee"},
                                        "wa_id": "22170000001",
                                        "user_id": "SN.1349120865530274191",
                                    }
                                ],
                                "messages": [
                                    {
                                        "from": "22170000001",
                                        "from_user_id": "SN.1349120865530274191",
                                        "id": f"wamid.{n}",
                                        "timestamp": "1780000000",
                                        "type": "text",
                                        "text": {"body": "3"},
                                    }
                                ],
                            },
                        }
                    ],
                }
            ],
        }
    ).encode()


def serve(port: int) -> None:
    async def messages(request: web.Request) -> web.Response:
        sent = await request.json()
        who = sent.get("to") or sent.get("recipient")
        return web.json_response(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": who, "user_id": who}],
                "messages": [{"id": "wamid.out"}],
            }
        )

    app = web.Application()
    app.router.add_post("/{version}/{phone}/messages", messages)
    web.run_app(app, host="127.0.0.1", port=port, print=None)


async def measure(messages: int, one: Callable[[int], Awaitable[None]]) -> float:
    """Milliseconds of this process's CPU per message (after a warm-up)."""
    for n in range(200):
        await one(n)
    started = time.process_time()
    for n in range(messages):
        await one(n)
    return (time.process_time() - started) * 1000 / messages


async def run(messages: int, port: int) -> None:
    base = f"http://127.0.0.1:{port}"
    own = CloudClient("token", PHONE_ID, base_url=base)

    async def ours(n: int) -> None:
        found, _failures = inbound_messages(json.loads(delivery(n)))
        await own.send_text(found[0].wa_id, "The next question")

    import httpx
    from pywa.types.base_update import RawUpdate
    from pywa_async import WhatsApp
    from pywa_async.types import Message

    session = httpx.AsyncClient()
    wa = WhatsApp(phone_id=PHONE_ID, token="token", session=session, validate_updates=False)
    session.base_url = f"{base}/v21.0"

    async def pywa(n: int) -> None:
        raw = RawUpdate(delivery(n), hmac_header=None, update_hash=str(n))
        message: Any = Message.from_update(client=wa, update=raw)
        await wa.send_message(to=message.from_user.bsuid, text="The next question")

    async def ours_parse(n: int) -> None:
        inbound_messages(json.loads(delivery(n)))

    async def pywa_parse(n: int) -> None:
        raw = RawUpdate(delivery(n), hmac_header=None, update_hash=str(n))
        Message.from_update(client=wa, update=raw)

    sides = {
        "project: parsing + aiohttp client": ours,
        "pywa: update types + httpx client": pywa,
        "project: parsing only": ours_parse,
        "pywa: update types only": pywa_parse,
    }
    figures: dict[str, list[float]] = {name: [] for name in sides}
    try:
        for _round in range(2):
            for name, one in sides.items():
                figures[name].append(await measure(messages, one))
    finally:
        await own.close()
        await session.aclose()
    best = {name: min(values) for name, values in figures.items()}
    print(f"messages per side: {messages} (best of 2 rounds each, same run)")
    for name, ms in best.items():
        print(f"  {name:<36} {ms:7.3f} ms CPU per message")
    whole = best["pywa: update types + httpx client"] - best["project: parsing + aiohttp client"]
    parse = best["pywa: update types only"] - best["project: parsing only"]
    ratio = best["pywa: update types + httpx client"] / best["project: parsing + aiohttp client"]
    print(f"pywa adds {whole:+.3f} ms per message ({ratio:.2f}x), of which parsing {parse:+.3f}")
    print("issue 31's bound: +0.3 ms per message")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=3000)
    args = parser.parse_args()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = multiprocessing.get_context("spawn").Process(target=serve, args=(port,))
    server.start()
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        asyncio.run(run(args.messages, port))
    finally:
        server.terminate()
        server.join()


if __name__ == "__main__":
    main()
