"""The reminder outbox: a send claims its row only while the returnee is still active,
in the claiming statement itself."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select, text, update

from storage import outbox
from storage.models import Reminder, Returnee
from storage.store import Store
from tests.backends import Backend
from tests.storage.helpers import consented_returnee


async def one_reminder(store: Store) -> tuple[str, str]:
    """(returnee id, reminder id) of a round with one pending reminder."""
    returnee = await consented_returnee(store)
    preview = outbox.RoundPreview(
        wave="initial",
        country=None,
        due=[outbox.DueReturnee(returnee.id, returnee.public_id, None, None, "active", None, None)],
    )
    await outbox.create_round(store, preview, actor="staff:cw")
    async with store.sessions() as session:
        reminder_id = await session.scalar(select(Reminder.id))
    assert reminder_id is not None
    return returnee.id, reminder_id


async def reminder_status(store: Store, reminder_id: str) -> str:
    async with store.sessions() as session:
        return str(await session.scalar(select(Reminder.status).where(Reminder.id == reminder_id)))


async def test_a_row_is_not_claimed_for_a_returnee_who_is_no_longer_active(store: Store) -> None:
    returnee_id, reminder_id = await one_reminder(store)
    # the returnee's status changed without the pending row being touched (the window
    # between a sender's last look and its claim)
    async with store.sessions.begin() as session:
        await session.execute(
            update(Returnee).where(Returnee.id == returnee_id).values(status="opted_out")
        )
    assert not await outbox.mark_sending(store, reminder_id)
    assert await reminder_status(store, reminder_id) == "pending"
    async with store.sessions.begin() as session:
        await session.execute(
            update(Returnee).where(Returnee.id == returnee_id).values(status="active")
        )
    assert await outbox.mark_sending(store, reminder_id)
    assert await reminder_status(store, reminder_id) == "sending"
    assert not await outbox.mark_sending(store, reminder_id)  # once


async def test_a_claim_waits_for_an_opt_out_being_written_and_sees_it(
    store: Store, backend: Backend
) -> None:
    if backend.name != "postgresql":
        pytest.skip("one writer at a time on SQLite: no concurrent opt-out to wait for")
    returnee_id, reminder_id = await one_reminder(store)
    async with store.engine.connect() as opt_out:
        transaction = await opt_out.begin()
        await opt_out.execute(
            text("UPDATE returnees SET status = 'opted_out', consent_version = NULL WHERE id = :i"),
            {"i": returnee_id},
        )
        claiming = asyncio.create_task(outbox.mark_sending(store, reminder_id))
        await asyncio.sleep(0.5)
        assert not claiming.done()  # waiting for the opt-out's row lock
        await transaction.commit()
    assert await claiming is False
    assert await reminder_status(store, reminder_id) == "pending"


async def test_every_due_returnee_is_listed_under_their_real_reason(store: Store) -> None:
    from datetime import date

    from sqlalchemy import func

    from storage.models import AuditEntry
    from storage.waves import WaveWindows
    from tests.storage.helpers import complete_and_score

    stopped = await consented_returnee(store, "CASE-STOPPED")  # completed, then stopped
    await complete_and_score(store, stopped.id, "fine")
    await store.withdraw_consent(stopped.id, language="fr")
    declined = await store.enroll(
        case_ref="CASE-DECLINED", return_date=date(2026, 5, 1), country="GN", language="fr"
    )
    await store.decline_consent(declined.id, version="v1", language="fr")
    waiting = await consented_returnee(store, "CASE-001")  # active, not started

    due = await outbox.due_returnees(
        store,
        wave="initial",
        country=None,
        windows=WaveWindows(),
        today=date(2026, 6, 1),
        include_case_ref=True,
        actor="staff:cw",
    )
    reasons = {d.returnee_id: d.skip for d in due}
    assert reasons == {stopped.id: "opted_out", declined.id: "declined", waiting.id: None}
    cases = {d.returnee_id: d.case_ref for d in due}
    assert cases[waiting.id] == "CASE-001" and cases[declined.id] is None  # nothing kept
    async with store.sessions() as session:
        reads = await session.scalar(
            select(func.count()).where(AuditEntry.action == "read_case_ref")
        )
    assert reads == 3
    later = await outbox.due_returnees(
        store, wave=None, country=None, windows=WaveWindows(), today=date(2026, 11, 15)
    )  # six and a half months after the return: the intermediate wave
    assert {d.wave for d in later if d.returnee_id == waiting.id} == {"intermediate"}
    assert all(d.case_ref is None for d in later)


async def test_a_paused_round_is_not_claimed_nor_listed_open_until_it_is_resumed(
    store: Store,
) -> None:
    _, reminder_id = await one_reminder(store)
    (round_id,) = await outbox.open_rounds(store)
    assert await outbox.set_paused(store, round_id, True, actor="staff:cw")
    assert await outbox.claim(store, limit=10) == []
    assert await outbox.next_attempt(store, round_id) is None
    assert await outbox.open_rounds(store) == []
    paused = await outbox.report(store, round_id)
    assert paused.paused and not paused.finished and paused.pending == 1

    assert await outbox.set_paused(store, round_id, False, actor="staff:cw")
    (claimed,) = await outbox.claim(store, limit=10)
    assert claimed.reminder_id == reminder_id
    await outbox.finish_round(store, round_id)
    assert not await outbox.set_paused(store, round_id, True, actor="staff:cw")  # finished
    (listed,) = await outbox.recent_rounds(store)
    assert listed.finished and not listed.paused and listed.created_by == "staff:cw"
    audited = [(e.action, e.detail) for e in await store.audit_entries()]
    assert audited.count(("pause_round", round_id)) == 1
    assert audited.count(("resume_round", round_id)) == 1


async def test_only_the_case_references_shown_are_decrypted_and_audited(store: Store) -> None:
    from datetime import date

    from storage.waves import WaveWindows

    for i in range(3):
        await store.enroll(
            case_ref=f"CASE-SHOWN-{i}", return_date=date(2026, 5, 1), country="GN", language="fr"
        )
    before = len(await store.audit_entries())
    due = await outbox.due_returnees(
        store,
        wave="initial",
        country=None,
        windows=WaveWindows(),
        today=date(2026, 6, 1),
        include_case_ref=True,
        case_refs_for=2,
        actor="staff:cw",
    )
    assert [d.case_ref for d in due] == ["CASE-SHOWN-0", "CASE-SHOWN-1", None]
    read = [e for e in (await store.audit_entries())[before:] if e.action == "read_case_ref"]
    assert sorted(e.returnee_id for e in read) == sorted(d.returnee_id for d in due[:2])


async def test_a_returnee_answering_in_the_terminal_is_due_but_not_sent_reminders(
    store: Store,
) -> None:
    from datetime import date

    from storage.waves import WaveWindows

    terminal = await store.enroll(
        case_ref="console:amina", return_date=date(2026, 5, 1), country=None, language="fr"
    )
    await store.bind_telegram(terminal.id, "amina", 0, channel="console")
    await store.give_consent(terminal.id, version="v1", language="fr")
    chat = await consented_returnee(store)  # on Telegram
    assert (await store.get(terminal.id)).channel == "console"
    assert (await store.get(chat.id)).channel == "telegram"
    preview = await outbox.preview_round(
        store, wave="initial", country=None, windows=WaveWindows(), today=date(2026, 6, 1)
    )
    reasons = {d.returnee_id: (d.channel, d.skip) for d in preview.due}
    assert reasons == {
        terminal.id: ("console", "no_reminders_there"),
        chat.id: ("telegram", None),
    }
    # a row made for them anyway (an older round) is skipped when claimed, never sent
    forced = outbox.RoundPreview(
        wave="initial",
        country=None,
        due=[outbox.DueReturnee(terminal.id, terminal.public_id, None, None, "active", None, None)],
    )
    round_id = await outbox.create_round(store, forced, actor="staff:cw")
    assert await outbox.claim(store, limit=10, round_id=round_id) == []
    report = await outbox.report(store, round_id)
    assert report.counts["skipped"] == 1 and report.reasons["skipped:no_reminders_there"] == 1
