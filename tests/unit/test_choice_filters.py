"""Cascading selects (XLSForm's choice_filter): a choice list narrowed by an earlier
answer, region then district; only the filtered choices are offered (as buttons, in the
terminal's numbered list, to typed numbers), a choice outside them is refused."""

from __future__ import annotations

from pathlib import Path

from bot.i18n import Translator
from bot.texts import answer_buttons, offered_ids
from flows.engine import offered_options, resume, start
from flows.state import Choose, InputRejected, QuestionAsked, Text
from flows.xlsform import read_xlsform, write_xlsform
from tests.support.xlsforms import write_form

SURVEY = [
    {"type": "select_one region", "name": "region", "label": "Region?"},
    {"type": "select_one district", "name": "district", "label": "District?",
     "choice_filter": "region = ${region}"},
]  # fmt: skip
CHOICES = [
    {"list_name": "region", "name": "north", "label": "North"},
    {"list_name": "region", "name": "south", "label": "South"},
    {"list_name": "district", "name": "n1", "label": "Labé", "region": "north"},
    {"list_name": "district", "name": "n2", "label": "Mamou", "region": "north"},
    {"list_name": "district", "name": "s1", "label": "Boké", "region": "south"},
    {"list_name": "district", "name": "s2", "label": "Kindia", "region": "south"},
]


def test_a_district_list_narrowed_by_the_region(tmp_path: Path) -> None:
    flow = read_xlsform(write_form(tmp_path / "form.xlsx", SURVEY, CHOICES))
    district = flow.question("district")
    assert district.choice_filter == "region = ${region}"  # type: ignore[union-attr]
    assert district.options[0].properties == {"region": "north"}  # type: ignore[union-attr]
    step = resume(flow, start(flow, "en").state, Text(text="2"))  # south
    answers = step.state.answers
    assert [o.id for o in offered_options(flow, district, answers)] == ["s1", "s2"]
    asked = next(e for e in step.events if isinstance(e, QuestionAsked))
    labels = [b.label for b in answer_buttons(
        district, asked, [], "en", Translator("en"), offered_ids(flow, district, answers)
    ) if b.place == "option"]  # fmt: skip
    assert labels == ["Boké", "Kindia"]
    outside = resume(flow, step.state, Choose(question="district", seq=step.state.seq, option="n1"))
    assert any(isinstance(e, InputRejected) for e in outside.events)
    typed = resume(flow, step.state, Text(text="2"))  # the second offered: Kindia
    assert typed.state.answers["district"].option == "s2"  # type: ignore[union-attr]


def test_choice_filters_go_back_to_an_xlsform_as_they_came(tmp_path: Path) -> None:
    flow = read_xlsform(write_form(tmp_path / "form.xlsx", SURVEY, CHOICES))
    write_xlsform(flow, tmp_path / "again.xlsx")
    assert read_xlsform(tmp_path / "again.xlsx").model_dump() == flow.model_dump()
