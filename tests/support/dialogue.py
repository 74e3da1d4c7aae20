"""A returnee on a stub channel: what they do goes straight to the conversation core (no
aiogram, no HTTP), and what the core answers comes back as short plain lines, so that a
test reads as a dialogue (in the spirit of zulip_bots' ``verify_dialog``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from bot.consent import DataPolicy
from bot.core.entry import Entry
from bot.core.feedback import FeedbackDesk
from bot.core.rights import Rights
from bot.core.survey import Applied, SurveyService
from flows.model import FlowDefinition
from flows.state import (
    Input,
    InputRejected,
    NoteShown,
    QuestionAsked,
    SurveyCompleted,
    Text,
)
from scoring import WeightTable
from storage.store import ReturneeInfo, Store
from storage.waves import WaveWindows


def describe(applied: Applied, definition: FlowDefinition) -> list[str]:
    """What a host would show for an input, as plain lines (in the survey's language)."""
    if applied.outcome in ("no_survey", "consent_required", "applied_before"):
        return [applied.outcome]
    assert applied.step is not None
    language = applied.step.state.language
    lines = []
    for event in applied.step.events:
        if isinstance(event, QuestionAsked):
            text = definition.question(event.question).text[language]
            lines.append(f"Q{event.number}/{event.total} {text}")
        elif isinstance(event, NoteShown):
            lines.append(f"note {event.question}")
        elif isinstance(event, InputRejected):
            lines.append(f"refused: {event.reason}")
        elif isinstance(event, SurveyCompleted):
            composite = applied.scores.composite if applied.scores else None
            lines.append(f"completed, composite {composite:.2f}" if composite else "completed")
    return lines


@dataclass
class StubChannel:
    store: Store
    definition: FlowDefinition
    table: WeightTable
    today: date = date(2026, 11, 25)
    returnee: ReturneeInfo | None = None
    #: ("returnee", what they did) and ("bot", what came back), in order
    transcript: list[tuple[str, str]] = field(default_factory=list)
    #: the transport's update ids, one per input
    next_update: int = 1

    @property
    def survey(self) -> SurveyService:
        return SurveyService(
            self.store, self.definition, self.table, WaveWindows(), lambda: self.today
        )

    @property
    def entry(self) -> Entry:
        return Entry(self.store, DataPolicy())

    @property
    def rights(self) -> Rights:
        return Rights(self.store, self.definition, self.table)

    @property
    def feedback(self) -> FeedbackDesk:
        return FeedbackDesk(self.store)

    async def refresh(self) -> ReturneeInfo:
        assert self.returnee is not None
        self.returnee = await self.store.get(self.returnee.id)
        return self.returnee

    async def send(self, inp: Input | str, *, update_id: int | None = None) -> list[str]:
        """One input (a string is typed text) to the survey open now; what came back."""
        returnee = await self.refresh()
        if isinstance(inp, str):
            inp = Text(text=inp)
        if update_id is None:
            update_id, self.next_update = self.next_update, self.next_update + 1
        survey = self.survey
        applied = await survey.apply(
            returnee.id,
            await survey.open_wave(returnee.id, returnee.return_date),
            inp,
            language=returnee.language,
            update_id=update_id,
        )
        said = describe(applied, self.definition)
        self.transcript.append(("returnee", inp.model_dump_json(exclude_none=True)))
        self.transcript.extend(("bot", line) for line in said)
        return said
