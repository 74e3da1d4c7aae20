"""WhatsApp served by two webhook workers sharing Redis (a returnee's messages reach either
one): one message at a time per returnee, feedback prepared on one and written on the
other, a round's rate limit shared; and Redis never holds a phone number, an answer or a
feedback text."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis

from bot.rate_limits import RedisRateLimiter
from bot.telegram.sender import RoundSender
from bot.whatsapp.reminders import WhatsAppCourier
from bot.whatsapp.shared import LockTimeout, RedisDrafts, RedisSenderLocks
from storage import outbox
from storage.crypto import Keyring
from storage.waves import WaveWindows
from tests.backends import Backend
from tests.e2e.conftest import WaHarness, running_wa_bot
from tests.support.fake_whatsapp import WaUser
from tests.support.journeys import QUESTION, to_the_first_question

CANARY = "CANARY-wa-redis-7b3e-heron-quartz"


async def redis_dump(redis: Redis, prefix: str) -> bytes:
    dump = b""
    async for key in redis.scan_iter(match=f"{prefix}:*"):
        dump += key
        if await redis.type(key) == b"string":
            dump += await redis.get(key) or b""
    return dump


async def test_two_workers_share_feedback_and_limits_without_personal_data(
    backend: Backend, keyring: Keyring, redis_prefix: tuple[Redis, str]
) -> None:
    redis, prefix = redis_prefix
    async with running_wa_bot(backend, keyring) as first:
        second = WaHarness(first.server, backend, keyring)
        first.drafts = second.drafts = RedisDrafts(redis, prefix)
        first.locks = RedisSenderLocks(redis, prefix)
        second.locks = RedisSenderLocks(redis, prefix)
        await first.restart()
        await second.start()
        try:
            first.server.webhook_urls = [first.url, second.url]
            user: WaUser = first.new_user()
            token = await first.invite()
            question1 = await to_the_first_question(user, f"START {token}")
            user.send("FEEDBACK")
            await user.expect("confidential")
            user.press("Anonymously")
            await user.expect("How would you rate")
            user.press("4")
            await user.expect("Please write your feedback")
            assert await redis_dump(redis, prefix)  # the draft really lives in Redis
            user.send(f"feedback {CANARY}")  # (to the other worker than the rating)
            await user.expect("receipt code")
            user.press("Satisfied", question1)
            await user.expect(QUESTION["en"].format(2))
            assert first.store is not None and first.client is not None
            [stored] = await first.store.read_feedback(actor="test")
            assert CANARY in stored["text"] and stored["rating"] == 4 and stored["anonymous"]

            # a round through a Redis-shared WhatsApp rate limit
            preview = await outbox.preview_round(
                first.store, wave="initial", country=None, windows=WaveWindows(), today=first.today
            )
            round_id = await outbox.create_round(first.store, preview, actor="test")
            courier = WhatsAppCourier(
                first.client,
                RedisRateLimiter(redis, f"{prefix}:whatsapp", rate=50),
                template="rss_reminder",
                clock=first.store.clock,
            )
            report = await RoundSender(first.store, None, couriers=[courier]).run(round_id)
            assert report.counts["sent"] == 1
            await user.expect("You have answered part of your first follow-up survey")

            dump = await redis_dump(redis, prefix)
            assert f"{prefix}:whatsapp:send:".encode() in dump
            for secret in (CANARY, user.wa_id, "Satisfied", "satisfied"):
                assert secret.encode() not in dump, secret
        finally:
            await second.stop()


async def test_a_senders_messages_one_at_a_time_across_workers(
    redis_prefix: tuple[Redis, str],
) -> None:
    redis, prefix = redis_prefix
    one, other = RedisSenderLocks(redis, prefix), RedisSenderLocks(redis, prefix, wait=5)
    order: list[str] = []
    inside = asyncio.Event()

    async def first() -> None:
        async with one.hold("pseudonym-a"):
            order.append("first in")
            inside.set()
            await asyncio.sleep(0.3)
            order.append("first out")

    async def second() -> None:
        await inside.wait()
        async with other.hold("pseudonym-a"):  # (another worker, the same sender)
            order.append("second in")

    async def someone_else() -> None:
        await inside.wait()
        async with other.hold("pseudonym-b"):
            order.append("other sender")

    await asyncio.gather(first(), second(), someone_else())
    assert order == ["first in", "other sender", "first out", "second in"]
    assert [k async for k in redis.scan_iter(match=f"{prefix}:whatsapp:lock:*")] == []
    # a lock held too long (a worker stuck) answers the delivery with an error
    impatient = RedisSenderLocks(redis, prefix, wait=0.2)
    async with one.hold("pseudonym-c"):
        with pytest.raises(LockTimeout):
            async with impatient.hold("pseudonym-c"):
                pass
    # a dead worker's lock lapses
    lapsing = RedisSenderLocks(redis, prefix, ttl=0.2)
    await redis.set(f"{prefix}:whatsapp:lock:pseudonym-d", "dead-worker", px=200)
    async with lapsing.hold("pseudonym-d"):
        order.append("after the lapse")
    assert order[-1] == "after the lapse"
