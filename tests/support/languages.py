"""Languages made in a temporary folder, as a deployment adds them: files only.

``ti`` (Tigrinya) goes the translators' way: ``rssbot i18n export`` writes its workbook,
the "translator" fills the Translation column (each English text behind a Tigrinya
marker, placeholders kept), ``rssbot i18n import`` writes the folder. ``en-XA`` and
``ar-XB`` are the pseudo-languages of ``rssbot i18n pseudo``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from bot.cli import app
from bot.languages import LANGUAGES_DIR_VARIABLE, forget_languages
from bot.pseudo_locales import CLOSE, OPEN, PDF, RLO

#: what every Tigrinya text of the test language starts with
TI = "ትግ·"
TI_ENTRY = """code: ti
locale: ti
keywords:
  start: [ጀምር]
  stop: [ደው ኣበል]
  mydata: [ሓበሬታይ]
  delete: [ደምስስ]
  feedback: [ርእይቶ]
  language: [ቋንቋ]
  help: [ሓገዝ]
  cancel: [ሰርዝ]
"""


def run(*args: str, env: dict[str, str] | None = None) -> str:
    result = CliRunner().invoke(app, list(args), env=env)
    assert result.exit_code == 0, result.output
    return result.output


def add_tigrinya(folder: Path, workbook: Path) -> None:
    """Write ``ti`` in ``folder`` from a filled workbook (the folder must be in
    RSSBOT_LANGUAGES_DIR)."""
    (folder / "ti").mkdir(parents=True, exist_ok=True)
    (folder / "ti" / "language.yaml").write_text(TI_ENTRY, encoding="utf-8")
    forget_languages()
    run("i18n", "export", "ti", "--output", str(workbook))
    book = load_workbook(workbook)
    sheet = book["Strings"]
    for row in sheet.iter_rows(min_row=2):
        key, english = str(row[1].value), str(row[4].value or "")
        if key.startswith("keyword:"):
            continue  # (language.yaml has them)
        row[5].value = f"{TI} {english}"
    book.save(workbook)
    run("i18n", "import", str(workbook), "--into", str(folder))
    forget_languages()


@pytest.fixture
def language_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A deployment's own folder of languages with ti, en-XA and ar-XB, in use."""
    folder = tmp_path / "languages"
    folder.mkdir()
    monkeypatch.setenv(LANGUAGES_DIR_VARIABLE, str(folder))
    forget_languages()
    add_tigrinya(folder, tmp_path / "ti.xlsx")
    run("i18n", "pseudo", "--into", str(folder))
    forget_languages()
    yield folder
    monkeypatch.delenv(LANGUAGES_DIR_VARIABLE)
    forget_languages()


_PSEUDO = re.compile(f"{OPEN}[^{CLOSE}]*{CLOSE}|{RLO}[^{PDF}]*{PDF}")
#: what a returnee may see that is theirs, a link, or CLDR's words for the locale (a
#: duration: "2 years"), not a text to translate
_NOT_TEXT = re.compile(
    r"(?<![\w/])/\w+|https?://\S+|t\.me/\S+|CASE-\d+|\b[A-Z]{2}\b|\d+ (years?|months?)\b"
)


def unmarked(text: str) -> list[str]:
    """English words in ``text`` that no pseudo-language catalogue gave: everything
    outside ⟦…⟧ (en-XA) and right-to-left overrides (ar-XB), without commands, links
    and the returnee's own references."""
    rest = _NOT_TEXT.sub(" ", _PSEUDO.sub(" ", text))
    return re.findall(r"[A-Za-z]{2,}", rest)
