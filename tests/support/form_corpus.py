"""A corpus of XLSForms in the shapes Kobo and ODK authors produce (.xlsx, .xls, XLSForm
.csv; legacy and current header spellings; groups, repeats, cascading selects,
calculations, constraints with messages in several languages; French and Arabic labels),
each with what a respondent does: the steps that answer it to the end, or where and why
it is refused.

A step is what a respondent does, the same on every host: ``("pick", label)`` presses
an option (a terminal types its words), ``("type", text)`` types, ``("add", True)``
adds an instance of a repeat (False: goes on), ``("ok",)`` confirms an acknowledgement,
``("use",)`` takes the suggested answer, ``("skip",)`` skips an optional question,
``("ticks", "1,3")`` types the numbers of a multi-select's options.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.xlsforms import write_csv, write_form, write_xls

Step = tuple[Any, ...]
EN, FR, AR = "label::English (en)", "label::French (fr)", "label::Arabic (ar)"


@dataclass(frozen=True)
class CorpusForm:
    name: str
    survey: Sequence[dict[str, Any]]
    choices: Sequence[dict[str, Any]] = ()
    settings: dict[str, Any] | None = None
    #: xlsx, xls or csv
    format: str = "xlsx"
    #: the language the respondent answers in
    language: str = "en"
    steps: Sequence[Step] = ()
    #: answers the survey ends with (key -> the value as expressions read it)
    answers: dict[str, str] = field(default_factory=dict)
    #: a refused form: (sheet, row, column, words of the message)
    refused: tuple[str, int | None, str | None, str] | None = None

    def write(self, folder: Path) -> Path:
        path = folder / f"{self.name}.{self.format}"
        sheets: dict[str, Sequence[dict[str, Any]]] = {"survey": self.survey}
        if self.choices:
            sheets["choices"] = self.choices
        if self.settings:
            sheets["settings"] = [self.settings]
        if self.format == "xls":
            return write_xls(path, sheets)
        if self.format == "csv":
            return write_csv(path, sheets)
        return write_form(path, self.survey, self.choices, self.settings)


YN = [
    {"list_name": "yn", "name": "yes", "label": "Yes"},
    {"list_name": "yn", "name": "no", "label": "No"},
]
YN_FR_EN = [
    {"list_name": "yn", "name": "yes", EN: "Yes", FR: "Oui"},
    {"list_name": "yn", "name": "no", EN: "No", FR: "Non"},
]
PLACES = [
    {"list_name": "region", "name": "north", "label": "North"},
    {"list_name": "region", "name": "south", "label": "South"},
    {"list_name": "district", "name": "n1", "label": "Labé", "region": "north"},
    {"list_name": "district", "name": "n2", "label": "Mamou", "region": "north"},
    {"list_name": "district", "name": "s1", "label": "Boké", "region": "south"},
    {"list_name": "town", "name": "t1", "label": "Kolaboui", "district": "s1"},
    {"list_name": "town", "name": "t2", "label": "Kamsar", "district": "s1"},
    {"list_name": "town", "name": "t3", "label": "Dalaba", "district": "n2"},
]


def q(kind: str, name: str, label: str, **more: Any) -> dict[str, Any]:
    return {"type": kind, "name": name, "label": label, **more}


RUNS = [
    CorpusForm(
        "single_yes_no",
        [q("select_one yes_or_no", "worked", "Have you worked this month?")],
        [{"list_name": "yes_or_no", "name": "yes", "label": "Yes"},
         {"list_name": "yes_or_no", "name": "no", "label": "No"}],
        steps=[("pick", "No")],
        answers={"worked": "no"},
    ),
    CorpusForm(
        "legacy_label_english",
        [{"type": "text", "name": "name", "label:english": "Your first name?"},
         {"type": "integer", "name": "age", "label:english": "Your age?"}],
        format="xls",
        steps=[("type", "Mariama"), ("type", "29")],
        answers={"name": "Mariama", "age": "29"},
    ),
    CorpusForm(
        "french_and_english",
        [{"type": "select_one yn", "name": "work", EN: "Do you work?", FR: "Travaillez-vous ?"},
         {"type": "integer", "name": "hours", EN: "Hours a week?", FR: "Heures par semaine ?",
          "relevant": "${work} = 'yes'", "constraint": ". <= 100",
          "constraint_message::English (en)": "At most 100.",
          "constraint_message::French (fr)": "Au plus 100."}],
        YN_FR_EN,
        format="csv",
        language="fr",
        steps=[("pick", "Oui"), ("type", "120"), ("type", "40")],
        answers={"work": "yes", "hours": "40"},
    ),
    CorpusForm(
        "arabic_and_english",
        [{"type": "text", "name": "town", EN: "Your town?", AR: "مدينتك؟"},
         {"type": "select_one yn", "name": "safe", EN: "Do you feel safe?",
          AR: "هل تشعر بالأمان؟"}],
        [{"list_name": "yn", "name": "yes", EN: "Yes", AR: "نعم"},
         {"list_name": "yn", "name": "no", EN: "No", AR: "لا"}],
        language="ar",
        steps=[("type", "كسلا"), ("pick", "نعم")],
        answers={"town": "كسلا", "safe": "yes"},
    ),
    CorpusForm(
        "groups_with_relevant",
        [q("select_one yn", "business", "Do you run a business?"),
         {"type": "begin_group", "name": "firm", "label": "Your business",
          "relevant": "${business} = 'yes'"},
         q("integer", "staff", "How many people work in it?"),
         q("text", "trade", "What does it sell?"),
         {"type": "end_group"},
         q("text", "plans", "Your plans?")],
        YN,
        steps=[("pick", "Yes"), ("type", "3"), ("type", "Cloth"), ("type", "Grow")],
        answers={"staff": "3", "trade": "Cloth", "plans": "Grow"},
    ),
    CorpusForm(
        "cascading_two_levels",
        [q("select_one region", "region", "Region?"),
         q("select_one district", "district", "District?", choice_filter="region = ${region}")],
        PLACES,
        format="xls",
        steps=[("pick", "North"), ("pick", "Mamou")],
        answers={"region": "north", "district": "n2"},
    ),
    CorpusForm(
        "cascading_three_levels",
        [q("select_one region", "region", "Region?"),
         q("select_one district", "district", "District?", choice_filter="region=${region}"),
         q("select_one town", "town", "Town?", choice_filter="district = ${district}")],
        PLACES,
        format="csv",
        steps=[("pick", "South"), ("pick", "Boké"), ("pick", "Kamsar")],
        answers={"town": "t2"},
    ),
    CorpusForm(
        "calculation_in_a_label",
        [q("integer", "adults", "How many adults at home?"),
         q("integer", "children", "How many children?"),
         {"type": "calculate", "name": "people", "calculation": "${adults} + ${children}"},
         q("select_one yn", "enough", "Is there enough food for ${people} people?")],
        YN,
        steps=[("type", "2"), ("type", "3"), ("pick", "No")],
        answers={"people": "5", "enough": "no"},
    ),
    CorpusForm(
        "constraint_messages_two_languages",
        [{"type": "integer", "name": "age", EN: "Your age?", FR: "Votre âge ?",
          "constraint": ". >= 15 and . < 100",
          "constraint_message::English (en)": "Between 15 and 99, please.",
          "constraint_message::French (fr)": "Entre 15 et 99, s'il vous plaît."}],
        steps=[("type", "7"), ("type", "31")],
        answers={"age": "31"},
    ),
    CorpusForm(
        "repeat_add_another",
        [q("text", "head", "Name of the head of household?"),
         {"type": "begin_repeat", "name": "members", "label": "Household member"},
         q("text", "member", "Their name?"),
         q("integer", "age", "How old is ${member}?"),
         {"type": "end_repeat"},
         {"type": "calculate", "name": "size", "calculation": "count(${member})"}],
        steps=[("type", "Ibrahima"), ("add", True), ("type", "Awa"), ("type", "30"),
               ("add", True), ("type", "Sékou"), ("type", "4"), ("add", False)],
        answers={"member[2]": "Sékou", "age[1]": "30", "size": "2"},
    ),
    CorpusForm(
        "repeat_count",
        [q("integer", "children", "How many children do you have?", constraint=". <= 5"),
         {"type": "begin repeat", "name": "kids", "label": "Child",
          "repeat_count": "${children}"},
         q("select_one yn", "school", "Does this child go to school?"),
         {"type": "end repeat"}],
        YN,
        format="csv",
        steps=[("type", "2"), ("pick", "Yes"), ("pick", "No")],
        answers={"school[1]": "yes", "school[2]": "no"},
    ),
    CorpusForm(
        "repeat_with_a_score",
        [{"type": "begin_repeat", "name": "plots", "label": "Plot"},
         q("decimal", "area", "Its area in hectares?"),
         {"type": "calculate", "name": "big", "calculation": "if(${area} >= 1, 1, 0)"},
         {"type": "end_repeat"},
         {"type": "calculate", "name": "land", "calculation": "sum(${area})"},
         {"type": "calculate", "name": "big_plots", "calculation": "sum(${big})"},
         {"type": "note", "name": "told", "label": "${land} ha in all."}],
        format="xls",
        steps=[("add", True), ("type", "0.5"), ("add", True), ("type", "2"), ("add", False)],
        answers={"land": "2.5", "big_plots": "1"},
    ),
    CorpusForm(
        "or_other",
        [q("select_one jobs or_other", "job", "Your work?")],
        [{"list_name": "jobs", "name": "farm", "label": "Farming"},
         {"list_name": "jobs", "name": "trade", "label": "Trade"}],
        steps=[("pick", "Other"), ("type", "Tailor")],
        answers={"job": "other", "job_other": "Tailor"},
    ),
    CorpusForm(
        "select_multiple_count",
        [q("select_multiple needs", "needs", "What do you need?",
           constraint="count-selected(.) <= 2",
           constraint_message="Two at most."),
         q("text", "why", "Why ${needs}?", relevant="selected(${needs}, 'loan')")],
        [{"list_name": "needs", "name": "loan", "label": "A loan"},
         {"list_name": "needs", "name": "training", "label": "Training"},
         {"list_name": "needs", "name": "tools", "label": "Tools"}],
        steps=[("ticks", "1,2,3"), ("ticks", "1,3"), ("type", "To buy stock")],
        answers={"needs": "loan tools", "why": "To buy stock"},
    ),
    CorpusForm(
        "date_not_in_the_future",
        [q("date", "back", "When did you come back?", constraint=". <= today()",
           constraint_message="That date is in the future.")],
        format="csv",
        steps=[("type", "1/1/2099"), ("type", "15/03/2025")],
        answers={"back": "2025-03-15"},
    ),
    CorpusForm(
        "decimal_range",
        [{"type": "range", "name": "rate", "label": "Rate it from 0 to 2.5",
          "parameters": "start=0 end=2.5 step=0.5"}],
        steps=[("type", "3"), ("type", "1.5")],
        answers={"rate": "1.5"},
    ),
    CorpusForm(
        "acknowledge_and_time",
        [{"type": "acknowledge", "name": "agreed", "label": "Answers stay private.",
          "required": "yes"},
         q("time", "wake", "When do you wake up?")],
        steps=[("ok",), ("type", "6h30")],
        answers={"agreed": "OK", "wake": "06:30"},
    ),
    CorpusForm(
        "defaults_suggested",
        [q("integer", "meals", "Meals a day?", default="3"),
         q("select_one yn", "water", "Clean water?", default="yes")],
        YN,
        format="xls",
        steps=[("use",), ("pick", "No")],
        answers={"meals": "3", "water": "no"},
    ),
    CorpusForm(
        "hidden_and_functions",
        [{"type": "hidden", "name": "project", "default": "GN-2026"},
         q("text", "first", "First name?"),
         q("text", "last", "Family name?", required="no"),
         {"type": "calculate", "name": "who",
          "calculation": "concat(${first}, ' ', coalesce(${last}, '?'))"},
         {"type": "calculate", "name": "initial", "calculation": "substr(${first}, 0, 1)"},
         q("select_one yn", "right", "Is “${who}” right (${project})?")],
        YN,
        steps=[("type", "Fanta"), ("skip",), ("pick", "Yes")],
        answers={"project": "GN-2026", "who": "Fanta ?", "initial": "F"},
    ),
    CorpusForm(
        "notes_with_answers",
        [q("text", "name", "Your name?"),
         q("note", "hello", "Thank you, ${name}. A few more questions."),
         q("integer", "years", "Years away?")],
        format="csv",
        steps=[("type", "Oumar"), ("type", "4")],
        answers={"years": "4"},
    ),
    CorpusForm(
        "constant_relevant_and_selected",
        [q("text", "never", "Never asked", relevant="0"),
         q("select_multiple help", "help", "Help received?"),
         q("integer", "amount", "Cash received?", relevant="selected(${help}, 'cash')")],
        [{"list_name": "help", "name": "cash", "label": "Cash"},
         {"list_name": "help", "name": "kit", "label": "A kit"}],
        steps=[("ticks", "1"), ("type", "500")],
        answers={"help": "cash", "amount": "500"},
    ),
    CorpusForm(
        "label_default_with_english_hint",
        [{"type": "text", "name": "village", "label::default": "Village?",
          "hint::default": "as people call it"}],
        steps=[("type", "Timbi")],
        answers={"village": "Timbi"},
    ),
    CorpusForm(
        "metadata_ignored",
        [{"type": "start", "name": "start"}, {"type": "end", "name": "end"},
         {"type": "deviceid", "name": "deviceid"}, {"type": "today", "name": "today"},
         q("text", "comment", "Any comment?")],
        steps=[("type", "None")],
        answers={"comment": "None"},
    ),
    CorpusForm(
        "appearances_ignored",
        [q("select_one yn", "ok", "All fine?", appearance="horizontal-compact"),
         q("text", "note", "Tell us more", appearance="multiline")],
        YN,
        format="xls",
        steps=[("pick", "Yes"), ("type", "Fine")],
        answers={"ok": "yes"},
    ),
    CorpusForm(
        "settings_default_language_french",
        [q("text", "nom", "Votre nom ?"), q("select_one yn", "ok", "Tout va bien ?")],
        [{"list_name": "yn", "name": "yes", "label": "Oui"},
         {"list_name": "yn", "name": "no", "label": "Non"}],
        {"form_title": "Suivi", "form_id": "suivi", "default_language": "French (fr)"},
        format="csv",
        language="fr",
        steps=[("type", "Diallo"), ("pick", "Non")],
        answers={"nom": "Diallo", "ok": "no"},
    ),
]  # fmt: skip

REFUSED = [
    CorpusForm(
        "geopoint",
        [q("text", "a", "A?"), q("geopoint", "where", "Where are you?")],
        refused=("survey", 3, "A (type)", "type 'geopoint' is not supported"),
    ),
    CorpusForm(
        "pulldata",
        [q("integer", "id", "Household id?"),
         {"type": "calculate", "name": "size",
          "calculation": "pulldata('hh', 'size', 'id', ${id})"}],
        format="xls",
        refused=("survey", 3, "D (calculation)", "needs data from a CSV file"),
    ),
    CorpusForm(
        "repeat_in_a_repeat",
        [{"type": "begin_repeat", "name": "households", "label": "Household"},
         q("text", "head", "Head?"),
         {"type": "begin_repeat", "name": "members", "label": "Member"},
         q("text", "member", "Name?"),
         {"type": "end_repeat"}, {"type": "end_repeat"}],
        format="csv",
        refused=("survey", 4, "B (type)", "a repeat inside a repeat"),
    ),
    CorpusForm(
        "name_twice",
        [q("text", "name", "Name?"), q("text", "name", "Name again?")],
        refused=("survey", 3, "B (name)", "the name 'name' is used twice"),
    ),
    CorpusForm(
        "missing_french_label",
        [{"type": "text", "name": "a", EN: "A?", FR: "A ?"},
         {"type": "text", "name": "b", EN: "B?"}],
        refused=("survey", 3, f"D ({FR})", "no label in 'French (fr)'"),
    ),
    CorpusForm(
        "relevant_on_a_later_question",
        [q("text", "b", "B?", relevant="${a} = 'x'"), q("text", "a", "A?")],
        format="csv",
        refused=("survey", 2, "E (relevant)", "not an earlier question"),
    ),
    CorpusForm(
        "image_media",
        [q("text", "a", "A?", image="photo.jpg")],
        format="xls",
        refused=("survey", 2, "D (image)", "'image' is not supported"),
    ),
    CorpusForm(
        "dynamic_default",
        [q("text", "a", "A?"), q("text", "b", "B?", default="${a}")],
        refused=("survey", 3, "D (default)", "is worked out from other answers"),
    ),
]  # fmt: skip

CORPUS = [*RUNS, *REFUSED]
