"""A completed survey's scores: its scored answers under a weight table."""

from __future__ import annotations

import logging

from flows.engine import scored_answers
from flows.model import FlowDefinition
from flows.state import SessionState
from scoring import ScoreResult, WeightTable, score
from storage.store import Store

log = logging.getLogger(__name__)


def score_survey(
    definition: FlowDefinition, table: WeightTable, state: SessionState
) -> ScoreResult:
    """Scores of the answers to the table's elements (other questions are context)."""
    answers = {k: v for k, v in scored_answers(definition, state).items() if k in table.elements}
    return score(table, answers)


def weights_note(table: WeightTable) -> str | None:
    """What staff read beside any score while the weight table is not all official."""
    if not table.provisional_weights:
        return None
    return (
        f"{table.provisional_weights} of the {len(table.elements)} weights are provisional "
        "until the official weight table is loaded (rssbot rescore --weights)"
    )


async def score_unscored_surveys(
    store: Store, definition: FlowDefinition, table: WeightTable
) -> int:
    """Score every completed survey that has no scores (completed before completion and
    scoring were one transaction); returns how many. Run by ``rssbot db upgrade`` and
    when the bot starts."""
    found = await store.unscored_surveys(definition)
    for returnee_id, wave, state in found:
        await store.store_scores(returnee_id, wave, score_survey(definition, table, state))
    if found:
        log.info("scored %s completed surveys that had no scores", len(found))
    return len(found)
