"""Driving the engine into a store, as a host would."""

from __future__ import annotations

import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest

from bot.survey_scores import score_survey
from flows import FlowDefinition, builtin_definition, resume, start
from flows.engine import Step
from flows.state import Choose, Input, Text, Toggle
from flows.state import Done as DoneInput
from scoring import default_weight_table
from storage.store import ReturneeInfo, Store, Wave
from tests.backends import PG_HOST, PG_PORT, PG_USER, Backend, services_required

RSS: FlowDefinition = builtin_definition("rss")
CONSENT = "test-v1"


async def consented_returnee(store: Store, case_ref: str = "CASE-001") -> ReturneeInfo:
    returnee = await store.enroll(
        case_ref=case_ref, return_date=date(2026, 5, 1), country="gn", language="fr"
    )
    await store.bind_telegram(returnee.id, 424242 if case_ref == "CASE-001" else 515151, 99)
    await store.give_consent(returnee.id, version=CONSENT, language="fr")
    return await store.get(returnee.id)


def full_inputs(comment: str) -> list[Input]:
    inputs: list[Input] = []
    for question in RSS.questions[:30]:
        inputs.append(Choose(option=question.options[1].id))  # type: ignore[union-attr]
    inputs += [Toggle(option="cash"), Toggle(option="training"), DoneInput(), Text(text=comment)]
    return inputs


async def answer(
    store: Store, returnee_id: str, inputs: list[Input], wave: Wave = "initial"
) -> None:
    """Apply inputs one by one, loading the state from the store each time (as after a
    restart), and save every step."""
    for inp in inputs:
        state = await store.load_state(returnee_id, wave, RSS)
        step = start(RSS, "fr") if state is None else resume(RSS, state, inp)
        await save(store, returnee_id, wave, step)
        if state is None:
            step = resume(RSS, step.state, inp)
            await save(store, returnee_id, wave, step)


async def save(store: Store, returnee_id: str, wave: Wave, step: Step) -> None:
    """Save a step as the hosts do: the step that completes the survey with its scores."""
    scores = None
    if step.state.completed:
        scores = score_survey(RSS, default_weight_table(), step.state)
    await store.save_step(returnee_id, wave, step, scores=scores)


async def complete_and_score(store: Store, returnee_id: str, comment: str) -> None:
    await answer(store, returnee_id, full_inputs(comment))
    state = await store.load_state(returnee_id, "initial", RSS)
    assert state is not None and state.completed


def database_dump(backend: Backend) -> bytes:
    """Every byte the database keeps: the SQLite file (+WAL), or a pg_dump."""
    if backend.name == "sqlite":
        data = b""
        for suffix in ("", "-wal", "-shm", "-journal"):
            path = Path(backend.location + suffix)
            if path.exists():
                data += path.read_bytes()
        return data
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        message = "pg_dump is not installed"
        if services_required():
            pytest.fail(message)
        pytest.skip(message)
    return subprocess.run(
        [pg_dump, "-h", PG_HOST, "-p", str(PG_PORT), "-U", PG_USER, backend.location],
        check=True,
        capture_output=True,
    ).stdout


def assert_absent(needle: str, haystack: bytes) -> None:
    encoded = needle.encode()
    assert encoded not in haystack
    assert encoded.hex().encode() not in haystack.lower()  # bytea is dumped as hex
