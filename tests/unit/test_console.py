"""The terminal survey as a transcript: typed lines in, what the respondent sees out."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from rich.console import Console

from bot.console import ConsoleSurvey
from flows import FlowDefinition, start
from scoring import WeightTable


def survey(flow: FlowDefinition, table: WeightTable, lines: list[str], language: str = "en"):  # type: ignore[no-untyped-def]
    feed: Iterator[str] = iter(lines)

    def read_line(prompt: str) -> str:
        try:
            return next(feed)
        except StopIteration:
            raise EOFError from None

    out = io.StringIO()
    console = Console(file=out, width=120, color_system=None)
    return ConsoleSurvey(flow, table, language, read_line, console), out


def test_back_prefer_not_and_dont_know(rss: FlowDefinition, table: WeightTable) -> None:
    # q1 "2" (satisfied), back, "1" (very satisfied), q2 "p", q3 "d", then stop
    s, out = survey(rss, table, ["2", "0", "1", "p", "d", "q"])
    state, result = s.run()
    assert result is None
    text = out.getvalue()
    assert "Your answer: Satisfied" in text  # shown when going back
    assert state.answers["econ_satisfaction"].model_dump() == {
        "kind": "choice",
        "option": "very_satisfied",
    }
    assert state.answers["econ_food_reduction"].model_dump()["value"] == "prefer_not_to_answer"
    assert state.answers["econ_borrow_ability"].model_dump()["value"] == "dont_know"
    assert "Survey paused." in text


def test_bad_input_gets_a_message_and_loses_nothing(
    rss: FlowDefinition, table: WeightTable
) -> None:
    s, out = survey(rss, table, ["1", "9", "banana", "d", "q"])
    state, _ = s.run()
    text = out.getvalue()
    assert text.count("Please type the number of one of the options.") == 2
    assert "That choice is not available for this question." in text  # no "don't know" on q2
    assert list(state.answers) == ["econ_satisfaction"]
    assert state.current == "econ_food_reduction"


def test_end_of_input_stops_cleanly(rss: FlowDefinition, table: WeightTable) -> None:
    s, _out = survey(rss, table, ["1"])
    state, result = s.run()
    assert result is None and state.current == "econ_food_reduction"


def test_completed_survey_shows_scores_and_the_lowest_dimension(
    rss: FlowDefinition, table: WeightTable
) -> None:
    # best answers everywhere except the psychosocial ones (option 3 = middle)
    lines = ["1"] * 20 + ["3"] * 8 + ["1", "1", "2", "Merci"]
    s, out = survey(rss, table, lines, language="fr")
    state, result = s.run()
    assert result is not None and state.completed
    text = out.getvalue()
    assert "Vos scores" in text
    assert "Économique" in text and "1,00" in text
    assert "Là où l'aide est peut-être la plus nécessaire : Psychosocial" in text
    assert result.lowest_dimension == "psychosocial"
    assert state.answers["ctx_comment"].model_dump()["text"] == "Merci"


@pytest.mark.parametrize("language", ["en", "fr", "ar"])
def test_resuming_a_stored_state_continues(
    rss: FlowDefinition, table: WeightTable, language: str
) -> None:
    state = start(rss, language).state
    s, _ = survey(rss, table, ["1", "1", "q"], language)
    state, _ = s.run(state)
    s2, out = survey(rss, table, ["q"], language)
    s2.run(state)
    assert rss.question("econ_borrow_ability").text[language] in out.getvalue()
