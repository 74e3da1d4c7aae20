"""Every workbook pyxform reads (.xlsx, .xls, XLSForm .csv) and the header spellings
Kobo and ODK authors write, read as the same flow; or_other as pyxform expands it."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.xlsform import XLSFormError, read_xlsform
from tests.support.xlsforms import write_csv, write_form, write_xls

SURVEY = [
    {"type": "select_one yn", "name": "work", "label::English (en)": "Do you work?",
     "label::French (fr)": "Travaillez-vous ?", "required": "yes"},
    {"type": "integer", "name": "age", "label::English (en)": "Age?",
     "label::French (fr)": "Âge ?", "constraint": ". >= 0"},
]  # fmt: skip
CHOICES = [
    {"list_name": "yn", "name": "yes", "label::English (en)": "Yes", "label::French (fr)": "Oui"},
    {"list_name": "yn", "name": "no", "label::English (en)": "No", "label::French (fr)": "Non"},
]


def test_xlsx_xls_and_csv_read_as_the_same_flow(tmp_path: Path) -> None:
    sheets = {"survey": SURVEY, "choices": CHOICES}
    flows = [
        read_xlsform(write_form(tmp_path / "form.xlsx", SURVEY, CHOICES)),
        read_xlsform(write_xls(tmp_path / "form.xls", sheets)),
        read_xlsform(write_csv(tmp_path / "form.csv", sheets)),
    ]
    dumped = [f.model_dump() for f in flows]
    assert dumped[0] == dumped[1] == dumped[2]
    assert flows[0].languages == ["en", "fr"]


def test_an_xls_refusal_names_its_row_and_column_letter(tmp_path: Path) -> None:
    survey = [*SURVEY, {"type": "geopoint", "name": "where", "label::English (en)": "Where?",
                        "label::French (fr)": "Où ?"}]  # fmt: skip
    with pytest.raises(XLSFormError) as refused:
        read_xlsform(write_xls(tmp_path / "form.xls", {"survey": survey, "choices": CHOICES}))
    assert (refused.value.sheet, refused.value.row, refused.value.column) == (
        "survey",
        4,
        "A (type)",
    )


@pytest.mark.parametrize(
    ("columns", "languages", "label"),
    [
        ({"label:english": "Name?"}, ["en"], {"en": "Name?"}),  # (ODK's legacy spelling)
        ({"label::english": "Name?", "hint::default": "as written"}, ["en"], {"en": "Name?"}),
        ({"label::default": "Name?"}, ["en"], {"en": "Name?"}),
        ({"label": "Name?", "label::French (fr)": "Nom ?"}, ["en", "fr"],
         {"en": "Name?", "fr": "Nom ?"}),
        ({"label::English": "Name?", "label::Arabic": "الاسم؟"}, ["en", "ar"],
         {"en": "Name?", "ar": "الاسم؟"}),
    ],
)  # fmt: skip
def test_header_spellings_pyxform_accepts(
    tmp_path: Path, columns: dict[str, str], languages: list[str], label: dict[str, str]
) -> None:
    survey = [{"type": "text", "name": "name", **columns}]
    flow = read_xlsform(write_form(tmp_path / "form.xlsx", survey))
    assert flow.languages == languages
    assert flow.question("name").text == label


def test_a_plain_hint_is_every_language_s_hint(tmp_path: Path) -> None:
    survey = [{"type": "text", "name": "name", "label::English (en)": "Name?",
               "label::French (fr)": "Nom ?", "hint": "Ahmed Diallo"}]  # fmt: skip
    flow = read_xlsform(write_form(tmp_path / "form.xlsx", survey))
    assert flow.question("name").hint == {"en": "Ahmed Diallo", "fr": "Ahmed Diallo"}


def test_one_language_spelled_two_ways_is_refused_naming_both(tmp_path: Path) -> None:
    survey = [{"type": "text", "name": "a", "label::English (en)": "A?", "hint::english": "a"}]
    with pytest.raises(XLSFormError, match="'english' and 'English \\(en\\)' are both"):
        read_xlsform(write_form(tmp_path / "form.xlsx", survey))


@pytest.mark.parametrize(
    "spelling", ["select_one sexes or_other", "select one from sexes or specify other"]
)
def test_or_other_as_pyxform_expands_it(tmp_path: Path, spelling: str) -> None:
    survey = [{"type": spelling, "name": "sex", "label": "Sex?"}]
    choices = [{"list_name": "sexes", "name": "f", "label": "Female"},
               {"list_name": "sexes", "name": "m", "label": "Male"}]  # fmt: skip
    flow = read_xlsform(write_form(tmp_path / "form.xlsx", survey, choices))
    assert [o.id for o in flow.question("sex").options] == ["f", "m", "other"]
    other = flow.question("sex_other")
    assert other.type == "free_text" and other.optional
    assert other.show_if is not None and other.show_if.question == "sex"
    assert other.show_if.any_of == ["other"]


def test_the_import_says_which_column_became_which_language_and_what_was_ignored(
    tmp_path: Path,
) -> None:
    from flows.xlsform import import_xlsform

    survey = [
        {"type": "start", "name": "start"},
        {"type": "deviceid", "name": "phone_id"},
        {"type": "text", "name": "name", "label:english": "Name?", "label": "Nom ?",
         "appearance": "multiline", "guidance_hint:english": "as on the ID card"},
    ]  # fmt: skip
    imported = import_xlsform(
        write_form(tmp_path / "form.xlsx", survey, settings={"default_language": "fr"})
    )
    assert imported.languages == {"default": "fr", "english": "en"}
    assert imported.flow.languages == ["fr", "en"]
    assert imported.summary() == [
        "languages: plain columns -> fr, 'english' -> en",
        "ignored: metadata a chat has no device for (start, phone_id (deviceid))",
        "ignored: appearance (row 4)",
        "ignored: guidance_hint (row 4)",
    ]


def test_a_form_that_cannot_run_is_refused_with_every_problem_at_once(tmp_path: Path) -> None:
    survey = [
        {"type": "text", "name": "name", "label": "Name?"},
        {"type": "geopoint", "name": "where", "label": "Where?"},
        {"type": "integer", "name": "age", "label": "Age?", "relevant": "pulldata('x')"},
        {"type": "text", "name": "photo", "label": "Photo?", "media::image": "a.png"},
    ]
    with pytest.raises(XLSFormError) as refused:
        read_xlsform(write_form(tmp_path / "form.xlsx", survey))
    text = str(refused.value)
    assert text.startswith("3 problems:")
    for where in ("row 3, column A (type)", "row 4, column D (relevant)",
                  "row 5, column E (media::image)"):  # fmt: skip
        assert where in text, where
    assert (refused.value.sheet, refused.value.row) == ("survey", 3)
    twice = [*survey[:1], *survey[:1], {**survey[2], "relevant": ""}, survey[2]]
    with pytest.raises(XLSFormError, match="2 problems:") as refused:
        read_xlsform(write_form(tmp_path / "twice.xlsx", twice))
    assert "row 3, column B (name)" in str(refused.value)
    assert "row 5, column B (name)" in str(refused.value)


def test_a_label_shows_the_earlier_answers_it_names(tmp_path: Path) -> None:
    from bot.i18n import Translator
    from bot.texts import note_text, question_text
    from flows.engine import resume, start
    from flows.state import QuestionAsked, Text

    survey = [
        {"type": "text", "name": "name", "label": "Your name?"},
        {"type": "note", "name": "hello", "label": "Welcome, ${name}."},
        {"type": "integer", "name": "age", "label": "How old are you, ${name}?",
         "hint": "${name}, in years", "relevant": "string-length(${name}) > 0"},
    ]  # fmt: skip
    flow = read_xlsform(write_form(tmp_path / "form.xlsx", survey))
    step = resume(flow, start(flow, "en").state, Text(text="Amina"))
    asked = next(e for e in step.events if isinstance(e, QuestionAsked))
    shown = question_text(
        flow, flow.question("age"), asked, "en", Translator("en"), bold=str, italic=str,
        answers=step.state.answers,
    )  # fmt: skip
    assert "How old are you, Amina?" in shown and "Amina, in years" in shown
    note = note_text(flow, flow.question("hello"), "en", step.state.answers, italic=str)
    assert note == "Welcome, Amina."
    assert note_text(flow, flow.question("hello"), "en", {}, italic=str) == "Welcome, ."


def test_a_label_naming_no_question_is_refused_at_its_row(tmp_path: Path) -> None:
    survey = [{"type": "text", "name": "a", "label": "A?"},
              {"type": "text", "name": "b", "label": "And ${nobody}?"}]  # fmt: skip
    with pytest.raises(XLSFormError) as refused:
        read_xlsform(write_form(tmp_path / "form.xlsx", survey))
    assert (refused.value.row, refused.value.column) == (3, "C (label)")
    assert "Could not find the name 'nobody'" in str(refused.value)
    # (a flow file is checked the same way)
    from flows.loader import FlowDefinitionError, parse_definition

    questions = [
        {"id": "a", "type": "free_text", "text": {"en": "A?"}},
        {"id": "b", "type": "free_text", "text": {"en": "And ${nobody}?"}},
    ]
    flow = {"spec_version": 1, "id": "f", "version": "1", "languages": ["en"],
            "title": {"en": "F"}, "questions": questions}  # fmt: skip
    with pytest.raises(FlowDefinitionError, match="refers to 'nobody', which is not another"):
        parse_definition(flow)
