"""The sender's rate limiter, on a fake clock."""

from __future__ import annotations

import asyncio

from bot.rate_limits import RateLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


async def _sends(limiter: RateLimiter, clock: FakeClock, chats: list[int]) -> list[float]:
    times = []
    for chat in chats:
        await limiter.acquire(chat)
        times.append(round(clock.now, 6))
    return times


async def test_global_rate_spaces_sends() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate=25, clock=clock, sleep=clock.sleep)
    times = await _sends(limiter, clock, list(range(1, 51)))
    assert times[0] == 0.0
    assert times[-1] == round(49 / 25, 6)  # 50 messages in 1.96 s: 25/s


async def test_one_message_per_second_per_chat() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate=None, clock=clock, sleep=clock.sleep)
    assert await _sends(limiter, clock, [7, 8, 7, 7]) == [0.0, 0.0, 1.0, 2.0]


async def test_a_429_pauses_everyone() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate=None, clock=clock, sleep=clock.sleep)
    await limiter.acquire(1)
    await limiter.pause(5)
    await limiter.acquire(2)
    assert clock.now == 5.0


async def test_concurrent_callers_share_the_budget() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate=10, clock=clock, sleep=clock.sleep)
    await asyncio.gather(*(limiter.acquire(chat) for chat in range(20)))
    assert max(clock.sleeps) <= 1.9 + 1e-9


def test_a_rounds_pace_is_what_was_sent_over_the_time_it_took() -> None:
    """Three reminders over 3.6 s is 0.8 messages/s, not the pace between the first and
    the last send."""
    from bot.telegram.sender import SendStats

    stats = SendStats(sent=3, started=100.0, last_send=103.6)
    assert stats.pace(25) == "3 sent in 3.60 s: 0.8 messages/s (limit 25/s)"
    assert SendStats().pace(None) == "no reminder sent (no limit)"
    assert SendStats(sent=1, started=5.0, last_send=5.5).rate == 2.0
