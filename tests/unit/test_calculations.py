"""XLSForm calculations: worked out as answers arrive (each may use the ones before),
recorded like answers, worked out again when an answer they use changes, dropped when
they no longer apply, usable in later conditions and texts; once() keeps its first
value; written back to an XLSForm as read."""

from __future__ import annotations

from pathlib import Path

from bot.i18n import Translator
from bot.texts import note_text
from flows.engine import resume, start, visible_questions
from flows.state import AnswerDiscarded, AnswerRecorded, Back, QuestionAsked, Text, TextAnswer
from flows.xlsform import read_xlsform, write_xlsform
from tests.support.xlsforms import write_form

SURVEY = [
    {"type": "integer", "name": "household", "label": "How many live with you?"},
    {"type": "integer", "name": "children", "label": "How many are children?",
     "constraint": ". <= ${household}"},
    {"type": "calculate", "name": "share", "calculation": "round(${children} div ${household}, 2)"},
    {"type": "calculate", "name": "load", "calculation": "if(${share} > 0.5, 'high', 'low')"},
    {"type": "calculate", "name": "first_seen", "calculation": "once(${household})"},
    {"type": "note", "name": "told", "label": "A ${load} share of children (${share})."},
    {"type": "integer", "name": "school", "label": "How many go to school?",
     "relevant": "${load} = 'high'"},
    {"type": "text", "name": "more", "label": "Anything else?", "required": "no"},
]  # fmt: skip


def test_calculations_follow_the_answers(tmp_path: Path) -> None:
    flow = read_xlsform(write_form(tmp_path / "form.xlsx", SURVEY))
    assert [c.id for c in flow.calculations] == ["share", "load", "first_seen"]
    assert [q.id for q in visible_questions(flow, {})] == ["household", "children", "more"]
    step = resume(flow, start(flow, "en").state, Text(text="4"))
    assert step.state.answers["first_seen"] == TextAnswer(text="4")
    step = resume(flow, step.state, Text(text="3"))
    answers = step.state.answers
    assert answers["share"] == TextAnswer(text="0.75") and answers["load"] == TextAnswer(
        text="high"
    )
    recorded = [e.question for e in step.events if isinstance(e, AnswerRecorded)]
    assert recorded == ["children", "share", "load"]
    note = note_text(flow, flow.question("told"), "en", answers, italic=str)
    assert note == "A high share of children (0.75)."
    assert next(e for e in step.events if isinstance(e, QuestionAsked)).question == "school"

    # back to the household: a bigger one makes the share low and school no longer applies
    step = resume(flow, step.state, Back(question="school", seq=step.state.seq))
    step = resume(flow, step.state, Back(question="children", seq=step.state.seq))
    step = resume(flow, step.state, Text(text="10"))
    answers = step.state.answers
    assert answers["share"] == TextAnswer(text="0.3") and answers["load"] == TextAnswer(text="low")
    assert answers["first_seen"] == TextAnswer(text="4")  # (once: kept)
    assert next(e for e in step.events if isinstance(e, QuestionAsked)).question == "more"
    _ = Translator("en")


def test_a_calculation_that_no_longer_applies_is_dropped(tmp_path: Path) -> None:
    survey = [
        {"type": "select_one yn", "name": "work", "label": "Do you work?"},
        {"type": "calculate", "name": "worker", "calculation": "'yes'",
         "relevant": "${work} = 'yes'"},
        {"type": "text", "name": "job", "label": "What work?"},
    ]  # fmt: skip
    choices = [{"list_name": "yn", "name": "yes", "label": "Yes"},
               {"list_name": "yn", "name": "no", "label": "No"}]  # fmt: skip
    flow = read_xlsform(write_form(tmp_path / "form.xlsx", survey, choices))
    step = resume(flow, start(flow, "en").state, Text(text="1"))
    assert step.state.answers["worker"] == TextAnswer(text="yes")
    step = resume(flow, step.state, Back(question="job", seq=step.state.seq))
    step = resume(flow, step.state, Text(text="2"))
    assert "worker" not in step.state.answers
    assert any(isinstance(e, AnswerDiscarded) and e.question == "worker" for e in step.events)


def test_calculations_go_back_to_an_xlsform_as_they_came(tmp_path: Path) -> None:
    flow = read_xlsform(write_form(tmp_path / "form.xlsx", SURVEY))
    write_xlsform(flow, tmp_path / "again.xlsx")
    assert read_xlsform(tmp_path / "again.xlsx").model_dump() == flow.model_dump()


def test_a_hidden_value_is_carried_like_a_calculation(tmp_path: Path) -> None:
    survey = [
        {"type": "hidden", "name": "source", "default": "door_to_door"},
        {"type": "text", "name": "name", "label": "Name?"},
    ]
    flow = read_xlsform(write_form(tmp_path / "form.xlsx", survey))
    assert flow.calculations[0].calculation == "'door_to_door'"
    step = start(flow, "en")
    assert step.state.answers["source"] == TextAnswer(text="door_to_door")
