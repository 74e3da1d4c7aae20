"""Keywords typed instead of commands, in every language of the bot."""

from __future__ import annotations

import pytest

from bot.keywords import is_stop_word, keyword


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
