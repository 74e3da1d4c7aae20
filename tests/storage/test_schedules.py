"""Scheduled reminder rounds with an injected clock: a round the day a returnee's window
opens, at the schedule's hour, and not again the next day (unless a repeat interval)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from storage import schedules
from storage.models import Reminder, ReminderRound
from storage.store import Store
from storage.waves import WaveWindows

WINDOWS = WaveWindows()
#: returned 1 June 2026: the intermediate window (6-9 months) opens on 1 December
RETURNED = date(2026, 6, 1)


def at(day: int, hour: int, month: int = 12) -> datetime:
    return datetime(2026, month, day, hour, 30, tzinfo=UTC)


async def due_returnee(store: Store, case_ref: str = "CASE-1", chat: int = 1001) -> str:
    returnee = await store.enroll(
        case_ref=case_ref, return_date=RETURNED, country="GN", language="en"
    )
    await store.bind_telegram(returnee.id, chat, 99)
    await store.give_consent(returnee.id, version="test-v1", language="en")
    return returnee.id


async def tick_at(store: Store, now: datetime) -> list[schedules.ScheduledRun]:
    """A tick at ``now``, on the store's clock (rounds and reminders are dated by it)."""
    store.clock = lambda: now
    return await schedules.tick(store, windows=WINDOWS)


async def reminders(store: Store) -> int:
    async with store.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Reminder)) or 0)


async def test_a_schedule_reminds_the_day_the_window_opens_and_not_the_next(store: Store) -> None:
    await due_returnee(store)
    added = await schedules.add_schedule(
        store, wave="intermediate", country=None, hour=9, repeat_days=None, actor="cli:t"
    )
    # the day before: nobody due yet (the day's run is spent on nobody)
    assert await tick_at(store, at(30, 10, month=11)) == [schedules.ScheduledRun(added, None, 0, 0)]
    assert await tick_at(store, at(1, 8)) == []  # before 09:00
    [run] = await tick_at(store, at(1, 9))
    assert run.round_id is not None and (run.reminded, run.already_reminded) == (1, 0)
    assert await reminders(store) == 1
    assert await tick_at(store, at(1, 15)) == []  # once a day
    [run] = await tick_at(store, at(2, 9))
    assert (run.round_id, run.reminded, run.already_reminded) == (None, 0, 1)
    assert await reminders(store) == 1
    async with store.sessions() as session:
        started = await session.scalar(select(ReminderRound.schedule_id))
    assert started == added.id


async def test_a_repeat_interval_reminds_again_after_that_many_days(store: Store) -> None:
    await due_returnee(store)
    await schedules.add_schedule(
        store, wave="intermediate", country=None, hour=9, repeat_days=3, actor="cli:t"
    )
    counts = []
    for day in range(1, 8):
        await tick_at(store, at(day, 9))
        counts.append(await reminders(store))
    assert counts == [1, 1, 1, 2, 2, 2, 3]  # 1, 4 and 7 December


async def test_a_paused_schedule_does_not_run_and_a_resumed_one_does(store: Store) -> None:
    await due_returnee(store)
    added = await schedules.add_schedule(
        store, wave="intermediate", country="gn", hour=0, repeat_days=None, actor="cli:t"
    )
    assert added.country == "GN"
    assert await schedules.set_active(store, added.id, False, actor="cli:t")
    assert await tick_at(store, at(1, 9)) == []
    assert await schedules.set_active(store, added.id, True, actor="cli:t")
    [run] = await tick_at(store, at(1, 9))
    assert run.reminded == 1
    assert await schedules.remove_schedule(store, added.id, actor="cli:t")
    assert await schedules.list_schedules(store) == []


async def test_another_country_and_a_reminder_from_a_staff_round_count(store: Store) -> None:
    first = await due_returnee(store)
    await due_returnee(store, "CASE-2", 1002)
    elsewhere = await schedules.add_schedule(
        store, wave="intermediate", country="SN", hour=9, repeat_days=None, actor="cli:t"
    )
    [run] = await tick_at(store, at(1, 9))
    assert run.schedule == elsewhere and run.reminded == 0  # nobody due in Senegal
    from storage import outbox

    preview = await outbox.preview_round(
        store, wave="intermediate", country=None, windows=WINDOWS, today=date(2026, 12, 1)
    )
    preview.due = [d for d in preview.due if d.returnee_id == first]
    await outbox.create_round(store, preview, actor="staff:cw")  # staff reminded the first
    await schedules.add_schedule(
        store, wave="intermediate", country=None, hour=9, repeat_days=None, actor="cli:t"
    )
    runs = await tick_at(store, at(2, 9))
    reminded = [r for r in runs if r.round_id is not None]
    assert [(r.reminded, r.already_reminded) for r in reminded] == [(1, 1)]


@pytest.mark.parametrize(("hour", "repeat"), [(24, None), (-1, None), (9, 0)])
async def test_bad_schedules_are_refused(store: Store, hour: int, repeat: int | None) -> None:
    with pytest.raises(ValueError):
        await schedules.add_schedule(
            store, wave="initial", country=None, hour=hour, repeat_days=repeat, actor="cli:t"
        )


def test_schedules_on_the_command_line(initialised: object) -> None:
    from typer.testing import CliRunner

    from bot.cli import app

    runner = CliRunner()
    added = runner.invoke(
        app, ["round", "schedule", "add", "--wave", "final", "--hour", "7", "--repeat-days", "14"]
    )
    assert added.exit_code == 0, added.output
    assert "final, daily at 07:00 UTC, again every 14 days" in added.output
    short = added.output.split()[1].rstrip(":")
    listed = runner.invoke(app, ["round", "schedule", "list"])
    assert f"{short}  final, daily at 07:00 UTC" in listed.output and "never" in listed.output
    paused = runner.invoke(app, ["round", "schedule", "pause", short[:4]])
    assert (
        paused.exit_code == 0
        and "(paused)" in runner.invoke(app, ["round", "schedule", "list"]).output
    )
    assert runner.invoke(app, ["round", "schedule", "resume", short]).exit_code == 0
    ticked = runner.invoke(app, ["round", "schedule", "tick"])
    assert ticked.exit_code == 0, ticked.output
    assert runner.invoke(app, ["round", "schedule", "remove", short]).exit_code == 0
    missing = runner.invoke(app, ["round", "schedule", "pause", short])
    assert missing.exit_code == 1 and "no schedule" in missing.output
    bad = runner.invoke(app, ["round", "schedule", "add", "--wave", "final", "--hour", "25"])
    assert bad.exit_code == 2 and "0 to 23" in bad.output
