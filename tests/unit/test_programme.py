"""The programme file: a deployment adds an attribute, a value or a rule by editing YAML,
and the caseload template, the import's checks and the rules follow without code; a file
that cannot be used says where and why."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.caseload_file import Checker, columns
from bot.programme import DEFAULT_FILE, ProgrammeError, load_programme
from flows import builtin_definition
from flows.model import options_of

TODAY = date(2026, 12, 5)


def _custom(tmp_path: Path, change: Callable[[dict[str, Any]], None]) -> Path:
    data = yaml.safe_load(DEFAULT_FILE.read_text("utf-8"))
    change(data)
    path = tmp_path / "programme.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    return path


def test_an_attribute_added_in_the_file_is_a_column_checked_and_stored(tmp_path: Path) -> None:
    def add(data: dict[str, Any]) -> None:
        data["attributes"].append(
            {
                "id": "education",
                "kind": "choice",
                "storage": "plain",
                "label": {"en": "Education", "fr": "Éducation"},
                "values": [
                    {"id": "none", "label": {"en": "None", "fr": "Aucune"}},
                    {"id": "secondary", "label": {"en": "Secondary", "fr": "Secondaire"}},
                ],
            }
        )

    programme = load_programme(_custom(tmp_path, add))
    assert "education" in columns(programme)
    checker = Checker(programme, ["en", "fr"], TODAY)
    header = ["case_ref", "return_date", "country", "language", "education"]
    checked = checker.check(
        header,
        [(2, ["C-1", "2026-01-02", "GN", "fr", "Secondaire"]),
         (3, ["C-2", "2026-01-02", "GN", "fr", "university"])],
    )  # fmt: skip
    assert [r.profile.attributes for r in checked.records] == [{"education": "secondary"}]
    assert [(e.row, e.column) for e in checked.errors] == [(3, "education")]


def test_a_file_that_cannot_be_used_says_where_and_why(tmp_path: Path) -> None:
    def broken(data: dict[str, Any]) -> None:
        data["attributes"][0]["values"] = []
        data["followup"]["rules"][0].pop("threshold")

    with pytest.raises(ProgrammeError) as caught:
        load_programme(_custom(tmp_path, broken))
    message = str(caught.value)
    assert "programme.yaml" in message
    assert "attribute sex" in message and "values" in message
    assert "rule economic_low" in message and "threshold" in message


def test_the_default_rules_fit_the_rss_and_a_mismatch_is_named() -> None:
    programme = load_programme(DEFAULT_FILE)
    rss = builtin_definition()
    questions = {q.id: {o.id for o in options_of(q)} for q in rss.questions}
    assert programme.check_against(questions) == []
    del questions["psy_distress"]
    questions["psy_discrimination"] = {"never"}
    assert programme.check_against(questions) == [
        "rule frequent_distress: the survey has no question psy_distress",
        "rule discrimination: psy_discrimination has no answer often, very_often",
    ]
