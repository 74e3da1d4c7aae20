"""XLSForm repeats in the engine: "add another?" before each instance or
``repeat_count`` instances, each instance's answers under ``name[n]``, references to a
sibling read in the same instance and to a repeat's question from outside as every
instance's answers, ``position(..)``, ``indexed-repeat()``; fewer instances drop the
answers of those gone; buttons carry the instance; written back to an XLSForm that
pyxform converts and that reads as the same flow."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.survey import button_input, question_code
from bot.i18n import Translator
from bot.texts import answer_buttons, question_text
from flows.engine import resume, start, visible_questions
from flows.model import RepeatPrompt
from flows.state import (
    AnswerDiscarded,
    Back,
    Choose,
    Input,
    InputRejected,
    QuestionAsked,
    Special,
    Text,
    TextAnswer,
)
from flows.xlsform import read_xlsform, write_xlsform, xform_warnings
from tests.support.xlsforms import write_form

ADD_ANOTHER = [
    {"type": "text", "name": "village", "label": "Your village?"},
    {"type": "begin_group", "name": "household", "label": "Household"},
    {"type": "begin_repeat", "name": "members", "label": "Household member"},
    {"type": "text", "name": "member", "label": "Name?"},
    {"type": "integer", "name": "age", "label": "How old is ${member} (of ${village})?"},
    {"type": "select_one yn", "name": "school", "label": "Does ${member} go to school?",
     "relevant": "${age} < 18"},
    {"type": "calculate", "name": "place", "calculation": "position(..)"},
    {"type": "end_repeat"},
    {"type": "end_group"},
    {"type": "calculate", "name": "size", "calculation": "count(${member})"},
    {"type": "calculate", "name": "total", "calculation": "sum(${age})"},
    {"type": "calculate", "name": "first", "calculation":
     "indexed-repeat(${member}, ${members}, 1)"},
    {"type": "text", "name": "end", "label": "${size} people, ${total} years, first ${first}?"},
]  # fmt: skip
YN = [
    {"list_name": "yn", "name": "yes", "label": "Yes"},
    {"list_name": "yn", "name": "no", "label": "No"},
]


def _asked(step) -> str:  # type: ignore[no-untyped-def]
    return next(e for e in step.events if isinstance(e, QuestionAsked)).question


def test_add_another_keeps_each_instance_apart(tmp_path: Path) -> None:
    flow = read_xlsform(write_form(tmp_path / "form.xlsx", ADD_ANOTHER, YN))
    assert flow.repeats["members"].section == "household"
    step = start(flow, "en")
    assert _asked(step) == "village"
    inputs: list[tuple[Input, str]] = [
        (Text(text="Kindia"), "members[1]"),
        (Choose(option="yes"), "member[1]"),
        (Text(text="Awa"), "age[1]"),
        (Text(text="34"), "members[2]"),
        (Choose(option="yes"), "member[2]"),
        (Text(text="Ali"), "age[2]"),
        (Text(text="9"), "school[2]"),
        (Choose(option="yes"), "members[3]"),
        (Choose(option="no"), "end"),
    ]
    for inp, then in inputs:
        step = resume(flow, step.state, inp)
        assert _asked(step) == then, inp
    answers = step.state.answers
    assert answers["member[1]"] == TextAnswer(text="Awa") and "school[1]" not in answers
    assert answers["place[2]"] == TextAnswer(text="2")
    assert (answers["size"], answers["total"], answers["first"]) == (
        TextAnswer(text="2"),
        TextAnswer(text="43"),
        TextAnswer(text="Awa"),
    )
    _ = Translator("en")
    age = flow.question("age[2]")
    event = QuestionAsked(question="age[2]", number=6, total=9)
    shown = question_text(flow, age, event, "en", _, bold=str, italic=str, answers=answers)  # type: ignore[arg-type]
    assert shown.splitlines()[:2] == ["Household", "Household member 2"]
    assert "How old is Ali (of Kindia)?" in shown


def test_a_prompt_is_yes_or_no_and_back_goes_through_the_instances(tmp_path: Path) -> None:
    flow = read_xlsform(write_form(tmp_path / "form.xlsx", ADD_ANOTHER, YN))
    step = resume(flow, start(flow, "en").state, Text(text="Kindia"))
    prompt = flow.question("members[1]")
    assert isinstance(prompt, RepeatPrompt) and prompt.instance == 1
    _ = Translator("fr")
    asked = next(e for e in step.events if isinstance(e, QuestionAsked))
    labels = [b.label for b in answer_buttons(prompt, asked, [], "en", _)]
    assert labels == ["Oui, ajouter", "Non, continuer", "◀ Retour"]
    refused = resume(flow, step.state, Special(value="prefer_not_to_answer"))
    assert [e.reason for e in refused.events if isinstance(e, InputRejected)] == ["not_allowed"]
    step = resume(flow, step.state, Choose(option="yes"))
    step = resume(flow, step.state, Text(text="Awa"))
    step = resume(flow, step.state, Back(seq=step.state.seq))
    assert _asked(step) == "member[1]"
    step = resume(flow, step.state, Back(seq=step.state.seq))
    assert _asked(step) == "members[1]"
    # no after all: the instance and its answers go
    step = resume(flow, step.state, Choose(option="no"))
    assert any(isinstance(e, AnswerDiscarded) and e.question == "member[1]" for e in step.events)
    assert _asked(step) == "end" and "member[1]" not in step.state.answers


def test_repeat_count_asks_that_many_and_fewer_drop_the_rest(tmp_path: Path) -> None:
    survey = [
        {"type": "integer", "name": "children", "label": "How many children?"},
        {"type": "begin_repeat", "name": "kids", "label": "Child", "repeat_count": "${children}"},
        {"type": "integer", "name": "kid_age", "label": "Age of child ${position}?"},
        {"type": "calculate", "name": "position", "calculation": "position(..)"},
        {"type": "end_repeat"},
        {"type": "text", "name": "end", "label": "Anything else?"},
    ]
    survey[2], survey[3] = survey[3], survey[2]  # (the calculation first: the label uses it)
    flow = read_xlsform(write_form(tmp_path / "form.xlsx", survey))
    step = resume(flow, start(flow, "en").state, Text(text="3"))
    asked = []
    while _asked(step) != "end":
        asked.append(_asked(step))
        step = resume(flow, step.state, Text(text=str(len(asked))))
    assert asked == ["kid_age[1]", "kid_age[2]", "kid_age[3]"]
    assert not any(isinstance(q, RepeatPrompt) for q in visible_questions(flow, step.state.answers))
    # two children, not three: the third's answers go
    for _i in range(4):
        step = resume(flow, step.state, Back(seq=step.state.seq))
    assert _asked(step) == "children"
    step = resume(flow, step.state, Text(text="2"))
    assert "kid_age[3]" not in step.state.answers and "position[3]" not in step.state.answers
    assert step.state.answers["kid_age[2]"] == TextAnswer(text="2")
    assert _asked(step) == "end"


def test_buttons_carry_the_instance(tmp_path: Path) -> None:
    flow = read_xlsform(write_form(tmp_path / "form.xlsx", ADD_ANOTHER, YN))
    for key in ("village", "school[3]", "members[1]", "members[12]", "member[40]", "end"):
        code = question_code(flow, key)
        inp = button_input(flow, "b", code, -1, 7)
        assert inp is not None and inp.question == key
    assert button_input(flow, "b", 10**9, -1, 7) is None


@pytest.mark.parametrize("form", ["add_another", "count"])
def test_a_repeat_is_written_back_as_read(tmp_path: Path, form: str) -> None:
    survey = [dict(row) for row in ADD_ANOTHER]
    if form == "count":
        survey.insert(0, {"type": "integer", "name": "n", "label": "How many?"})
        survey[3]["repeat_count"] = "${n}"
        survey[3]["relevant"] = "${n} > 0"
    flow = read_xlsform(write_form(tmp_path / "form.xlsx", survey, YN))
    write_xlsform(flow, tmp_path / "back.xlsx")
    assert xform_warnings(tmp_path / "back.xlsx") == []
    again = read_xlsform(tmp_path / "back.xlsx")
    assert again.repeats == flow.repeats and again.questions == flow.questions
