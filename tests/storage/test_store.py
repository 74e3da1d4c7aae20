"""The store on SQLite and PostgreSQL: consent gate, persistence, resume, scores, feedback."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select, text

from flows import resume, scored_answers, start
from flows.state import ChoiceAnswer, Choose, QuestionAsked, Resume, TextAnswer
from scoring import default_weight_table, score
from storage.crypto import DecryptionError, Keyring, WrongKeyError
from storage.db import head_revision, make_engine
from storage.models import (
    Answer,
    AuditEntry,
    ConsentEvent,
    DataKey,
    Feedback,
    FeedbackQuota,
    Returnee,
    SurveyResponse,
)
from storage.staff_audit import BadStaffAccount
from storage.store import ConsentRequired, FeedbackLimitReached, SchemaNotReady, Store
from tests.backends import Backend
from tests.storage.helpers import RSS, answer, complete_and_score, consented_returnee


async def count(store: Store, model: type) -> int:
    async with store.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_nothing_is_stored_before_consent(store: Store) -> None:
    returnee = await store.enroll(
        case_ref="CASE-9", return_date=date(2026, 1, 1), country="ma", language="ar"
    )
    step = resume(RSS, start(RSS, "ar").state, Choose(option="satisfied"))
    with pytest.raises(ConsentRequired):
        await store.save_step(returnee.id, "initial", step)
    assert await count(store, Answer) == 0 and await count(store, SurveyResponse) == 0


async def test_a_declined_returnee_is_refused_as_without_consent(store: Store) -> None:
    """Declining removes the data key: saving is still refused for want of consent."""
    returnee = await store.enroll(
        case_ref="CASE-10", return_date=date(2026, 1, 1), country="GN", language="fr"
    )
    await store.decline_consent(returnee.id, version="v1", language="fr")
    step = resume(RSS, start(RSS, "fr").state, Choose(option="satisfied"))
    with pytest.raises(ConsentRequired):
        await store.save_step(returnee.id, "initial", step, update_id=5)
    assert await count(store, Answer) == 0 and await count(store, DataKey) == 0
    assert not await store.is_processed(5)


async def test_answers_survive_a_restart_and_resume_at_the_same_question(
    store: Store, backend: Backend, keyring: Keyring
) -> None:
    returnee = await consented_returnee(store)
    inputs = [Choose(option="satisfied"), Choose(option="never"), Choose(option="yes")]
    await answer(store, returnee.id, inputs)
    # a new process: new engine, same database and keys
    again = Store(make_engine(backend.url), keyring)
    try:
        await again.verify()
        state = await again.load_state(returnee.id, "initial", RSS)
        assert state is not None
        assert state.answers["econ_satisfaction"] == ChoiceAnswer(option="satisfied")
        assert state.current == "econ_borrow_frequency"
        step = resume(RSS, state, Resume())
        assert step.events[-1] == QuestionAsked(
            question="econ_borrow_frequency", number=4, total=32
        )
    finally:
        await again.close()


async def test_changed_and_discarded_answers_are_persisted(store: Store) -> None:
    returnee = await consented_returnee(store)
    await answer(store, returnee.id, [Choose(option="satisfied"), Choose(option="never")])
    state = await store.load_state(returnee.id, "initial", RSS)
    assert state is not None
    from flows.state import Back

    back = resume(RSS, state, Back())
    await store.save_step(returnee.id, "initial", back)
    step = resume(RSS, back.state, Choose(option="rarely"))
    await store.save_step(returnee.id, "initial", step)
    state = await store.load_state(returnee.id, "initial", RSS)
    assert state is not None and state.answers["econ_food_reduction"] == ChoiceAnswer(
        option="rarely"
    )
    assert await count(store, Answer) == 2  # updated in place, not duplicated


async def test_completed_survey_is_scored_with_its_weights_version(store: Store) -> None:
    returnee = await consented_returnee(store)
    await complete_and_score(store, returnee.id, "Tout va bien")
    assert await store.response_status(returnee.id, "initial") == "completed"
    [stored] = await store.scores(returnee.id)
    assert stored.wave == "initial"
    assert stored.weights_version == stored.values["weights_version"]
    state = await store.load_state(returnee.id, "initial", RSS)
    assert state is not None and state.answers["ctx_comment"] == TextAnswer(text="Tout va bien")
    table = default_weight_table()
    expected = score(
        table, {k: v for k, v in scored_answers(RSS, state.answers).items() if k in table.elements}
    )
    assert stored.values == expected.as_dict()
    assert stored.values["composite"] is not None


async def test_withdraw_stops_storing_and_consent_again_opts_back_in(store: Store) -> None:
    returnee = await consented_returnee(store)
    await answer(store, returnee.id, [Choose(option="satisfied")])
    await store.withdraw_consent(returnee.id, language="fr")
    assert (await store.get(returnee.id)).status == "opted_out"
    state = await store.load_state(returnee.id, "initial", RSS)
    assert state is not None
    with pytest.raises(ConsentRequired):
        await store.save_step(returnee.id, "initial", resume(RSS, state, Choose(option="never")))
    await store.give_consent(returnee.id, version="test-v2", language="fr")
    await store.save_step(returnee.id, "initial", resume(RSS, state, Choose(option="never")))
    async with store.sessions() as session:
        kinds = list(
            await session.scalars(
                select(ConsentEvent.kind)
                .where(ConsentEvent.returnee_id == returnee.id)
                .order_by(ConsentEvent.at)
            )
        )
    assert kinds == ["given", "withdrawn", "given"]


async def test_declining_keeps_only_a_pseudonymous_mark(store: Store) -> None:
    returnee = await store.enroll(
        case_ref="CASE-DECLINE", return_date=date(2026, 1, 1), country="sn", language="fr"
    )
    await store.bind_telegram(returnee.id, 777, 777)
    await store.decline_consent(returnee.id, version="test-v1", language="fr")
    async with store.sessions() as session:
        row = await session.get(Returnee, returnee.id)
        assert row is not None
        assert (row.status, row.case_ref_enc, row.chat_id_enc, row.country, row.return_date) == (
            "declined",
            None,
            None,
            None,
            None,
        )
        assert row.telegram_pseudonym is not None
        assert await session.get(DataKey, f"returnee:{returnee.id}") is None
    assert (await store.find_by_telegram(777)) is not None


async def test_feedback_is_encrypted_and_reading_it_is_audited(store: Store) -> None:
    returnee = await consented_returnee(store)
    linked = await store.add_feedback(
        returnee.id, "Merci pour la formation", rating=4, anonymous=False
    )
    anonymous = await store.add_feedback(
        returnee.id, "Le versement était en retard", rating=2, anonymous=True
    )
    assert linked.startswith("FB-") and linked != anonymous
    items = await store.read_feedback(actor="staff:officer-1")
    assert {(i["receipt"], i["anonymous"], i["text"]) for i in items} == {
        (linked, False, "Merci pour la formation"),
        (anonymous, True, "Le versement était en retard"),
    }
    entries = await store.audit_entries()
    assert [(e.actor, e.action) for e in entries if e.action == "read_feedback"] == [
        ("staff:officer-1", "read_feedback")
    ]
    with pytest.raises(Exception, match="between 1 and 5"):
        await store.add_feedback(returnee.id, "x", rating=9, anonymous=True)


async def test_case_reference_reads_are_audited(store: Store) -> None:
    returnee = await consented_returnee(store)
    assert await store.case_ref(returnee.id, actor="staff:cw-1") == "CASE-001"
    assert await store.chat_id(returnee.id) == 99
    async with store.sessions() as session:
        actions = list(
            await session.scalars(
                select(AuditEntry.action).where(AuditEntry.returnee_id == returnee.id)
            )
        )
    assert "read_case_ref" in actions


async def test_my_data_shows_everything_kept(store: Store) -> None:
    returnee = await consented_returnee(store)
    await answer(store, returnee.id, [Choose(option="satisfied")])
    await store.add_feedback(returnee.id, "Bien reçu", rating=None, anonymous=False)
    data = await store.my_data(returnee.id)
    assert data["case_ref"] == "CASE-001" and data["country"] == "GN"
    assert data["consent"][0]["kind"] == "given"
    assert data["surveys"][0]["answers"]["econ_satisfaction"] == {
        "kind": "choice",
        "option": "satisfied",
    }
    assert data["feedback"][0]["text"] == "Bien reçu"


async def test_tampered_or_moved_ciphertext_fails_to_decrypt(store: Store) -> None:
    returnee = await consented_returnee(store)
    await answer(store, returnee.id, [Choose(option="satisfied"), Choose(option="never")])
    async with store.sessions.begin() as session:
        rows = (await session.scalars(select(Answer).order_by(Answer.question_id))).all()
        first, second = rows
        first.value_enc = second.value_enc  # moved to another row
    with pytest.raises(DecryptionError):
        await store.load_state(returnee.id, "initial", RSS)
    async with store.sessions.begin() as session:
        row = await session.get(Answer, first.id)
        assert row is not None
        blob = bytearray(second.value_enc)
        blob[20] ^= 0xFF
        row.value_enc = bytes(blob)  # tampered
    with pytest.raises(DecryptionError):
        await store.load_state(returnee.id, "initial", RSS)


async def test_wrong_key_is_refused_before_anything_is_stored(
    store: Store, backend: Backend
) -> None:
    returnee = await consented_returnee(store)
    await answer(store, returnee.id, [Choose(option="satisfied")])
    stranger = Store(make_engine(backend.url), Keyring.generate())
    try:
        with pytest.raises(WrongKeyError):
            await stranger.verify()
    finally:
        await stranger.close()
    # same pepper, different key-encryption key under the same id: fingerprint mismatch
    forged = Keyring.generate()
    forged.pepper = store.keyring.pepper
    forged.keks = {store.keyring.active: forged.keks[forged.active]}
    forged.active = store.keyring.active
    impostor = Store(make_engine(backend.url), forged)
    try:
        with pytest.raises(WrongKeyError, match="does not match"):
            await impostor.verify()
    finally:
        await impostor.close()


async def test_unmigrated_database_is_refused(backend: Backend, keyring: Keyring) -> None:
    fresh = Store(make_engine(backend.url), keyring)
    try:
        with pytest.raises(SchemaNotReady, match="rssbot db upgrade"):
            await fresh.verify()
    finally:
        await fresh.close()


async def test_schema_matches_the_models(store: Store) -> None:
    """The migration creates exactly the tables the models declare."""
    from storage.models import Base

    def table_names(connection):  # type: ignore[no-untyped-def]
        from sqlalchemy import inspect

        return set(inspect(connection).get_table_names())

    async with store.engine.connect() as connection:
        names = await connection.run_sync(table_names)
    assert names - {"alembic_version"} == set(Base.metadata.tables)
    async with store.engine.connect() as connection:
        version = await connection.scalar(text("select version_num from alembic_version"))
    assert version == head_revision()

    def differences(connection):  # type: ignore[no-untyped-def]
        from alembic.autogenerate import compare_metadata
        from alembic.runtime.migration import MigrationContext

        return compare_metadata(MigrationContext.configure(connection), Base.metadata)

    async with store.engine.connect() as connection:
        assert await connection.run_sync(differences) == []  # a model change needs a migration


async def test_invites_are_single_use_hashed_and_expire(store: Store) -> None:
    from datetime import timedelta

    from storage.models import Invite
    from storage.store import InviteProblem

    returnee = await store.enroll(
        case_ref="CASE-INV", return_date=date(2026, 1, 1), country="ml", language="fr"
    )
    token = await store.create_invite(returnee.id)
    async with store.sessions() as session:
        stored = (await session.scalars(select(Invite))).one()
        assert token not in stored.token_hash and len(stored.token_hash) == 64
    with pytest.raises(InviteProblem) as unknown:
        await store.redeem_invite("nope", 1, 1)
    assert unknown.value.reason == "unknown"
    bound = await store.redeem_invite(token, 1001, 2002)
    assert bound.id == returnee.id and bound.bound
    assert (await store.find_by_telegram(1001)) is not None
    assert await store.chat_id(returnee.id) == 2002
    with pytest.raises(InviteProblem) as used:
        await store.redeem_invite(token, 1001, 2002)
    assert used.value.reason == "used"
    later = await store.create_invite(returnee.id, valid_days=0)
    store.clock = lambda: datetime.now(UTC) + timedelta(seconds=5)
    with pytest.raises(InviteProblem) as expired:
        await store.redeem_invite(later, 1001, 2002)
    assert expired.value.reason == "expired"


async def test_a_case_is_enrolled_once_and_a_reissued_invitation_revokes_the_old(
    store: Store,
) -> None:
    from storage.models import AuditEntry
    from storage.store import CaseAlreadyEnrolled, InviteProblem

    first = await store.enroll(
        case_ref="DUP-1", return_date=date(2026, 1, 1), country="gn", language="fr"
    )
    with pytest.raises(CaseAlreadyEnrolled) as duplicate:
        await store.enroll(case_ref=" dup-1", return_date=None, country=None, language="en")
    assert duplicate.value.holder.public_id == first.public_id
    lost = await store.create_invite(first.id)
    fresh = await store.reissue_invite(first.id, actor="staff:cw")
    with pytest.raises(InviteProblem) as revoked:
        await store.redeem_invite(lost, 1001, 2002)
    assert revoked.value.reason == "expired"
    assert (await store.redeem_invite(fresh, 1001, 2002)).id == first.id
    async with store.sessions() as session:
        audited = await session.scalar(
            select(AuditEntry).where(AuditEntry.action == "reissue_invite")
        )
    assert audited is not None and audited.returnee_id == first.id
    await store.decline_consent(first.id, version="v1", language="fr")
    with pytest.raises(InviteProblem) as declined:
        await store.reissue_invite(first.id)
    assert declined.value.reason == "declined"


async def test_updates_are_applied_once(store: Store) -> None:
    assert await store.update_state(10) == "new"
    await store.mark_processed(10)
    await store.mark_processed(10)  # again: no error
    assert await store.update_state(10) == "replied"
    assert await store.is_processed(10) and not await store.is_processed(11)


async def test_a_changed_answer_replaces_the_stored_one_in_its_row(
    store: Store,
) -> None:
    """Changing an answer re-encrypts it in its row (whatever that row's id), and the
    survey reads back only the new value."""
    from flows.state import Back

    returnee = await consented_returnee(store)
    await answer(store, returnee.id, [Choose(option="satisfied")])
    async with store.sessions.begin() as session:  # a row id of another form
        row = await session.scalar(select(Answer))
        assert row is not None
        dek = await store.keys.returnee(session, returnee.id)
        old_id = "00000000-0000-4000-8000-000000000001"
        value = store.dec(dek, "answers", row.id, "value", row.value_enc)
        row.id, row.value_enc = old_id, store.enc(dek, "answers", old_id, "value", value)
    state = await store.load_state(returnee.id, "initial", RSS)
    assert state is not None and state.answers["econ_satisfaction"].option == "satisfied"  # type: ignore[union-attr]
    back = resume(RSS, state, Back(question=state.current, seq=state.seq))
    await store.save_step(returnee.id, "initial", back)
    async with store.sessions() as session:  # going back keeps the answer
        assert await session.scalar(select(Answer.id)) == old_id
    again = resume(RSS, back.state, Choose(option="very_dissatisfied"))
    await store.save_step(returnee.id, "initial", again)
    loaded = await store.load_state(returnee.id, "initial", RSS)
    assert loaded is not None
    assert loaded.answers["econ_satisfaction"].option == "very_dissatisfied"  # type: ignore[union-attr]
    assert await count(store, Answer) == 1


async def test_update_context_reads_the_update_state_and_the_returnee_together(
    store: Store,
) -> None:
    returnee = await consented_returnee(store)
    await store.bind_telegram(returnee.id, 4242, 4242)
    state, found, survey = await store.update_context(31, 4242)
    assert state == "new" and found is not None and found.id == returnee.id
    # PostgreSQL reads the survey in progress with them (none yet); SQLite leaves it
    assert survey == ("unread" if store.hot is None else None)
    await store.mark_processed(31)
    assert (await store.update_context(31, 4242))[0] == "replied"
    assert await store.update_context(31, 999) == ("replied", None, None)  # a stranger
    assert await store.update_context(32, None) == ("new", None, None)  # no sender
    first = start(RSS, "en")
    await store.save_step(returnee.id, "initial", first)
    await store.save_step(
        returnee.id, "initial", resume(RSS, first.state, Choose(option="satisfied"))
    )
    survey = (await store.update_context(33, 4242)).survey
    opened = await store.open_survey(returnee.id)
    assert opened is not None and opened.state.answers
    if store.hot is not None:
        assert survey == opened  # the same survey, state and key as read on its own


async def test_a_step_of_a_survey_read_before_is_refused_once_consent_is_withdrawn(
    store: Store,
) -> None:
    """Saving with the survey read at the start of the update skips reading the consent
    again: the write itself must still refuse, and store nothing."""
    returnee = await consented_returnee(store)
    first = start(RSS, "en")
    await store.save_step(returnee.id, "initial", first)
    opened = await store.open_survey(returnee.id)
    assert opened is not None
    await store.withdraw_consent(returnee.id, language="en")
    step = resume(RSS, opened.state, Choose(option="satisfied"))
    with pytest.raises(ConsentRequired):
        await store.save_step(returnee.id, "initial", step, update_id=91, opened=opened)
    assert await count(store, Answer) == 0
    assert await store.update_state(91) == "new"
    # and with consent again, the same step is stored once
    await store.give_consent(returnee.id, version="v2", language="en")
    await store.save_step(returnee.id, "initial", step, update_id=91, opened=opened)
    assert await count(store, Answer) == 1 and await store.update_state(91) == "applied"


async def test_an_answer_and_its_update_id_are_recorded_together(store: Store) -> None:
    from storage.store import AlreadyApplied

    returnee = await consented_returnee(store)
    state = start(RSS, "en").state
    await store.save_step(returnee.id, "initial", start(RSS, "en"))
    step = resume(RSS, state, Choose(option="satisfied"))
    await store.save_step(returnee.id, "initial", step, update_id=77)
    # stored, but the next question may not have reached the returnee yet
    assert await store.update_state(77) == "applied"
    # the same update again (a worker died after the commit): refused, nothing changes
    later = resume(RSS, step.state, Choose(option="never"))
    with pytest.raises(AlreadyApplied):
        await store.save_step(returnee.id, "initial", later, update_id=77)
    loaded = await store.load_state(returnee.id, "initial", RSS)
    assert loaded is not None and list(loaded.answers) == ["econ_satisfaction"]
    await store.mark_processed(77)  # the handler finished: the reply was sent
    assert await store.update_state(77) == "replied"


async def test_old_processed_updates_are_forgotten(store: Store) -> None:
    from datetime import timedelta

    await store.mark_processed(1)
    real = store.clock
    store.clock = lambda: real() + timedelta(days=3)
    await store.mark_processed(2)
    assert await store.prune_processed() == 1
    assert not await store.is_processed(1) and await store.is_processed(2)


def test_the_hot_path_connects_with_the_options_of_the_database_url() -> None:
    """PostgreSQL's hot path has an asyncpg pool of its own: it must reach the same
    database, with the same options (TLS...), as SQLAlchemy does from DATABASE_URL."""
    from storage.pg_hotpath import asyncpg_connect_args

    engine = make_engine(
        "postgresql+asyncpg://rss:s%40cret@db.example:5433/rss"
        "?ssl=require&prepared_statement_cache_size=0"
    )
    assert asyncpg_connect_args(engine) == {
        "host": "db.example",
        "port": 5433,
        "user": "rss",
        "password": "s@cret",
        "database": "rss",
        "ssl": "require",
        "statement_cache_size": 0,  # (PgBouncer in transaction mode: nothing prepared kept)
    }


async def test_the_health_check_reaches_the_database_through_both_pools(
    store: Store, backend: Backend
) -> None:
    await store.ping()
    if store.hot is None:
        return  # (SQLite: one pool)
    from storage.pg_hotpath import PgHotPath, asyncpg_connect_args

    half_broken = Store(make_engine(backend.url), store.keyring)
    args = asyncpg_connect_args(half_broken.engine) | {"database": "no_such_database_here"}
    half_broken.hot = PgHotPath(args, max_size=1)
    try:
        with pytest.raises(Exception, match="no_such_database_here"):
            await half_broken.ping()
    finally:
        await half_broken.close()


async def test_feedback_needs_an_enrolled_returnee_with_consent(store: Store) -> None:
    invited = await store.enroll(case_ref="C-9", return_date=None, country=None, language="en")
    for anonymous in (False, True):
        with pytest.raises(ConsentRequired):
            await store.add_feedback(invited.id, "words", rating=None, anonymous=anonymous)
    opted_out = await consented_returnee(store)
    await store.withdraw_consent(opted_out.id, language="fr")
    with pytest.raises(ConsentRequired):
        await store.add_feedback(opted_out.id, "words", rating=None, anonymous=True)
    async with store.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Feedback)) == 0


async def test_feedback_is_limited_per_returnee_and_day_anonymous_included(store: Store) -> None:
    day = datetime(2026, 12, 3, 9, tzinfo=UTC)
    store.clock = lambda: day
    first = await consented_returnee(store)
    other = await consented_returnee(store, case_ref="CASE-002")
    assert await store.feedback_left_today(first.id) == 3
    for n in range(3):
        await store.add_feedback(first.id, f"note {n}", rating=None, anonymous=n % 2 == 1)
    assert await store.feedback_left_today(first.id) == 0
    with pytest.raises(FeedbackLimitReached):
        await store.add_feedback(first.id, "one too many", rating=None, anonymous=True)
    await store.add_feedback(other.id, "someone else", rating=None, anonymous=False)  # own quota
    day = datetime(2026, 12, 4, 9, tzinfo=UTC)  # a new day, a new quota; old days pruned
    await store.add_feedback(first.id, "next day", rating=None, anonymous=False)
    async with store.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Feedback)) == 5
        quota_days = set(await session.scalars(select(FeedbackQuota.day)))
    assert quota_days == {date(2026, 12, 4)}


async def test_connections_that_died_in_an_outage_are_replaced_at_checkout(
    store: Store, backend: Backend
) -> None:
    """After PostgreSQL restarts (here: every connection of the database terminated), the
    first statements succeed: no pooled dead connection fails once each."""
    if backend.name != "postgresql":
        pytest.skip("SQLite has no server connections")
    returnee = await consented_returnee(store)
    for _ in range(3):  # several connections in the pool
        await store.get(returnee.id)
    import asyncpg

    from tests.backends import PG_HOST, PG_PORT, PG_USER

    admin = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database="postgres")
    try:
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
            backend.location,
        )
    finally:
        await admin.close()
    for _ in range(3):
        assert (await store.get(returnee.id)).status == "active"


async def test_processes_starting_together_on_a_new_database_all_start(
    backend: Backend, keyring: Keyring
) -> None:
    """Two workers (or a worker and 'rssbot enroll') verifying the keys of a new database
    at the same moment: both record or find the same fingerprints, none crashes; a
    different keyring racing them is still refused."""
    import asyncio

    from storage.db import upgrade

    engine = make_engine(backend.url)
    await upgrade(engine)
    await engine.dispose()
    for _round in range(3):
        stores = [Store(make_engine(backend.url), keyring) for _ in range(6)]
        try:
            await asyncio.gather(*(s.verify() for s in stores))
        finally:
            for s in stores:
                await s.close()
        cleaner = make_engine(backend.url)
        async with cleaner.begin() as connection:  # a new database again
            await connection.execute(text("DELETE FROM key_checks"))
        await cleaner.dispose()
    racing = [Store(make_engine(backend.url), k) for k in (keyring, Keyring.generate())]
    try:
        outcomes = await asyncio.gather(*(s.verify() for s in racing), return_exceptions=True)
    finally:
        for s in racing:
            await s.close()
    assert sum(isinstance(o, WrongKeyError) for o in outcomes) == 1
    assert sum(o is None for o in outcomes) == 1


async def test_returnees_past_the_retention_period_are_erased(store: Store) -> None:
    from storage.store import months_before

    assert months_before(date(2026, 3, 31), 1) == date(2026, 2, 28)
    assert months_before(date(2026, 12, 3), 24) == date(2024, 12, 3)
    store.clock = lambda: datetime(2026, 12, 3, 9, tzinfo=UTC)
    old = await store.enroll(
        case_ref="OLD", return_date=date(2024, 12, 2), country="GN", language="en"
    )
    recent = await store.enroll(
        case_ref="NEW", return_date=date(2024, 12, 3), country="GN", language="en"
    )
    await store.give_consent(old.id, version="v", language="en")
    await complete_and_score(store, old.id, "a comment")
    assert await store.erase_past_retention(24) == 1
    assert await store.find_by_public_id(old.public_id) is None
    assert await store.find_by_public_id(recent.public_id) is not None
    entries = await store.audit_entries()
    assert [(e.actor, e.action) for e in entries][-1] == ("retention", "erasure")


async def test_the_staff_list_says_who_is_who_and_when_they_last_acted(store: Store) -> None:
    staff_id = await store.add_staff(4242, "caseworker", "  Aminata,   Conakry ")
    other = await store.add_staff(4343, "viewer")
    assert await store.add_staff(4242, "admin") == staff_id  # a new role keeps the name
    await store.find_by_case_ref("NOBODY", actor=f"staff:{staff_id}")
    listed = {m.id: m for m in await store.list_staff()}
    assert listed[staff_id].name == "Aminata, Conakry" and listed[staff_id].role == "admin"
    assert listed[staff_id].last_action is not None
    assert listed[other].name is None and listed[other].last_action is None


async def test_feedback_stored_before_its_states_is_new_after_the_upgrade(
    backend: Backend, keyring: Keyring
) -> None:
    """A database the release before feedback states wrote (revision 0012): its feedback
    becomes "new" work for the feedback officer, nothing lost."""
    from storage.db import upgrade

    engine = make_engine(backend.url)
    await upgrade(engine, "0012")
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO feedback (id, returnee_id, anonymous, text_enc, rating, "
                "receipt_code, created_at) VALUES ('f-1', NULL, :yes, :blob, 4, 'FB-OLD1', :at)"
            ),
            {"yes": True, "blob": b"ciphertext", "at": datetime(2026, 11, 1, tzinfo=UTC)},
        )
    await upgrade(engine)
    store = Store(engine, keyring)
    try:
        await store.verify()
        inbox = await store.feedback.inbox(actor="staff:fo")
        assert inbox.total == 1 and inbox.counts["new"] == 1
        assert await store.feedback.mark("f-1", "handled", actor="staff:fo")
        handled = await store.feedback.inbox(actor="staff:fo", states=("handled",))
        assert handled.total == 1 and handled.counts == {"handled": 1}
    finally:
        await store.close()


async def test_returnees_and_surveys_from_before_the_caseload_are_taken_over(
    backend: Backend, keyring: Keyring
) -> None:
    """A database the release before the caseload wrote (revision 0013): its completed
    surveys count as checked by the follow-up rules (staff saw them then), a survey
    half-way is checked when it completes, and importing the returnee's case updates them
    instead of enrolling them twice."""
    from storage.caseload import CaseRecord, Profile
    from storage.db import upgrade

    engine = make_engine(backend.url)
    await upgrade(engine, "0013")
    store = Store(engine, keyring)
    at = datetime(2026, 11, 1, tzinfo=UTC)
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO returnees (id, public_id, case_ref_index, country, return_date, "
                "language, status, created_at, updated_at) VALUES ('r-1', 'R-OLDONE1', :ix, "
                "'GN', :day, 'fr', 'active', :at, :at)"
            ),
            {"ix": store.case_ref_index("OLD-1"), "day": date(2026, 5, 1), "at": at},
        )
        for response, wave, status in (("s-1", "initial", "completed"),
                                       ("s-2", "intermediate", "in_progress")):  # fmt: skip
            await connection.execute(
                text(
                    "INSERT INTO survey_responses (id, returnee_id, wave, flow_id, "
                    "flow_version, language, status, seq, started_at, updated_at, "
                    "completed_at) VALUES (:id, 'r-1', :wave, 'rss', '1', 'fr', :status, 3, "
                    ":at, :at, :done)"
                ),
                {"id": response, "wave": wave, "status": status, "at": at,
                 "done": at if status == "completed" else None},
            )  # fmt: skip
    await upgrade(engine)
    try:
        await store.verify()
        assert await store.followup.unchecked() == []
        assert await store.followup.response_of("r-1", "initial") is None
        record = CaseRecord("OLD-1", date(2026, 5, 1), "GN", "fr", Profile(office="Kankan"))
        outcome = await store.caseload.import_records([record], actor="test")
        assert not outcome.created and [r.public_id for r in outcome.updated] == ["R-OLDONE1"]
        profile = await store.caseload.profile("r-1", actor="test")
        assert profile is not None and profile.office == "Kankan"
    finally:
        await store.close()


async def test_staff_accounts_by_email_telegram_or_both(store: Store) -> None:
    by_email = await store.add_staff(None, "viewer", "Awa", email=" Awa@Office.Example ")
    assert await store.staff.member_by_email("awa@office.example") == (by_email, "viewer")
    # the same person later links their Telegram account: one account, not two
    assert await store.add_staff(4242, "caseworker", email="awa@office.example") == by_email
    assert await store.staff_member(4242) == (by_email, "caseworker")
    other = await store.add_staff(5151, "viewer")
    with pytest.raises(BadStaffAccount):
        await store.add_staff(5151, "viewer", email="awa@office.example")  # (two people)
    with pytest.raises(BadStaffAccount):
        await store.add_staff(None, "viewer", email="not an address")
    with pytest.raises(BadStaffAccount):
        await store.add_staff(None, "viewer")
    listed = {m.id: m for m in await store.list_staff()}
    assert listed[by_email].email == "awa@office.example" and listed[by_email].telegram
    assert listed[other].email is None and listed[other].telegram
    assert await store.remove_staff(None, email="AWA@office.example")
    assert await store.staff.member_by_email("awa@office.example") is None


async def test_staff_added_before_email_accounts_keep_working(
    backend: Backend, keyring: Keyring
) -> None:
    """A database the release before staff emails wrote (revision 0014): its staff keep
    their Telegram sign-in and can be given an address."""
    from storage.db import upgrade

    engine = make_engine(backend.url)
    await upgrade(engine, "0014")
    store = Store(engine, keyring)
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO staff (id, telegram_pseudonym, role, name, created_at) "
                "VALUES ('s-1', :pseudonym, 'admin', 'Old admin', :at)"
            ),
            {"pseudonym": keyring.pseudonym("telegram", 777), "at": datetime.now(UTC)},
        )
    await upgrade(engine)
    try:
        await store.verify()
        assert await store.staff_member(777) == ("s-1", "admin")
        assert await store.add_staff(777, "admin", email="old@office.example") == "s-1"
        assert await store.staff.member_by_email("old@office.example") == ("s-1", "admin")
    finally:
        await store.close()


async def test_staff_rounds_and_schedules_from_before_scopes_keep_seeing_everyone(
    backend: Backend, keyring: Keyring
) -> None:
    """A database the release before scopes wrote (revision 0015): its staff see every
    returnee, its schedule still runs for everyone, and a scope can be set."""
    from storage import schedules
    from storage.db import upgrade
    from storage.scopes import Scope

    engine = make_engine(backend.url)
    await upgrade(engine, "0015")
    store = Store(engine, keyring)
    at = datetime.now(UTC)
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO staff (id, email, role, name, created_at) "
                "VALUES ('s-1', 'old@office.example', 'caseworker', 'Old', :at)"
            ),
            {"at": at},
        )
        await connection.execute(
            text(
                "INSERT INTO round_schedules (id, wave, country, hour, repeat_days, active, "
                "created_by, created_at) VALUES ('sc-1', 'initial', NULL, 9, NULL, :on, 'cli', :at)"
            ),
            {"at": at, "on": True},
        )
    await upgrade(engine)
    try:
        await store.verify()
        me = await store.staff.identity("old@office.example")
        assert me is not None and me.scope.is_everyone and me.role == "caseworker"
        listed = await schedules.list_schedules(store, scope=Scope.parse("GN"))
        assert listed == []  # (set up for everyone: not a Guinea-only member's to change)
        [schedule] = await schedules.list_schedules(store)
        assert schedule.scope.is_everyone and schedule.active
        assert await store.staff.set_scope("s-1", Scope.parse("GN,ML"), actor="test")
        again = await store.staff.identity("staff:s-1")
        assert again is not None and again.scope.values == ("GN", "ML")
    finally:
        await store.close()


async def test_returnees_and_feedback_from_before_audio_are_taken_over(
    backend: Backend, keyring: Keyring
) -> None:
    """A database the release before audio prompts wrote (revision 0016): its returnees
    hear clips (audio on, as new ones do) and can switch them off, their written
    feedback reads as before, and they can send a voice note."""
    from pathlib import Path
    from tempfile import TemporaryDirectory

    from storage.db import upgrade
    from storage.feedback import Voice
    from tests.support.audio import opus_clip

    engine = make_engine(backend.url)
    await upgrade(engine, "0016")
    store = Store(engine, keyring)
    at = datetime(2026, 11, 1, tzinfo=UTC)
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO returnees (id, public_id, country, return_date, language, "
                "status, created_at, updated_at) VALUES ('r-1', 'R-OLDAUD1', 'GN', :day, "
                "'fr', 'active', :at, :at)"
            ),
            {"day": date(2026, 5, 1), "at": at},
        )
    await upgrade(engine)
    try:
        await store.verify()
        before = await store.get("r-1")
        assert before.audio is True
        await store.set_audio("r-1", False)
        assert (await store.get("r-1")).audio is False
        await store.give_consent("r-1", version="v1", language="fr")
        receipt = await store.add_feedback("r-1", "written", rating=3, anonymous=False)
        with TemporaryDirectory() as folder:
            data = opus_clip(Path(folder) / "v.ogg").read_bytes()
        await store.add_feedback(
            "r-1", "", rating=None, anonymous=False, voice=Voice(data, "audio/ogg", 2)
        )
        items = {i.receipt: i for i in (await store.feedback.inbox(actor="t")).items}
        assert items[receipt].text == "written" and items[receipt].voice_seconds is None
        (spoken,) = [i for i in items.values() if i.voice_seconds is not None]
        played = await store.feedback.voice(spoken.id, actor="t")
        assert played is not None and played.data == data
        await store.media.remember("whatsapp", "d" * 64, "MEDIA1")
        assert await store.media.media_id("whatsapp", "d" * 64) == "MEDIA1"
    finally:
        await store.close()


async def test_whatsapp_returnees_known_by_number_are_linked_to_their_bsuid_after_the_upgrade(
    backend: Backend, keyring: Keyring
) -> None:
    """A database the release before BSUIDs wrote (revision 0017): a WhatsApp returnee
    known by the pseudonym of their number, half-way through a survey. After the upgrade
    the first message carrying their number and BSUID finds the same returnee, from then
    on known and written to by the BSUID; their survey and answers are theirs still."""
    import os

    from storage import keys
    from storage.db import upgrade

    engine = make_engine(backend.url)
    await upgrade(engine, "0017")
    at, number, bsuid = datetime(2026, 11, 1, tzinfo=UTC), "22177123456", "SN.77001122"
    dek = os.urandom(32)
    kek_id, wrapped = keyring.wrap(dek, keys.returnee_owner("r-1"))
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO returnees (id, public_id, telegram_pseudonym, channel, "
                "chat_id_enc, country, return_date, language, status, consent_version, "
                "created_at, updated_at) VALUES ('r-1', 'R-WAOLD01', :pseudonym, "
                "'whatsapp', :chat, 'SN', :day, 'fr', 'active', 'v1', :at, :at)"
            ),
            {
                "pseudonym": keyring.pseudonym("whatsapp", number),
                "chat": keys.encrypt(dek, "returnees", "r-1", "chat_id", number),
                "day": date(2026, 5, 1),
                "at": at,
            },
        )
        await connection.execute(
            text(
                "INSERT INTO data_keys (owner, kek_id, wrapped, created_at) "
                "VALUES ('returnee:r-1', :kek, :wrapped, :at)"
            ),
            {"kek": kek_id, "wrapped": wrapped, "at": at},
        )
        await connection.execute(
            text(
                "INSERT INTO survey_responses (id, returnee_id, wave, flow_id, flow_version, "
                "language, status, seq, started_at, updated_at) VALUES ('s-1', 'r-1', "
                "'initial', 'rss', '1', 'fr', 'in_progress', 3, :at, :at)"
            ),
            {"at": at},
        )
    await upgrade(engine)
    store = Store(engine, keyring)
    try:
        await store.verify()
        assert await store.find_whatsapp(user_id=bsuid, phone=None) is None  # not yet
        assert await store.link_whatsapp(user_id=bsuid, phone=number) == "r-1"
        found = await store.find_whatsapp(user_id=bsuid, phone=None)
        assert found is not None and found.id == "r-1" and found.status == "active"
        assert (await store.find_whatsapp(user_id=None, phone=number)) == found  # no second
        async with store.sessions() as session:
            row = await session.get(Returnee, "r-1")
            assert row is not None and row.chat_id_enc is not None
            assert keys.decrypt(dek, "returnees", "r-1", "chat_id", row.chat_id_enc) == bsuid
            assert await session.scalar(select(func.count()).select_from(Returnee)) == 1
        async with store.sessions() as session:
            survey = await session.get(SurveyResponse, "s-1")
            assert survey is not None, "gone"
            assert (survey.returnee_id, survey.status, survey.seq) == ("r-1", "in_progress", 3)
    finally:
        await store.close()


async def test_whatsapp_identifiers_move_without_bringing_back_what_a_decline_removed(
    store: Store,
) -> None:
    """Linking a number to a BSUID, and a number change, move the pseudonym and the
    address; for someone who declined, only the pseudonym (no address, no data key)."""
    from storage.models import DataKey

    joined = await store.enroll(case_ref="WA-1", return_date=date(2026, 5, 1), country="sn",
                                language="fr")  # fmt: skip
    await store.bind_telegram(joined.id, "221770001", "221770001", channel="whatsapp")
    declined = await store.enroll(case_ref="WA-2", return_date=date(2026, 5, 1), country="sn",
                                  language="fr")  # fmt: skip
    await store.bind_telegram(declined.id, "221770002", "221770002", channel="whatsapp")
    await store.decline_consent(declined.id, version="v1", language="fr")

    assert await store.link_whatsapp(user_id="SN.1", phone="221770001") == joined.id
    assert await store.link_whatsapp(user_id="SN.2", phone="221770002") == declined.id
    assert await store.link_whatsapp(user_id="SN.9", phone="221770999") is None
    async with store.sessions() as session:
        row = await session.get(Returnee, declined.id)
        assert row is not None and row.chat_id_enc is None and row.status == "declined"
        owners = set(await session.scalars(select(DataKey.owner)))
        assert f"returnee:{declined.id}" not in owners
    assert (await store.find_whatsapp(user_id="SN.2", phone=None)) is not None

    moved = await store.renumber_whatsapp(old=("SN.1", "221770001"), user_id="SN.3",
                                          phone="221770003")  # fmt: skip
    assert moved == joined.id
    assert await store.find_whatsapp(user_id="SN.1", phone="221770001") is None
    found = await store.find_whatsapp(user_id=None, phone="221770003")
    assert found is not None and found.id == joined.id
    # a change to identifiers someone else already has moves nobody
    assert await store.renumber_whatsapp(old=("SN.3",), user_id="SN.2", phone=None) is None
