"""Completion is atomic: the last answer, the completed status, the scores and the update's
"applied" mark commit together; a redelivered completion thanks the returnee; surveys
completed without scores (before this was so) are scored by the repair step."""

from __future__ import annotations

from sqlalchemy import delete, func, select, text

from bot.survey_scores import score_unscored_surveys
from flows import builtin_definition
from scoring import default_weight_table
from storage.models import Score, SurveyResponse
from tests.e2e.conftest import Harness
from tests.e2e.fake_telegram import FakeUser
from tests.e2e.test_journey import enrol_and_consent, returnee_of
from tests.support.journeys import to_the_last_question

THANKS = "Thank you! You have answered all the questions."

FAIL_SCORES = {
    "sqlite": [
        "CREATE TRIGGER scores_fail BEFORE INSERT ON scores "
        "BEGIN SELECT RAISE(ABORT, 'forced failure'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION scores_fail() RETURNS trigger AS "
        "$$ BEGIN RAISE EXCEPTION 'forced failure'; END $$ LANGUAGE plpgsql",
        "CREATE TRIGGER scores_fail BEFORE INSERT ON scores "
        "FOR EACH ROW EXECUTE FUNCTION scores_fail()",
    ],
}
MEND_SCORES = {
    "sqlite": ["DROP TRIGGER scores_fail"],
    "postgresql": ["DROP TRIGGER scores_fail ON scores", "DROP FUNCTION scores_fail()"],
}


async def run_sql(h: Harness, statements: list[str]) -> None:
    assert h.store is not None
    async with h.store.engine.begin() as connection:
        for statement in statements:
            await connection.execute(text(statement))


async def to_question_32(h: Harness, user: FakeUser) -> None:
    await enrol_and_consent(h, user)
    await to_the_last_question(user)


async def survey_rows(h: Harness) -> tuple[str, int]:
    assert h.store is not None
    async with h.store.sessions() as session:
        status = await session.scalar(select(SurveyResponse.status))
        scores = await session.scalar(select(func.count()).select_from(Score))
    return str(status), int(scores or 0)


async def test_a_failing_score_insert_leaves_the_survey_open_and_the_redelivery_completes_it(
    harness: Harness, user_factory
) -> None:  # type: ignore[no-untyped-def]
    user = user_factory("en")
    await to_question_32(harness, user)
    await run_sql(harness, FAIL_SCORES[harness.backend.name])
    user.press("Skip")
    await user.settle()
    assert not any(THANKS in m.text for m in user.messages)
    assert await survey_rows(harness) == ("in_progress", 0)  # nothing of the step committed
    assert user.last_update is not None
    update_id, update = user.last_update
    await run_sql(harness, MEND_SCORES[harness.backend.name])
    harness.server.redeliver(update_id, update)  # as Telegram does after an error
    await user.expect(THANKS)
    assert await survey_rows(harness) == ("completed", 1)


async def test_a_completion_whose_thanks_failed_is_thanked_on_redelivery(
    harness: Harness, user_factory
) -> None:  # type: ignore[no-untyped-def]
    user = user_factory("en")
    await to_question_32(harness, user)
    harness.server.fail("sendMessage", 502, "Bad Gateway", times=4)  # every retry
    user.press("Skip")
    await user.settle()
    assert await survey_rows(harness) == ("completed", 1)
    assert not any(THANKS in m.text for m in user.messages)
    assert user.last_update is not None
    harness.server.redeliver(*user.last_update)
    await user.expect(THANKS)
    await user.settle()
    assert sum(THANKS in m.text for m in user.messages) == 1
    assert await survey_rows(harness) == ("completed", 1)


async def test_surveys_completed_without_scores_are_scored_by_the_repair(
    harness: Harness, user_factory
) -> None:  # type: ignore[no-untyped-def]
    assert harness.store is not None
    user = user_factory("en")
    await to_question_32(harness, user)
    user.press("Skip")
    await user.expect(THANKS)
    async with harness.store.sessions.begin() as session:  # as the old code could leave it
        await session.execute(delete(Score))
    definition, table = builtin_definition(), default_weight_table()
    assert await score_unscored_surveys(harness.store, definition, table) == 1
    assert await score_unscored_surveys(harness.store, definition, table) == 0
    returnee = await returnee_of(harness, user)
    stored = await harness.store.scores(returnee.id)
    assert [s.wave for s in stored] == ["initial"]
    assert stored[0].values["composite"] is not None
