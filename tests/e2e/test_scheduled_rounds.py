"""A scheduled round against the fake Bot API, with an injected clock: the reminder
reaches a returnee the day their wave window opens, once, and not again the next day."""

from __future__ import annotations

from datetime import UTC, date, datetime

from bot.rate_limits import RateLimiter
from bot.telegram.app import build_bot
from bot.telegram.sender import send_scheduled_rounds
from storage import schedules
from storage.waves import WaveWindows
from tests.e2e.conftest import Harness
from tests.e2e.fake_telegram import TOKEN
from tests.e2e.test_rounds import delivered

WINDOWS = WaveWindows()


async def test_a_scheduled_round_sends_when_the_window_opens_and_not_the_next_day(
    harness: Harness,
) -> None:
    store = harness.store
    assert store is not None
    # the initial wave's window (0-3 months) opens on the return date
    chats = {}
    for day, chat in ((1, 700001), (2, 700002)):
        returnee = await store.enroll(
            case_ref=f"CASE-{day}", return_date=date(2026, 12, day), country="GN", language="fr"
        )
        await store.bind_telegram(returnee.id, chat, chat)
        await store.give_consent(returnee.id, version="v1", language="fr")
        chats[day] = chat
    soon, later = chats[1], chats[2]
    await schedules.add_schedule(
        store, wave="initial", country=None, hour=9, repeat_days=None, actor="cli:t"
    )
    bot = build_bot(TOKEN, harness.server.base_url, retries=False)
    sent: list[dict[int, int]] = []
    try:
        for day in (1, 2, 3):
            now = datetime(2026, 12, day, 9, 5, tzinfo=UTC)
            store.clock = lambda now=now: now
            await send_scheduled_rounds(store, bot, RateLimiter(rate=None), WINDOWS, now=now)
            sent.append(dict(delivered(harness.server)))
    finally:
        await bot.session.close()
    assert sent == [{soon: 1}, {soon: 1, later: 1}, {soon: 1, later: 1}]
    reminder = harness.server.messages[later][0]
    assert "Commencer le questionnaire" in reminder.labels()


async def test_staff_schedule_rounds_from_the_chat(harness: Harness, user_factory) -> None:  # type: ignore[no-untyped-def]
    store = harness.store
    assert store is not None
    caseworker, viewer = user_factory("en"), user_factory("en")
    await store.add_staff(caseworker.user_id, "caseworker")
    await store.add_staff(viewer.user_id, "viewer")

    viewer.send("/schedule")
    await viewer.expect("I do not know this command")  # viewers do not send rounds
    caseworker.send("/schedule")
    await caseworker.expect("No scheduled round.")
    caseworker.send("/schedule add final gn 7 every 14")
    added = await caseworker.expect("Scheduled ")
    assert "final in GN, daily at 07:00 UTC, again every 14 days" in added.text
    short = added.text.split()[1].rstrip(":")
    caseworker.send(f"/schedule pause {short}")
    await caseworker.expect("Paused: final in GN")
    caseworker.send("/schedule")
    listed = await caseworker.expect(short)
    assert "(paused)" in listed.text and "last ran: never" in listed.text
    caseworker.send(f"/schedule resume {short}")
    await caseworker.expect("Resumed: final in GN")
    caseworker.send("/schedule add sometime")
    await caseworker.expect("I do not understand 'sometime'")
    caseworker.send("/schedule add initial 30")
    await caseworker.expect("the hour is 0 to 23 (UTC)")
    caseworker.send(f"/schedule remove {short}")
    await caseworker.expect("Removed: final in GN")
    assert await schedules.list_schedules(store) == []
