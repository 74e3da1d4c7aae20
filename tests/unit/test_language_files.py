"""Languages from files: the registry, the translators' workbook and back, the check,
and the pseudo-languages."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from bot.cli import app
from bot.i18n import Translator
from bot.keywords import keyword, spelled_as_keywords
from bot.languages import LANGUAGES_DIR_VARIABLE, forget_languages, languages
from bot.pseudo_locales import CLOSE, OPEN, PDF, RLO, accented, mirrored
from tests.support.languages import TI, TI_ENTRY, language_folder

__all__ = ["language_folder"]


def test_a_new_language_is_taken_from_its_folder(language_folder: Path) -> None:
    registry = languages()
    assert {"ti", "en-XA", "ar-XB"} <= set(registry.interface)
    ti = registry["ti"]
    assert (ti.name, ti.direction, ti.locale) == ("ትግርኛ", "ltr", "ti")  # (CLDR's, by default)
    _ = Translator("ti")
    assert _("Question {number} of {total}", number=3, total=32) == f"{TI} Question 3 of 32"
    assert registry.proposed("ti-ER") == "ti" and registry.proposed("en-XA") == "en-XA"
    assert keyword("ደው ኣበል") == ("stop", "")
    assert spelled_as_keywords("send /stop", "ti") == "send ደው ኣበል"
    assert Translator("ar-XB").rtl and registry.direction("ar-XB") == "rtl"
    from bot.common import configured_definition

    flow = configured_definition()
    assert {"ti", "en-XA", "ar-XB"} <= set(flow.languages)
    assert flow.title["ti"] == f"{TI} Reintegration Sustainability Survey"


def test_the_check_finds_what_would_show_wrongly(language_folder: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(app, ["i18n", "check", "ti", "en-XA", "ar-XB"])
    assert ok.exit_code == 0, ok.output
    po = language_folder / "ti" / "LC_MESSAGES" / "messages.po"
    text = po.read_text(encoding="utf-8")
    text = text.replace(f'msgstr "{TI} Question {{number}} of {{total}}"', 'msgstr "ጥ {numero}"')
    po.write_text(text, encoding="utf-8")
    labels = language_folder / "ti" / "surveys" / "rss.yaml"
    lines = labels.read_text(encoding="utf-8").split("\n")
    labels.write_text(
        "\n".join(line for line in lines if "econ_satisfaction/text" not in line),
        encoding="utf-8",
    )
    forget_languages()
    found = runner.invoke(app, ["i18n", "check", "ti"])
    assert found.exit_code == 1
    assert "Question {number} of {total}: placeholders {number}, {total} expected" in found.output
    assert "survey questions/econ_satisfaction/text: missing" in found.output
    # the bot does not start on a survey a language leaves a text out of: file named
    from bot.language_packs import with_language_files
    from flows import FlowDefinitionError, builtin_definition

    with pytest.raises(FlowDefinitionError, match=r"ti/surveys/rss.yaml.*econ_satisfaction"):
        with_language_files(builtin_definition())
    # and a translation that broke a placeholder shows the English, never a crash
    assert Translator("ti")("Question {number} of {total}", number=3, total=32) == (
        "Question 3 of 32"
    )


def test_the_workbook_goes_back_into_files_and_refuses_broken_placeholders(
    language_folder: Path, tmp_path: Path
) -> None:
    book_path = tmp_path / "ti-2.xlsx"
    runner = CliRunner()
    assert runner.invoke(app, ["i18n", "export", "ti", "--output", str(book_path)]).exit_code == 0
    book = load_workbook(book_path)
    about = {row[0].value: row[1].value for row in book["About"].iter_rows(max_col=2)}
    assert (about["Language code"], about["Survey"]) == ("ti", "rss")
    sheet = book["Strings"]
    header = [c.value for c in sheet[1]]
    assert header[:6] == [
        "Part",
        "Key",
        "Plural form",
        "Where it is shown",
        "English",
        "Translation",
    ]
    rows = {(r[1].value, r[2].value): r for r in sheet.iter_rows(min_row=2)}
    question = rows[("Question {number} of {total}", None)]
    assert question[6].value == "{number} {total}"
    choose = rows[("Choose", None)]
    assert choose[7].value == 20 and "button" in choose[3].value
    label = rows[("questions/econ_satisfaction/options/satisfied", None)]
    assert label[0].value == "survey" and label[7].value == 24
    question[5].value = "ጥያቐ {numero} ካብ {total}"  # a broken placeholder
    choose[5].value = "ምረጽ"
    book.save(book_path)
    result = runner.invoke(app, ["i18n", "import", str(book_path), "--into", str(language_folder)])
    assert result.exit_code == 1  # (a row was not taken)
    assert "Question {number} of {total}): placeholders must be {number} {total}" in result.output
    forget_languages()
    _ = Translator("ti")
    assert _("Choose") == "ምረጽ"
    assert _("Question {number} of {total}", number=1, total=2) == f"{TI} Question 1 of 2"


def test_a_language_folder_that_cannot_be_used_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.languages import LanguageError

    (tmp_path / "xx").mkdir()
    (tmp_path / "xx" / "language.yaml").write_text("code: xx\nlocale: xx\n", encoding="utf-8")
    monkeypatch.setenv(LANGUAGES_DIR_VARIABLE, str(tmp_path))
    forget_languages()
    try:
        with pytest.raises(LanguageError, match=r"xx/language.yaml: locale: .*'xx'"):
            languages()
        (tmp_path / "xx" / "language.yaml").write_text(TI_ENTRY, encoding="utf-8")
        forget_languages()
        with pytest.raises(LanguageError, match="code 'ti' is not the folder's name 'xx'"):
            languages()
    finally:
        monkeypatch.delenv(LANGUAGES_DIR_VARIABLE)
        forget_languages()


@pytest.mark.parametrize(
    "text",
    [
        "Question {number} of {total}",
        "Send /stop to stop. <b>{name}</b> &amp; https://example.org/a?b=c",
        "Line one\n\nline *two* {n}",
    ],
)
def test_pseudo_texts_keep_placeholders_tags_commands_and_links(text: str) -> None:
    import re

    kept = re.compile(r"\{\w+\}|<[^>]+>|&\w+;|/stop|https?://\S+")
    for make in (accented, mirrored):
        made = make(text)
        assert kept.findall(made) == kept.findall(text)
        assert made.count("\n") == text.count("\n")
    longer = accented(text)
    assert all(OPEN in line and line.endswith(CLOSE) for line in longer.split("\n") if line)
    assert len(longer) >= 1.4 * len(text)
    assert RLO in mirrored(text) and mirrored(text).count(RLO) == mirrored(text).count(PDF)


@pytest.mark.parametrize("code", ["ti", "en-XA", "ar-XB"])
def test_the_terminal_survey_in_a_language_from_files(
    initialised: Path, language_folder: Path, code: str
) -> None:
    """The terminal survey, from the consent to the scores, in the language; in the
    pseudo-languages no English a catalogue did not give (beside the keys to type)."""
    from tests.support.languages import unmarked

    lines = ["y"] + ["1"] * 30 + ["1,3", "ጽቡቕ"]
    result = CliRunner().invoke(app, ["console", "--language", code], input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    _ = Translator(code)
    assert _("Question {number} of {total}", number=32, total=32) in result.stdout
    assert _("Thank you! You have answered all the questions.") in result.stdout
    if code == "ti":
        return
    keys = {"y", "n", "q", "p", "d"}  # (what to type: the same letters in every language)
    leaks = [w for w in unmarked(result.stdout) if w not in keys]
    assert not leaks, leaks
