"""Constraints on every kind of question (ODK's constraint column), checked by the engine
with the earlier answers: a refused answer keeps nothing and says the form's message."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.i18n import Translator
from bot.texts import rejection_message
from flows.engine import Step, resume, start
from flows.state import Choose, Done, InputRejected, QuestionAsked, Text, Toggle
from flows.xlsform import XLSFormError, read_xlsform, write_xlsform
from tests.support.xlsforms import write_form

SURVEY = [
    {"type": "integer", "name": "household", "label": "How many live with you?"},
    {"type": "integer", "name": "children", "label": "How many are children?",
     "constraint": ". <= ${household}",
     "constraint_message": "No more than the ${household} people in your household."},
    {"type": "select_one yn", "name": "work", "label": "Do you work?",
     "constraint": ". = 'no' or ${household} > 0"},
    {"type": "text", "name": "phone", "label": "Your phone number?",
     "constraint": "regex(., '^[0-9]{9}$')", "constraint_message": "Nine digits, please."},
    {"type": "date", "name": "arrived", "label": "When did you come back?",
     "constraint": ". <= today()"},
    {"type": "select_multiple help", "name": "help", "label": "What help?",
     "constraint": "not(selected(., 'none') and count-selected(.) > 1)"},
]  # fmt: skip
CHOICES = [
    {"list_name": "yn", "name": "yes", "label": "Yes"},
    {"list_name": "yn", "name": "no", "label": "No"},
    {"list_name": "help", "name": "cash", "label": "Cash"},
    {"list_name": "help", "name": "none", "label": "None"},
]


def asked(step: Step) -> str | None:
    return next((e.question for e in step.events if isinstance(e, QuestionAsked)), None)


def refused(step: Step) -> InputRejected | None:
    return next((e for e in step.events if isinstance(e, InputRejected)), None)


def test_constraints_on_every_kind_of_question_with_earlier_answers(tmp_path: Path) -> None:
    flow = read_xlsform(write_form(tmp_path / "form.xlsx", SURVEY, CHOICES))
    _ = Translator("en")
    step = start(flow, "en")
    step = resume(flow, step.state, Text(text="4"))
    no = resume(flow, step.state, Text(text="5"))
    rejection = refused(no)
    assert rejection is not None and rejection.reason == "constraint"
    assert "children" not in no.state.answers
    message = rejection_message(
        _, rejection, question=flow.question("children"), language="en", definition=flow,
        answers=no.state.answers,
    )  # fmt: skip
    assert message == "No more than the 4 people in your household."
    step = resume(flow, no.state, Text(text="2"))
    assert asked(step) == "work"
    step = resume(flow, step.state, Choose(question="work", seq=step.state.seq, option="yes"))
    assert asked(step) == "phone"
    bad = resume(flow, step.state, Text(text="12-34"))
    assert refused(bad) is not None and "phone" not in bad.state.answers
    step = resume(flow, bad.state, Text(text="622123456"))
    future = resume(flow, step.state, Text(text="2999-01-01"))
    assert refused(future) is not None
    step = resume(flow, future.state, Text(text="2026-10-01"))
    assert asked(step) == "help"
    for option in ("cash", "none"):
        step = resume(flow, step.state, Toggle(question="help", option=option))
    both = resume(flow, step.state, Done(question="help"))
    assert refused(both) is not None and "help" not in both.state.answers
    step = resume(flow, both.state, Toggle(question="help", option="cash"))
    step = resume(flow, step.state, Done(question="help"))
    assert step.state.completed


def test_constraints_go_back_to_an_xlsform_as_they_came(tmp_path: Path) -> None:
    flow = read_xlsform(write_form(tmp_path / "form.xlsx", SURVEY, CHOICES))
    write_xlsform(flow, tmp_path / "again.xlsx")
    again = read_xlsform(tmp_path / "again.xlsx")
    assert again.model_dump() == flow.model_dump()


def test_a_range_is_a_number_between_its_bounds_by_its_step(tmp_path: Path) -> None:
    survey = [
        {"type": "range", "name": "score", "label": "From 1 to 10?"},
        {"type": "range", "name": "hours", "label": "Hours a day?",
         "parameters": "start=0 end=12 step=0.5"},
    ]  # fmt: skip
    flow = read_xlsform(write_form(tmp_path / "form.xlsx", survey))
    assert flow.question("score").type == "integer"
    assert flow.question("hours").type == "decimal"
    step = start(flow, "en")
    assert refused(resume(flow, step.state, Text(text="11"))) is not None
    step = resume(flow, step.state, Text(text="10"))
    assert refused(resume(flow, step.state, Text(text="3.25"))) is not None
    assert refused(resume(flow, step.state, Text(text="13"))) is not None
    assert resume(flow, step.state, Text(text="7.5")).state.completed
    bad = [{"type": "range", "name": "r", "label": "R?", "parameters": "start=5 end=1"}]
    with pytest.raises(XLSFormError, match="from start up to end by a positive step"):
        read_xlsform(write_form(tmp_path / "bad.xlsx", bad))
