"""A form with a cascading select, a repeat and a calculated score, answered in the
terminal, interrupted by a restart half-way and resumed: every instance's answers kept
apart and encrypted, and the export holds the main sheet, the repeat's sheet (one row per
instance, joined by the returnee and wave) and the codebook."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from pathlib import Path

from openpyxl import load_workbook

from bot import exports
from flows.xlsform import read_xlsform
from scoring import default_weight_table
from storage import reports
from storage.models import Base
from storage.reports import Selection
from storage.store import Store
from tests.e2e.test_terminal_survey import Terminal
from tests.support.xlsforms import write_form

CANARY = "CANARY-REPEAT-4417"

SURVEY = [
    {"type": "select_one regions", "name": "region", "label": "Your region?"},
    {"type": "select_one districts", "name": "district", "label": "Your district?",
     "choice_filter": "region = ${region}"},
    {"type": "begin_repeat", "name": "members", "label": "Household member"},
    {"type": "text", "name": "member", "label": "Name of this member?"},
    {"type": "integer", "name": "age", "label": "How old is ${member}?",
     "constraint": ". < 120", "constraint_message": "An age under 120, please."},
    {"type": "calculate", "name": "adult", "calculation": "if(${age} >= 18, 1, 0)"},
    {"type": "end_repeat"},
    {"type": "calculate", "name": "adults", "calculation": "sum(${adult})"},
    {"type": "calculate", "name": "score",
     "calculation": "round(${adults} div count(${member}) * 10, 1)"},
    {"type": "text", "name": "comment", "label": "${adults} adults of ${score}/10. Comment?"},
]  # fmt: skip
CHOICES = [
    {"list_name": "regions", "name": "north", "label": "North"},
    {"list_name": "regions", "name": "south", "label": "South"},
    {"list_name": "districts", "name": "n1", "label": "Hills", "region": "north"},
    {"list_name": "districts", "name": "s1", "label": "Coast", "region": "south"},
    {"list_name": "districts", "name": "s2", "label": "Delta", "region": "south"},
]


async def test_a_repeat_resumed_after_a_restart_is_exported_whole(
    store: Store, tmp_path: Path
) -> None:
    form = write_form(tmp_path / "household.xlsx", SURVEY, CHOICES)
    flow = read_xlsform(form)
    table = default_weight_table()
    first = Terminal(store, flow, table)
    # south; Delta (the second of the two southern districts); add a member...
    _state, _scores, shown = await first.run(["2", "2", "1", f"{CANARY}-Ali", "40", "1", "Sara"])
    assert "1  Coast" in shown and "2  Delta" in shown and "Hills" not in shown
    assert "Household member 1" in shown and "Household member 2" in shown
    assert f"How old is {CANARY}-Ali?" in shown
    assert "Add another “Household member”?" in shown and "1 added so far." in shown
    async with store.sessions() as session:
        for db_table in Base.metadata.sorted_tables:
            for row in (await session.execute(db_table.select())).all():
                for value in row._mapping.values():
                    raw = value if isinstance(value, bytes) else str(value).encode()
                    assert CANARY.encode() not in raw, db_table.name

    # a restart: the flow read again, a new service, the survey loaded from the database
    again = Terminal(store, read_xlsform(form), table)
    again.returnee_id = first.returnee_id
    final, _scores, shown = await again.run(["130", "7", "2", "fine"])
    assert "How old is Sara?" in shown and "An age under 120, please." in shown
    assert "1 adults of 5/10. Comment?" in shown
    assert final is not None and final.completed
    assert final.answers["age[1]"].text == "40"  # type: ignore[union-attr]
    assert final.answers["age[2]"].text == "7"  # type: ignore[union-attr]

    spec = exports.ExportSpec(flow, table)

    def batches() -> AsyncIterator[list[reports.CompletedSurvey]]:
        return reports.completed_batches(
            store, Selection(flow_id=flow.id), weights_version=None, actor="t", action="export"
        )

    written = await exports.write_export(spec, "csv", tmp_path / "out.csv", batches())
    main = list(csv.DictReader(io.StringIO((tmp_path / "out.csv").read_text("utf-8-sig"))))
    assert len(main) == 1
    assert main[0]["region"] == "south" and main[0]["district"] == "s2"
    assert main[0]["members_count"] == "2" and main[0]["adults"] == "1"
    assert main[0]["score"] == "5"
    assert "member" not in main[0] and "age" not in main[0]
    assert written.repeats == (tmp_path / "out-members.csv",)
    members = list(csv.DictReader(io.StringIO(written.repeats[0].read_text("utf-8-sig"))))
    assert [(m["returnee"], m["wave"], m["instance"]) for m in members] == [
        (main[0]["returnee"], "initial", "1"),
        (main[0]["returnee"], "initial", "2"),
    ]
    assert [(m["member"], m["age"], m["adult"]) for m in members] == [
        (f"{CANARY}-Ali", "40", "1"),
        ("Sara", "7", "0"),
    ]
    assert written.codebook is not None
    book = {
        r["column"]: r for r in csv.DictReader(io.StringIO(written.codebook.read_text("utf-8-sig")))
    }
    assert book["members: age"]["question"] == "How old is ${member}?"
    assert "one row per instance" in book["members: age"]["description"]
    assert book["members_count"]["description"].startswith("how many 'Household member'")

    await exports.write_export(spec, "xlsx", tmp_path / "out.xlsx", batches())
    workbook = load_workbook(tmp_path / "out.xlsx", read_only=True)
    assert workbook.sheetnames == ["surveys", "members", "codebook"]
    rows = list(workbook["members"].values)
    assert rows[0][:3] == ("returnee", "wave", "instance")
    assert [r[3] for r in rows[1:]] == [f"{CANARY}-Ali", "Sara"]
