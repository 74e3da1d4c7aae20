"""The hot path's own asyncpg connections (PostgreSQL): never more than asked for, kept
after an error the server answered, replaced after a lost or cancelled statement."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest

from storage.db import make_engine
from storage.pg_hotpath import Connections, asyncpg_connect_args
from tests.backends import Backend

pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)


@pytest.fixture
async def connections(backend: Backend) -> AsyncIterator[Connections]:
    engine = make_engine(backend.url)
    c = Connections(asyncpg_connect_args(engine), size=2)
    await engine.dispose()
    try:
        yield c
    finally:
        await c.close()


async def pid(connections: Connections, sleep: float = 0) -> int:
    row = await connections.fetchrow(f"SELECT pg_backend_pid() AS pid FROM pg_sleep({sleep})")
    assert row is not None
    return int(row["pid"])


async def test_at_most_size_connections_and_the_last_used_first(connections: Connections) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    pids = await asyncio.gather(*(pid(connections, 0.3) for _ in range(4)))
    assert len(set(pids)) == 2  # (four statements, two connections)
    assert loop.time() - started >= 0.55  # the last two waited for a free connection
    assert await pid(connections) == await pid(connections)


async def test_an_error_the_server_answered_keeps_the_connection(connections: Connections) -> None:
    before = await pid(connections)
    with pytest.raises(asyncpg.DivisionByZeroError):
        await connections.fetchrow("SELECT 1 / 0")
    assert await pid(connections) == before


async def test_a_connection_the_server_dropped_is_replaced(
    connections: Connections, backend: Backend
) -> None:
    before = await pid(connections)
    admin = await asyncpg.connect(**asyncpg_connect_args(make_engine(backend.url)))
    try:
        await admin.execute(f"SELECT pg_terminate_backend({before})")
    finally:
        await admin.close()
    await asyncio.sleep(0.1)
    failures, after = 0, None
    for _ in range(2):  # at most the statement that finds it dropped fails (the update is
        try:  # delivered again); the next one runs on a new connection
            after = await pid(connections)
            break
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
            failures += 1
    assert after is not None and after != before and failures <= 1


async def test_a_cancelled_statement_does_not_leave_its_connection_busy(
    connections: Connections,
) -> None:
    before = await pid(connections)  # (the slow statement below takes this connection)
    slow = asyncio.ensure_future(pid(connections, 30))
    await asyncio.sleep(0.2)
    slow.cancel()
    with pytest.raises(asyncio.CancelledError):
        await slow
    pids = await asyncio.wait_for(asyncio.gather(pid(connections), pid(connections)), 5)
    assert len(set(pids)) == 2 and before not in pids  # (the cancelled one was replaced)
