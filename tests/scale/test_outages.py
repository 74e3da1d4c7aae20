"""PostgreSQL or Redis unreachable mid-survey (a TCP proxy the test cuts and restores; the
machine's services are never touched): the returnee hears "please wait" instead of
silence, the update is handled by itself once the service is back (polling: retried here;
webhook: answered 503 and delivered again), nothing is lost or applied twice, a chat lock
left by the outage does not freeze the chat, /healthz says 503 meanwhile, and the log says
it once rather than a traceback per update."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import aiohttp
import pytest
from redis.asyncio import Redis
from sqlalchemy import func, select

from bot.telegram.app import redis_client
from storage.crypto import Keyring
from storage.db import make_engine, upgrade
from storage.models import Answer
from storage.store import Store
from tests.backends import PG_HOST, PG_PORT, Backend
from tests.e2e.conftest import Harness
from tests.e2e.fake_telegram import FakeTelegram, FakeUser
from tests.scale.conftest import REDIS_URL
from tests.support.tcp_proxy import TcpProxy
from tests.support.workers import Worker, answer_questions, enrol, start_worker, telegram_delivery

pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
PLEASE_WAIT = "Sorry, something is not working on our side right now."


def through(proxy: TcpProxy, url: str, host: str, port: int) -> str:
    return url.replace(f"@{host}:{port}/", f"@127.0.0.1:{proxy.port}/")


async def answers_in(database_url: str, keyring: Keyring) -> int:
    """Answers stored, read directly (not through the proxy)."""
    store = Store(make_engine(database_url), keyring)
    try:
        async with store.sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(Answer)) or 0)
    finally:
        await store.close()


def outage_lines(caplog: pytest.LogCaptureFixture) -> tuple[list[str], list[logging.LogRecord]]:
    """The outage's log lines, and every record that carries a traceback."""
    said = [r.getMessage() for r in caplog.records if r.name == "bot.telegram.outages"]
    tracebacks = [r for r in caplog.records if r.exc_info and r.levelno >= logging.WARNING]
    return said, tracebacks


@pytest.fixture
async def pg_proxy() -> AsyncIterator[TcpProxy]:
    proxy = await TcpProxy(PG_HOST, PG_PORT).start()
    try:
        yield proxy
    finally:
        await proxy.close()


async def test_polling_a_press_during_a_database_outage_is_applied_when_it_is_back(
    backend: Backend,
    keyring: Keyring,
    pg_proxy: TcpProxy,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    engine = make_engine(backend.url)
    await upgrade(engine)
    await engine.dispose()
    server = FakeTelegram()
    await server.start()
    harness = Harness(server, backend, keyring)
    harness.database_url = through(pg_proxy, backend.url, PG_HOST, PG_PORT)
    await harness.start()
    try:
        from tests.e2e.test_journey import enrol_and_consent

        user = FakeUser(server, 71001, "en")
        await enrol_and_consent(harness, user)
        user.press("Satisfied")
        await user.expect("Question 2 of 32")
        await pg_proxy.cut()
        user.press("Never")
        await user.expect(PLEASE_WAIT)
        user.send("hello?")  # more while it is down: waits behind the press, in order
        await asyncio.sleep(1.5)  # (the outage lasts a while; the bot keeps retrying)
        assert not any("Question 3 of 32" in m.text for m in user.messages)
        await pg_proxy.restore()
        await user.expect("Question 3 of 32", timeout=30)  # by itself, no second press
        user.press("Yes")
        await user.expect("Question 4 of 32")
        await asyncio.sleep(2.2)  # (a service is back after 2 s without failures)
        user.press_nth(0)
        await user.expect("Question 5 of 32")
        await user.settle()
        assert await answers_in(backend.url, keyring) == 4  # none lost, none twice
        assert sum(PLEASE_WAIT in m.text for m in user.messages) == 1
        said, tracebacks = outage_lines(caplog)
        assert len([s for s in said if "is unreachable" in s]) == 1
        assert len([s for s in said if "is back after" in s]) == 1
        assert tracebacks == []
    finally:
        await harness.stop()
        await server.stop()


@pytest.fixture
async def webhook_worker(
    backend: Backend, keyring: Keyring, pg_proxy: TcpProxy
) -> AsyncIterator[tuple[FakeTelegram, Worker, TcpProxy, TcpProxy, Redis, str]]:
    """One webhook worker whose PostgreSQL and Redis are each behind a proxy."""
    engine = make_engine(backend.url)
    await upgrade(engine)
    await engine.dispose()
    direct = Redis.from_url(REDIS_URL)
    try:
        await direct.ping()  # type: ignore[misc]
    except Exception as exc:
        await direct.aclose()
        import os

        if os.environ.get("RSSBOT_REQUIRE_SERVICES") == "1":
            pytest.fail(f"Redis at {REDIS_URL} is not available: {exc!r}")
        pytest.skip(f"Redis at {REDIS_URL} is not available: {exc!r}")
    host, port = (
        direct.connection_pool.connection_kwargs["host"],
        int(direct.connection_pool.connection_kwargs["port"]),
    )
    redis_proxy = await TcpProxy(host, port).start()
    redis = redis_client(f"redis://127.0.0.1:{redis_proxy.port}/0")
    prefix = f"rssbot-test-outage-{redis_proxy.port}"
    server = FakeTelegram()
    await server.start()
    database_url = through(pg_proxy, backend.url, PG_HOST, PG_PORT)
    worker = await start_worker("a", database_url, keyring, server, redis, prefix)
    try:
        yield server, worker, pg_proxy, redis_proxy, redis, prefix
    finally:
        for task in list(server.deliveries):
            task.cancel()
        await worker.stop()
        await worker.store.close()
        await server.stop()
        await redis_proxy.close()
        await redis.aclose()
        keys = [k async for k in direct.scan_iter(match=f"{prefix}:*")]
        if keys:
            await direct.delete(*keys)
        await direct.aclose()


async def health(worker: Worker) -> int:
    url = worker.url.removesuffix("/telegram") + "/healthz"
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return response.status


@pytest.mark.parametrize("service", ["database", "redis"])
async def test_webhook_an_outage_is_answered_503_and_the_update_applied_when_back(
    webhook_worker: tuple[FakeTelegram, Worker, TcpProxy, TcpProxy, Redis, str],
    keyring: Keyring,
    backend: Backend,
    caplog: pytest.LogCaptureFixture,
    service: str,
) -> None:
    caplog.set_level(logging.INFO)
    server, worker, pg_proxy, redis_proxy, _redis, _prefix = webhook_worker
    proxy = pg_proxy if service == "database" else redis_proxy
    statuses: list[int] = []
    server.deliver = telegram_delivery(lambda: [worker.url], attempts=400, statuses=statuses)
    user = FakeUser(server, 72001 + (service == "redis"), "en")
    await enrol(worker, user)
    await answer_questions(user, 1)  # question 2 on screen
    assert await health(worker) == 200
    await proxy.cut()
    shown = 3
    if service == "redis":  # (a survey button needs no Redis: answered during the outage)
        user.press_nth(1)
        await user.expect("Question 3 of 32", timeout=10)
        shown = 4
        user.send("2")  # (typed text may be a feedback's text: its draft is in Redis)
    else:
        user.press_nth(1)
    await user.expect(PLEASE_WAIT)
    assert await health(worker) == 503
    await asyncio.sleep(1.0)  # Telegram keeps redelivering meanwhile
    assert 503 in statuses
    await proxy.restore()
    await user.expect(f"Question {shown} of 32", timeout=30)
    # the chat is not frozen by anything the outage left behind
    user.press_nth(1)
    await user.expect(f"Question {shown + 1} of 32", timeout=10)
    await asyncio.gather(*server.deliveries)
    assert await health(worker) == 200
    assert await answers_in(backend.url, keyring) == shown
    said, tracebacks = outage_lines(caplog)
    assert len([s for s in said if "is unreachable" in s]) == 1
    assert tracebacks == []
