"""A returnee's rights, from any status and in one message: stop all messages, see what
is kept about them, erase it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import TypeAdapter

from bot.programme import Programme, load_programme
from flows.model import FlowDefinition, Question
from flows.state import Answer
from scoring import WeightTable
from storage.store import ReturneeInfo, Store

ANSWER: TypeAdapter[Answer] = TypeAdapter(Answer)
DIMENSIONS = ("economic", "social", "psychosocial", "composite")


@dataclass(frozen=True)
class SurveyKept:
    wave: str
    completed: bool
    #: (question, answer) in the order answered
    answers: list[tuple[Question, Answer]]
    #: the latest scores, by dimension and composite (empty: not scored)
    scores: dict[str, float]
    #: the scores were computed under a weight table not all official
    provisional: bool


@dataclass(frozen=True)
class DataKept:
    """Everything kept about a returnee, as they read it."""

    case_ref: str | None
    country: str | None
    return_date: str | None
    language: str
    #: (kind: given/declined/withdrawn, ISO date)
    consent: list[tuple[str, str]]
    surveys: list[SurveyKept] = field(default_factory=list)
    feedback: int = 0
    #: who they are, as the caseload says: (attribute, value), in their language
    profile: list[tuple[str, str]] = field(default_factory=list)
    first_name: str | None = None
    #: the last digits of the number kept for WhatsApp
    phone_ending: str | None = None
    #: the assistance recorded: (type, status), in their language
    assistance: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Rights:
    store: Store
    definition: FlowDefinition
    table: WeightTable
    #: labels of profile attributes and assistance types
    programme: Programme = field(default_factory=load_programme)

    async def stop(self, returnee: ReturneeInfo | None) -> Literal["not_registered", "stopped"]:
        """No more messages, from any status (invited, unreachable, declined...); what
        was answered is kept until erased."""
        if returnee is None:
            return "not_registered"
        if returnee.status != "opted_out":
            await self.store.withdraw_consent(returnee.id, language=returnee.language)
        return "stopped"

    async def erase(self, returnee: ReturneeInfo) -> None:
        await self.store.erase(returnee.id, actor="returnee")

    async def data_kept(self, returnee: ReturneeInfo) -> DataKept:
        data: dict[str, Any] = await self.store.my_data(returnee.id)
        surveys = []
        for survey in data["surveys"]:
            answers = [
                (self.definition.question(qid), ANSWER.validate_python(raw))
                for qid, raw in survey["answers"].items()
            ]
            latest = survey["scores"][-1] if survey["scores"] else {}
            surveys.append(
                SurveyKept(
                    wave=survey["wave"],
                    completed=survey["status"] == "completed",
                    answers=answers,
                    scores={d: latest[d] for d in DIMENSIONS if d in latest},
                    provisional=bool(latest)
                    and latest.get("weights_version") == self.table.version
                    and bool(self.table.provisional_weights),
                )
            )
        lang, plan = returnee.language, self.programme
        profile = data.get("profile") or {}
        attributes = []
        for attribute in plan.attributes:
            value = profile.get("attributes", {}).get(attribute.id)
            if value:
                codes = [value] if isinstance(value, str) else list(value)
                shown = ", ".join(attribute.value_text(c, lang) for c in codes)
                attributes.append((attribute.text(lang), shown))
        assistance = []
        for item in data.get("assistance", []):
            kind = plan.assistance.type(item["type"])
            status = next((v for v in plan.assistance.statuses if v.id == item["status"]), None)
            assistance.append(
                (
                    kind.text(lang) if kind else item["type"],
                    status.text(lang) if status else item["status"],
                )
            )
        return DataKept(
            profile=attributes,
            first_name=profile.get("first_name"),
            phone_ending=profile.get("phone_ending"),
            assistance=assistance,
            case_ref=data["case_ref"],
            country=data["country"],
            return_date=data["return_date"],
            language=returnee.language,
            consent=[(e["kind"], e["at"][:10]) for e in data["consent"]],
            surveys=surveys,
            feedback=len(data["feedback"]),
        )
