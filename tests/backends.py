"""Store fixtures on both back ends: a fresh SQLite file, and a fresh database on the real
PostgreSQL server of this machine (skipped with a reason when it is down, unless
RSSBOT_REQUIRE_SERVICES=1, as in CI, where it fails instead)."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from storage.crypto import Keyring
from storage.db import make_engine, upgrade
from storage.store import Store

PG_HOST = os.environ.get("RSSBOT_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("RSSBOT_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("RSSBOT_TEST_PG_USER", "postgres")


def services_required() -> bool:
    return os.environ.get("RSSBOT_REQUIRE_SERVICES") == "1"


@dataclass
class Backend:
    name: str
    url: str
    #: SQLite: the database file; PostgreSQL: the database name
    location: str


async def _pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(
        host=PG_HOST, port=PG_PORT, user=PG_USER, database="postgres", timeout=5
    )
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@asynccontextmanager
async def open_backend(kind: str, tmp_path: Path) -> AsyncIterator[Backend]:
    """A fresh SQLite file, or a fresh PostgreSQL database dropped afterwards (skipped,
    or failed under RSSBOT_REQUIRE_SERVICES=1, when the server is down)."""
    if kind == "sqlite":
        path = tmp_path / "rssbot.db"
        yield Backend("sqlite", f"sqlite+aiosqlite:///{path}", str(path))
        return
    name = f"rssbot_test_{secrets.token_hex(4)}"
    try:
        await _pg_admin(f'CREATE DATABASE "{name}"')
    except (OSError, Exception) as exc:  # connection refused, auth...
        message = f"PostgreSQL at {PG_HOST}:{PG_PORT} is not available: {exc!r}"
        if services_required():
            pytest.fail(message)
        pytest.skip(message)
    try:
        yield Backend(
            "postgresql", f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}", name
        )
    finally:
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    async with open_backend(request.param, tmp_path) as found:
        yield found


@pytest.fixture
def keyring() -> Keyring:
    return Keyring.generate()


async def open_store(backend: Backend, keyring: Keyring) -> Store:
    engine = make_engine(backend.url)
    await upgrade(engine)
    s = Store(engine, keyring)
    await s.verify()
    return s


@pytest.fixture
async def store(backend: Backend, keyring: Keyring) -> AsyncIterator[Store]:
    s = await open_store(backend, keyring)
    try:
        yield s
    finally:
        await s.close()


@pytest.fixture(params=["sqlite", "postgresql", "postgresql-general"])
async def every_path(
    request: pytest.FixtureRequest, tmp_path: Path, keyring: Keyring
) -> AsyncIterator[Store]:
    """A store on each back end, and on PostgreSQL also without its asyncpg hot path
    (every survey statement through SQLAlchemy, as on SQLite)."""
    async with open_backend(request.param.split("-")[0], tmp_path) as found:
        s = await open_store(found, keyring)
        if request.param == "postgresql-general":
            s.surveys.hot = None
        try:
            yield s
        finally:
            await s.close()
