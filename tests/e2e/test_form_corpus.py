"""Every form of the corpus (:mod:`tests.support.form_corpus`) either imports and is
answered to the end with its scripted steps in the terminal and in a chat on both
channels (each message the chat sends checked against what the engine asks, refuses
and concludes), or is refused at its sheet, row and column with a clear message."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.i18n import Translator
from bot.texts import rejection_message
from flows.engine import resume, start
from flows.model import FlowDefinition, options_of
from flows.state import (
    Answer,
    ChoiceAnswer,
    Choose,
    Input,
    InputRejected,
    MultiAnswer,
    QuestionAsked,
    SurveyCompleted,
    Text,
    TextAnswer,
)
from flows.xlsform import XLSFormError, read_xlsform
from scoring import default_weight_table
from storage.crypto import Keyring
from storage.store import Store
from tests.backends import Backend
from tests.e2e.conftest import WaHarness, running_bot, running_wa_bot
from tests.e2e.fake_telegram import FakeUser
from tests.e2e.test_terminal_survey import Terminal
from tests.support.form_corpus import CORPUS, REFUSED, RUNS, CorpusForm, Step
from tests.support.journeys import AGREE, BEFORE, LANG_BUTTON, WELCOME


def test_the_corpus_has_thirty_forms_of_every_kind() -> None:
    assert len(CORPUS) >= 30
    assert {f.format for f in RUNS} == {"xlsx", "xls", "csv"}
    assert {f.language for f in RUNS} == {"en", "fr", "ar"}
    kinds = " ".join(str(row.get("type")) for f in RUNS for row in f.survey)
    for kind in ("begin_group", "begin_repeat", "calculate", "select_multiple", "range"):
        assert kind in kinds


@pytest.mark.parametrize("form", REFUSED, ids=lambda f: f.name)
def test_a_form_that_cannot_run_is_refused_where_it_is(form: CorpusForm, tmp_path: Path) -> None:
    assert form.refused is not None
    sheet, row, column, words = form.refused
    with pytest.raises(XLSFormError) as refused:
        read_xlsform(form.write(tmp_path))
    assert (refused.value.sheet, refused.value.row, refused.value.column) == (sheet, row, column)
    assert words in str(refused.value) and "Traceback" not in str(refused.value)


def _plain(answer: Answer) -> str | None:
    if isinstance(answer, ChoiceAnswer):
        return answer.option
    if isinstance(answer, MultiAnswer):
        return " ".join(answer.options)
    return answer.text if isinstance(answer, TextAnswer) else None


def _ended_with(form: CorpusForm, answers: dict[str, Answer]) -> None:
    assert {key: _plain(answers[key]) for key in form.answers if key in answers} == form.answers


def _typed(step: Step) -> str:
    """A step as a terminal types it."""
    kind = step[0]
    return {
        "pick": lambda: step[1],
        "add": lambda: "1" if step[1] else "2",
        "ok": lambda: "1",
        "use": lambda: "u",
        "skip": lambda: "",
        "type": lambda: step[1],
        "ticks": lambda: step[1],
    }[kind]()


@pytest.mark.parametrize("form", RUNS, ids=lambda f: f.name)
async def test_answered_to_the_end_in_the_terminal(
    form: CorpusForm, store: Store, tmp_path: Path
) -> None:
    flow = read_xlsform(form.write(tmp_path))
    terminal = Terminal(store, flow, default_weight_table())
    final, _scores, shown = await terminal.run([_typed(s) for s in form.steps], form.language)
    assert final is not None and final.completed, shown[-600:]
    _ended_with(form, final.answers)


def _engine_input(flow: FlowDefinition, current: str, step: Step, language: str) -> Input:
    question = flow.question(current)
    kind = step[0]
    if kind == "pick":
        found = [o.id for o in options_of(question) if o.label[language] == step[1]]
        assert found, f"{step[1]!r} is not an option of {current}"
        return Choose(option=found[0])
    if kind == "add":
        return Choose(option="yes" if step[1] else "no")
    if kind == "ok":
        return Choose(option="OK")
    if kind == "use":
        return Text(text=getattr(question, "default", None) or "")
    return Text(text="" if kind == "skip" else step[1])


def _act(phone: Any, step: Step, _: Translator) -> None:
    kind = step[0]
    presses = {
        "pick": lambda: step[1],
        "add": lambda: _("Yes, add one") if step[1] else _("No, go on"),
        "ok": lambda: _("OK ✓"),
        "use": lambda: _("Use the suggestion"),
        "skip": lambda: _("Skip"),
    }
    if kind in presses:
        phone.press(presses[kind]())
    else:
        phone.send(step[1])


async def _expect_what_the_engine_says(
    phone: Any, events: tuple[Any, ...], flow: FlowDefinition, state: Any, language: str
) -> None:
    _ = Translator(language)
    for event in events:
        if isinstance(event, QuestionAsked):
            await phone.expect(_("Question {number} of {total}", number=event.number,
                                 total=event.total))  # fmt: skip
        elif isinstance(event, InputRejected):
            question = flow.question(event.question) if event.question else None
            message = rejection_message(
                _, event, buttons=True, question=question, language=language,
                definition=flow, answers=state.answers,
            )  # fmt: skip
            await phone.expect(message.splitlines()[0])
        elif isinstance(event, SurveyCompleted):
            await phone.expect(_("Thank you! You have answered all the questions."))


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize("channel", ["telegram", "whatsapp"])
@pytest.mark.parametrize("form", RUNS, ids=lambda f: f.name)
async def test_answered_to_the_end_in_a_chat(
    form: CorpusForm, channel: str, backend: Backend, keyring: Keyring, tmp_path: Path
) -> None:
    flow = read_xlsform(form.write(tmp_path))
    running = running_bot if channel == "telegram" else running_wa_bot
    language, _ = form.language, Translator(form.language)
    async with running(backend, keyring, flow) as bot:
        token = await bot.invite()
        phone: Any
        if isinstance(bot, WaHarness):
            phone = bot.new_user()
            phone.send(f"START {token}")
        else:
            phone = FakeUser(bot.server, 75001)
            phone.send(f"/start {token}")
        await phone.expect(WELCOME["en"])
        phone.press(LANG_BUTTON[language])
        await phone.expect(BEFORE[language])
        phone.press(AGREE[language])
        step = start(flow, language)
        await _expect_what_the_engine_says(phone, step.events, flow, step.state, language)
        for scripted in form.steps:
            assert step.state.current is not None, f"the survey ended before {scripted}"
            _act(phone, scripted, _)
            step = resume(flow, step.state, _engine_input(flow, step.state.current, scripted,
                                                            language))  # fmt: skip
            await _expect_what_the_engine_says(phone, step.events, flow, step.state, language)
        assert step.state.completed
        assert bot.store is not None
        returnee = await bot.store.find_by_case_ref("CASE-1", actor="test")
        assert returnee is not None
        stored = await bot.store.load_state(returnee.id, "initial", flow)
        assert stored is not None and stored.completed
        assert stored.answers == step.state.answers
        _ended_with(form, stored.answers)
