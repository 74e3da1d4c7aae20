"""Two inputs of one returnee applied at the same time, with no lock anywhere: the
survey's progress is stored by compare-and-set, so the stored survey is what one input
after the other gives, and nothing is stored twice. SQLite, PostgreSQL's hot path
(asyncpg) and PostgreSQL's general path (SQLAlchemy)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import date
from itertools import permutations

import pytest
from sqlalchemy import func, select

from bot.core.survey import Applied, SurveyService
from flows import resume, start
from flows.state import Choose, Input, SessionState, Text, Toggle
from scoring import default_weight_table
from storage.models import Answer, Score
from storage.store import StaleProgress, Store
from storage.waves import WaveWindows
from tests.storage.helpers import RSS, answer, consented_returnee, full_inputs

TODAY = date(2026, 5, 20)


def service(store: Store) -> SurveyService:
    return SurveyService(store, RSS, default_weight_table(), WaveWindows(), lambda: TODAY)


async def at_once(
    svc: SurveyService, returnee_id: str, inputs: Sequence[Input], update_ids: Sequence[int]
) -> list[Applied]:
    """Apply ``inputs`` concurrently, each computed from the survey as read once before."""
    current = await svc.open_wave(returnee_id, date(2026, 5, 1))
    return list(
        await asyncio.gather(
            *(
                svc.apply(returnee_id, current, inp, language="fr", update_id=update_id)
                for inp, update_id in zip(inputs, update_ids, strict=True)
            )
        )
    )


def one_after_the_other(state: SessionState, inputs: Sequence[Input]) -> list[SessionState]:
    """The states the inputs give applied one after the other, in every order."""
    results = []
    for order in permutations(inputs):
        s = state
        for inp in order:
            s = resume(RSS, s, inp).state
        results.append(s)
    return results


async def answers_stored(store: Store) -> int:
    async with store.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Answer)) or 0)


async def stored(store: Store, returnee_id: str) -> SessionState:
    state = await store.load_state(returnee_id, "initial", RSS)
    assert state is not None
    return state


async def test_two_typed_answers_at_once_are_stored_one_after_the_other(every_path: Store) -> None:
    returnee = await consented_returnee(every_path)
    await answer(every_path, returnee.id, [Choose(option="satisfied")])
    before = await stored(every_path, returnee.id)
    inputs = [Text(text="1"), Text(text="2")]
    outcomes = await at_once(service(every_path), returnee.id, inputs, [11, 12])
    assert [o.outcome for o in outcomes] == ["applied", "applied"]
    after = await stored(every_path, returnee.id)
    assert after in one_after_the_other(before, inputs)
    assert after.seq == before.seq + 2 and len(after.answers) == 3
    assert await answers_stored(every_path) == 3  # nothing twice
    assert [await every_path.update_state(u) for u in (11, 12)] == ["applied", "applied"]


async def test_a_survey_started_by_two_inputs_at_once_is_started_once(every_path: Store) -> None:
    returnee = await consented_returnee(every_path)
    # (typed numbers: each input is valid whichever of the two is stored first)
    inputs: list[Input] = [Text(text="3"), Text(text="2")]
    outcomes = await at_once(service(every_path), returnee.id, inputs, [21, 22])
    assert [o.outcome for o in outcomes] == ["applied", "applied"]
    after = await stored(every_path, returnee.id)
    assert after in one_after_the_other(start(RSS, "fr").state, inputs)
    assert await answers_stored(every_path) == 2


async def test_two_button_presses_for_one_question_store_one_and_refuse_the_other(
    every_path: Store,
) -> None:
    returnee = await consented_returnee(every_path)
    await answer(every_path, returnee.id, [Choose(option="satisfied")])
    before = await stored(every_path, returnee.id)
    presses: list[Input] = [
        Choose(question=before.current, seq=before.seq, option="never"),
        Choose(question=before.current, seq=before.seq, option="often"),
    ]
    outcomes = await at_once(service(every_path), returnee.id, presses, [31, 32])
    assert sorted(o.outcome for o in outcomes) == ["applied", "rejected"]
    lost = next(o for o in outcomes if o.outcome == "rejected")
    assert lost.expired_button and lost.rejected is not None and lost.rejected.reason == "stale"
    won = next(o for o in outcomes if o.outcome == "applied")
    after = await stored(every_path, returnee.id)
    assert won.step is not None and after == won.step.state
    assert await answers_stored(every_path) == 2
    assert await every_path.update_state(32 if won is outcomes[0] else 31) == "new"


async def test_two_ticks_of_a_multi_select_at_once_are_both_kept(every_path: Store) -> None:
    returnee = await consented_returnee(every_path)
    await answer(every_path, returnee.id, full_inputs("")[:30])
    before = await stored(every_path, returnee.id)
    ticks: list[Input] = [Toggle(option="cash"), Toggle(option="training")]
    outcomes = await at_once(service(every_path), returnee.id, ticks, [41, 42])
    assert [o.outcome for o in outcomes] == ["applied", "applied"]
    after = await stored(every_path, returnee.id)
    assert sorted(after.pending) == ["cash", "training"]
    assert after in one_after_the_other(before, ticks)


async def test_one_update_delivered_twice_at_once_is_applied_once(every_path: Store) -> None:
    returnee = await consented_returnee(every_path)
    await answer(every_path, returnee.id, [Choose(option="satisfied")])
    before = await stored(every_path, returnee.id)
    outcomes = await at_once(service(every_path), returnee.id, [Text(text="1")] * 2, [51, 51])
    assert sorted(o.outcome for o in outcomes) == ["applied", "applied_before"]
    after = await stored(every_path, returnee.id)
    assert after == resume(RSS, before, Text(text="1")).state
    assert await answers_stored(every_path) == 2


async def test_the_last_answer_sent_twice_at_once_completes_and_scores_once(
    every_path: Store,
) -> None:
    returnee = await consented_returnee(every_path)
    inputs = full_inputs("a comment")
    await answer(every_path, returnee.id, inputs[:-1])
    outcomes = await at_once(
        service(every_path), returnee.id, [Text(text="first"), Text(text="second")], [61, 62]
    )
    assert sorted(o.outcome for o in outcomes) == ["applied", "rejected"]
    lost = next(o for o in outcomes if o.outcome == "rejected")
    assert lost.rejected is not None and lost.rejected.reason == "completed"
    after = await stored(every_path, returnee.id)
    assert after.completed
    async with every_path.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Score)) == 1


async def test_a_step_computed_from_an_older_state_stores_nothing(every_path: Store) -> None:
    returnee = await consented_returnee(every_path)
    await answer(every_path, returnee.id, [Choose(option="satisfied")])
    before = await stored(every_path, returnee.id)
    first = resume(RSS, before, Choose(option="never"))
    second = resume(RSS, before, Choose(option="often"))
    await every_path.save_step(returnee.id, "initial", first, update_id=71)
    with pytest.raises(StaleProgress):
        await every_path.save_step(returnee.id, "initial", second, update_id=72)
    assert await stored(every_path, returnee.id) == first.state
    assert await every_path.update_state(72) == "new"  # not marked: it is applied again
    assert await answers_stored(every_path) == 2


async def test_a_copy_finding_its_update_applied_waits_briefly_for_the_reply(
    every_path: Store,
) -> None:
    """A copy of an update that finds it applied but not replied: another worker may be
    replying right now (it waits to see), or may have died (after ``within`` since the
    update was applied, the copy shows the current question itself)."""
    returnee = await consented_returnee(every_path)
    await answer(every_path, returnee.id, [Choose(option="satisfied")])
    state = await stored(every_path, returnee.id)
    await every_path.save_step(
        returnee.id, "initial", resume(RSS, state, Choose(option="never")), update_id=81
    )
    loop = asyncio.get_running_loop()

    async def reply_later() -> None:
        await asyncio.sleep(0.3)
        await every_path.mark_processed(81)

    started = loop.time()
    replier = asyncio.create_task(reply_later())
    assert await every_path.replied_meanwhile(81, within=5.0)  # the other copy replied
    assert 0.25 < loop.time() - started < 4.5  # (it waited, within its limit)
    await replier
    await every_path.save_step(
        returnee.id,
        "initial",
        resume(RSS, await stored(every_path, returnee.id), Text(text="1")),
        update_id=82,
    )
    started = loop.time()
    assert not await every_path.replied_meanwhile(82, within=0.5)  # its worker died
    assert 0.4 < loop.time() - started < 4
    assert not await every_path.replied_meanwhile(83)  # (never applied: nothing to wait for)
