"""Redis on this machine (skipped with a reason if down, unless RSSBOT_REQUIRE_SERVICES=1)."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

REDIS_URL = os.environ.get("RSSBOT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
async def redis_prefix() -> AsyncIterator[tuple[Redis, str]]:
    redis = Redis.from_url(REDIS_URL)
    try:
        await redis.ping()  # type: ignore[misc]
    except Exception as exc:
        await redis.aclose()
        message = f"Redis at {REDIS_URL} is not available: {exc!r}"
        if os.environ.get("RSSBOT_REQUIRE_SERVICES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    prefix = f"rssbot-test-{secrets.token_hex(4)}"
    try:
        yield redis, prefix
    finally:
        keys = [k async for k in redis.scan_iter(match=f"{prefix}:*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()
