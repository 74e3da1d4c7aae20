"""A form's calculations kept like answers: encrypted (a canary in a calculated value is
nowhere in clear), back after a restart half-way, exported with the codebook."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from bot import exports
from flows.xlsform import read_xlsform
from scoring import default_weight_table
from storage import reports
from storage.models import Base
from storage.reports import Selection
from storage.store import Store
from tests.e2e.test_terminal_survey import Terminal
from tests.support.xlsforms import write_form

CANARY = "CANARY-CALC-7731"


async def test_calculations_are_stored_encrypted_resumed_and_exported(
    store: Store, tmp_path: Path
) -> None:
    survey = [
        {"type": "text", "name": "name", "label": "Your name?"},
        {"type": "calculate", "name": "tag", "calculation": f"concat('{CANARY}-', ${{name}})"},
        {"type": "integer", "name": "age", "label": "Age, ${name}?"},
        {"type": "calculate", "name": "adult", "calculation": "if(${age} >= 18, 'yes', 'no')"},
        {"type": "text", "name": "more", "label": "Anything else?"},
    ]
    flow = read_xlsform(write_form(tmp_path / "form.xlsx", survey))
    terminal = Terminal(store, flow, default_weight_table())
    _state, _scores, shown = await terminal.run(["Amina", "34"])  # (then stops: restart)
    assert "Age, Amina?" in shown
    state = await store.load_state(terminal.returnee_id, "initial", flow)
    assert state is not None
    assert state.answers["tag"].text == f"{CANARY}-Amina"  # type: ignore[union-attr]
    assert state.answers["adult"].text == "yes"  # type: ignore[union-attr]
    async with store.sessions() as session:
        for table in Base.metadata.sorted_tables:
            for row in (await session.execute(table.select())).all():
                for value in row._mapping.values():
                    raw = value if isinstance(value, bytes) else str(value).encode()
                    assert CANARY.encode() not in raw, table.name

    final, _scores, _shown = await terminal.run(["all good"])
    assert final is not None and final.completed
    spec = exports.ExportSpec(flow, default_weight_table())
    batches = reports.completed_batches(
        store, Selection(flow_id=flow.id), weights_version=None, actor="t", action="export"
    )
    written = await exports.write_export(spec, "csv", tmp_path / "out.csv", batches)
    rows = list(csv.DictReader(io.StringIO((tmp_path / "out.csv").read_text("utf-8-sig"))))
    assert rows[0]["tag"] == f"{CANARY}-Amina" and rows[0]["adult"] == "yes"
    assert written.codebook is not None
    book = {
        r["column"]: r for r in csv.DictReader(io.StringIO(written.codebook.read_text("utf-8-sig")))
    }
    assert book["adult"]["description"] == "calculated: if(${age} >= 18, 'yes', 'no')"
