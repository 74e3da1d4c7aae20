"""XLSForm ``acknowledge`` (one button), ``time`` (typed hours and minutes) and
``default`` (a suggested answer offered in one tap, never recorded unless taken; a
multi-select's suggestion ticked): in the engine, on the buttons every chat shows, in the
terminal's words; a default the question would refuse, or one worked out from other
answers, is refused where it is written."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.survey import button_input, question_code
from bot.i18n import Translator
from bot.texts import answer_buttons, question_text
from flows.engine import resume, start
from flows.questions import parse_time
from flows.state import Done, InputRejected, QuestionAsked, Text, TextAnswer
from flows.xlsform import XLSFormError, read_xlsform
from tests.support.xlsforms import write_form

YN = [
    {"list_name": "yn", "name": "yes", "label": "Yes"},
    {"list_name": "yn", "name": "no", "label": "No"},
]
SURVEY = [
    {"type": "acknowledge", "name": "agreed", "label": "This survey is voluntary."},
    {"type": "time", "name": "wake", "label": "When do you wake up?", "default": "06:30"},
    {"type": "select_multiple yn", "name": "which", "label": "Which?", "default": "yes"},
    {"type": "date", "name": "back", "label": "When did you come back?",
     "default": "2024-01-31"},
]  # fmt: skip


@pytest.mark.parametrize(
    ("typed", "kept"),
    [("14:30", "14:30"), ("9h05", "09:05"), ("9h", "09:00"), ("2:30 pm", "14:30"),
     ("١٤:٣٠", "14:30"), ("12 am", "00:00"), ("14.30", "14:30"),
     ("25:00", None), ("14", None), ("13 pm", None), ("noon", None), ("14:7", None)],
)  # fmt: skip
def test_times_as_people_type_them(typed: str, kept: str | None) -> None:
    found = parse_time(typed)
    assert (found.strftime("%H:%M") if found else None) == kept


def test_acknowledge_time_and_suggestions(tmp_path: Path) -> None:
    flow = read_xlsform(write_form(tmp_path / "form.xlsx", SURVEY, YN))
    _ = Translator("en")
    step = start(flow, "en")
    asked = next(e for e in step.events if isinstance(e, QuestionAsked))
    agreed = flow.question("agreed")
    buttons = answer_buttons(agreed, asked, [], "en", _)  # type: ignore[arg-type]
    assert [b.label for b in buttons] == ["OK ✓", "Skip", "Prefer not to answer"]
    code = question_code(flow, "agreed")
    press = button_input(flow, "c", code, 0, step.state.seq)
    assert press is not None
    step = resume(flow, step.state, press)
    assert step.state.answers["agreed"] == TextAnswer(text="OK")

    wake = flow.question("wake")
    asked = next(e for e in step.events if isinstance(e, QuestionAsked))
    shown = question_text(flow, wake, asked, "en", _, bold=str, italic=str)  # type: ignore[arg-type]
    assert "Suggested answer: 06:30" in shown and "Type a time as hours:minutes" in shown
    labels = [b.label for b in answer_buttons(wake, asked, [], "en", _)]  # type: ignore[arg-type]
    assert labels[0] == "Use the suggestion"
    refused = resume(flow, step.state, Text(text="half past six"))
    assert [e.reason for e in refused.events if isinstance(e, InputRejected)] == ["expected_time"]
    assert "wake" not in refused.state.answers  # (a suggestion is never recorded untaken)
    use = button_input(flow, "u", question_code(flow, "wake"), -1, step.state.seq)
    assert use is not None
    step = resume(flow, step.state, use)
    assert step.state.answers["wake"] == TextAnswer(text="06:30")
    assert step.state.pending == ["yes"]  # (the multi-select's suggestion, ticked)
    step = resume(flow, step.state, Done())
    assert step.state.answers["which"].options == ("yes",)  # type: ignore[union-attr]
    asked = next(e for e in step.events if isinstance(e, QuestionAsked))
    shown = question_text(flow, flow.question("back"), asked, "en", _, bold=str, italic=str)  # type: ignore[arg-type]
    assert "Suggested answer: 31/01/2024" in shown


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"type": "integer", "name": "n", "label": "N?", "default": "three"},
         "the default 'three' is not an answer this question takes"),
        ({"type": "select_one yn", "name": "n", "label": "N?", "default": "maybe"},
         "the default 'maybe' is not one of the question's options"),
        ({"type": "text", "name": "n", "label": "N?", "default": "concat(${a}, 'x')"},
         "is worked out from other answers"),
    ],
)  # fmt: skip
def test_a_default_the_question_refuses_is_named_where_it_is(
    tmp_path: Path, row: dict[str, str], message: str
) -> None:
    survey = [{"type": "text", "name": "a", "label": "A?"}, row]
    with pytest.raises(XLSFormError) as refused:
        read_xlsform(write_form(tmp_path / "form.xlsx", survey, YN))
    assert (refused.value.row, refused.value.column) == (3, "D (default)")
    assert message in str(refused.value)
