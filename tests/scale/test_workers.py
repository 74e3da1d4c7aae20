"""Two webhook workers on the same PostgreSQL and Redis: every update applied once, a
killed worker loses nothing, and nothing a returnee says reaches Redis."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from redis.asyncio import Redis
from sqlalchemy import func, select

from bot.telegram.app import build_bot
from bot.telegram.webhook import SHUTDOWN_TIMEOUT
from flows import builtin_definition
from storage.crypto import Keyring
from storage.db import make_engine, upgrade
from storage.models import Answer, Reminder
from tests.backends import Backend
from tests.e2e.fake_telegram import TOKEN, FakeTelegram, FakeUser
from tests.support.workers import (
    SECRET,
    Worker,
    answer_questions,
    enrol,
    start_worker,
    telegram_delivery,
)

CANARY = "CANARY-redis-4c1f-walrus-ember"
pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)


@pytest.fixture
async def cluster(
    backend: Backend, keyring: Keyring, redis_prefix: tuple[Redis, str]
) -> AsyncIterator[tuple[FakeTelegram, list[Worker], Redis, str]]:
    redis, prefix = redis_prefix
    engine = make_engine(backend.url)
    await upgrade(engine)
    await engine.dispose()
    server = FakeTelegram()
    await server.start()
    workers = [
        await start_worker(n, backend.url, keyring, server, redis, prefix) for n in ("a", "b")
    ]
    try:
        yield server, workers, redis, prefix
    finally:
        for task in list(server.deliveries):
            task.cancel()
        for worker in workers:
            with contextlib.suppress(Exception):
                await worker.stop()
            await worker.store.close()
        await server.stop()


async def test_every_update_reaches_both_workers_and_is_applied_once(cluster) -> None:  # type: ignore[no-untyped-def]
    server, workers, _redis, _prefix = cluster
    urls = [w.url for w in workers]

    async def both(update: dict[str, Any]) -> None:  # every update delivered twice, at once
        await asyncio.gather(*(telegram_delivery(lambda u=u: [u])(update) for u in urls))

    server.deliver = both
    users = [FakeUser(server, 610000 + i, "en") for i in range(4)]
    for user in users:
        await enrol(workers[0], user)
    await asyncio.gather(*(answer_questions(user, 6) for user in users))
    await asyncio.gather(*server.deliveries)
    async with workers[0].store.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Answer)) == 4 * 6
    for user in users:
        texts = [m.text for m in user.messages]
        for number in range(1, 8):
            asked = sum(f"Question {number} of 32" in t for t in texts)
            assert asked == 1, (user.user_id, number, asked)  # never asked twice
    handled = sum(
        w.svc.metrics.updates.labels("message", "ok")._value.get()
        + w.svc.metrics.updates.labels("callback_query", "ok")._value.get()
        for w in workers
    )
    assert handled >= 4 * 7  # some updates were skipped by the second worker


async def test_a_worker_stopped_mid_stream_finishes_what_it_started(  # type: ignore[no-untyped-def]
    cluster, caplog
) -> None:
    """Worker A is stopped as on a deploy (SIGTERM) while returnees are answering: the
    updates it is handling finish, their replies whole (no Bot API call cut and sent
    again), the next ones go to B, nothing is lost, and every returnee still answering
    gets their next question within the stop's bound (what A gives the updates it is
    handling, and a retry). A killed worker's bound (5 s) is
    :func:`test_a_worker_process_killed_hard_loses_and_doubles_nothing`'s."""
    server, workers, _redis, _prefix = cluster
    alive = {w.url: True for w in workers}
    server.deliver = telegram_delivery(lambda: [u for u, ok in alive.items() if ok] or list(alive))
    users = [FakeUser(server, 620000 + i, "en") for i in range(3)]
    for user in users:
        await enrol(workers[0], user)

    # stopped while the returnees are half-way through their answers, whatever the
    # machine's speed: when the 15th of the 33 questions to send is being sent
    midway = asyncio.Event()
    sends = 0
    clock = asyncio.get_running_loop().time
    #: when each returnee saw a question
    seen: dict[int, list[float]] = {u.user_id: [] for u in users}

    async def count_sends(chat_id: int) -> None:
        nonlocal sends
        sends += 1
        seen[chat_id].append(clock())
        if sends == 15:
            midway.set()

    server.on_send.append(count_sends)
    stopped_at: list[float] = []

    async def stop_a_midway() -> None:
        await midway.wait()
        alive[workers[0].url] = False
        stopped_at.append(clock())
        await workers[0].stop()

    caplog.set_level(logging.WARNING, logger="bot")
    stopping = asyncio.create_task(stop_a_midway())
    await asyncio.gather(*(answer_questions(user, 10) for user in users))
    await stopping
    async with workers[1].store.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Answer)) == 3 * 10
    cut = [r.getMessage() for r in caplog.records if "retrying" in r.getMessage()]
    assert not cut, cut
    for times in seen.values():
        after = [t - stopped_at[0] for t in times if t > stopped_at[0]]
        if len(times) - len(after) < 11:  # (still answering when A stopped)
            assert after and after[0] < SHUTDOWN_TIMEOUT + 2.0, after


@pytest.mark.parametrize("typed", [False, True], ids=["button", "typed"])
async def test_an_answer_stored_before_a_failed_reply_shows_the_next_question_on_redelivery(
    cluster,  # type: ignore[no-untyped-def]
    typed: bool,
) -> None:
    """The answer is committed, then every attempt to send the next question fails: the
    update is answered with an error, Telegram redelivers it, and the returnee gets the
    next question (the answer is not stored twice, nor applied to the next question)."""
    server, workers, _redis, _prefix = cluster
    server.deliver = telegram_delivery(lambda: [workers[0].url])
    user = FakeUser(server, 640001 + typed, "en")
    await enrol(workers[0], user)
    await answer_questions(user, 1)  # question 2 is on screen
    server.fail("sendMessage", 502, "Bad Gateway", times=4)  # every retry of the send
    if typed:
        user.send("2")
    else:
        user.press_nth(1)
    await user.expect("Question 3 of 32", timeout=20)
    await asyncio.gather(*server.deliveries)
    await user.settle()
    assert sum("Question 3 of 32" in m.text for m in user.messages) == 1
    found = await workers[0].store.find_by_telegram(user.user_id)
    assert found is not None
    answers = (await workers[0].store.my_data(found.id))["surveys"][0]["answers"]
    assert set(answers) == {q.id for q in builtin_definition().questions[:2]}


async def test_a_call_telegram_refuses_for_good_is_not_redelivered(cluster) -> None:  # type: ignore[no-untyped-def]
    """A 400 or a 403 will not go away when the update is handled again: the webhook
    answers 200 at once (no redelivery loop); a 403 marks the returnee unreachable."""
    server, workers, _redis, _prefix = cluster
    statuses: list[int] = []

    async def once(update: dict[str, Any]) -> None:
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                workers[0].url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
            ) as response,
        ):
            statuses.append(response.status)

    server.deliver = once
    user = FakeUser(server, 660001, "en")
    await enrol(workers[0], user)
    server.fail("sendMessage", 400, "Bad Request: chat not found")
    user.send("/help")
    await asyncio.gather(*server.deliveries)
    user.send("/help")
    await user.expect("/mydata")  # the next update is handled as usual
    server.fail("sendMessage", 403, "Forbidden: bot was blocked by the user")
    user.send("/help")
    await asyncio.gather(*server.deliveries)
    assert statuses == [200, 200, 200]
    found = await workers[0].store.find_by_telegram(user.user_id)
    assert found is not None and found.status == "unreachable"
    # erased, then blocked before the goodbye arrives: nothing left to mark, still 200
    other = FakeUser(server, 660002, "en")
    await enrol(workers[0], other)
    other.send("/delete")
    await other.expect("cannot be undone")
    server.fail("sendMessage", 403, "Forbidden: bot was blocked by the user")
    other.press("Yes, erase everything")
    await asyncio.gather(*server.deliveries)
    assert statuses[-1] == 200 and await workers[0].store.find_by_telegram(other.user_id) is None


async def test_no_answer_reaches_redis_and_rounds_are_shared(cluster) -> None:  # type: ignore[no-untyped-def]
    from datetime import date

    from bot.telegram.sender import RoundSender
    from storage import outbox
    from storage.waves import WaveWindows

    server, workers, redis, prefix = cluster
    server.deliver = telegram_delivery(lambda: [w.url for w in workers])
    user = FakeUser(server, 630001, "en")
    await enrol(workers[0], user)
    user.send("/start")
    await user.expect("Question 1 of 32")
    user.send("/feedback")
    await user.expect("confidential")
    user.press("Anonymously")
    rating = await user.expect("How would you rate")
    user.press("2", rating)
    await user.expect("Please write your feedback")
    assert [k async for k in redis.scan_iter(match=f"{prefix}:feedback:*")]  # (shared)
    user.send(f"feedback {CANARY}")
    await user.expect("receipt code")
    user.press("Satisfied", next(m for m in user.messages if "Question 1 of 32" in m.text))
    await user.expect("Question 2 of 32")

    keys = [k async for k in redis.scan_iter(match=f"{prefix}:*")]
    dump = b""
    for key in keys:
        kind = await redis.type(key)
        if kind == b"string":
            dump += await redis.get(key) or b""
        elif kind == b"hash":
            for field_, value in (await redis.hgetall(key)).items():  # type: ignore[misc]
                dump += field_ + value
    assert CANARY.encode() not in dump and b"Satisfied" not in dump and b"satisfied" not in dump

    # two senders on the same round: each reminder sent once, one shared rate budget
    more = [FakeUser(server, 640000 + i, "en") for i in range(20)]
    for u in more:
        await enrol(workers[0], u)
    preview = await outbox.preview_round(
        workers[0].store, wave="initial", country=None, windows=WaveWindows(), today=date.today()
    )
    round_id = await outbox.create_round(workers[0].store, preview, actor="test")
    bots = [build_bot(TOKEN, server.base_url, retries=False) for _ in workers]
    try:
        await asyncio.gather(
            *(
                RoundSender(w.store, b, w.svc.limiter(), batch_size=3).run(round_id)
                for w, b in zip(workers, bots, strict=True)
            )
        )
    finally:
        for b in bots:
            await b.session.close()
    async with workers[0].store.sessions() as session:
        sent = await session.scalar(
            select(func.count()).select_from(Reminder).where(Reminder.status == "sent")
        )
    assert sent == len(preview.to_remind) == 21
    reminders = [m for u in more for m in u.messages if "It is time for your" in m.text]
    # (the first returnee has answered a question: their reminder says continue)
    reminders += [m for m in user.messages if "You have answered part of your" in m.text]
    assert len(reminders) == 21


async def test_a_worker_process_killed_hard_loses_and_doubles_nothing(
    backend: Backend, keyring: Keyring, redis_prefix: tuple[Redis, str], tmp_path
) -> None:  # type: ignore[no-untyped-def]
    """Worker A is a real `rssbot run --webhook` process, SIGKILLed mid-stream; typed
    answers (which would land on the next question if applied twice) go on to worker B,
    and each returnee's next question comes within 5 s of the kill: A leaves nothing
    behind (no lock, no claim) that B would wait for."""
    import os
    import signal
    import sys
    from pathlib import Path

    redis, prefix = redis_prefix
    engine = make_engine(backend.url)
    await upgrade(engine)
    await engine.dispose()
    keyring.write_file(tmp_path / "keys.json")
    server = FakeTelegram()
    await server.start()
    worker_b = await start_worker("b", backend.url, keyring, server, redis, prefix)
    env = {
        **os.environ,
        "DATABASE_URL": backend.url,
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "RSSBOT_REDIS_PREFIX": prefix,
        "RSSBOT_KEY_FILE": str(tmp_path / "keys.json"),
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE": server.base_url,
        "TELEGRAM_WEBHOOK_SECRET": SECRET,
    }
    env.pop("RSSBOT_MASTER_KEY", None)
    rssbot = str(Path(sys.executable).parent / "rssbot")
    log = (tmp_path / "a.log").open("wb")
    process = await asyncio.create_subprocess_exec(
        rssbot,
        "run",
        "--webhook",
        "--port",
        "18731",
        "--log-level",
        "WARNING",
        env=env,
        stdout=log,
        stderr=log,
    )
    url_a = "http://127.0.0.1:18731/telegram"
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(300):
                if process.returncode is not None:
                    log.flush()
                    output = (tmp_path / "a.log").read_text(errors="replace")
                    raise AssertionError(f"worker a exited ({process.returncode}): {output}")
                try:
                    async with http.get("http://127.0.0.1:18731/healthz") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        server.deliver = telegram_delivery(lambda: [url_a, worker_b.url])
        users = [FakeUser(server, 650000 + i, "en") for i in range(3)]
        for user in users:
            await enrol(worker_b, user)

        clock = asyncio.get_running_loop().time
        #: when each returnee saw each question
        seen: dict[int, list[float]] = {u.user_id: [] for u in users}
        killed_at: list[float] = []

        async def typed_answers(user: FakeUser) -> None:
            user.send("/start")
            await user.expect("Question 1 of 32", timeout=20)
            for number in range(2, 13):
                user.send("2")  # the second option, typed
                await user.expect(f"Question {number} of 32", timeout=20)
                seen[user.user_id].append(clock())

        async def kill_a() -> None:
            while max(len(t) for t in seen.values()) < 3:  # (well under way)
                await asyncio.sleep(0.01)
            assert process.returncode is None, (tmp_path / "a.log").read_text(errors="replace")
            process.send_signal(signal.SIGKILL)
            killed_at.append(clock())

        await asyncio.gather(kill_a(), *(typed_answers(u) for u in users))
        await process.wait()
        assert process.returncode == -signal.SIGKILL
        for times in seen.values():  # (answering at full speed: one was in flight)
            after = [t - killed_at[0] for t in times if t > killed_at[0]]
            assert after and after[0] < 5.0, after
        for user in users:
            found = await worker_b.store.find_by_telegram(user.user_id)
            assert found is not None
            data = await worker_b.store.my_data(found.id)
            answers = data["surveys"][0]["answers"]
            assert len(answers) == 11, (user.user_id, sorted(answers))
            assert set(answers) == {q.id for q in builtin_definition().questions[:11]}
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        log.close()
        for task in list(server.deliveries):
            task.cancel()
        with contextlib.suppress(Exception):
            await worker_b.stop()
        await worker_b.store.close()
        await server.stop()
