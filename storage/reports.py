"""What staff read: exports, trajectories, cohort scores, re-scoring. Every read of
personal data is written to the audit log in the same transaction."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import select

from flows.engine import scored_answers
from flows.model import FlowDefinition
from flows.state import Answer as AnswerValue
from flows.state import SessionState
from scoring import WeightTable, score
from storage.models import Answer, Returnee, Score, SurveyResponse
from storage.store import Store
from storage.waves import WAVES

_ANSWER: TypeAdapter[AnswerValue] = TypeAdapter(AnswerValue)
SCORE_KEYS = ("economic", "social", "psychosocial", "composite")


@dataclass
class CompletedSurvey:
    returnee_id: str
    public_id: str
    case_ref: str | None
    country: str | None
    wave: str
    started_at: datetime
    completed_at: datetime | None
    answers: dict[str, str | None]  # element id -> option id or missing marker
    scores: dict[str, Any] | None  # the stored scores for the requested weights version


async def completed_surveys(
    store: Store,
    definition: FlowDefinition,
    *,
    weights_version: str | None,
    wave: str | None = None,
    country: str | None = None,
    returnee_id: str | None = None,
    include_case_ref: bool = False,
    actor: str,
    action: str | None = "export",
) -> list[CompletedSurvey]:
    """Decrypted completed surveys (answers + stored scores). Each returnee read is
    audited under ``action``; with ``action=None`` (aggregates) one entry is written."""
    query = (
        select(SurveyResponse, Returnee)
        .join(Returnee, SurveyResponse.returnee_id == Returnee.id)
        .where(SurveyResponse.status == "completed")
        .order_by(Returnee.public_id, SurveyResponse.started_at)
    )
    if wave:
        query = query.where(SurveyResponse.wave == wave)
    if country:
        query = query.where(Returnee.country == country.upper())
    if returnee_id:
        query = query.where(Returnee.id == returnee_id)
    out = []
    async with store.sessions.begin() as session:
        for response, returnee in (await session.execute(query)).all():
            dek = await store.returnee_dek(session, returnee.id)
            answers = {
                a.question_id: _ANSWER.validate_json(
                    store.dec(dek, "answers", a.id, "value", a.value_enc)
                )
                for a in await session.scalars(
                    select(Answer).where(Answer.response_id == response.id)
                )
            }
            state = SessionState(
                flow_id=response.flow_id,
                flow_version=response.flow_version,
                language=response.language,
                answers=answers,
                completed=True,
            )
            scores_query = select(Score).where(Score.response_id == response.id)
            if weights_version:
                scores_query = scores_query.where(Score.weights_version == weights_version)
            stored = (
                await session.scalars(scores_query.order_by(Score.computed_at.desc()))
            ).first()
            case_ref = None
            if include_case_ref and returnee.case_ref_enc is not None:
                case_ref = store.dec(
                    dek, "returnees", returnee.id, "case_ref", returnee.case_ref_enc
                )
            if action is not None:
                store.audit(
                    session,
                    actor,
                    action,
                    returnee.id,
                    f"{response.wave}{' +case_ref' if include_case_ref else ''}",
                )
            out.append(
                CompletedSurvey(
                    returnee_id=returnee.id,
                    public_id=returnee.public_id,
                    case_ref=case_ref,
                    country=returnee.country,
                    wave=response.wave,
                    started_at=response.started_at,
                    completed_at=response.completed_at,
                    answers=scored_answers(definition, state)
                    if definition.id == response.flow_id
                    else {},
                    scores=json.loads(
                        store.dec(dek, "scores", stored.id, "values", stored.values_enc)
                    )
                    if stored
                    else None,
                )
            )
        if action is None:
            store.audit(session, actor, "aggregate", None, f"{len(out)} surveys")
    return out


def export_table(
    surveys: list[CompletedSurvey], table: WeightTable, *, include_case_ref: bool
) -> tuple[list[str], list[list[Any]]]:
    """Header and rows: one row per completed survey, coded answers and the four scores."""
    elements = list(table.elements)
    header = ["returnee", *(["case_ref"] if include_case_ref else []), "country", "wave"]
    header += ["started", "completed", *elements, *SCORE_KEYS, "weights_version"]
    rows = []
    for s in surveys:
        codes = []
        for element_id in elements:
            option = s.answers.get(element_id)
            scale = table.scales[table.elements[element_id].scale]
            code = scale.get(option) if option is not None else None
            codes.append(float(code) if code is not None else None)
        scores = s.scores or {}
        rows.append(
            [
                s.public_id,
                *([s.case_ref] if include_case_ref else []),
                s.country,
                s.wave,
                s.started_at.date().isoformat(),
                s.completed_at.date().isoformat() if s.completed_at else None,
                *codes,
                *(scores.get(k) for k in SCORE_KEYS),
                scores.get("weights_version"),
            ]
        )
    rows.sort(key=lambda r: (r[0], WAVES.index(r[header.index("wave")])))
    return header, rows


async def rescore(
    store: Store, definition: FlowDefinition, table: WeightTable, *, actor: str
) -> int:
    """Recompute every completed survey's scores under ``table`` (stored beside the old)."""
    surveys = await completed_surveys(
        store, definition, weights_version=None, actor=actor, action="rescore"
    )
    for s in surveys:
        answers = {k: v for k, v in s.answers.items() if k in table.elements}
        result = score(table, answers)
        await store.store_scores(s.returnee_id, s.wave, result)  # type: ignore[arg-type]
    return len(surveys)
