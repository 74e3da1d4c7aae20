"""An XLSForm written for Kobo, imported and answered end to end: through the Telegram
stack (fake Bot API on loopback, SQLite and PostgreSQL) and in the terminal survey, then
exported; a form without the weight table's elements is a plain survey, never scored."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from bot.cli import app
from bot.i18n import Translator
from flows.xlsform import read_xlsform
from storage.models import Answer, Score, SurveyResponse
from tests.e2e.conftest import Harness
from tests.e2e.fake_telegram import FakeUser
from tests.e2e.test_journey import AGREE, open_invitation
from tests.support.xlsforms import livelihood_form, write_form

Users = Callable[..., FakeUser]
TYPED = {"en": ("400", "40", "120,5"), "ar": ("٤٠٠", "٤٠", "١٢٠٫٥")}


@pytest.mark.parametrize("language", ["en", "ar"])
async def test_an_imported_form_is_answered_on_telegram_and_stored_without_scores(
    harness: Harness, user_factory: Users, tmp_path: Path, language: str
) -> None:
    flow = read_xlsform(livelihood_form(tmp_path / "livelihood.xlsx"))
    harness.definition = flow
    await harness.restart()
    _ = Translator(language)
    text = {q.id: q.text[language] for q in flow.questions}
    too_many, hours, income = TYPED[language]

    user = user_factory(language)
    await open_invitation(harness, user, language)
    user.press(AGREE[language])
    await user.expect(text["welcome"])  # a note, shown on the way to question 1
    first = await user.expect(text["has_work"])
    assert _("Question {number} of {total}", number=1, total=4) in first.text
    user.press_nth(0)  # yes: the work questions become relevant
    asked = await user.expect(text["hours"])
    assert _("Question {number} of {total}", number=2, total=6) in asked.text
    assert _("Type a whole number.") in asked.text
    user.send(too_many)
    await user.expect(flow.question("hours").constraint_message[language])  # type: ignore[union-attr]
    user.send(hours)
    await user.expect(text["income"])
    user.send("a lot")
    await user.expect(_("Please type a number, with digits (for example 12 or 3.5)."))
    user.send(income)
    await user.expect(text["help_received"])
    user.press_nth(0)  # cash
    user.press(_("Done ✓"))
    await user.expect(text["help_date"])
    user.send("31/02/2026")
    await user.expect(
        _("Please type a date as day/month/year, with digits (for example 31/12/1990).")
    )
    user.send("15/10/2026")
    await user.expect(text["comment"])
    user.press(_("Skip"))
    await user.expect(text["thanks"])
    await user.expect(_("Thank you! You have answered all the questions."))

    assert harness.store is not None
    async with harness.store.sessions() as session:
        response = (await session.scalars(select(SurveyResponse))).one()
        scores = await session.scalar(select(func.count()).select_from(Score))
        answers = await session.scalar(select(func.count()).select_from(Answer))
    assert (response.status, response.flow_id, response.flow_version) == (
        "completed",
        "livelihood",
        "2026-12",
    )
    assert scores == 0 and answers == 6
    found = await harness.store.find_by_telegram(user.user_id)
    assert found is not None
    state = await harness.store.load_state(found.id, "initial", flow)
    assert state is not None and state.completed
    assert state.answers["hours"].model_dump() == {"kind": "text", "text": "40"}
    assert state.answers["income"].model_dump() == {"kind": "text", "text": "120.5"}
    assert state.answers["help_date"].model_dump() == {"kind": "text", "text": "2026-10-15"}


def test_an_imported_form_in_the_terminal_then_exported(
    initialised: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    form = livelihood_form(tmp_path / "livelihood.xlsx")
    runner = CliRunner()
    lines = ["y", "1", "400", "40", "beaucoup", "1 250,5", "1,2", "1/2/2026", ""]
    result = runner.invoke(
        app, ["console", "--flow", str(form), "--language", "fr"], input="\n".join(lines) + "\n"
    )
    assert result.exit_code == 0, result.output
    _ = Translator("fr")
    for shown in (
        "Bienvenue.",  # the opening note
        "Entre 1 et 100.",  # the form's own constraint message
        _("Please type a number, with digits (for example 12 or 3.5)."),
        "Merci.",  # the closing note
        _("Thank you! You have answered all the questions."),
    ):
        assert shown in result.stdout
    assert _("Question {number} of {total}", number=6, total=6) in result.stdout

    monkeypatch.setenv("RSSBOT_FLOW", str(form))
    out = tmp_path / "export.xlsx"
    result = runner.invoke(app, ["export", "--format", "xlsx", "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert "flow 'livelihood' is a plain survey, without scores" in result.stdout
    sheet = openpyxl.load_workbook(out)["surveys"]
    header, row = (list(r) for r in sheet.iter_rows(values_only=True))
    values = dict(zip(header, row, strict=True))
    assert values["hours"] == 40 and values["income"] == 1250.5
    assert values["help_received"] == "cash training" and values["comment"] == "skipped"
    assert values["help_date"].date().isoformat() == "2026-02-01"
    assert "composite" not in header and "has_work_code" not in header

    # the RSS export of the same database does not mix the livelihood survey in
    monkeypatch.delenv("RSSBOT_FLOW")
    result = runner.invoke(app, ["export", "--output", str(tmp_path / "rss.csv")])
    assert result.exit_code == 0 and ": 0 surveys" in result.stdout


async def test_a_form_in_fewer_languages_offers_only_its_own(
    harness: Harness, user_factory: Users, tmp_path: Path
) -> None:
    survey = [
        {"type": "integer", "name": "people", "label::Français (fr)": "Combien de personnes ?"},
        {"type": "note", "name": "bye", "label::Français (fr)": "Merci."},
    ]
    harness.definition = read_xlsform(write_form(tmp_path / "fr.xlsx", survey))
    await harness.restart()
    user = user_factory("en")
    token = await harness.invite(language="en")
    user.send(f"/start {token}")
    menu = await user.expect("Welcome")
    assert menu.labels() == ["Français"]
    user.press("Français")
    user.press(AGREE["fr"], await user.expect("Avant de commencer"))
    asked = await user.expect("Combien de personnes ?")
    assert "Question 1 sur 1" in asked.text
    user.send("/language")
    assert (await user.expect("Choisissez votre langue")).labels() == ["Français"]
    user.send("5")
    await user.expect("Merci.")
