"""WhatsApp served by two webhook workers sharing Redis (a returnee's messages reach either
one): two messages of one returnee at once on two workers, both applied one after the
other; a worker killed mid-message, the next answer within seconds; feedback prepared on
one and written on the other, a round's rate limit shared; and Redis never holds a phone
number, an answer or a feedback text."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import socket
import sys
import time
from pathlib import Path

import aiohttp
import pytest
from redis.asyncio import Redis
from sqlalchemy import func, select

from bot.feedback_drafts import RedisDrafts
from bot.rate_limits import RedisRateLimiter
from bot.telegram.sender import RoundSender
from bot.whatsapp.reminders import WhatsAppCourier
from storage import outbox
from storage.crypto import Keyring
from storage.models import Answer
from storage.waves import WaveWindows
from tests.backends import Backend
from tests.e2e.conftest import WaHarness, running_wa_bot
from tests.support import fake_whatsapp
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
        await first.restart()
        await second.start()
        try:
            first.server.webhook_urls = [first.url, second.url]
            user = WaUser(first.server, "22177400001", username="@heron_q", name="Quartz-Name")
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
            assert user.user_id is not None
            for secret in (CANARY, user.wa_id, user.user_id, "heron_q", "Quartz-Name",
                           "Satisfied", "satisfied"):  # fmt: skip
                assert secret.encode() not in dump, secret
        finally:
            await second.stop()


async def test_two_messages_of_one_returnee_at_once_on_two_workers_are_both_applied(
    backend: Backend, keyring: Keyring, redis_prefix: tuple[Redis, str]
) -> None:
    """No lock between workers: the survey's compare-and-set orders the two."""
    redis, prefix = redis_prefix
    async with running_wa_bot(backend, keyring) as first:
        second = WaHarness(first.server, backend, keyring)
        first.drafts = second.drafts = RedisDrafts(redis, prefix)
        await second.start()
        try:
            server = first.server
            server.webhook_urls = [first.url, second.url]
            user: WaUser = first.new_user()
            await to_the_first_question(user, f"START {await first.invite()}")
            for _round in range(5):  # (each pair: one to each worker, at the same time)
                statuses = await asyncio.gather(
                    server.deliver(user.wa_id, typed(user, "2")),
                    server.deliver(user.wa_id, typed(user, "2")),
                )
                assert statuses == [200, 200]
            await user.expect(QUESTION["en"].format(11))
            assert first.store is not None
            found = await first.store.find_whatsapp(user_id=user.user_id, phone=user.wa_id)
            assert found is not None
            answers = (await first.store.my_data(found.id))["surveys"][0]["answers"]
            assert len(answers) == 10
            async with first.store.sessions() as session:  # (nothing stored twice)
                assert await session.scalar(select(func.count()).select_from(Answer)) == 10
        finally:
            await second.stop()


def typed(user: WaUser, text: str) -> dict[str, object]:
    """A text message from ``user``, as Meta shapes it (a new message id each time)."""
    return {
        "from": user.wa_id,
        "id": f"wamid.race.{secrets.token_hex(8)}",
        "timestamp": str(int(time.time())),
        "type": "text",
        "text": {"body": text},
    }


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)  # (workers share it)
async def test_a_worker_killed_mid_message_leaves_nothing_the_next_answer_waits_for(
    backend: Backend, keyring: Keyring, redis_prefix: tuple[Redis, str], tmp_path: Path
) -> None:
    """Worker A is a real `rssbot run` process (WhatsApp only), SIGKILLed while returnees
    answer at full speed; Meta delivers what failed again, here to worker B. Each
    returnee's next question comes within 5 s of the kill, and every answer is stored
    once (typed answers would land on the next question if applied twice)."""
    _redis, prefix = redis_prefix
    keyring.write_file(tmp_path / "keys.json")
    async with running_wa_bot(backend, keyring) as b:
        server, port = b.server, free_port()
        server.attempts = 40
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "RSSBOT_"))},
            "DATABASE_URL": backend.url,
            "REDIS_URL": "redis://127.0.0.1:6379/0",
            "RSSBOT_REDIS_PREFIX": prefix,
            "RSSBOT_KEY_FILE": str(tmp_path / "keys.json"),
            "WHATSAPP_TOKEN": fake_whatsapp.TOKEN,
            "WHATSAPP_PHONE_NUMBER_ID": fake_whatsapp.PHONE_NUMBER_ID,
            "WHATSAPP_APP_SECRET": fake_whatsapp.APP_SECRET,
            "WHATSAPP_VERIFY_TOKEN": fake_whatsapp.VERIFY_TOKEN,
            "WHATSAPP_API_BASE": server.base_url,
            "WHATSAPP_NUMBER": "+1 555 0100",
        }
        users = [b.new_user() for _ in range(3)]
        for user in users:  # (to question 1 on B alone)
            await to_the_first_question(user, f"START {await b.invite()}")
        log = (tmp_path / "a.log").open("wb")
        rssbot = str(Path(sys.executable).parent / "rssbot")
        process = await asyncio.create_subprocess_exec(
            *(rssbot, "run", "--port", str(port), "--log-level", "WARNING"),
            env=env,
            stdout=log,
            stderr=log,
        )
        try:
            await until_listening(process, port, tmp_path / "a.log")
            server.webhook_urls = [f"http://127.0.0.1:{port}/whatsapp", b.url]
            clock = asyncio.get_running_loop().time
            seen: dict[str, list[float]] = {u.wa_id: [] for u in users}
            killed_at: list[float] = []

            async def typed_answers(user: WaUser) -> None:
                for number in range(2, 21):
                    user.send("2")  # the second option, typed
                    await user.expect(QUESTION["en"].format(number), timeout=20)
                    seen[user.wa_id].append(clock())

            async def kill_a() -> None:
                while max(len(t) for t in seen.values()) < 4:  # (well under way)
                    await asyncio.sleep(0.01)
                assert process.returncode is None, (tmp_path / "a.log").read_text()
                process.send_signal(signal.SIGKILL)
                killed_at.append(clock())

            await asyncio.gather(kill_a(), *(typed_answers(u) for u in users))
            assert await process.wait() == -signal.SIGKILL
            for times in seen.values():  # (answering at full speed: one was in flight)
                after = [t - killed_at[0] for t in times if t > killed_at[0]]
                assert after and after[0] < 5.0, after
            assert b.store is not None
            for user in users:
                found = await b.store.find_whatsapp(user_id=user.user_id, phone=user.wa_id)
                assert found is not None
                answers = (await b.store.my_data(found.id))["surveys"][0]["answers"]
                assert len(answers) == 19, sorted(answers)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
            log.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def until_listening(process: asyncio.subprocess.Process, port: int, log: Path) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(300):
            if process.returncode is not None:
                raise AssertionError(f"worker exited ({process.returncode}): {log.read_text()}")
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise AssertionError("the worker never listened")
