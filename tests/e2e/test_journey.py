"""Transcripts of a returnee's journey through the real HTTP stack (aiogram session ->
fake Bot API server on loopback), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from storage.models import Answer, Returnee
from storage.store import ReturneeInfo
from tests.e2e.conftest import Harness
from tests.e2e.fake_telegram import FakeUser
from tests.support.journeys import QUESTION, to_the_last_question

Users = Callable[..., FakeUser]

LANG_BUTTON = {"en": "English", "fr": "Français", "ar": "العربية"}
AGREE = {"en": "I agree", "fr": "J'accepte", "ar": "أوافق"}
THANKS = {
    "en": "Thank you! You have answered",
    "fr": "Merci ! Vous avez répondu",
    "ar": "شكرًا لك! لقد أجبت",
}


async def enrol_and_consent(h: Harness, user: FakeUser, language: str = "en") -> None:
    await open_invitation(h, user, language)
    user.press(AGREE[language])
    await user.expect(QUESTION[language].format(1))


async def open_invitation(h: Harness, user: FakeUser, language: str = "en") -> None:
    """From the invitation link to the consent screen."""
    token = await h.invite(language=language)
    user.send(f"/start {token}")
    await user.expect(
        {"en": "Welcome", "fr": "Bienvenue", "ar": "أهلًا"}[
            user.language_code if user.language_code in LANG_BUTTON else "en"
        ]
    )
    user.press(LANG_BUTTON[language])
    await user.expect(
        {"en": "Before we start", "fr": "Avant de commencer", "ar": "قبل أن نبدأ"}[language]
    )


async def returnee_of(h: Harness, user: FakeUser) -> ReturneeInfo:
    """What is stored about this user (who must be registered)."""
    assert h.store is not None
    found = await h.store.find_by_telegram(user.user_id)
    assert found is not None
    return found


async def answered(h: Harness) -> int:
    assert h.store is not None
    async with h.store.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Answer)) or 0)


@pytest.mark.parametrize("language", ["en", "fr", "ar"])
async def test_invite_to_completed_scored_survey(
    harness: Harness, user_factory: Users, language: str
) -> None:
    user = user_factory(language)
    await enrol_and_consent(harness, user, language)
    for number in range(2, 31):
        user.press_nth(0)  # the first (best) option
        await user.expect(QUESTION[language].format(number))
    user.press_nth(0)
    multi = await user.expect(QUESTION[language].format(31))
    assert multi.labels()[0].startswith("☐")
    user.press_nth(0)
    user.press_nth(2)
    user.press(multi.labels()[9])  # Done ✓ (after the 9 options)
    await user.expect(QUESTION[language].format(32))
    user.send("Merci, ça va mieux. شكرا")
    await user.expect(THANKS[language])
    assert all(m.protect_content for m in user.messages)
    assert harness.store is not None
    returnee = await returnee_of(harness, user)
    [scores] = await harness.store.scores(returnee.id)
    assert scores.values["composite"] == 1.0
    data = await harness.store.my_data(returnee.id)
    assert data["surveys"][0]["answers"]["ctx_assistance_received"]["options"] == [
        "cash",
        "training",
    ]
    # the answered question keeps its text with the answer under it, without buttons
    first = next(m for m in user.messages if QUESTION[language].format(1) in m.text)
    assert "✓" in first.text and not first.buttons()


async def test_restart_mid_survey_continues_where_left(
    harness: Harness, user_factory: Users
) -> None:
    user = user_factory("en")
    await enrol_and_consent(harness, user)
    user.press("Satisfied")
    await user.expect("Question 2 of 32")
    user.press("Never")
    question3 = await user.expect("Question 3 of 32")
    await harness.restart()  # a redeploy: new process, same database and keys
    user.press("Yes", question3)  # the button shown before the restart still works
    await user.expect("Question 4 of 32")
    user.send("/start")
    await user.expect("Question 4 of 32")
    assert await answered(harness) == 3


async def test_language_switch_mid_survey_keeps_answers(
    harness: Harness, user_factory: Users
) -> None:
    user = user_factory("en")
    await enrol_and_consent(harness, user)
    user.press("Satisfied")
    await user.expect("Question 2 of 32")
    user.send("/language")
    await user.expect("Choose your language.")
    user.press("العربية")
    await user.expect("تم تغيير اللغة")
    question = await user.expect("السؤال 2 من 32")
    assert "أبدًا" in question.labels()
    user.press("أبدًا")
    await user.expect("السؤال 3 من 32")
    assert await answered(harness) == 2


async def test_stop_from_any_state_and_opt_back_in(harness: Harness, user_factory: Users) -> None:
    user = user_factory("fr")
    await enrol_and_consent(harness, user, "fr")
    user.press("Satisfait(e)")
    question2 = await user.expect("Question 2 sur 32")
    user.send("ARRET")
    await user.expect("Vous ne recevrez plus de messages")
    assert (await returnee_of(harness, user)).status == "opted_out"
    user.press("Jamais", question2)
    await user.expect_alert("Ce bouton n'est plus actif")
    user.send("bonjour")
    await user.expect("Envoyez /start pour participer")
    user.send("/start")
    await user.expect("Avant de commencer")
    user.press("J'accepte")
    await user.expect("Question 2 sur 32")  # nothing was lost
    for word in ("stop", "توقف", "/stop"):
        user.send(word)
        await user.expect("Vous ne recevrez plus de messages")
    assert await answered(harness) == 1


async def test_delete_erases_everything(harness: Harness, user_factory: Users) -> None:
    user = user_factory("en")
    await enrol_and_consent(harness, user)
    user.press("Satisfied")
    await user.expect("Question 2 of 32")
    user.send("/delete")
    confirm = await user.expect("erase everything kept about you?")
    user.press("No, keep it", confirm)
    await user.expect("Nothing was erased.")
    user.send("/delete")
    confirm = await user.expect("erase everything kept about you?")
    user.press("Yes, erase everything", confirm)
    await user.expect("has been erased")
    assert harness.store is not None
    async with harness.store.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Returnee)) == 0
    assert await answered(harness) == 0
    user.send("/mydata")
    await user.expect("Nothing is kept about you.")


async def test_mydata_shows_what_is_kept(harness: Harness, user_factory: Users) -> None:
    user = user_factory("en")
    await enrol_and_consent(harness, user)
    user.press("Satisfied")
    await user.expect("Question 2 of 32")
    user.send("/mydata")
    shown = await user.expect("What is kept about you:")
    assert "Reference: CASE-1" in shown.text
    assert "How satisfied are you with your current economic situation?: Satisfied" in shown.text
    assert "first follow-up · in progress · answers: 1" in shown.text


async def test_mydata_in_french_whole_questions_and_scores(
    harness: Harness, user_factory: Users
) -> None:
    user = user_factory("fr")
    await enrol_and_consent(harness, user, "fr")
    await to_the_last_question(user, "fr")
    user.send("Une réponse écrite")
    await user.expect(THANKS["fr"])
    user.send("/mydata")
    shown = await user.expect("Ce qui est gardé sur vous")
    text = "\n".join(m.text for m in user.messages[user.messages.index(shown) :])
    assert "donné" in text and " given" not in text  # the consent, in French
    assert "premier suivi · terminé · réponses : 32" in text
    assert "(initial)" not in text
    longest = max((q.text["fr"] for q in harness_questions()), key=len)
    assert longest in text  # whole, not cut mid-word
    assert "Composite" in text and "pondérations sont provisoires" in text


def harness_questions() -> list:  # type: ignore[type-arg]
    from flows import builtin_definition

    return list(builtin_definition().questions)


async def test_feedback_anonymous_and_named_with_receipts(
    harness: Harness, user_factory: Users
) -> None:
    assert harness.store is not None
    user = user_factory("en")
    await enrol_and_consent(harness, user)
    user.send("/feedback")
    await user.expect("confidential")
    user.press("Anonymously")
    await user.expect("How would you rate")
    user.press("4")
    await user.expect("Please write your feedback")
    user.send("The cash grant came two months late.")
    receipt = await user.expect("Your receipt code is FB-")
    await user.expect("Question 1 of 32")  # back to the survey
    user.send("/feedback")
    await user.expect("confidential")
    user.press("With my name on it")
    await user.expect("How would you rate")
    user.press("Skip")
    await user.expect("Please write your feedback")
    user.send("x" * 2001)
    await user.expect("too long")
    user.send("Thank you for the training.")
    await user.expect("Your receipt code is FB-")

    officer, viewer = user_factory("en"), user_factory("en")
    await harness.store.add_staff(officer.user_id, "feedback_officer")
    await harness.store.add_staff(viewer.user_id, "viewer")
    viewer.send("/inbox")
    await viewer.expect("Only feedback officers can read feedback.")
    officer.send("/inbox")
    inbox = await officer.expect("The cash grant came two months late.")
    assert "anonymous · 4/5" in inbox.text and "with name · -/5" in inbox.text
    assert receipt.text.split("FB-")[1][:8] in inbox.text
    returnee = await returnee_of(harness, user)
    assert len((await harness.store.my_data(returnee.id))["feedback"]) == 1  # only the named one


async def test_bad_input_gets_a_hint_and_loses_nothing(
    harness: Harness, user_factory: Users
) -> None:
    user = user_factory("en")
    await enrol_and_consent(harness, user)
    user.press("Satisfied")
    question2 = await user.expect("Question 2 of 32")
    user.send_sticker()
    await user.expect("I can only read text messages")
    await user.expect("Question 2 of 32")
    user.send_photo()
    await user.expect("I can only read text messages")
    user.send("lorem ipsum " * 400)
    # (buttons show no numbers: the hint speaks of buttons)
    await user.expect("Please answer with the buttons under the question")
    await user.expect("Question 2 of 32")
    user.send("/teleport")
    await user.expect("I do not know this command")
    await user.expect("Question 2 of 32")
    user.press_data("sv:c:1:99:0", question2)  # forged option index
    await user.expect_alert("no longer active")
    user.press_data("sv:zz:1:0:0", question2)  # forged action
    user.press_data("garbage", question2)  # not ours at all
    user.press_data("sv:c:0:0:1", question2)  # stale: the first question, already answered
    user.send("2")  # the second option by number
    await user.expect("Question 3 of 32")
    assert harness.store is not None
    returnee = await returnee_of(harness, user)
    answers = (await harness.store.my_data(returnee.id))["surveys"][0]["answers"]
    assert answers == {
        "econ_satisfaction": {"kind": "choice", "option": "satisfied"},
        "econ_food_reduction": {"kind": "choice", "option": "rarely"},
    }


async def test_back_prefer_not_and_dont_know(harness: Harness, user_factory: Users) -> None:
    user = user_factory("en")
    await enrol_and_consent(harness, user)
    user.press("Prefer not to answer")
    await user.expect("Question 2 of 32")
    user.press("◀ Back")
    again = await user.expect("Question 1 of 32")
    assert "Satisfied" in again.labels()
    user.press("Very satisfied")
    await user.expect("Question 2 of 32")  # back where we were
    user.press("Never")
    await user.expect("Question 3 of 32")
    user.press("Don't know")
    await user.expect("Question 4 of 32")
    assert await answered(harness) == 3


async def test_an_update_delivered_twice_is_applied_once(
    harness: Harness, user_factory: Users
) -> None:
    user = user_factory("en")
    await enrol_and_consent(harness, user)
    user.send("1")
    await user.expect("Question 2 of 32")
    assert user.last_update is not None
    update_id, update = user.last_update
    harness.server.redeliver(update_id, update)
    await user.settle()
    assert sum("Question 3 of 32" in m.text for m in user.messages) == 0
    assert await answered(harness) == 1


async def test_blocking_the_bot_marks_the_returnee_unreachable(
    harness: Harness, user_factory: Users
) -> None:
    user = user_factory("en")
    await enrol_and_consent(harness, user)
    user.block()
    await user.settle()
    assert (await returnee_of(harness, user)).status == "unreachable"


async def test_telegram_failures_are_retried_without_losing_the_answer(
    harness: Harness, user_factory: Users
) -> None:
    user = user_factory("en")
    await enrol_and_consent(harness, user)
    harness.server.fail("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    user.press("Satisfied")
    await user.expect("Question 2 of 32")
    harness.server.fail("sendMessage", 502, "Bad Gateway", times=2)
    user.press("Never")
    await user.expect("Question 3 of 32")
    harness.server.fail("sendMessage", 400, "Bad Request: something odd", times=1)
    user.press("Yes")
    await user.settle()
    assert await answered(harness) == 3  # stored before the failed send
    user.send("/start")
    await user.expect("Question 4 of 32")  # the returnee just carries on


async def test_edits_telegram_refuses_do_not_stop_the_survey(
    harness: Harness, user_factory: Users
) -> None:
    """Removing spent buttons and closing an answered question are cosmetic: a message
    Telegram will not edit (deleted, unchanged after a double tap, too old) changes nothing
    for the returnee."""
    user = user_factory("en")
    await open_invitation(harness, user)
    harness.server.fail(
        "editMessageReplyMarkup", 400, "Bad Request: message is not modified", times=5
    )
    user.press("I agree")
    await user.expect("Question 1 of 32")
    harness.server.fail("editMessageText", 400, "Bad Request: message can't be edited")
    user.press("Satisfied")
    await user.expect("Question 2 of 32")
    assert await answered(harness) == 1
    assert (await returnee_of(harness, user)).status == "active"


async def test_the_next_question_is_sent_while_the_answered_one_is_closed(
    harness: Harness, user_factory: Users
) -> None:
    """On a slow link to Telegram, the returnee waits for one round trip per press, not
    two: the next question does not wait for the edit that closes the answered one."""
    user = user_factory("en")
    await open_invitation(harness, user)
    user.press("I agree")
    await user.expect("Question 1 of 32")
    harness.server.delays.update(editmessagetext=0.4, sendmessage=0.4)
    harness.server.began.clear()
    user.press("Satisfied")
    await user.expect("Question 2 of 32")
    await user.settle()
    began = harness.server.began
    assert {"editmessagetext", "sendmessage"} <= {method for method, _ in began}
    assert any(  # one began while the other was being answered
        {method, *during} >= {"editmessagetext", "sendmessage"} for method, during in began
    )
    first = next(m for m in user.messages if "Question 1 of 32" in m.text)
    assert "✓" in first.text and not first.buttons()  # closed all the same


async def test_start_without_a_valid_invite_stores_nothing(
    harness: Harness, user_factory: Users
) -> None:
    user = user_factory("fr")
    user.send("/start")
    await user.expect("Ouvrez le lien d'invitation")
    user.send("/start not-a-real-token")
    await user.expect("n'est pas valide")
    user.send("bonjour")
    await user.expect("Ouvrez le lien d'invitation")
    assert harness.store is not None
    async with harness.store.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Returnee)) == 0
    token = await harness.invite()
    first, second = user_factory("en"), user_factory("en")
    first.send(f"/start {token}")
    await first.expect("Welcome")
    second.send(f"/start {token}")
    await second.expect("already been used")


async def test_declining_consent(harness: Harness, user_factory: Users) -> None:
    user = user_factory("ar")
    token = await harness.invite(language="ar")
    user.send(f"/start {token}")
    await user.expect("أهلًا")
    user.press("العربية")
    await user.expect("قبل أن نبدأ")
    user.press("لا، شكرًا")
    await user.expect("لن يُحفظ أي شيء من إجاباتك")
    assert (await returnee_of(harness, user)).status == "declined"
    assert await answered(harness) == 0


async def test_only_the_latest_copy_of_a_question_has_buttons(
    harness: Harness, user_factory: Users
) -> None:
    """A question sent again (after a sticker, stray text, a restart) and a question
    answered by typing keep no live buttons: only the question on screen has them."""
    user = user_factory("en")
    await enrol_and_consent(harness, user)
    user.press("Satisfied")
    first_copy = await user.expect("Question 2 of 32")
    user.send_sticker()
    second_copy = await user.expect("Question 2 of 32")
    await user.settle()
    assert first_copy.buttons() == [] and second_copy.buttons() != []
    user.send("something else")
    third_copy = await user.expect("Question 2 of 32")
    await user.settle()
    assert second_copy.buttons() == [] and third_copy.buttons() != []
    await harness.restart()
    user.send("/start")
    fourth_copy = await user.expect("Question 2 of 32")
    await user.settle()
    assert third_copy.buttons() == [] and fourth_copy.buttons() != []
    user.press("Never", fourth_copy)  # the pressed copy is closed with its answer
    await user.expect("Question 3 of 32")
    await user.settle()
    assert "✓" in fourth_copy.text and fourth_copy.buttons() == []
    with_buttons = [m for m in user.messages if m.buttons()]
    assert len(with_buttons) == 1 and "Question 3 of 32" in with_buttons[0].text


async def test_a_question_answered_by_typing_loses_its_buttons(
    harness: Harness, user_factory: Users
) -> None:
    user = user_factory("en")
    await enrol_and_consent(harness, user)
    last = await to_the_last_question(user)
    assert last.buttons() != []  # skip, back...
    user.send("Things are better now.")
    await user.expect(THANKS["en"])
    await user.settle()
    assert last.buttons() == []
