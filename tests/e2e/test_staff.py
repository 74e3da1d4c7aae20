"""Staff in Telegram and in the terminal: roles, due, rounds, exports, re-scoring, charts."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from typer.testing import CliRunner

from bot.cli import app
from storage.models import AuditEntry
from tests.e2e.conftest import Harness
from tests.e2e.fake_telegram import TOKEN, FakeTelegram, FakeUser
from tests.e2e.test_journey import enrol_and_consent
from tests.support.console import completed_surveys as console_cohort
from tests.support.journeys import to_the_last_question

PNG = b"\x89PNG\r\n\x1a\n"


async def completed_returnee(harness: Harness, user: FakeUser, *, choice: int = 0) -> None:
    """Enrol, consent and complete the survey by pressing option ``choice`` everywhere."""
    await enrol_and_consent(harness, user)
    await to_the_last_question(user, choice=choice)
    user.press("Skip")
    await user.expect("Thank you! You have answered")


async def test_staff_commands_by_role(harness: Harness, user_factory) -> None:  # type: ignore[no-untyped-def]
    store = harness.store
    assert store is not None
    returnee = user_factory("en")
    await completed_returnee(harness, returnee)
    pending = user_factory("en")
    await enrol_and_consent(harness, pending)  # due, not completed

    caseworker, viewer, stranger = user_factory("en"), user_factory("en"), user_factory("en")
    await store.add_staff(caseworker.user_id, "caseworker")
    await store.add_staff(viewer.user_id, "viewer")

    stranger.send("/due")
    await stranger.expect("I do not know this command")
    viewer.send("/round initial")
    await viewer.expect("I do not know this command")  # viewers cannot send rounds

    viewer.send("/due initial")
    due = await viewer.expect("Due today: 2 (1 to remind)")
    assert "completed · Telegram · completed the wave" in due.text
    assert "started, not finished · Telegram · to remind" in due.text

    viewer.send("/stats initial")  # one completed survey: no figure of one person
    await viewer.expect("Fewer than 5 completed surveys (initial): no figure is shown")
    viewer.send("/export")  # a viewer reads aggregates only
    await viewer.expect("I do not know this command")

    caseworker.send("/export")
    await caseworker.expect("Preparing the export of 1 completed surveys (all waves)")
    exported = await caseworker.expect("1 completed surveys (all waves)")
    assert exported.kind == "document" and exported.file is not None
    assert "weights are provisional" in exported.text
    rows = list(csv.reader(io.StringIO(exported.file.decode("utf-8-sig"))))
    assert rows[1][rows[0].index("case_ref")] == "CASE-1"
    assert rows[1][rows[0].index("econ_satisfaction")] == "very_satisfied"
    assert rows[1][rows[0].index("econ_satisfaction_code")] == "1.0"
    assert rows[1][rows[0].index("composite")] == "1.0"
    codebook = await caseworker.expect("Codebook")
    assert codebook.kind == "document" and codebook.file is not None

    caseworker.send("/export xlsx")
    await caseworker.expect("Preparing the export")
    book = await caseworker.expect("1 completed surveys")
    assert book.file is not None
    sheet = load_workbook(io.BytesIO(book.file)).active
    assert sheet is not None
    header = [c.value for c in sheet[1]]
    assert sheet.cell(row=2, column=header.index("case_ref") + 1).value == "CASE-1"

    await console_cohort(store)  # six more returnees: seven initial surveys
    viewer.send("/stats initial")
    await viewer.expect("Drawing the chart of 7 completed surveys")
    stats = await viewer.expect("Wave initial: 7 completed surveys")
    assert stats.kind == "photo" and stats.file is not None and stats.file.startswith(PNG)
    assert "24 of the 30 weights are provisional" in stats.text  # wherever scores are shown

    caseworker.send("/due initial")
    listed = await caseworker.expect("Due today: 2")
    assert "(CASE-1)" in listed.text  # a caseworker sees case references, a viewer does not
    assert "(CASE-" not in due.text

    viewer.send("/invite CASE-1")
    await viewer.expect("I do not know this command")
    caseworker.send("/invite CASE-1")
    invitation = await caseworker.expect("New invitation for")
    token = invitation.text.rsplit("?start=", 1)[1]
    code = await caseworker.expect("the same invitation as a QR code")
    assert code.file is not None and code.file.startswith(PNG) and code.protect_content
    assert (await store.redeem_invite(token, 999_001, 999_001)).status == "active"

    caseworker.send("/case CASE-1")
    trajectory = await caseworker.expect("returned 2026-10-01")
    assert trajectory.file is not None and trajectory.file.startswith(PNG)

    caseworker.send("/round initial")
    preview = await caseworker.expect("Round 'initial': 1 to remind")
    assert "skipped, completed the wave: 1" in preview.text
    caseworker.press("Send 1 reminders", preview)
    await caseworker.expect("1 sent in")
    await pending.expect("It is time for your first follow-up survey")

    async with store.sessions() as session:
        actions = [a.action for a in await session.scalars(select(AuditEntry))]
    assert actions.count("export") == 2 and "read_scores" in actions and "find_case" in actions
    assert "aggregate" in actions and "start_round" in actions


def test_staff_and_export_from_the_terminal(initialised: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    added = runner.invoke(
        app,
        [
            "staff",
            "add",
            "--telegram-id",
            "4242",
            "--role",
            "caseworker",
            "--name",
            "Aminata, Conakry",
        ],
    )
    assert added.exit_code == 0, added.output
    bad = runner.invoke(app, ["staff", "add", "--telegram-id", "1", "--role", "boss"])
    assert bad.exit_code == 2 and "unknown role" in bad.stderr
    listed = runner.invoke(app, ["staff", "list"])
    assert "caseworker" in listed.stdout and "4242" not in listed.stdout
    assert "Aminata, Conakry" in listed.stdout  # an admin can tell who is who
    assert runner.invoke(app, ["staff", "remove", "--telegram-id", "4242"]).exit_code == 0
    assert runner.invoke(app, ["staff", "remove", "--telegram-id", "4242"]).exit_code == 1

    lines = ["y"] + ["2"] * 30 + ["9", ""]
    assert runner.invoke(app, ["console"], input="\n".join(lines) + "\n").exit_code == 0
    out = tmp_path / "scores.csv"
    viewer = runner.invoke(app, ["export", "--output", str(out)])
    assert viewer.exit_code == 0, viewer.output
    assert "24 of the 30 weights are provisional" in viewer.stdout
    rows = list(csv.reader(io.StringIO(out.read_text("utf-8-sig"))))
    assert len(rows) == 2 and "case_ref" not in rows[0]
    assert rows[1][rows[0].index("econ_satisfaction_code")] == "0.75"  # "satisfied"
    assert rows[1][rows[0].index("econ_satisfaction_label")] == "Satisfied"
    refused = runner.invoke(app, ["export", "--role", "feedback_officer"])
    assert refused.exit_code == 2 and "may not export" in refused.stderr
    xlsx = tmp_path / "scores.xlsx"
    caseworker = runner.invoke(
        app, ["export", "--format", "xlsx", "--role", "caseworker", "--output", str(xlsx)]
    )
    assert caseworker.exit_code == 0 and "with case references" in caseworker.stdout
    assert load_workbook(xlsx).active is not None

    # re-score under another weight table: a new version, old scores kept
    elements = (Path(__file__).parents[2] / "scoring" / "data" / "elements.csv").read_text()
    other = tmp_path / "official.csv"
    other.write_text(
        elements.replace(
            "economic_satisfaction,satisfaction5,0.15,0.05",
            "economic_satisfaction,satisfaction5,0.15,0.04",
        ).replace(
            "econ_borrow_ability,economic,debt_to_spending,yes_good,0.08,0.02",
            "econ_borrow_ability,economic,debt_to_spending,yes_good,0.08,0.03",
        )
    )
    rescored = runner.invoke(app, ["rescore", "--weights", str(other)])
    assert rescored.exit_code == 0 and "re-scored 1 surveys under sha256:" in rescored.stdout
    broken = tmp_path / "broken.csv"
    broken.write_text(elements.replace("0.15,0.05", "0.5,0.05"))
    assert runner.invoke(app, ["rescore", "--weights", str(broken)]).exit_code == 2

    chart = tmp_path / "me.png"
    made = runner.invoke(
        app, ["chart", "returnee", "--case", f"console:{_user()}", "--output", str(chart)]
    )
    assert made.exit_code == 0, made.output
    assert chart.read_bytes().startswith(PNG)
    cohort = tmp_path / "cohort.png"
    made = runner.invoke(app, ["chart", "cohort", "--wave", "initial", "--output", str(cohort)])
    assert made.exit_code == 0 and "fewer than 5 surveys of wave initial" in made.stdout
    assert "1 surveys" not in made.stdout  # one survey: no figure of one person
    assert "weights are provisional" in made.stdout
    assert cohort.read_bytes().startswith(PNG)


def _user() -> str:
    import getpass

    return getpass.getuser()


async def test_due_and_round_from_the_terminal(
    initialised: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.common import open_store

    store = await open_store()
    try:
        for i in range(5):
            r = await store.enroll(
                case_ref=f"C-{i}", return_date=date.today(), country="SN", language="fr"
            )
            await store.bind_telegram(r.id, 700 + i, 700 + i)
            if i:
                await store.give_consent(r.id, version="v1", language="fr")
    finally:
        await store.close()
    server = FakeTelegram()
    await server.start()
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_API_BASE", server.base_url)
    runner = CliRunner()
    try:
        due = await asyncio.to_thread(runner.invoke, app, ["due", "--country", "sn"])
        assert "5 due, 4 to remind" in due.stdout and "no (joined, no consent yet)" in due.stdout
        dry = await asyncio.to_thread(
            runner.invoke, app, ["round", "start", "--wave", "initial", "--dry-run"]
        )
        assert (
            "4 to remind, 1 skipped" in dry.stdout
            and "skipped, joined, no consent yet: 1" in dry.stdout
        )
        assert not any(m == "sendmessage" for m, _ in server.calls)
        sent = await asyncio.to_thread(
            runner.invoke, app, ["round", "start", "--wave", "initial", "--yes", "--rate", "50"]
        )
        assert sent.exit_code == 0, sent.output
        assert "sent: 4" in sent.stdout and "limit 50/s" in sent.stdout
        # one pace line: the rate is what was sent over the time it took, however small
        pace = re.search(r"4 sent in ([\d.]+) s: ([\d.]+) messages/s \(limit 50/s\)", sent.stdout)
        assert pace is not None, sent.stdout
        seconds, rate = float(pace.group(1)), float(pace.group(2))
        # (the time is printed to the hundredth: the rate lies within what it rounds)
        assert seconds > 0
        assert 4 / (seconds + 0.005) - 0.1 <= rate <= 4 / max(seconds - 0.005, 1e-6) + 0.1
        assert "achieved" not in sent.stdout and "duration" not in sent.stdout
        again = await asyncio.to_thread(runner.invoke, app, ["round", "resume"])
        assert "No round to resume." in again.stdout
        bad = await asyncio.to_thread(runner.invoke, app, ["round", "start", "--wave", "later"])
        assert bad.exit_code == 2
    finally:
        await server.stop()
    assert sum(m == "sendmessage" for m, _ in server.calls) == 4
