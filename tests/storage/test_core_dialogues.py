"""The conversation core as dialogues on a stub channel (no transport): invitation,
consent, the survey (refusals, an update applied twice, completion scored once, a paused
and resumed survey), rights and feedback. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest

from bot.core.feedback import PER_DAY
from flows.model import FlowDefinition
from flows.state import Back, Choose, Resume, SetLanguage, Special
from scoring import WeightTable
from storage.store import InviteProblem, Store
from tests.support.dialogue import StubChannel

Q1 = "Q1/32 How satisfied are you with your current economic situation?"
Q2 = (
    "Q2/32 In the past month, how often did you have to eat less or cheaper food because "
    "of its cost?"
)


async def invited(store: Store, rss: FlowDefinition, table: WeightTable) -> StubChannel:
    """A returnee who opened their invitation and chose English."""
    enrolled = await store.enroll(
        case_ref="CASE-D", return_date=date(2026, 10, 1), country="GN", language="fr"
    )
    token = await store.create_invite(enrolled.id)
    channel = StubChannel(store, rss, table)
    channel.returnee = await channel.entry.open_invitation(token, 7001, 7001)
    with pytest.raises(InviteProblem):  # single use
        await channel.entry.open_invitation(token, 7002, 7002)
    channel.returnee = await channel.entry.choose_language(channel.returnee, "en")
    return channel


async def test_nothing_is_stored_before_consent_and_a_refusal_is_recorded_as_such(
    store: Store, rss: FlowDefinition, table: WeightTable
) -> None:
    channel = await invited(store, rss, table)
    assert await channel.send(Resume()) == ["consent_required"]
    assert await channel.store.open_survey(channel.returnee.id) is None  # type: ignore[union-attr]
    assert await channel.entry.answer_consent(await channel.refresh(), agree=False) == "declined"
    assert (await channel.refresh()).status == "declined"
    assert await channel.send("1") == ["consent_required"]
    assert await channel.entry.answer_consent(await channel.refresh(), agree=True) == "given"
    assert await channel.entry.answer_consent(await channel.refresh(), agree=True) == "not_asked"


async def test_a_survey_answered_with_refusals_an_update_applied_twice_and_completion_scored_once(
    store: Store, rss: FlowDefinition, table: WeightTable
) -> None:
    channel = await invited(store, rss, table)
    await channel.entry.answer_consent(await channel.refresh(), agree=True)
    returnee_id = channel.returnee.id  # type: ignore[union-attr]

    assert await channel.send(Resume()) == [Q1]  # the survey of the open wave starts
    assert await channel.send("banana") == ["refused: expected_choice"]  # nothing stored
    assert await channel.send("2", update_id=500) == [Q2]
    # the same update delivered again (its worker died after storing it): "2" would answer
    # the next question too; it is not applied twice
    assert await channel.send("2", update_id=500) == ["applied_before"]
    assert await store.load_state(returnee_id, "initial", rss) is not None
    assert await channel.send(Back()) == [Q1]
    assert await channel.send(Choose(option="very_satisfied", seq=0)) == ["refused: stale"]
    assert await channel.send("1") == [Q2]
    state = await store.load_state(returnee_id, "initial", rss)
    assert state is not None and state.answers["econ_satisfaction"].option == "very_satisfied"  # type: ignore[union-attr]

    assert await channel.send(SetLanguage(language="fr")) == [
        "Q2/32 " + rss.question("econ_food_reduction").text["fr"]
    ]
    for question in rss.questions[1:30]:
        said = await channel.send(Choose(option=question.options[0].id))  # type: ignore[union-attr]
        assert not any(line.startswith("refused") for line in said), said
    await channel.send(Special(value="prefer_not_to_answer"))  # assistance received
    said = await channel.send("Merci")
    assert said[-1].startswith("completed, composite ")
    stored = await store.scores(returnee_id)
    assert [s.wave for s in stored] == ["initial"]  # scored once, with the last answer
    assert await channel.send("encore") == ["no_survey"]  # the next wave is not open yet
    channel.today = date(2027, 5, 1)  # seven months after the return: the next wave
    assert (await channel.send(Resume()))[0].startswith("Q1/32 ")
    assert await store.open_survey(returnee_id) is not None


async def test_stop_see_and_erase_in_one_message_each(
    store: Store, rss: FlowDefinition, table: WeightTable
) -> None:
    channel = await invited(store, rss, table)
    await channel.entry.answer_consent(await channel.refresh(), agree=True)
    await channel.send(Resume())
    await channel.send("2")
    kept = await channel.rights.data_kept(await channel.refresh())
    assert kept.case_ref == "CASE-D" and kept.consent[0][0] == "given"
    ((question, answer),) = kept.surveys[0].answers
    assert question.id == "econ_satisfaction" and answer.option == "satisfied"  # type: ignore[union-attr]

    assert await channel.rights.stop(await channel.refresh()) == "stopped"
    assert (await channel.refresh()).status == "opted_out"
    assert await channel.send("1") == ["consent_required"]  # nothing more is stored
    assert await channel.rights.stop(None) == "not_registered"

    await channel.rights.erase(await channel.refresh())
    assert await store.find_by_public_id(channel.returnee.public_id) is None  # type: ignore[union-attr]


async def test_feedback_only_after_consent_within_a_day_s_limit(
    store: Store, rss: FlowDefinition, table: WeightTable
) -> None:
    channel = await invited(store, rss, table)
    desk = channel.feedback
    assert await desk.may_start(None) == "not_registered"
    assert await desk.may_start(await channel.refresh()) == "no_consent"
    sent = await desk.send(await channel.refresh(), "merci", rating=5, anonymous=False)
    assert sent.receipt is None and sent.refused == "no_consent"
    await channel.entry.answer_consent(await channel.refresh(), agree=True)
    returnee = await channel.refresh()
    assert desk.check_text("   ") == "empty" and desk.check_text("x" * 2001) == "too_long"
    receipts = set()
    for i in range(PER_DAY):  # the day's limit
        sent = await desk.send(returnee, f"message {i}", rating=None, anonymous=i == 0)
        assert sent.receipt is not None
        receipts.add(sent.receipt)
    assert len(receipts) == PER_DAY
    assert await desk.may_start(returnee) == "limit_reached"
    over = await desk.send(returnee, "one more", rating=None, anonymous=False)
    assert over.refused == "limit_reached"
