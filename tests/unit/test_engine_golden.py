"""Golden transcripts of the engine: inputs, then the exact events and state after each.

Each file in ``golden/`` lists a flow, a language and steps. To re-record after an
intended change, run ``RSSBOT_UPDATE_GOLDEN=1 pytest tests/unit/test_engine_golden.py``
and review the diff like any other code change.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter

from flows import FlowDefinition, builtin_definition, load_definition, resume, start
from flows.state import Input

GOLDEN = Path(__file__).parent / "golden"
INPUT: TypeAdapter[Input] = TypeAdapter(Input)


def flow_named(name: str) -> FlowDefinition:
    if name == "rss":
        return builtin_definition("rss")
    return load_definition(Path(__file__).parent / "data" / f"{name}.yaml")


def replay(script: dict[str, Any]) -> list[dict[str, Any]]:
    flow = flow_named(script["flow"])
    step = start(flow, script["language"])
    steps = [
        {
            "input": "start",
            "events": [e.model_dump(mode="json") for e in step.events],
            "state": step.state.model_dump(mode="json"),
        }
    ]
    for raw in script["steps"][1:]:
        step = resume(flow, step.state, INPUT.validate_python(raw["input"]))
        steps.append(
            {
                "input": raw["input"],
                "events": [e.model_dump(mode="json") for e in step.events],
                "state": step.state.model_dump(mode="json"),
            }
        )
    return steps


@pytest.mark.parametrize("path", sorted(GOLDEN.glob("*.json")), ids=lambda p: p.stem)
def test_golden_transcript(path: Path) -> None:
    script = json.loads(path.read_text(encoding="utf-8"))
    actual = replay(script)
    if os.environ.get("RSSBOT_UPDATE_GOLDEN"):
        script["steps"] = actual
        path.write_text(json.dumps(script, ensure_ascii=False, indent=1) + "\n", "utf-8")
    for number, (want, got) in enumerate(zip(script["steps"], actual, strict=True)):
        assert got == want, f"{path.name} step {number} ({want['input']})"


def test_there_are_golden_transcripts() -> None:
    assert len(list(GOLDEN.glob("*.json"))) >= 3
