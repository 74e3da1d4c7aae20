"""Behaviour of the pure survey engine, one rule per test."""

from __future__ import annotations

from flows import FlowDefinition, resume, scored_answers, start
from flows.engine import Step
from flows.state import (
    AnswerDiscarded,
    AnswerRecorded,
    Back,
    ChoiceAnswer,
    Choose,
    Done,
    GoTo,
    Input,
    InputRejected,
    LanguageChanged,
    MultiAnswer,
    QuestionAsked,
    Resume,
    SelectionChanged,
    SessionState,
    SetLanguage,
    Special,
    SpecialAnswer,
    SurveyCompleted,
    Text,
    TextAnswer,
    Toggle,
)


def run(flow: FlowDefinition, *inputs: Input, language: str = "en") -> Step:
    step = start(flow, language)
    for inp in inputs:
        step = resume(flow, step.state, inp)
    return step


def asked(step: Step) -> QuestionAsked:
    event = step.events[-1]
    assert isinstance(event, QuestionAsked), step.events
    return event


def rejected(step: Step) -> InputRejected:
    event = step.events[-1]
    assert isinstance(event, InputRejected), step.events
    return event


def test_start_asks_the_first_question(mini: FlowDefinition) -> None:
    step = start(mini, "en")
    assert step.events == (QuestionAsked(question="q_work", number=1, total=4),)
    assert step.state.current == "q_work" and step.state.answers == {}


def test_total_counts_only_shown_questions(mini: FlowDefinition) -> None:
    assert asked(run(mini, Choose(option="yes"))).total == 5
    step = run(mini, Choose(option="no"))
    assert asked(step) == QuestionAsked(question="q_help", number=2, total=4)


def test_show_if_hides_and_discards(mini: FlowDefinition) -> None:
    step = run(mini, Choose(option="yes"), Choose(option="trade"), GoTo(target="q_work"))
    step = resume(mini, step.state, Choose(option="no"))
    assert AnswerDiscarded(question="q_job_kind", reason="hidden") in step.events
    assert "q_job_kind" not in step.state.answers
    assert asked(step).question == "q_help"


def test_changing_an_earlier_answer_returns_to_where_one_was(mini: FlowDefinition) -> None:
    step = run(mini, Choose(option="yes"), Choose(option="trade"), Toggle(option="cash"), Done())
    assert step.state.current == "q_mood"
    step = resume(mini, step.state, Back())
    step = resume(mini, step.state, Back())
    assert asked(step) == QuestionAsked(
        question="q_job_kind", number=2, total=5, current_answer=ChoiceAnswer(option="trade")
    )
    step = resume(mini, step.state, Choose(option="farming"))
    assert (
        AnswerRecorded(question="q_job_kind", answer=ChoiceAnswer(option="farming"), changed=True)
        in step.events
    )
    assert asked(step).question == "q_mood"  # not q_help again


def test_back_on_first_question_is_refused(mini: FlowDefinition) -> None:
    step = run(mini, Back())
    assert rejected(step).reason == "at_start"
    assert step.state == start(mini, "en").state


def test_goto_only_answered_questions(mini: FlowDefinition) -> None:
    step = run(mini, Choose(option="no"))
    assert rejected(resume(mini, step.state, GoTo(target="q_mood"))).reason == "not_reachable"
    assert rejected(resume(mini, step.state, GoTo(target="q_job_kind"))).reason == (
        "not_reachable"
    )  # hidden
    assert rejected(resume(mini, step.state, GoTo(target="nope"))).reason == "unknown_question"
    assert asked(resume(mini, step.state, GoTo(target="q_work"))).question == "q_work"


def test_text_matches_number_label_or_id(mini: FlowDefinition) -> None:
    for typed in ("1", " Yes! ", "YES", "yes", "١"):
        step = run(mini, Text(text=typed))
        assert step.state.answers["q_work"] == ChoiceAnswer(option="yes"), typed
    assert run(mini, Text(text="Oui"), language="fr").state.answers["q_work"] == ChoiceAnswer(
        option="yes"
    )
    for typed in ("3", "0", "maybe", "", "🙂"):
        step = run(mini, Text(text=typed))
        assert rejected(step).reason == "expected_choice", typed
        assert step.state.answers == {}


def test_unknown_option_is_refused(mini: FlowDefinition) -> None:
    step = run(mini, Choose(option="maybe"))
    assert rejected(step) == InputRejected(question="q_work", reason="unknown_option")


def test_stale_inputs_change_nothing(mini: FlowDefinition) -> None:
    step = run(mini, Choose(option="yes"))
    before = step.state
    late = resume(mini, before, Choose(question="q_work", option="no"))
    assert rejected(late).reason == "stale" and late.state == before
    old_seq = resume(mini, before, Choose(option="trade", seq=0))
    assert rejected(old_seq).reason == "stale" and old_seq.state == before
    fresh = resume(mini, before, Choose(question="q_job_kind", option="trade", seq=before.seq))
    assert fresh.state.answers["q_job_kind"] == ChoiceAnswer(option="trade")


def test_special_answers(mini: FlowDefinition) -> None:
    step = run(mini, Special(value="dont_know"))
    assert rejected(step).reason == "not_allowed"  # q_work does not offer don't know
    step = run(mini, Special(value="skip"))
    assert rejected(step).reason == "not_allowed"  # q_work is not optional
    step = run(mini, Special(value="prefer_not_to_answer"))
    assert step.state.answers["q_work"] == SpecialAnswer(value="prefer_not_to_answer")
    assert asked(step).question == "q_help"  # q_job_kind needs a "yes"
    step = run(mini, Choose(option="yes"), Special(value="dont_know"))
    assert step.state.answers["q_job_kind"] == SpecialAnswer(value="dont_know")


def test_multi_select(mini: FlowDefinition) -> None:
    step = run(mini, Choose(option="no"), Done())
    assert rejected(step) == InputRejected(question="q_help", reason="nothing_selected", limit=1)
    step = run(mini, Choose(option="no"), Toggle(option="training"), Toggle(option="cash"))
    assert step.events[-1] == SelectionChanged(question="q_help", selected=("cash", "training"))
    step = resume(mini, step.state, Toggle(option="none"))  # exclusive: clears the others
    assert step.state.pending == ["none"]
    step = resume(mini, step.state, Toggle(option="cash"))  # and is cleared by them
    assert step.state.pending == ["cash"]
    step = resume(mini, step.state, Toggle(option="cash"))  # toggled off
    assert step.state.pending == []
    step = resume(mini, step.state, Toggle(option="training"))
    step = resume(mini, step.state, Done())
    assert step.state.answers["q_help"] == MultiAnswer(options=("training",))
    assert step.state.pending == []


def test_multi_select_by_text(mini: FlowDefinition) -> None:
    base = run(mini, Choose(option="no")).state
    assert resume(mini, base, Text(text="2, 1")).state.answers["q_help"] == MultiAnswer(
        options=("cash", "training")
    )
    assert resume(mini, base, Text(text="1 2")).state.answers["q_help"] == MultiAnswer(
        options=("cash", "training")
    )
    assert resume(mini, base, Text(text="training")).state.answers["q_help"] == MultiAnswer(
        options=("training",)
    )
    for bad in ("1, 3", "7", "cash, bananas", ""):
        assert rejected(resume(mini, base, Text(text=bad))).reason == "expected_selection", bad


def test_going_back_to_a_multi_select_restores_its_selection(mini: FlowDefinition) -> None:
    step = run(mini, Choose(option="no"), Toggle(option="cash"), Done(), Back())
    assert step.state.pending == ["cash"]
    assert asked(step).current_answer == MultiAnswer(options=("cash",))


def test_free_text(mini: FlowDefinition) -> None:
    base = run(mini, Choose(option="no"), Text(text="1"), Choose(option="good")).state
    assert base.current == "q_comment"
    too_long = resume(mini, base, Text(text="x" * 21))
    assert rejected(too_long) == InputRejected(question="q_comment", reason="too_long", limit=20)
    assert rejected(resume(mini, base, Choose(option="good"))).reason == "expected_text"
    done = resume(mini, base, Text(text="  thanks  "))
    assert done.state.answers["q_comment"] == TextAnswer(text="thanks")
    assert done.events[-1] == SurveyCompleted(answered=4)
    skipped = resume(mini, base, Text(text="   "))
    assert skipped.state.answers["q_comment"] == SpecialAnswer(value="skip")


def test_completed_survey_refuses_more_input(mini: FlowDefinition) -> None:
    step = run(
        mini, Choose(option="no"), Text(text="1"), Choose(option="good"), Special(value="skip")
    )
    assert step.state.completed and step.state.current is None
    for inp in (Choose(option="yes"), Back(), Resume()):
        assert rejected(resume(mini, step.state, inp)).reason == "completed"
    assert scored_answers(mini, step.state.answers) == {
        "q_work": "no",
        "q_help": None,
        "q_mood": "good",
    }


def test_language_switch_keeps_progress(mini: FlowDefinition) -> None:
    step = run(mini, Choose(option="yes"), SetLanguage(language="fr"))
    assert step.events[0] == LanguageChanged(language="fr")
    assert asked(step).question == "q_job_kind"
    assert step.state.language == "fr" and step.state.answers["q_work"] == ChoiceAnswer(
        option="yes"
    )
    assert rejected(resume(mini, step.state, SetLanguage(language="de"))).reason == (
        "unknown_language"
    )


def test_state_survives_json_round_trip_and_inputs_do_not_mutate(mini: FlowDefinition) -> None:
    step = run(mini, Choose(option="yes"), Choose(option="trade"), Toggle(option="cash"))
    stored = step.state.model_dump_json()
    restored = SessionState.model_validate_json(stored)
    assert restored == step.state
    again = resume(mini, restored)
    assert asked(again).question == "q_help"
    assert again.state.pending == ["cash"]
    resume(mini, restored, Done())  # (answers change)
    resume(mini, restored, Toggle(option="cash"))  # (the selection changes)
    assert restored.model_dump_json() == stored  # the input state is never modified


def test_resume_with_a_new_flow_version_drops_invalid_answers(mini: FlowDefinition) -> None:
    step = run(mini, Choose(option="yes"), Choose(option="trade"))
    data = mini.model_dump()
    data["version"] = "2"
    data["questions"][1]["options"] = [
        o for o in data["questions"][1]["options"] if o["id"] != "trade"
    ]
    newer = FlowDefinition.model_validate(data)
    resumed = resume(newer, step.state)
    assert AnswerDiscarded(question="q_job_kind", reason="invalid") in resumed.events
    assert resumed.state.flow_version == "2"
    assert asked(resumed).question == "q_help"  # its place is kept


def test_every_event_and_state_is_plain_json(mini: FlowDefinition) -> None:
    step = run(mini, Choose(option="yes"), Toggle(option="cash"))
    for event in step.events:
        assert isinstance(event.model_dump(mode="json"), dict)
