"""The conversation core over one store, survey and weight table: what every host (Telegram,
WhatsApp, the terminal) hands its handlers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from bot.consent import DataPolicy
from bot.core.audio import Prompts
from bot.core.entry import Entry
from bot.core.feedback import FeedbackDesk
from bot.core.rights import Rights
from bot.core.survey import SurveyService
from bot.programme import Programme, load_programme
from flows.model import FlowDefinition
from scoring import WeightTable
from storage.store import Store
from storage.waves import WaveWindows, today_utc


@dataclass
class Core:
    store: Store
    definition: FlowDefinition
    table: WeightTable
    windows: WaveWindows = field(default_factory=WaveWindows)
    #: show returnees their scores at the end (off by default: staff read them)
    show_scores: bool = False
    today: Callable[[], date] = today_utc
    #: retention period and contact point, shown on the consent screen
    policy: DataPolicy = field(default_factory=DataPolicy)
    #: profile attributes, assistance taxonomy and follow-up rules
    programme: Programme = field(default_factory=load_programme)

    @property
    def survey(self) -> SurveyService:
        """The survey use cases over this store, survey and weight table."""
        return SurveyService(
            self.store, self.definition, self.table, self.windows, self.today, self.programme
        )

    @property
    def entry(self) -> Entry:
        """Invitation, language and consent."""
        return Entry(self.store, self.policy)

    @property
    def feedback(self) -> FeedbackDesk:
        """Confidential feedback."""
        return FeedbackDesk(self.store)

    @property
    def prompts(self) -> Prompts:
        """Audio prompts: which clips, audio off and on, each clip uploaded once."""
        return Prompts(self.store)

    @property
    def rights(self) -> Rights:
        """Stop, see what is kept, erase."""
        return Rights(self.store, self.definition, self.table, self.programme)
