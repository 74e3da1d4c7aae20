"""Reminder rounds against the fake Bot API: faults, a killed sender, an opt-out mid-round."""

from __future__ import annotations

import time
from collections import Counter
from datetime import date, timedelta

import pytest

from bot.rate_limits import RateLimiter
from bot.telegram.app import build_bot
from bot.telegram.sender import RoundSender, SenderStopped
from storage import outbox
from storage.store import Store
from storage.waves import WaveWindows
from tests.e2e.conftest import Harness
from tests.e2e.fake_telegram import TOKEN, FakeTelegram, Fault

TODAY = date(2026, 11, 25)
WINDOWS = WaveWindows()


async def enrol_many(store: Store, n: int, *, first_chat: int = 900000) -> list[tuple[str, int]]:
    """n returnees due for the initial wave, consented and bound to a chat."""
    out = []
    for i in range(n):
        returnee = await store.enroll(
            case_ref=f"CASE-{i:05d}", return_date=date(2026, 10, 1), country="GN", language="fr"
        )
        chat = first_chat + i
        await store.bind_telegram(returnee.id, chat, chat)
        await store.give_consent(returnee.id, version="v1", language="fr")
        out.append((returnee.id, chat))
    return out


def sends_by_chat(server: FakeTelegram) -> Counter[int]:
    return Counter(int(p["chat_id"]) for m, p in server.calls if m == "sendmessage")


def delivered(server: FakeTelegram) -> Counter[int]:
    return Counter(chat for chat, messages in server.messages.items() for _ in messages)


async def start_round(store: Store) -> tuple[str, int]:
    preview = await outbox.preview_round(
        store, wave="initial", country=None, windows=WINDOWS, today=TODAY
    )
    return await outbox.create_round(store, preview, actor="test"), len(preview.to_remind)


async def send_round(harness: Harness) -> int:
    """Preview, create and send a round for the initial wave; how many were to remind."""
    assert harness.store is not None
    round_id, total = await start_round(harness.store)
    bot = build_bot(TOKEN, harness.server.base_url, retries=False)
    try:
        await RoundSender(harness.store, bot, RateLimiter(rate=None)).run(round_id)
    finally:
        await bot.session.close()
    return total


async def test_preview_counts_who_is_skipped_and_why(harness: Harness) -> None:
    store = harness.store
    assert store is not None
    people = await enrol_many(store, 6)
    await store.withdraw_consent(people[0][0], language="fr")
    await store.set_status(people[1][0], "unreachable")
    await store.decline_consent(people[2][0], version="v1", language="fr")
    invited = await store.enroll(
        case_ref="X", return_date=date(2026, 10, 1), country="GN", language="en"
    )
    await store.enroll(case_ref="LATE", return_date=date(2025, 1, 1), country="GN", language="en")
    await store.give_consent(invited.id, version="v1", language="en")  # consented, no chat
    preview = await outbox.preview_round(
        store, wave="initial", country="gn", windows=WINDOWS, today=TODAY
    )
    assert len(preview.to_remind) == 3
    assert preview.skipped == Counter(
        {"opted_out": 1, "unreachable": 1, "not_joined": 1}
    )  # the declined one keeps no return date: not due any more


async def test_round_with_429_403_and_5xx_sends_each_reminder_once(harness: Harness) -> None:
    server, store = harness.server, harness.store
    assert store is not None
    people = await enrol_many(store, 40)
    blocked_chat = people[3][1]
    server.blocked.add(blocked_chat)
    flaky_chat = people[5][1]
    server.chat_faults[flaky_chat] = [_fault(502, times=2)]
    throttled_chat = people[7][1]  # a 429 on one send pauses every send
    server.chat_faults[throttled_chat] = [
        Fault("sendMessage", 429, "Too Many Requests: retry after 1", 1, 1)
    ]
    round_id, total = await start_round(store)
    bot = build_bot(TOKEN, server.base_url, retries=False)
    try:
        sender = RoundSender(store, bot, RateLimiter(rate=200), backoff=0.05)
        report = await sender.run(round_id)
    finally:
        await bot.session.close()
    assert total == 40
    assert report.counts["sent"] == 39
    assert report.reasons == Counter({"failed:blocked": 1})
    got = delivered(server)
    assert set(got) == {chat for _, chat in people} - {blocked_chat}
    assert all(count == 1 for count in got.values())  # never two reminders
    assert sends_by_chat(server)[flaky_chat] == 3  # retried after two 502s
    assert sends_by_chat(server)[throttled_chat] == 2  # sent again after the pause
    assert sender.stats.throttled == 1
    returnee = await store.get(people[3][0])
    assert returnee.status == "unreachable"
    reminder = next(m for m in server.messages[people[0][1]])
    assert reminder.protect_content and "Commencer le questionnaire" in reminder.labels()


async def test_a_killed_round_restarts_without_duplicates_or_losses(harness: Harness) -> None:
    server, store = harness.server, harness.store
    assert store is not None
    people = await enrol_many(store, 30)
    round_id, _ = await start_round(store)
    bot = build_bot(TOKEN, server.base_url, retries=False)
    lease = timedelta(milliseconds=300)
    try:
        first = RoundSender(store, bot, RateLimiter(rate=None), batch_size=10, lease=lease)
        with pytest.raises(SenderStopped):
            await first.run(round_id, stop_after=12)  # killed: 12 sent, 8 leased, 10 pending
        assert len(delivered(server)) == 12
        time.sleep(0.35)  # the dead sender's lease runs out
        second = RoundSender(store, bot, RateLimiter(rate=None), batch_size=10, lease=lease)
        report = await second.run(round_id)
    finally:
        await bot.session.close()
    assert report.counts["sent"] == 30
    got = delivered(server)
    assert set(got) == {chat for _, chat in people} and set(got.values()) == {1}


async def test_an_opt_out_during_the_round_is_respected(harness: Harness) -> None:
    server, store = harness.server, harness.store
    assert store is not None
    people = await enrol_many(store, 10)
    stopped: list[tuple[str, int]] = []

    async def stop_someone_not_yet_reminded(chat_id: int) -> None:
        if not stopped:  # on the first send, someone further down the list says STOP
            waiting = [p for p in people if p[1] != chat_id and p[1] not in delivered(server)]
            stopped.append(waiting[-1])
            await store.withdraw_consent(waiting[-1][0], language="fr")

    server.on_send.append(stop_someone_not_yet_reminded)
    round_id, total = await start_round(store)
    assert total == 10
    bot = build_bot(TOKEN, server.base_url, retries=False)
    try:
        report = await RoundSender(store, bot, RateLimiter(rate=None), concurrency=1).run(round_id)
    finally:
        await bot.session.close()
    assert stopped and stopped[0][1] not in delivered(server)
    assert report.counts["sent"] == 9 and report.counts["skipped"] == 1


async def test_reminder_button_leads_into_the_survey(harness: Harness, user_factory) -> None:  # type: ignore[no-untyped-def]
    from tests.e2e.test_journey import enrol_and_consent

    store = harness.store
    assert store is not None
    user = user_factory("en")
    await enrol_and_consent(harness, user)  # return date 2026-10-01: initial is due
    assert await send_round(harness) == 1
    reminder = await user.expect("It is time for your first follow-up survey")
    user.press("Start the survey", reminder)
    await user.expect("Question 1 of 32")


async def test_a_reminder_to_someone_half_way_says_continue(harness: Harness, user_factory) -> None:  # type: ignore[no-untyped-def]
    from tests.e2e.test_journey import enrol_and_consent

    store = harness.store
    assert store is not None
    user = user_factory("fr")
    await enrol_and_consent(harness, user, "fr")
    user.press("Satisfait(e)")
    await user.expect("Question 2 sur 32")
    await send_round(harness)
    reminder = await user.expect("Vous avez répondu à une partie de votre questionnaire")
    assert "commencer" not in reminder.text
    user.press("Continuer le questionnaire", reminder)
    await user.expect("Question 2 sur 32")


async def test_a_round_to_a_thousand_returnees_with_faults(harness: Harness, capsys) -> None:  # type: ignore[no-untyped-def]
    server, store = harness.server, harness.store
    assert store is not None
    people = await enrol_many(store, 1000)
    for _, chat in people[::97]:
        server.blocked.add(chat)
    for _, chat in people[5::89]:
        server.chat_faults[chat] = [_fault(500, times=1)]
    server.fail("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    round_id, total = await start_round(store)
    bot = build_bot(TOKEN, server.base_url, retries=False)
    started = time.monotonic()
    try:
        sender = RoundSender(store, bot, RateLimiter(rate=None), backoff=0.05)
        report = await sender.run(round_id)
    finally:
        await bot.session.close()
    elapsed = time.monotonic() - started
    blocked = len(people[::97])
    assert report.counts["sent"] == 1000 - blocked
    assert report.reasons == Counter({"failed:blocked": blocked})
    assert set(delivered(server).values()) == {1}
    with capsys.disabled():
        print(
            f"\n[round] {total} reminders on {harness.backend.name}: {report.counts['sent']} sent, "
            f"{blocked} blocked, in {elapsed:.1f} s; sender ceiling {sender.stats.rate:.0f} msg/s "
            "(no limit, 1 retry_after pause)"
        )


def _fault(status: int, times: int):  # type: ignore[no-untyped-def]
    from tests.e2e.fake_telegram import Fault

    return Fault("sendMessage", status, f"Error {status}", None, times)
