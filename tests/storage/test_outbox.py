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
