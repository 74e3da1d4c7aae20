"""The follow-up rules applied to a completed survey: which of the programme's rules it
meets (a dimension's score under a threshold, a drop since the previous wave, given
answers), recorded as a flag for caseworkers. The returnee never sees them."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from bot.programme import Programme, Rule
from flows.model import FlowDefinition
from flows.state import Answer, ChoiceAnswer, MultiAnswer
from storage.followup import Reason, SurveyToCheck
from storage.store import Store
from storage.waves import WAVES, Wave

log = logging.getLogger(__name__)


def _chosen(answer: Answer | None) -> set[str]:
    if isinstance(answer, ChoiceAnswer):
        return {answer.option}
    if isinstance(answer, MultiAnswer):
        return set(answer.options)
    return set()


def _score(scores: Mapping[str, Any] | None, dimension: str) -> float | None:
    value = (scores or {}).get(dimension)
    return float(value) if isinstance(value, int | float) else None


def reasons_for(
    rules: Sequence[Rule],
    answers: Mapping[str, Answer],
    scores: Mapping[str, Any] | None,
    previous: Mapping[str, Any] | None,
) -> list[Reason]:
    """The rules a completed survey meets, each with what it saw."""
    out = []
    for rule in rules:
        if rule.kind == "answer" and rule.question is not None:
            met = sorted(_chosen(answers.get(rule.question)) & set(rule.values))
            if met:
                out.append(Reason(rule.id, f"{rule.question}: {', '.join(met)}"))
            continue
        assert rule.dimension is not None
        now = _score(scores, rule.dimension)
        if now is None:
            continue
        if rule.kind == "score_below" and rule.threshold is not None and now < rule.threshold:
            out.append(Reason(rule.id, f"{rule.dimension} {now:.2f}"))
        elif rule.kind == "drop" and rule.by is not None:
            before = _score(previous, rule.dimension)
            if before is not None and before - now >= rule.by - 1e-9:
                out.append(Reason(rule.id, f"{rule.dimension} {before:.2f} → {now:.2f}"))
    return out


async def check_survey(
    store: Store, programme: Programme, definition: FlowDefinition, survey: SurveyToCheck
) -> bool:
    """Apply the rules to one completed survey and record the result (once)."""
    state = await store.load_state(survey.returnee_id, survey.wave, definition)
    if state is None:
        return False
    stored = await store.scores(survey.returnee_id)
    current = next((s for s in reversed(stored) if s.wave == survey.wave), None)
    previous = None
    if current is not None and survey.wave in WAVES:
        earlier = WAVES[: WAVES.index(survey.wave)]
        previous = next(
            (
                s
                for s in reversed(stored)
                if s.wave in earlier and s.weights_version == current.weights_version
            ),
            None,
        )
    reasons = reasons_for(
        programme.followup.rules,
        state.answers,
        current.values if current else None,
        previous.values if previous else None,
    )
    return await store.followup.record_check(survey, reasons)


async def check_completed(
    store: Store, programme: Programme, definition: FlowDefinition, returnee_id: str, wave: Wave
) -> None:
    """After a survey completes: its flag, if it meets a rule. A failure here is logged
    and left to :func:`check_unchecked` (the returnee's reply does not wait on it)."""
    try:
        survey = await store.followup.response_of(returnee_id, wave)
        if survey is not None:
            await check_survey(store, programme, definition, survey)
    except Exception:
        log.exception("follow-up rules not applied yet to a completed survey (retried at start)")


async def check_unchecked(store: Store, programme: Programme, definition: FlowDefinition) -> int:
    """Apply the rules to every completed survey not checked yet; returns how many."""
    done = 0
    while True:
        batch = await store.followup.unchecked()
        if not batch:
            return done
        for survey in batch:
            if not await check_survey(store, programme, definition, survey):
                # (erased or checked meanwhile: mark it so the loop moves on)
                await store.followup.record_check(survey, [])
            done += 1
