"""Staff reads on both back ends: completed surveys streamed in batches (filters in SQL,
one audit entry per survey read), exports with codes, labels and a codebook, re-scoring."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from bot import exports
from flows.state import Choose, Input, Special, Text, Toggle
from flows.state import Done as DoneInput
from scoring import default_weight_table, load_weight_table
from storage import reports
from storage.models import AuditEntry
from storage.reports import Selection
from storage.store import Store, Wave
from tests.storage.helpers import RSS, answer

TABLE = default_weight_table()


def inputs(choice: int, comment: str) -> list[Input]:
    """The whole survey: 'prefer not to answer' first, then option ``choice`` everywhere."""
    out: list[Input] = [Special(value="prefer_not_to_answer")]
    for question in RSS.questions[1:30]:
        out.append(Choose(option=question.options[choice].id))  # type: ignore[union-attr]
    return [*out, Toggle(option="cash"), DoneInput(), Text(text=comment)]


async def completed(
    store: Store, n: int, *, country: str = "GN", waves: tuple[Wave, ...] = ("initial",)
) -> list[str]:
    ids = []
    for i in range(n):
        r = await store.enroll(
            case_ref=f"REP-{country}-{i}",
            return_date=date(2026, 1, 1),
            country=country,
            language="fr",
        )
        await store.bind_telegram(r.id, f"{country}{i}", 1000 + i)
        await store.give_consent(r.id, version="t", language="fr")
        for wave in waves:
            await answer(store, r.id, inputs(i % 2, f"comment {i}"), wave)
        ids.append(r.id)
    return ids


async def read_all(store: Store, selection: Selection, **options: object) -> list[list[object]]:
    batches = []
    async for batch in reports.completed_batches(
        store, selection, weights_version=TABLE.version, actor="t", action="export", **options
    ):
        batches.append(batch)
    return batches  # type: ignore[return-value]


async def test_surveys_stream_in_batches_filtered_in_sql_and_audited(store: Store) -> None:
    await completed(store, 3, waves=("initial", "intermediate"))
    await completed(store, 2, country="SN")

    batches = await read_all(store, Selection(), batch_size=2)
    assert len(batches) == 3  # two returnees a batch, with all their waves
    assert all(len({s.returnee_id for s in b}) <= 2 for b in batches)  # type: ignore[attr-defined]
    surveys = [s for b in batches for s in b]
    assert len({s.returnee_id for s in surveys}) == 5  # type: ignore[attr-defined]
    public_ids = [s.public_id for s in surveys]  # type: ignore[attr-defined]
    assert public_ids == sorted(public_ids)
    assert all(s.scores and s.scores["weights_version"] == TABLE.version for s in surveys)  # type: ignore[attr-defined]
    async with store.sessions() as session:
        audited = (
            await session.scalars(select(AuditEntry).where(AuditEntry.action == "export"))
        ).all()
    assert len(audited) == len(surveys) == 8

    only = await read_all(store, Selection(wave="intermediate", country="gn"))
    assert {(s.wave, s.country) for b in only for s in b} == {("intermediate", "GN")}  # type: ignore[attr-defined]
    assert await reports.count_completed(store, Selection(country="SN")) == 2
    today = date.today()
    assert await reports.count_completed(store, Selection(completed_from=today)) == 8
    assert await reports.count_completed(store, Selection(completed_to=today - timedelta(1))) == 0


@pytest.mark.parametrize("layout", ["wide", "long"])
async def test_every_column_of_the_export_is_in_the_codebook(
    store: Store, tmp_path: Path, layout: exports.Layout
) -> None:
    await completed(store, 2)
    spec = exports.ExportSpec(RSS, TABLE, labels="fr", include_case_ref=True, layout=layout)
    path = tmp_path / "out.csv"
    batches = reports.completed_batches(
        store, Selection(), weights_version=TABLE.version, actor="t", action="export",
        include_case_ref=True,
    )  # fmt: skip
    written = await exports.write_export(spec, "csv", path, batches)
    rows = list(csv.reader(io.StringIO(path.read_text("utf-8-sig"))))
    assert written.codebook is not None and written.surveys == 2
    book = list(csv.DictReader(io.StringIO(written.codebook.read_text("utf-8-sig"))))
    assert [r["column"] for r in book] == rows[0]
    if layout == "long":
        assert len(rows) - 1 == written.rows == 2 * 32  # one row per answer
        first = dict(zip(rows[0], rows[1], strict=True))
        assert first["question"] == "econ_satisfaction"
        assert first["value"] == "prefer_not_to_answer" and first["code"] == ""
        return
    assert len(rows) == 3
    satisfaction = next(r for r in book if r["column"] == "econ_satisfaction_code")
    element = TABLE.elements["econ_satisfaction"]
    assert satisfaction["dimension"] == "Économique"
    assert float(satisfaction["composite_weight"]) == float(element.composite_weight)
    assert satisfaction["weight_status"] == element.weight_status
    assert satisfaction["weights_version"] == TABLE.version
    assert "very_satisfied = 1" in satisfaction["options"]
    row = dict(zip(rows[0], rows[1], strict=True))
    # prefer not to answer, not applicable and don't know can be told apart
    assert row["econ_satisfaction"] == "prefer_not_to_answer"
    assert row["econ_satisfaction_code"] == ""
    assert row["econ_satisfaction_label"] == "Je préfère ne pas répondre"
    assert row["ctx_assistance_received"] == "cash" and row["ctx_assistance_received/cash"] == "1"
    assert row["ctx_comment"].startswith("comment ")
    assert row["case_ref"].startswith("REP-GN-")
    assert row["lowest_dimension"] in ("economic", "social", "psychosocial")
    assert row["weights_status"] == "provisional (24 of 30 weights)"
    assert row["completed"] == date.today().isoformat()


async def test_labels_follow_the_chosen_language(store: Store, tmp_path: Path) -> None:
    await completed(store, 1)
    labels = {}
    for language in ("en", "fr", "ar"):
        spec = exports.ExportSpec(RSS, TABLE, labels=language)
        path = tmp_path / f"{language}.csv"
        batches = reports.completed_batches(
            store, Selection(), weights_version=TABLE.version, actor="t", action="export"
        )
        await exports.write_export(spec, "csv", path, batches)
        rows = list(csv.reader(io.StringIO(path.read_text("utf-8-sig"))))
        labels[language] = rows[1][rows[0].index("econ_food_reduction_label")]
    question = RSS.question("econ_food_reduction")
    expected = {lang: question.options[0].label[lang] for lang in ("en", "fr", "ar")}  # type: ignore[union-attr]
    assert labels == expected and len(set(labels.values())) == 3


async def test_the_xlsx_is_filtered_dated_and_carries_its_codebook(
    store: Store, tmp_path: Path
) -> None:
    await completed(store, 2)
    path = tmp_path / "out.xlsx"
    batches = reports.completed_batches(
        store, Selection(), weights_version=TABLE.version, actor="t", action="export"
    )
    await exports.write_export(exports.ExportSpec(RSS, TABLE), "xlsx", path, batches)
    book = load_workbook(path)
    assert book.sheetnames == ["surveys", "codebook"]
    sheet = book["surveys"]
    header = [c.value for c in sheet[1]]
    assert sheet.auto_filter.ref == f"A1:{sheet.cell(1, len(header)).column_letter}3"
    assert sheet.freeze_panes == "B2"
    completed_cell = sheet.cell(2, header.index("completed") + 1)
    assert completed_cell.is_date
    assert [r[0].value for r in book["codebook"].iter_rows(min_row=2)] == header


async def test_rescored_surveys_are_read_under_the_new_table(store: Store, tmp_path: Path) -> None:
    await completed(store, 3)
    elements = (Path(__file__).parents[2] / "scoring" / "data" / "elements.csv").read_text()
    other = tmp_path / "official.csv"
    other.write_text(
        elements.replace("provisional", "official")
        .replace(
            "economic_satisfaction,satisfaction5,0.15,0.05",
            "economic_satisfaction,satisfaction5,0.15,0.04",
        )
        .replace(
            "econ_borrow_ability,economic,debt_to_spending,yes_good,0.08,0.02",
            "econ_borrow_ability,economic,debt_to_spending,yes_good,0.08,0.03",
        )
    )
    official = load_weight_table(other, expected_elements=TABLE.elements)
    assert await reports.rescore(store, RSS, official, actor="t") == 3
    old = [s for b in await read_all(store, Selection()) for s in b]
    new = [
        s
        async for b in reports.completed_batches(
            store, Selection(), weights_version=official.version, actor="t", action=None
        )
        for s in b
    ]
    assert {s.scores["weights_version"] for s in new} == {official.version}  # type: ignore[index]
    assert {s.scores["weights_version"] for s in old} == {TABLE.version}  # type: ignore[attr-defined]
    assert exports.ExportSpec(RSS, official).weights_status == "official"


def test_a_stored_answer_is_read_back_as_written() -> None:
    from flows.state import ChoiceAnswer, MultiAnswer, SpecialAnswer, TextAnswer

    for written in (
        ChoiceAnswer(option="yes"),
        MultiAnswer(options=("cash", "training")),
        TextAnswer(text="ça va, شكرا"),
        SpecialAnswer(value="dont_know"),
    ):
        again = reports.stored_answer(written.model_dump_json())
        assert again == written and type(again) is type(written)
        assert again.model_dump_json() == written.model_dump_json()


async def test_every_missing_marker_exported_is_one_the_readme_and_the_codebook_name(
    store: Store, tmp_path: Path
) -> None:
    """A skipped optional question (the comment) is exported as ``skipped``: one of the
    markers the README lists for exports, and the codebook says the column may hold it."""
    import re

    r = await store.enroll(
        case_ref="REP-SKIP", return_date=date(2026, 1, 1), country="GN", language="fr"
    )
    await store.bind_telegram(r.id, "skip-1", 991)
    await store.give_consent(r.id, version="t", language="fr")
    survey = [*inputs(0, "unused")[:-1], Special(value="skip")]
    await answer(store, r.id, survey)
    path = tmp_path / "out.csv"
    batches = reports.completed_batches(
        store, Selection(), weights_version=TABLE.version, actor="t", action="export"
    )
    written = await exports.write_export(exports.ExportSpec(RSS, TABLE), "csv", path, batches)
    rows = list(csv.DictReader(io.StringIO(path.read_text("utf-8-sig"))))
    assert rows[0]["ctx_comment"] == "skipped"
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    exports_section = readme[readme.index("**Exports**") : readme.index("**Weight tables.**")]
    listed = set(re.findall(r"`(\w+)`", exports_section))
    markers = {v for row in rows for k, v in row.items() if k in {q.id for q in RSS.questions}}
    markers = {m for m in markers if m in exports.MISSING_MARKERS.values()}
    assert markers == {"prefer_not_to_answer", "skipped"} and markers <= listed
    assert written.codebook is not None
    book = list(csv.DictReader(io.StringIO(written.codebook.read_text("utf-8-sig"))))
    comment = next(b for b in book if b["column"] == "ctx_comment")
    assert comment["description"].endswith("prefer_not_to_answer, skipped")
