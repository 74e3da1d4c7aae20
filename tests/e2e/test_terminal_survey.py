"""The terminal survey as a transcript: typed lines in, what the respondent sees out; a
host of the conversation core, every step stored (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from rich.console import Console

from bot.console import ConsoleSurvey
from bot.core.survey import OpenWave, SurveyService
from flows import FlowDefinition
from flows.state import SessionState
from scoring import ScoreResult, WeightTable
from storage.store import Store
from storage.waves import WaveWindows
from tests.storage.helpers import consented_returnee


class Terminal:
    """One respondent's terminal: the survey host over the store, and its screen."""

    def __init__(self, store: Store, flow: FlowDefinition, table: WeightTable) -> None:
        self.core = SurveyService(store, flow, table, WaveWindows())
        self.store, self.flow = store, flow
        self.returnee_id = ""

    async def run(
        self, lines: list[str], language: str = "en"
    ) -> tuple[SessionState | None, ScoreResult | None, str]:
        """Type ``lines`` (then end of input); the state, scores and what was shown."""
        if not self.returnee_id:
            self.returnee_id = (await consented_returnee(self.store)).id
        s, out = survey(self.core, self.returnee_id, lines, language)
        state = await self.store.load_state(self.returnee_id, "initial", self.flow)
        final, result = await s.run(OpenWave("initial", state))
        return final, result, out.getvalue()


@pytest.fixture
def terminal(store: Store, rss: FlowDefinition, table: WeightTable) -> Terminal:
    return Terminal(store, rss, table)


def survey(core: SurveyService, returnee_id: str, lines: list[str], language: str = "en"):  # type: ignore[no-untyped-def]
    feed: Iterator[str] = iter(lines)

    def read_line(prompt: str) -> str:
        try:
            return next(feed)
        except StopIteration:
            raise EOFError from None

    out = io.StringIO()
    console = Console(file=out, width=120, color_system=None)
    return ConsoleSurvey(core, returnee_id, language, read_line, console), out


async def test_back_prefer_not_and_dont_know(terminal: Terminal) -> None:
    # q1 "2" (satisfied), back, "1" (very satisfied), q2 "p", q3 "d", then stop
    state, result, text = await terminal.run(["2", "0", "1", "p", "d", "q"])
    assert result is None and state is not None
    assert "Your answer: Satisfied" in text  # shown when going back
    assert state.answers["econ_satisfaction"].model_dump() == {
        "kind": "choice",
        "option": "very_satisfied",
    }
    assert state.answers["econ_food_reduction"].model_dump()["value"] == "prefer_not_to_answer"
    assert state.answers["econ_borrow_ability"].model_dump()["value"] == "dont_know"
    assert "Survey paused." in text


async def test_bad_input_gets_a_message_and_loses_nothing(terminal: Terminal) -> None:
    state, _, text = await terminal.run(["1", "9", "banana", "d", "q"])
    assert state is not None
    assert text.count("Please type the number of one of the options.") == 2
    assert "That choice is not available for this question." in text  # no "don't know" on q2
    assert list(state.answers) == ["econ_satisfaction"]
    assert state.current == "econ_food_reduction"


async def test_end_of_input_stops_cleanly(terminal: Terminal, rss: FlowDefinition) -> None:
    state, result, _ = await terminal.run(["1"])
    assert result is None and state is not None and state.current == "econ_food_reduction"
    stored = await terminal.store.load_state(terminal.returnee_id, "initial", rss)
    assert stored is not None and list(stored.answers) == ["econ_satisfaction"]


async def test_completed_survey_shows_scores_and_the_lowest_dimension(
    terminal: Terminal,
) -> None:
    # best answers everywhere except the psychosocial ones (option 3 = middle)
    lines = ["1"] * 20 + ["3"] * 8 + ["1", "1", "2", "Merci"]
    state, result, text = await terminal.run(lines, language="fr")
    assert result is not None and state is not None and state.completed
    stored = await terminal.store.scores(terminal.returnee_id)  # stored with the last answer
    assert [s.wave for s in stored] == ["initial"]
    assert stored[0].values["composite"] == result.composite
    assert "Vos scores" in text
    assert "Économique" in text and "1,00" in text
    assert "Là où l'aide est peut-être la plus nécessaire : Psychosocial" in text
    assert result.lowest_dimension == "psychosocial"
    assert state.answers["ctx_comment"].model_dump()["text"] == "Merci"


@pytest.mark.parametrize("language", ["en", "fr", "ar"])
async def test_resuming_a_stored_state_continues(
    terminal: Terminal, rss: FlowDefinition, language: str
) -> None:
    await terminal.run(["1", "1", "q"], language)
    _, _, text = await terminal.run(["q"], language)  # the same command again
    assert rss.question("econ_borrow_ability").text[language] in text
