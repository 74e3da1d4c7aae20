"""UI catalogues: complete, consistent with the code, and right-to-left where needed."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot.i18n import Translator
from bot.languages import languages

ROOT = Path(__file__).parents[2]
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def catalogue(language: str):  # type: ignore[no-untyped-def]
    with (ROOT / "locales" / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=language)


def source_msgids(tmp_path: Path) -> set[str]:
    pot = tmp_path / "fresh.pot"
    pybabel = Path(sys.executable).parent / "pybabel"
    subprocess.run(
        [str(pybabel), "-q", "extract", "-F", "babel.cfg", "--no-location", "-o", str(pot), "."],
        cwd=ROOT,
        check=True,
    )
    with pot.open("rb") as handle:
        return {m.id for m in read_po(handle) if m.id}


def test_the_shipped_template_holds_every_string_of_the_code(tmp_path: Path) -> None:
    """Translators work from ``locales/messages.pot``: it must be what the code says."""
    from bot.language_packs import template

    shipped = {m.id for m in template() if m.id}
    fresh = source_msgids(tmp_path)
    assert shipped == fresh, (
        f"run tools/update_catalogues.py: new {sorted(map(str, fresh - shipped))[:5]}, "
        f"gone {sorted(map(str, shipped - fresh))[:5]}"
    )


@pytest.mark.parametrize("language", [c for c in languages().interface if c != "en"])
def test_every_built_in_language_is_complete(language: str) -> None:
    """What ``rssbot i18n check`` says of each built-in language: nothing missing, no
    placeholder broken, nothing cut short."""
    from bot.common import configured_definition
    from bot.language_packs import check

    report = check(languages()[language], configured_definition())
    assert not report.errors, [(p.key, p.message) for p in report.errors]


def test_translator_formats_and_falls_back() -> None:
    assert Translator("fr")("Question {number} of {total}", number=2, total=32) == (
        "Question 2 sur 32"
    )
    assert Translator("ar")("Question {number} of {total}", number=2, total=32) == (
        "السؤال 2 من 32"
    )
    assert Translator("sw")("Survey stopped.") == "Survey stopped."  # no catalogue: English
    assert Translator("ar").rtl and not Translator("fr").rtl


def test_scores_are_shown_with_two_decimals_in_the_language_format() -> None:
    assert Translator("en").score(0.756) == "0.76"
    assert Translator("fr").score(0.1125) == "0,11"
    assert Translator("en").score(None) == "not enough answers"
    assert Translator("fr").score(None) == "pas assez de réponses"


def test_arabic_reads_right_to_left() -> None:
    from bot.i18n import RLM, first_strong_direction

    _ = Translator("ar")
    cat = catalogue("ar")
    for message in cat:
        if not message.id:
            continue
        shown = _(str(message.id), **{k: "x" for k in PLACEHOLDER.findall(str(message.id))})
        for line in shown.split("\n"):
            assert first_strong_direction(line) in ("rtl", None) or line.startswith(RLM), line
    assert _("/stop - stop all messages").startswith(RLM + "/stop")
    assert not Translator("fr")("/stop - stop all messages").startswith(RLM)


def test_flow_texts_in_arabic_start_right_to_left(rss) -> None:  # type: ignore[no-untyped-def]
    from bot.i18n import first_strong_direction

    for question in rss.questions:
        assert first_strong_direction(question.text["ar"]) == "rtl", question.id
        for option in getattr(question, "options", []):
            assert first_strong_direction(option.label["ar"]) == "rtl", (question.id, option.id)
    for title in rss.sections.values():
        assert first_strong_direction(title["ar"]) == "rtl"
