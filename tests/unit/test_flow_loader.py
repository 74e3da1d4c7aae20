"""Flow definitions are validated on load, with file, question id and what is wrong."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from flows import FlowDefinitionError, load_definition, parse_definition

MINI = Path(__file__).parent / "data" / "mini.yaml"


def mini() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(MINI.read_text())
    return copy.deepcopy(data)


def question(data: dict[str, Any], question_id: str) -> dict[str, Any]:
    return next(q for q in data["questions"] if q["id"] == question_id)


def refuse(data: dict[str, Any]) -> FlowDefinitionError:
    with pytest.raises(FlowDefinitionError) as excinfo:
        parse_definition(data, "mini.yaml")
    return excinfo.value


def test_mini_loads() -> None:
    flow = load_definition(MINI)
    assert [q.id for q in flow.questions] == [
        "q_work",
        "q_job_kind",
        "q_help",
        "q_mood",
        "q_comment",
    ]


def test_missing_translation_names_file_question_and_language() -> None:
    data = mini()
    del question(data, "q_mood")["text"]["fr"]
    error = refuse(data)
    assert (error.source, error.question) == ("mini.yaml", "q_mood")
    assert "text has no 'fr' text" in str(error)


def test_missing_option_label_translation() -> None:
    data = mini()
    question(data, "q_help")["options"][1]["label"] = {"en": "Training"}
    error = refuse(data)
    assert error.question == "q_help" and "option 'training' has no 'fr' text" in str(error)


def test_undeclared_language() -> None:
    data = mini()
    question(data, "q_work")["text"]["ar"] = "هل تعمل؟"
    assert "undeclared language(s) ar" in str(refuse(data))


def test_unknown_option_set() -> None:
    data = mini()
    question(data, "q_work")["options"] = "yes_no_maybe"
    error = refuse(data)
    assert error.question == "q_work" and "unknown option set 'yes_no_maybe'" in str(error)


def test_duplicate_question_id() -> None:
    data = mini()
    question(data, "q_mood")["id"] = "q_help"
    error = refuse(data)
    assert error.question == "q_help" and "appears twice" in str(error)


def test_duplicate_option_id() -> None:
    data = mini()
    options = question(data, "q_mood")["options"]
    options.append(dict(options[0]))
    error = refuse(data)
    assert error.question == "q_mood" and "duplicate option id(s): good" in str(error)


def test_show_if_must_refer_to_an_earlier_question() -> None:
    data = mini()
    question(data, "q_job_kind")["show_if"] = {"question": "q_mood", "any_of": ["good"]}
    error = refuse(data)
    assert error.question == "q_job_kind" and "not an earlier question" in str(error)


def test_show_if_unknown_option() -> None:
    data = mini()
    question(data, "q_job_kind")["show_if"] = {"question": "q_work", "any_of": ["maybe"]}
    assert "unknown option(s) maybe of 'q_work'" in str(refuse(data))


def test_show_if_needs_one_rule() -> None:
    data = mini()
    question(data, "q_job_kind")["show_if"] = {"question": "q_work"}
    error = refuse(data)
    assert error.question == "q_job_kind" and "exactly one of" in str(error)


def test_yes_no_options() -> None:
    data = mini()
    question(data, "q_work")["options"] = [
        {"id": "yes", "label": {"en": "Yes", "fr": "Oui"}},
        {"id": "perhaps", "label": {"en": "Perhaps", "fr": "Peut-être"}},
    ]
    assert "options 'yes' and 'no'" in str(refuse(data))


def test_unknown_type_and_unknown_field() -> None:
    data = mini()
    question(data, "q_mood")["type"] = "slider"
    error = refuse(data)
    assert error.question == "q_mood" and "slider" in str(error)
    data = mini()
    question(data, "q_mood")["colour"] = "red"
    assert "colour" in str(refuse(data))


def test_unknown_section() -> None:
    data = mini()
    question(data, "q_mood")["section"] = "feelings"
    assert "unknown section 'feelings'" in str(refuse(data))


@pytest.mark.parametrize("spec", [None, "1", 2, 0])
def test_spec_version(spec: object) -> None:
    data = mini()
    if spec is None:
        del data["spec_version"]
    else:
        data["spec_version"] = spec
    error = refuse(data)
    assert "spec_version" in str(error)


def test_file_errors(tmp_path: Path) -> None:
    with pytest.raises(FlowDefinitionError, match="cannot read"):
        load_definition(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("questions: [unclosed\n")
    with pytest.raises(FlowDefinitionError, match="not valid YAML"):
        load_definition(bad)
    listing = tmp_path / "list.yaml"
    listing.write_text("- 1\n- 2\n")
    with pytest.raises(FlowDefinitionError, match="must be a mapping"):
        load_definition(listing)


def test_json_definitions_load_too(tmp_path: Path) -> None:
    import json

    path = tmp_path / "mini.json"
    path.write_text(json.dumps(mini()))
    assert load_definition(path).id == "mini"
