"""Benchmark a reminder round: N returnees, the fake Bot API with faults injected.

    .venv/bin/python -m benchmarks.round --returnees 1000 --rate 25
    .venv/bin/python -m benchmarks.round --returnees 10000 --rate 0      # the sender's ceiling

Prints the achieved messages per second against the configured limit. Runs on a fresh
SQLite file in a temporary folder (or DATABASE_URL, a database you can throw away).
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

from bot.rate_limits import RateLimiter
from bot.telegram.app import build_bot
from bot.telegram.sender import RoundSender
from storage import outbox
from storage.crypto import Keyring
from storage.db import make_engine, upgrade
from storage.store import Store
from storage.waves import WaveWindows
from tests.e2e.fake_telegram import TOKEN, FakeTelegram, Fault


async def main(returnees: int, rate: float, url: str | None) -> None:
    folder = Path(tempfile.mkdtemp(prefix="rssbot-bench-"))
    url = url or f"sqlite+aiosqlite:///{folder / 'bench.db'}"
    engine = make_engine(url)
    await upgrade(engine)
    store = Store(engine, Keyring.generate())
    await store.verify()
    today = date.today()
    t0 = time.monotonic()
    for i in range(returnees):
        r = await store.enroll(
            case_ref=f"BENCH-{i}",
            return_date=today - timedelta(days=10),
            country="GN",
            language="fr",
        )
        await store.bind_telegram(r.id, 10_000_000 + i, 10_000_000 + i)
        await store.give_consent(r.id, version="bench", language="fr")
    print(f"enrolled {returnees} returnees in {time.monotonic() - t0:.1f} s ({url.split(':')[0]})")

    server = FakeTelegram()
    await server.start()
    blocked = {10_000_000 + i for i in range(0, returnees, 97)}
    server.blocked |= blocked
    for i in range(5, returnees, 89):
        server.chat_faults[10_000_000 + i] = [Fault("sendMessage", 502, "Bad Gateway", None, 1)]
    server.fail("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)

    preview = await outbox.preview_round(
        store, wave="initial", country=None, windows=WaveWindows(), today=today
    )
    round_id = await outbox.create_round(store, preview, actor="bench")
    bot = build_bot(TOKEN, server.base_url, retries=False)
    sender = RoundSender(store, bot, RateLimiter(rate=rate or None), backoff=0.2)
    started = time.monotonic()
    try:
        report = await sender.run(round_id)
    finally:
        await bot.session.close()
        await server.stop()
        await store.close()
    elapsed = time.monotonic() - started
    calls = Counter(m for m, _ in server.calls)
    limit = f"{rate:g}/s" if rate else "none"
    print(
        f"round of {len(preview.to_remind)}: {dict(report.counts)}; reasons {dict(report.reasons)}"
    )
    print(f"sendMessage calls: {calls['sendmessage']} (incl. 1 x 429, 502 retries, 403s)")
    print(f"duration {elapsed:.1f} s; achieved {sender.stats.rate:.1f} messages/s; limit {limit}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--returnees", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=25.0, help="0 lifts the limit")
    args = parser.parse_args()
    asyncio.run(main(args.returnees, args.rate, os.environ.get("BENCH_DATABASE_URL")))
