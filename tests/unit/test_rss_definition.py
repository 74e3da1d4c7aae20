"""The RSS flow definition keeps the contract of shared/rss (copied in scoring/data)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from flows import FlowDefinition
from flows.model import FreeText, MultiSelect, YesNo
from scoring import WeightTable
from tests.conftest import SHARED_RSS

DATA = Path(__file__).parents[2] / "scoring" / "data"
LANGUAGES = ("en", "fr", "ar")


def test_32_questions_30_elements_and_2_context(rss: FlowDefinition, table: WeightTable) -> None:
    ids = [q.id for q in rss.questions]
    assert len(ids) == 32
    assert ids[:30] == list(table.elements)  # same ids, same order as elements.csv
    assert ids[30:] == ["ctx_assistance_received", "ctx_comment"]


def test_options_keep_the_order_and_ids_of_scales_csv(
    rss: FlowDefinition, table: WeightTable
) -> None:
    for element_id, element in table.elements.items():
        question = rss.question(element_id)
        assert not isinstance(question, FreeText)
        assert [o.id for o in question.options] == table.options(element_id), element_id
        assert question.section == element.dimension


def test_yes_no_questions_and_not_applicable(rss: FlowDefinition, table: WeightTable) -> None:
    for element_id, element in table.elements.items():
        is_yes_no = element.scale in {"yes_good", "no_good", "yes_good_na"}
        assert isinstance(rss.question(element_id), YesNo) == is_yes_no, element_id
    assert {o.id for o in rss.question("soc_children_school").options} == {  # type: ignore[union-attr]
        "yes",
        "no",
        "not_applicable",
    }


def test_context_questions_match_the_contract(rss: FlowDefinition) -> None:
    assistance = rss.question("ctx_assistance_received")
    assert isinstance(assistance, MultiSelect)
    assert [o.id for o in assistance.options] == [
        "cash",
        "business_support",
        "training",
        "housing",
        "medical",
        "psychosocial",
        "education",
        "legal",
        "none",
    ]
    assert [o.id for o in assistance.options if o.exclusive] == ["none"]
    comment = rss.question("ctx_comment")
    assert isinstance(comment, FreeText) and comment.optional
    if SHARED_RSS.exists():
        with (SHARED_RSS / "context_questions.csv").open() as handle:
            contract = {row["id"]: row["kind"] for row in csv.DictReader(handle)}
        assert contract == {
            "ctx_assistance_received": "multi_select",
            "ctx_comment": "free_text_optional",
        }


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_text_exists_and_fits_a_phone_screen(rss: FlowDefinition, language: str) -> None:
    assert rss.languages == list(LANGUAGES)
    for question in rss.questions:
        text = question.text[language]
        assert 10 <= len(text) <= 160, (question.id, language, len(text))
        if not isinstance(question, FreeText):
            for option in question.options:
                # Telegram shows about 30-35 characters on a phone-width button
                assert 1 <= len(option.label[language]) <= 32, (question.id, option.id)


def test_arabic_texts_are_arabic(rss: FlowDefinition) -> None:
    for question in rss.questions:
        text = question.text["ar"]
        arabic = sum(1 for ch in text if "\u0600" <= ch <= "\u06ff")
        assert arabic / len(text.replace(" ", "")) > 0.8, question.id
