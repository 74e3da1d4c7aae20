"""A seeded programme for the report's tests: returnees in several countries with profiles
(one of them a special category) and assistance delivered before or after their first
survey, who completed one, two or three waves answered at random."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime

from flows import resume, start
from flows.engine import Step
from flows.state import Choose, Done, Input, Text, Toggle
from storage.caseload import Assistance, CaseRecord, Profile
from storage.store import Store
from tests.storage.helpers import RSS, save

COMPLETED = {
    "initial": datetime(2026, 6, 15, 10, tzinfo=UTC),
    "intermediate": datetime(2026, 12, 15, 10, tzinfo=UTC),
    "final": datetime(2027, 6, 15, 10, tzinfo=UTC),
}


@dataclass
class Seeded:
    case_ref: str
    country: str
    sex: str
    vulnerable: bool
    #: (type, level, status, start)
    assistance: tuple[tuple[str, str, str, date], ...]
    returned: date
    waves: tuple[str, ...]


def cohort(n: int = 36, seed: int = 4) -> list[Seeded]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        items = []
        if i % 2:
            items.append(("cash", "individual", "delivered", date(2026, 5, 1)))
        if i % 3 == 0:  # delivered after the initial survey: received from the second wave
            items.append(("counselling", "community", "delivered", date(2026, 9, 1)))
        if i % 5 == 0:
            items.append(("housing", "individual", "planned", date(2026, 5, 1)))
        out.append(
            Seeded(
                case_ref=f"PR-{i:03d}",
                country=("GN", "ML", "SN")[i % 3 if i % 7 else 0],
                sex=("female", "male")[rng.random() < 0.5],
                vulnerable=i % 4 == 0,
                assistance=tuple(items),
                returned=date(2026, 2 + i % 4, 1 + i % 20),
                waves=("initial", "intermediate", "final")[: 1 + (i < 26) + (i < 12)],
            )
        )
    return out


def whole_survey(rng: random.Random) -> Step:
    """A whole survey answered at random, computed in memory, saved as one step."""
    step = start(RSS, "fr")
    events = list(step.events)
    inputs: list[Input] = [
        Choose(option=rng.choice(q.options).id)  # type: ignore[union-attr]
        for q in RSS.questions[:30]
    ]
    for inp in [*inputs, Toggle(option="cash"), Done(), Text(text="ok")]:
        step = resume(RSS, step.state, inp)
        events += step.events
    assert step.state.completed
    return Step(step.state, tuple(events), None)


async def seed(store: Store, people: list[Seeded]) -> None:
    records = [
        CaseRecord(
            case_ref=p.case_ref,
            return_date=p.returned,
            country=p.country,
            language="fr",
            profile=Profile(
                attributes={"sex": p.sex},
                sealed={"vulnerabilities": ("disability",) if p.vulnerable else ()},
            ),
            assistance=tuple(Assistance(t, lv, st, start) for t, lv, st, start in p.assistance),
        )
        for p in people
    ]
    outcome = await store.caseload.import_records(records, actor="test")
    rng = random.Random(9)
    clock = store.clock
    try:
        for created, person in zip(outcome.created, people, strict=True):
            await store.give_consent(created.returnee.id, version="v1", language="fr")
            for wave in person.waves:
                store.clock = lambda wave=wave: COMPLETED[wave]  # type: ignore[misc]
                await save(store, created.returnee.id, wave, whole_survey(rng))  # type: ignore[arg-type]
    finally:
        store.clock = clock  # type: ignore[method-assign]
