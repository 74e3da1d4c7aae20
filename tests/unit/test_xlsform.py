"""XLSForms read as flow definitions (real-shaped forms, refusals located by sheet, row
and column) and flow definitions written as XLSForms that pyxform converts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pyxform.xls2xform import convert
from typer.testing import CliRunner

from bot.cli import app
from flows import (
    FlowDefinition,
    builtin_definition,
    dump_definition,
    load_definition,
    parse_definition,
    resume,
    start,
)
from flows.model import DecimalNumber, Integer, MultiSelect, Note, ShowIf, YesNo
from flows.state import (
    Choose,
    Done,
    InputRejected,
    NoteShown,
    QuestionAsked,
    SurveyCompleted,
    Text,
    TextAnswer,
    Toggle,
)
from flows.xlsform import XLSFormError, read_xlsform, write_xlsform
from tests.support.xlsforms import AR, EN, FR, labels, livelihood_form, write_form


@pytest.fixture
def livelihood(tmp_path: Path) -> FlowDefinition:
    return read_xlsform(livelihood_form(tmp_path / "livelihood.xlsx"))


def test_a_real_shaped_form_is_read_whole(livelihood: FlowDefinition) -> None:
    flow = livelihood
    assert (flow.id, flow.version, flow.languages) == ("livelihood", "2026-12", ["en", "fr", "ar"])
    assert flow.title["ar"] == "متابعة سبل العيش"
    assert list(flow.sections) == ["work", "support"]
    assert [q.id for q in flow.questions] == [
        "welcome", "has_work", "hours", "income", "help_received", "help_date", "comment", "thanks"
    ]  # fmt: skip
    has_work = flow.question("has_work")
    assert isinstance(has_work, YesNo) and not has_work.optional
    hours = flow.question("hours")
    assert isinstance(hours, Integer) and hours.section == "work"
    assert hours.relevant == "${has_work} = 'yes'" and hours.constraint == ". >= 1 and . <= 100"
    assert hours.constraint_message and hours.constraint_message["fr"] == "Entre 1 et 100."
    assert hours.hint == {"en": "A number.", "fr": "Un nombre.", "ar": "رقم."}
    income = flow.question("income")
    assert isinstance(income, DecimalNumber) and income.optional  # (required left blank)
    assert income.show_if == ShowIf(question="has_work", any_of=["yes"])
    help_received = flow.question("help_received")
    assert isinstance(help_received, MultiSelect)
    assert [o.exclusive for o in help_received.options] == [False, False, True]
    assert flow.question("help_date").relevant == "not(selected(${help_received}, 'none'))"
    assert flow.question("comment").max_length == 200  # type: ignore[union-attr]
    assert isinstance(flow.question("thanks"), Note)


def test_the_imported_form_runs_with_its_skip_logic(livelihood: FlowDefinition) -> None:
    flow = livelihood
    step = start(flow, "ar")
    assert step.events[0] == NoteShown(question="welcome")
    for inp in (Choose(option="yes"), Text(text="٤٠٠")):
        step = resume(flow, step.state, inp)
    assert step.events[-1] == InputRejected(reason="constraint", question="hours")
    for inp in (Text(text="٤٠"), Text(text="120,5"), Toggle(option="cash"), Done()):
        step = resume(flow, step.state, inp)
    assert step.state.answers["hours"] == TextAnswer(text="40")
    assert step.state.answers["income"] == TextAnswer(text="120.5")
    assert isinstance(step.events[-1], QuestionAsked) and step.state.current == "help_date"
    step = resume(flow, step.state, Text(text="15/10/2026"))
    step = resume(flow, step.state, Text(text=""))  # the optional comment
    assert step.events[-2:] == (NoteShown(question="thanks"), SurveyCompleted(answered=6))

    step = start(flow, "en")
    step = resume(flow, step.state, Choose(option="no"))
    assert step.state.current == "help_received"  # hours and income are not relevant
    step = resume(flow, resume(flow, step.state, Toggle(option="none")).state, Done())
    assert step.state.current == "comment"  # no help, no start date


def test_rss_exports_as_an_xlsform_pyxform_converts_and_the_round_trip_is_exact(
    tmp_path: Path,
) -> None:
    rss = builtin_definition()
    path = tmp_path / "rss.xlsx"
    write_xlsform(rss, path)
    warnings: list[str] = []
    xform = convert(xlsform=str(path), warnings=warnings).xform
    assert warnings == []
    assert 'id="rss"' in xform and "<h:title>Reintegration Sustainability Survey</h:title>" in xform
    assert 'lang="Arabic (ar)"' in xform
    assert read_xlsform(path) == rss


def test_an_imported_form_exports_and_reads_back_the_same(
    livelihood: FlowDefinition, tmp_path: Path
) -> None:
    path = tmp_path / "again.xlsx"
    write_xlsform(livelihood, path)
    convert(xlsform=str(path))
    assert read_xlsform(path) == livelihood
    assert parse_definition(yaml.safe_load(dump_definition(livelihood))) == livelihood


@pytest.mark.parametrize(
    ("label_columns", "settings", "expected"),
    [
        ({"label": "Age?"}, None, ["en"]),
        ({"label::fr": "Âge ?", "label::ar": "العمر؟"}, None, ["fr", "ar"]),
        ({"label::English": "Age?", "label::French": "Âge ?"}, None, ["en", "fr"]),
        (
            {"label::English (en)": "Age?", "label::Arabic (ar)": "العمر؟"},
            {"default_language": "Arabic (ar)"},
            ["ar", "en"],
        ),
    ],
)
def test_label_column_spellings(
    tmp_path: Path,
    label_columns: dict[str, str],
    settings: dict[str, str] | None,
    expected: list[str],
) -> None:
    path = write_form(
        tmp_path / "f.xlsx",
        [{"type": "integer", "name": "age", **label_columns}],
        settings=settings,
    )
    assert load_definition(path).languages == expected


def test_plain_labels_take_the_default_language_given(tmp_path: Path) -> None:
    path = write_form(tmp_path / "f.xlsx", [{"type": "text", "name": "a", "label": "Nom ?"}])
    flow = read_xlsform(path, default_language="fr")
    assert flow.languages == ["fr"] and flow.question("a").text == {"fr": "Nom ?"}


def test_metadata_rows_are_ignored(tmp_path: Path) -> None:
    survey = [
        {"type": "start", "name": "start"},
        {"type": "deviceid", "name": "device"},
        {"type": "text", "name": "a", "label": "A?"},
        {"type": "end", "name": "end"},
    ]
    assert [q.id for q in read_xlsform(write_form(tmp_path / "f.xlsx", survey)).questions] == ["a"]


def test_group_relevance_applies_to_its_questions(tmp_path: Path) -> None:
    survey = [
        {"type": "select_one yn", "name": "work", "label": "Work?", "required": "yes"},
        {"type": "begin_group", "name": "job", "label": "Job", "relevant": "${work} = 'yes'"},
        {"type": "integer", "name": "hours", "label": "Hours?", "relevant": "${work} != 'no'"},
        {"type": "end_group"},
    ]
    choices = [
        {"list_name": "yn", "name": "yes", "label": "Yes"},
        {"list_name": "yn", "name": "no", "label": "No"},
    ]
    flow = read_xlsform(write_form(tmp_path / "f.xlsx", survey, choices))
    assert flow.question("hours").relevant == "${work} = 'yes' and ${work} != 'no'"
    assert flow.question("hours").section == "job"


# -- refusals: each names the sheet, row and column ----------------------------------

E, F = f"label::{EN}", f"label::{FR}"
YN = [
    {"list_name": "yn", "name": "yes", E: "Yes", F: "Oui"},
    {"list_name": "yn", "name": "no", E: "No", F: "Non"},
]


def q(kind: str, name: str, **columns: str) -> dict[str, str]:
    return {"type": kind, "name": name, E: name.title(), F: name.upper(), **columns}


def case(
    name: str,
    survey: list[dict[str, Any]],
    where: tuple[str, int, str],
    message: str,
    choices: list[dict[str, Any]] = YN,
) -> Any:
    return pytest.param(survey, choices, where, message, id=name)


G1, G2 = {"type": "begin_group", "name": "g1", E: "G", F: "G"}, {"type": "end_group"}
KIDS = {"type": "begin_repeat", "name": "kids", E: "Kids", F: "Enfants"}
MESSAGES = {f"constraint_message::{EN}": "x", f"constraint_message::{FR}": "y"}

MALFORMED = [
    case("unsupported type", [q("text", "a"), q("geopoint", "where")],
         ("survey", 3, "A (type)"), "type 'geopoint' is not supported"),
    case("calculation needing a device",
         [q("integer", "a"),
          {"type": "calculate", "name": "c", "calculation": "pulldata('a', 'b', 'c', ${a})"}],
         ("survey", 3, "E (calculation)"), "needs data from a CSV file"),
    case("calculation on a later question",
         [{"type": "calculate", "name": "c", "calculation": "${a} * 2"}, q("integer", "a")],
         ("survey", 2, "C (calculation)"), "refers to 'a', which is not an earlier question"),
    case("repeat in a repeat",
         [KIDS, q("text", "a"), {**KIDS, "name": "toys"}, q("text", "b"),
          {"type": "end_repeat"}, {"type": "end_repeat"}],
         ("survey", 4, "A (type)"), "a repeat inside a repeat ('toys' in 'kids')"),
    case("repeat with nothing to answer",
         [q("text", "a"), KIDS, {"type": "note", "name": "n", E: "N", F: "N"},
          {"type": "end_repeat"}],
         ("survey", 3, "A (type)"), "repeat 'kids' has nothing to answer"),
    case("repeat count on a later question",
         [{**KIDS, "repeat_count": "${b}"}, q("text", "a"), {"type": "end_repeat"},
          q("integer", "b")],
         ("survey", 2, "E (repeat_count)"), "refers to 'b', which is not an earlier question"),
    case("pulldata in relevant",
         [q("integer", "a"), q("text", "b", relevant="pulldata('hh', 'size', 'id', ${a}) > 2")],
         ("survey", 3, "E (relevant)"), "needs data from a CSV file attached to the form"),
    case("unknown function in relevant",
         [q("date", "a"), q("text", "b", relevant="${a} < yesterday()")],
         ("survey", 3, "E (relevant)"), "'yesterday()' is not a function ODK has"),
    case("relevant on a later question", [q("text", "b", relevant="${a} = 'x'"), q("text", "a")],
         ("survey", 2, "E (relevant)"), "not an earlier question"),
    case("relevant naming an unknown choice",
         [q("select_one yn", "a"), q("text", "b", relevant="${a} = 'maybe'")],
         ("survey", 3, "E (relevant)"), "unknown option 'maybe'"),
    case("constraint without '.'",
         [q("select_one yn", "a"), q("integer", "b", constraint="${a} = 'yes'")],
         ("survey", 3, "E (constraint)"), "a constraint must test the answer '.'"),
    case("constraint on a later question",
         [q("integer", "a", constraint=". < ${b}"), q("integer", "b")],
         ("survey", 2, "E (constraint)"), "refers to 'b', which is not an earlier question"),
    case("required expression",
         [q("select_one yn", "a"), q("text", "b", required="${a} = 'yes'")],
         ("survey", 3, "E (required)"), "write yes or leave it blank"),
    case("missing translation", [q("text", "a"), {"type": "text", "name": "b", E: "B"}],
         ("survey", 3, f"D ({F})"), "no label in 'French (fr)'"),
    case("choice missing a translation", [q("select_one l", "a")],
         ("choices", 3, f"D ({F})"), "no label in 'French (fr)'",
         [{"list_name": "l", "name": "x", E: "X", F: "X"}, {"list_name": "l", "name": "y", E: "Y"}],
    ),
    case("same name in two groups",
         [G1, q("text", "a"), G2, {**G1, "name": "g2"}, q("text", "a"), G2],
         ("survey", 6, "B (name)"), "the name 'a' is used twice (also on row 3)"),
    case("language without a code", [{"type": "text", "name": "a", "label::Klingon": "A"}],
         ("survey", 1, "C (label::Klingon)"), "cannot tell the language of 'Klingon'"),
    case("choice_filter needing an instance",
         [q("select_one yn", "a"),
          q("select_one yn", "b", choice_filter="instance('other')/root/item = ${a}")],
         ("survey", 3, "E (choice_filter)"), "needs an external instance"),
    case("default a question refuses", [q("integer", "a", default="3.5")],
         ("survey", 2, "E (default)"), "the default '3.5' is not an answer this question takes"),
    case("image", [q("text", "a", image="a.png")],
         ("survey", 2, "E (image)"), "'image' is not supported in a chat survey (audio is)"),
    case("unknown choice list", [q("select_one nope", "a")],
         ("survey", 2, "A (type)"), "List name not in choices sheet: nope"),
    case("group never closed", [G1, q("text", "a")],
         ("survey", 2, "A (type)"), "Unmatched 'begin_group'"),
    case("invalid name", [q("text", "1a")], ("survey", 2, "B (name)"), "'name' value is invalid"),
    case("constraint message alone", [q("integer", "a", **MESSAGES)],
         ("survey", 2, f"E (constraint_message::{EN})"),
         "a constraint message without a constraint"),
    case("exclusive not yes", [q("select_multiple yn", "a")],
         ("choices", 2, "E (exclusive)"), "exclusive is yes or blank",
         [{**YN[0], "exclusive": "maybe"}, YN[1]]),
]  # fmt: skip


@pytest.mark.parametrize(("survey", "choices", "where", "message"), MALFORMED)
def test_refusals_name_sheet_row_and_column(
    tmp_path: Path,
    survey: list[dict[str, Any]],
    choices: list[dict[str, Any]],
    where: tuple[str, int, str],
    message: str,
) -> None:
    path = write_form(tmp_path / "form.xlsx", survey, choices)
    with pytest.raises(XLSFormError) as refused:
        read_xlsform(path)
    assert (refused.value.sheet, refused.value.row, refused.value.column) == where
    assert message in str(refused.value)
    sheet, row, column = where
    assert str(refused.value).startswith(f"form.xlsx, sheet '{sheet}', row {row}, column {column}")


def test_not_a_workbook_is_refused(tmp_path: Path) -> None:
    broken = tmp_path / "form.xlsx"
    broken.write_bytes(b"not a zip")
    with pytest.raises(XLSFormError, match=r"form\.xlsx: cannot read the workbook"):
        read_xlsform(broken)
    with pytest.raises(XLSFormError, match=r"an XLSForm is read from an \.xlsx or \.xls"):
        read_xlsform(tmp_path / "form.ods")
    (tmp_path / "form.xls").write_bytes(b"not an xls")
    with pytest.raises(XLSFormError, match=r"form\.xls: cannot read the workbook"):
        read_xlsform(tmp_path / "form.xls")


# -- the command line ------------------------------------------------------------------


def test_import_then_validate_then_export_on_the_command_line(tmp_path: Path) -> None:
    runner = CliRunner()
    form = livelihood_form(tmp_path / "livelihood.xlsx")
    result = runner.invoke(
        app, ["flow", "import-xlsform", str(form), "-o", str(tmp_path / "f.yaml")]
    )
    assert result.exit_code == 0, result.output
    assert "flow 'livelihood' version 2026-12, 6 questions, languages en, fr, ar" in result.output
    assert load_definition(tmp_path / "f.yaml") == load_definition(form)
    result = runner.invoke(app, ["flow", "validate", str(form)])
    assert result.exit_code == 0 and "valid" in result.output
    out = tmp_path / "back.xlsx"
    result = runner.invoke(
        app, ["flow", "export-xlsform", str(tmp_path / "f.yaml"), "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert read_xlsform(out) == load_definition(form)
    result = runner.invoke(app, ["flow", "export-xlsform", "-o", str(tmp_path / "rss.xlsx")])
    assert result.exit_code == 0 and "pyxform converts it to an XForm" in result.output
    assert read_xlsform(tmp_path / "rss.xlsx") == builtin_definition()


def test_a_refused_form_on_the_command_line_says_where(tmp_path: Path) -> None:
    form = write_form(tmp_path / "bad.xlsx", [q("geopoint", "where")], YN)
    result = CliRunner().invoke(
        app, ["flow", "import-xlsform", str(form), "-o", str(tmp_path / "f.yaml")]
    )
    assert result.exit_code == 2
    assert "bad.xlsx, sheet 'survey', row 2, column A (type)" in result.output
    assert not (tmp_path / "f.yaml").exists()


def test_labels_in_arabic_are_kept_exactly(livelihood: FlowDefinition) -> None:
    assert livelihood.question("help_received").text["ar"] == "أي مساعدة؟"
    assert labels("label", "a", "b", "c")[f"label::{AR}"] == "c"


def test_a_form_id_too_long_to_store_is_refused_at_its_setting(tmp_path: Path) -> None:
    path = write_form(
        tmp_path / "form.xlsx",
        [{"type": "text", "name": "a", "label": "A?"}],
        settings={"form_title": "T", "form_id": "x" * 40},
    )
    with pytest.raises(XLSFormError) as refused:
        read_xlsform(path)
    assert (refused.value.sheet, refused.value.row, refused.value.column) == (
        "settings",
        2,
        "B (form_id)",
    )
    assert "longer than 32 characters" in str(refused.value)
