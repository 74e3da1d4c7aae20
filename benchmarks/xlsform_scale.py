"""Benchmark a large XLSForm: a 300-question form with 100 calculations (and skip logic
on a third of its questions), imported, then answered: the CPU an answer's expressions
add (skip logic and calculations) over the same answer in the same form without them.

    .venv/bin/python -m benchmarks.xlsform_scale

Prints the import time, and the engine's time per answer with and without the
expressions (the baseline), and their difference. Not part of the test suite.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from flows.engine import resume, start
from flows.model import FlowDefinition
from flows.state import Text
from flows.xlsform import read_xlsform
from tests.support.xlsforms import write_form

QUESTIONS, CALCULATIONS = 300, 100


def form(expressions: bool) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for i in range(QUESTIONS):
        row: dict[str, Any] = {"type": "integer", "name": f"q{i}", "label": f"Question {i}?"}
        if expressions and i % 3 == 2:
            row["relevant"] = f"${{q{i - 1}}} >= 0 and ${{q{i - 2}}} < 1000"
        rows.append(row)
        if expressions and i % 3 == 0 and len(rows) - i - 1 < CALCULATIONS:
            ref = f"${{q{i}}}"
            calculation = f"if({ref} > 5, {ref} * 2, round({ref} div 3, 2))"
            rows.append({"type": "calculate", "name": f"c{i}", "calculation": calculation})
    return rows


def answered(flow: FlowDefinition, answers: int) -> float:
    """The median seconds of one answer after ``answers`` answers."""
    state = start(flow, "en").state
    times = []
    for n in range(answers):
        began = time.process_time()
        state = resume(flow, state, Text(text=str(n % 10))).state
        times.append(time.process_time() - began)
    return statistics.median(times[answers // 2 :])


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        plain_path = write_form(Path(tmp) / "plain.xlsx", form(False))
        full_path = write_form(Path(tmp) / "full.xlsx", form(True))
        began = time.perf_counter()
        full = read_xlsform(full_path)
        imported = time.perf_counter() - began
        plain = read_xlsform(plain_path)
        print(f"import: {len(full.questions)} rows ({len(full.calculations)} calculations), "
              f"{imported:.2f} s")  # fmt: skip
        baseline = answered(plain, 150)
        measured = answered(full, 150)
        print(f"per answer, the form without expressions (baseline): {baseline * 1000:7.3f} ms CPU")
        print(f"per answer, with skip logic and calculations:         {measured * 1000:7.3f} ms CPU"
              f"  x{measured / baseline:.1f}")  # fmt: skip
        print(f"expressions add: {(measured - baseline) * 1000:.3f} ms CPU per answer")


if __name__ == "__main__":
    main()
