"""A completed survey's scores: its scored answers under a weight table."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from flows.engine import scored_answers
from flows.model import ChoiceQuestion, FlowDefinition
from flows.state import SessionState
from scoring import ScoreResult, WeightTable, default_weight_table, load_weight_table, score
from storage.store import Store

log = logging.getLogger(__name__)


def scoring_gap(definition: FlowDefinition, table: WeightTable) -> str | None:
    """Why a flow's surveys cannot be scored under a table (None: they are). A flow is
    scored when every element of the table is one of its choice questions (same id) whose
    options are the element's scale; any other flow is a plain survey, never scored."""
    missing, mismatched = [], []
    for element_id, element in table.elements.items():
        if not definition.has_question(element_id):
            missing.append(element_id)
            continue
        question = definition.question(element_id)
        scale = table.scales[element.scale]
        if not isinstance(question, ChoiceQuestion) or not {o.id for o in question.options} <= set(
            scale
        ):
            mismatched.append(element_id)
    if missing:
        shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        return f"{len(missing)} of the {len(table.elements)} elements are not questions ({shown})"
    if mismatched:
        return "element question(s) whose options are not the element's scale: " + ", ".join(
            mismatched
        )
    return None


def score_survey(
    definition: FlowDefinition, table: WeightTable, state: SessionState
) -> ScoreResult | None:
    """Scores of the answers to the table's elements (other questions are context);
    None for a flow that is a plain survey (:func:`scoring_gap`)."""
    if scoring_gap(definition, table) is not None:
        return None
    answers = {
        k: v for k, v in scored_answers(definition, state.answers).items() if k in table.elements
    }
    return score(table, answers)


def configured_weight_table(
    weights: str | Path | None = None, scales: str | Path | None = None
) -> WeightTable:
    """The weight table in use: ``weights``/``scales`` when given, else the deployment's
    (``RSSBOT_WEIGHTS``: an elements.csv, ``RSSBOT_SCALES``: a scales.csv), else the
    built-in one. Raises :class:`~scoring.WeightTableError` with the reason."""
    weights = weights or os.environ.get("RSSBOT_WEIGHTS") or None
    scales = scales or os.environ.get("RSSBOT_SCALES") or None
    if weights is None and scales is None:
        return default_weight_table()
    return load_weight_table(weights, scales, expected_elements=default_weight_table().elements)


def weights_line(table: WeightTable) -> str:
    """Which table scores are shown under, and its status (exports, charts, captions)."""
    status = weights_note(table) or "all weights official"
    return f"scores under weight table {table.version} ({table.source}): {status}"


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
    if scoring_gap(definition, table) is not None:
        return 0
    found = await store.unscored_surveys(definition)
    for returnee_id, wave, state in found:
        scores = score_survey(definition, table, state)
        assert scores is not None
        await store.store_scores(returnee_id, wave, scores)
    if found:
        log.info("scored %s completed surveys that had no scores", len(found))
    return len(found)
