"""Keywords typed instead of commands, in every language of the bot."""

from __future__ import annotations

import pytest

from bot.keywords import is_stop_word, keyword
from bot.languages import COMMANDS, languages


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("STOP", ("stop", "")),
        ("Arrêt", ("stop", "")),
        ("/stop", ("stop", "")),
        ("توقف", ("stop", "")),
        ("START abc_12-x", ("start", "abc_12-x")),
        ("ابدأ tok", ("start", "tok")),
        ("mes données", ("mydata", "")),
        ("Supprimer", ("delete", "")),
        ("حذف", ("delete", "")),
        ("رأي", ("feedback", "")),
        ("/feedback", ("feedback", "")),
        ("LANGUE", ("language", "")),
        ("aide", ("help", "")),
    ],
)
def test_keywords_in_every_language(text: str, expected: tuple[str, str]) -> None:
    assert keyword(text) == expected


@pytest.mark.parametrize("text", ["I want to stop", "stop it", "", "   ", "Satisfied", "2"])
def test_an_answer_that_contains_a_keyword_is_an_answer(text: str) -> None:
    assert keyword(text) is None
    assert not is_stop_word(text)


def test_every_keyword_shown_to_a_returnee_is_read_back_as_its_command() -> None:
    from bot.keywords import spelled_as_keywords

    for language in languages().values():
        assert set(language.keywords) == set(COMMANDS), language.code
        for command in COMMANDS:
            word = language.shown_keyword(command)
            assert keyword(word) == (command, ""), (language.code, word)
            assert keyword(word.lower()) == (command, ""), (language.code, word)
    assert spelled_as_keywords("send /delete, or /mydata.", "fr") == (
        "send SUPPRIMER, or MES DONNEES."
    )
    assert spelled_as_keywords("https://example.org/help and /helpful", "en") == (
        "https://example.org/help and /helpful"
    )
    assert spelled_as_keywords("/stop", "xx") == "STOP"  # (a language without keywords)
