"""Privacy guarantees: a canary never appears in clear; erasure is complete; keys rotate."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy import select

from flows.state import Choose
from storage.crypto import Keyring, WrongKeyError
from storage.db import make_engine
from storage.models import Answer, Base, DataKey, Feedback
from storage.redaction import RedactingFilter, sensitive
from storage.store import Store
from tests.backends import Backend
from tests.storage.helpers import (
    answer,
    assert_absent,
    complete_and_score,
    consented_returnee,
    database_dump,
)

CANARY = "CANARY-7f3a9-zebra-mango-answer"
CASE_CANARY = "CASE-CANARY-55821"


async def test_canary_never_reaches_the_database_or_the_logs_in_clear(
    backend: Backend, keyring: Keyring, caplog: pytest.LogCaptureFixture
) -> None:
    from storage.db import upgrade

    # SQL, parameters and result rows are logged at DEBUG by SQLAlchemy's echo
    caplog.set_level(logging.DEBUG)
    caplog.handler.addFilter(RedactingFilter())  # as configure_logging installs it
    raw: list[str] = []

    class Raw(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            raw.append(record.getMessage())

    raw_handler = Raw(level=logging.DEBUG)
    logging.getLogger().handlers.insert(0, raw_handler)  # sees records before redaction
    engine = make_engine(backend.url, echo="debug")
    await upgrade(engine)
    store = Store(engine, keyring)
    try:
        await store.verify()
        returnee = await consented_returnee(store, case_ref=CASE_CANARY)
        with sensitive(CANARY):
            await complete_and_score(store, returnee.id, CANARY)
            await store.add_feedback(returnee.id, CANARY, rating=3, anonymous=False)
            await store.add_feedback(returnee.id, CANARY, rating=None, anonymous=True)
            logging.getLogger("rssbot.test").info("handling %s", CANARY)  # a careless log line
        # reading it back works, so it was stored
        data = await store.my_data(returnee.id)
        assert data["surveys"][0]["answers"]["ctx_comment"]["text"] == CANARY
        assert data["case_ref"] == CASE_CANARY
    finally:
        await store.close()
        logging.getLogger().removeHandler(raw_handler)

    # our code and SQLAlchemy never log it: the only raw line with it is the careless one
    assert [line for line in raw if CANARY in line] == [f"handling {CANARY}"]
    assert not [line for line in raw if CASE_CANARY in line]

    dump = database_dump(backend)
    assert len(dump) > 10_000
    assert_absent(CANARY, dump)
    assert_absent(CASE_CANARY, dump)
    assert_absent("424242", dump)  # the Telegram user id is only kept as a pseudonym

    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "INSERT INTO answers" in logged  # the log really was at DEBUG
    assert CANARY not in logged
    assert CASE_CANARY not in logged


def _row_values(row: Any) -> list[Any]:
    return list(row._mapping.values())


async def _all_rows(store: Store) -> dict[str, list[list[Any]]]:
    out: dict[str, list[list[Any]]] = {}
    async with store.sessions() as session:
        for table in Base.metadata.sorted_tables:
            out[table.name] = [
                _row_values(r) for r in (await session.execute(table.select())).all()
            ]
    return out


#: rows kept on purpose after an erasure, stripped of the identity (checked below)
SURVIVES_ERASURE = {"audit_log"}


async def _rows_about(store: Store, returnee_id: str) -> set[str]:
    """Primary keys of every row that leads to the returnee through foreign keys."""
    found: dict[str, set[str]] = {"returnees": {returnee_id}}
    async with store.sessions() as session:
        changed = True
        while changed:
            changed = False
            for table in Base.metadata.sorted_tables:
                if table.name in SURVIVES_ERASURE:
                    continue
                pk = next(iter(table.primary_key.columns))
                for fk in table.foreign_keys:
                    targets = found.get(fk.column.table.name, set())
                    if not targets:
                        continue
                    rows = await session.execute(select(pk).where(fk.parent.in_(sorted(targets))))
                    new = {str(r[0]) for r in rows.all()} - found.setdefault(table.name, set())
                    if new:
                        found[table.name] |= new
                        changed = True
    return set().union(*found.values())


def _mentions(values: list[Any], needles: set[str]) -> bool:
    for value in values:
        if isinstance(value, str) and any(n in value for n in needles):
            return True
        if isinstance(value, bytes) and any(n.encode() in value for n in needles):
            return True
    return False


async def test_erasure_deletes_every_row_in_every_table_and_the_data_key(store: Store) -> None:
    gone = await consented_returnee(store, case_ref="CASE-001")
    kept = await consented_returnee(store, case_ref="CASE-002")
    for returnee in (gone, kept):
        await complete_and_score(store, returnee.id, "un commentaire")
        await store.add_feedback(returnee.id, "linked", rating=5, anonymous=False)
        await store.case_ref(returnee.id, actor="staff:cw")  # audited read
    anonymous = await store.add_feedback(gone.id, "anonymous words", rating=1, anonymous=True)
    from storage import outbox

    preview = outbox.RoundPreview(
        wave="intermediate",
        country=None,
        due=[
            outbox.DueReturnee(r.id, r.public_id, None, None, "active", None, None)
            for r in (gone, kept)
        ],
    )
    await outbox.create_round(store, preview, actor="staff:cw")  # a reminder for each
    pseudonym = store.keyring.pseudonym("telegram", 424242)
    before = await _all_rows(store)
    linked = await _rows_about(store, gone.id)
    needles = {gone.id, gone.public_id, pseudonym} | linked
    # responses, 32 answers, scores, consent, feedback, audit entries, data key...
    assert sum(_mentions(r, needles) for rows in before.values() for r in rows) >= 41
    assert any(_mentions(r, needles) for r in before["reminders"])

    await store.erase(gone.id, actor="returnee")

    after = await _all_rows(store)
    # every table of the schema is walked: a table added later cannot be forgotten
    assert set(after) == set(Base.metadata.tables)
    leftovers = {
        name: rows for name, rows in after.items() if any(_mentions(r, needles) for r in rows)
    }
    assert leftovers == {}
    # the other returnee is untouched, anonymous feedback stays and is still readable
    assert (await store.get(kept.id)).status == "active"
    assert (await store.my_data(kept.id))["case_ref"] == "CASE-002"
    feedback = {f["receipt"]: f for f in await store.read_feedback(actor="staff:fo")}
    assert feedback[anonymous]["text"] == "anonymous words"
    async with store.sessions() as session:
        assert await session.get(DataKey, f"returnee:{gone.id}") is None
        assert await session.scalar(select(Feedback).where(Feedback.receipt_code == anonymous))
    actions = [e.action for e in await store.audit_entries()]
    assert "erasure" in actions


async def test_a_backup_taken_before_erasure_is_unreadable_after_the_next_rotation(
    store: Store,
) -> None:
    returnee = await consented_returnee(store)
    await answer(store, returnee.id, [Choose(option="satisfied")])
    owner = f"returnee:{returnee.id}"
    async with store.sessions() as session:  # what a backup taken now would hold
        backup_key = await session.get(DataKey, owner)
        assert backup_key is not None
    assert store.keyring.unwrap(backup_key.kek_id, backup_key.wrapped, owner)

    await store.erase(returnee.id)
    async with store.sessions() as session:  # the live database no longer has the key
        assert await session.get(DataKey, owner) is None

    # the next rotation retires the key-encryption key that wrapped it
    old = store.keyring.active
    rotated = Keyring.generate()
    store.keyring.keks[rotated.active] = rotated.keks[rotated.active]
    store.keyring.active = rotated.active
    await store.verify()
    await store.rewrap_data_keys()
    del store.keyring.keks[old]
    with pytest.raises(WrongKeyError):
        store.keyring.unwrap(backup_key.kek_id, backup_key.wrapped, owner)


async def test_key_rotation_rewraps_every_data_key_and_resumes_after_interruption(
    store: Store, backend: Backend
) -> None:
    ids = []
    for n in range(3):
        returnee = await consented_returnee(store, case_ref=f"CASE-{n:03d}") if n == 0 else None
        if returnee is None:
            returnee = await store.enroll(
                case_ref=f"CASE-{n:03d}", return_date=None, country=None, language="en"
            )
            await store.give_consent(returnee.id, version="v", language="en")
        await answer(store, returnee.id, [Choose(option="satisfied")])
        ids.append(returnee.id)
    await store.add_feedback(ids[0], "anonymous", rating=None, anonymous=True)
    async with store.sessions() as session:
        ciphertexts = {a.id: a.value_enc for a in await session.scalars(select(Answer))}

    old = store.keyring.active
    rotated = Keyring.generate()
    store.keyring.keks[rotated.active] = rotated.keks[rotated.active]
    store.keyring.active = rotated.active
    await store.verify()

    class Interrupted(Exception):
        pass

    def crash(done: int) -> None:
        raise Interrupted

    with pytest.raises(Interrupted):
        await store.rewrap_data_keys(batch_size=1, after_batch=crash)
    in_use = await store.keys_in_use()
    assert in_use == {old: 3, rotated.active: 1}  # one batch committed before the crash

    assert await store.rewrap_data_keys(batch_size=2) == 3  # resumes with what is left
    assert await store.keys_in_use() == {rotated.active: 4}

    # retire the old key: everything still opens, answers were never re-encrypted
    del store.keyring.keks[old]
    reopened = Store(make_engine(backend.url), store.keyring)
    try:
        await reopened.verify()
        for returnee_id in ids:
            data = await reopened.my_data(returnee_id)
            assert data["surveys"][0]["answers"]["econ_satisfaction"]["option"] == "satisfied"
        async with reopened.sessions() as session:
            assert {a.id: a.value_enc for a in await session.scalars(select(Answer))} == ciphertexts
    finally:
        await reopened.close()

    # a keyring that only has the old key is now refused
    stale = Keyring(
        active=old, keks={old: rotated.keks[rotated.active]}, pepper=store.keyring.pepper
    )
    refused = Store(make_engine(backend.url), stale)
    try:
        with pytest.raises(WrongKeyError):
            await refused.verify()
    finally:
        await refused.close()
