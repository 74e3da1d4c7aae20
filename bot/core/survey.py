"""The survey use cases: find the survey to answer now, apply one input to it (start or
continue, a refused input, save, an input applied before, completion and its scores),
and say where a returnee stands after an input stored before.

One implementation for every host: the Telegram bot's typed answers and buttons and the
terminal survey all go through :meth:`SurveyService.apply`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from bot.followup_rules import check_completed
from bot.programme import Programme, load_programme
from bot.survey_scores import score_survey, scoring_gap
from flows.engine import Step, resume, start, visible_questions
from flows.model import (
    MAX_INSTANCES,
    Acknowledge,
    FlowDefinition,
    Question,
    RepeatPrompt,
    instance_key,
    options_of,
)
from flows.state import (
    Back,
    Choose,
    Done,
    Input,
    InputRejected,
    QuestionAsked,
    Resume,
    SessionState,
    SetLanguage,
    Special,
    Text,
    Toggle,
)
from scoring import ScoreResult, WeightTable
from storage.store import (
    AlreadyApplied,
    ConsentRequired,
    OpenSurvey,
    ReturneeInfo,
    StaleProgress,
    Store,
)
from storage.waves import Wave, WaveWindows, today_utc

#: the survey in progress read with the update (its middleware's read), not yet read, or none
Read = OpenSurvey | Literal["unread"] | None


@dataclass(frozen=True)
class OpenWave:
    """The survey to answer now: its wave, its state (None: not started yet), and the
    survey in progress as read (what saving a step of it needs)."""

    wave: Wave
    state: SessionState | None
    opened: OpenSurvey | None = None

    @property
    def prompt(self) -> int | None:
        """The chat message that shows the current question, if known."""
        return self.opened.prompt if self.opened is not None else None


#: how many times an input is applied again after another input of the same returnee was
#: stored first (each attempt reads the survey afresh; more would mean a returnee sending
#: faster than the database answers)
RACE_ATTEMPTS = 8

#: what a survey button does: c choose, t toggle, d done, p prefer not to answer,
#: k don't know, s skip, b back, u use the suggested answer (every channel's buttons
#: carry these codes)
BUTTON_ACTIONS = frozenset("ctdpksbu")


def question_code(definition: FlowDefinition, key: str) -> int:
    """A question as a button carries it: its index in the definition; in a repeat's
    instance n, that index plus n times the number of questions; a repeat's prompt for
    instance n, the index of its first question plus (n + MAX_INSTANCES) times it."""
    size, index = len(definition.questions), definition.index(key)
    found = definition.repeat_of(key)
    if found is None:
        return index
    _repeat, instance = found
    prompt = isinstance(definition.question(key), RepeatPrompt)
    return index + size * (instance + (MAX_INSTANCES if prompt else 0))


def _question_of_code(definition: FlowDefinition, code: int) -> Question | None:
    """The question a button's code names (:func:`question_code`); None for no question."""
    size = len(definition.questions)
    if code < 0:
        return None
    slot, index = divmod(code, size)
    if slot == 0:
        return definition.questions[index]
    template = definition.questions[index]
    if template.repeat is None:
        return None
    if slot > MAX_INSTANCES:
        key = instance_key(template.repeat, slot - MAX_INSTANCES)
    else:
        key = instance_key(template.id, slot)
    try:
        return definition.question(key)
    except KeyError:
        return None


def button_input(
    definition: FlowDefinition, action: str, question: int, option: int, seq: int
) -> Input | None:
    """The engine input a survey button stands for (the question by its code,
    :func:`question_code`, the option by its index, ``seq`` the survey's sequence
    number when it was drawn); None for a forged or broken button."""
    asked = _question_of_code(definition, question)
    if asked is None:
        return None
    qid, options = asked.id, options_of(asked)
    chosen = options[option].id if 0 <= option < len(options) else None
    if isinstance(asked, Acknowledge) and option == 0:
        chosen = "OK"
    if action == "c" and chosen is not None:
        return Choose(question=qid, seq=seq, option=chosen)
    # a multi-select's buttons stay valid while its keyboard is being redrawn, so quick
    # taps on a slow connection are not refused: the question id is enough there
    if action == "t" and chosen is not None:
        return Toggle(question=qid, option=chosen)
    if action == "d":
        return Done(question=qid)
    suggested = getattr(asked, "default", None)
    if action == "u" and suggested:
        return Text(question=qid, seq=seq, text=suggested)
    if action == "b":
        return Back(question=qid, seq=seq)
    specials = {"p": "prefer_not_to_answer", "k": "dont_know", "s": "skip"}
    if action in specials:
        return Special(question=qid, seq=seq, value=specials[action])
    return None


def asked_event(definition: FlowDefinition, step: Step, question: Question) -> QuestionAsked:
    """The 'question asked' view of a question that is already current (to show it
    again)."""
    shown = [q.id for q in visible_questions(definition, step.state.answers)]
    return QuestionAsked(
        question=question.id,
        number=shown.index(question.id) + 1 if question.id in shown else 1,
        total=len(shown),
        current_answer=step.state.answers.get(question.id),
    )


TypedRefusal = Literal["not_invited", "consent_required", "unknown_command"]


def typed_refusal(returnee: ReturneeInfo | None, text: str) -> TypedRefusal | None:
    """Why typed text is not an answer to the survey: from someone not invited, from a
    returnee not taking part (no consent now), or an unknown command (a slash)."""
    if returnee is None:
        return "not_invited"
    if returnee.status != "active":
        return "consent_required"
    return "unknown_command" if text.startswith("/") else None


Outcome = Literal["applied", "rejected", "no_survey", "consent_required", "applied_before"]


@dataclass(frozen=True)
class Applied:
    """What one input did. ``step`` holds the engine's events (applied or rejected);
    ``scores`` the scores of the survey this input completed (None for a plain survey)."""

    outcome: Outcome
    step: Step | None = None
    wave: Wave | None = None
    scores: ScoreResult | None = None
    #: the survey as it was before the input (a host retires its question's message)
    before: OpenWave | None = None

    @property
    def rejected(self) -> InputRejected | None:
        if self.step is None:
            return None
        return next((e for e in self.step.events if isinstance(e, InputRejected)), None)

    @property
    def expired_button(self) -> bool:
        """The button pressed belongs to no survey in progress, or to another question or
        an earlier state of it (a host says so and shows the latest question)."""
        rejected = self.rejected
        return self.outcome == "no_survey" or (
            rejected is not None and rejected.reason in ("stale", "unknown_option", "completed")
        )


@dataclass(frozen=True)
class Standing:
    """Where a returnee stands after an input stored before: the current question again
    (``step``), or the survey completed (its stored ``scores``, if any)."""

    step: Step | None
    scores: Mapping[str, Any] | None = None
    current: OpenWave | None = None


@dataclass
class SurveyService:
    store: Store
    definition: FlowDefinition
    table: WeightTable
    windows: WaveWindows
    today: Callable[[], date] = today_utc
    #: the follow-up rules a completed survey is checked against
    programme: Programme = field(default_factory=load_programme)

    def language_for(self, preferred: str) -> str:
        """A survey is asked in one of its languages (the interface falls back to English)."""
        languages = self.definition.languages
        return preferred if preferred in languages else languages[0]

    @property
    def scored(self) -> bool:
        """Whether this survey is scored by the weight table (a plain survey is not)."""
        return scoring_gap(self.definition, self.table) is None

    def score(self, state: SessionState) -> ScoreResult | None:
        """The scores of a completed survey (None for a plain survey)."""
        return score_survey(self.definition, self.table, state)

    async def open_wave(
        self, returnee_id: str, return_date: date | None, read: Read = "unread"
    ) -> OpenWave | None:
        """The survey in progress (with its state), else the wave that is open and not
        completed (not started yet), else None."""
        opened = await self.store.open_survey(returnee_id) if read == "unread" else read
        if opened is not None:
            return OpenWave(opened.wave, opened.state, opened)
        wave = self.windows.open_wave(
            return_date, self.today(), await self.store.completed_waves(returnee_id)
        )
        return None if wave is None else OpenWave(wave, None)

    async def apply(
        self,
        returnee_id: str,
        current: OpenWave | None,
        inp: Input,
        *,
        language: str,
        update_id: int | None = None,
        may_start: bool = True,
    ) -> Applied:
        """Apply one input to ``current`` (see :meth:`open_wave`): start the survey if it
        has not started (``may_start``), feed the input to the engine, and store the step
        with its scores if it completes the survey. A refused input stores nothing.
        ``update_id`` marks the transport's update applied in the same transaction; an
        update another copy of which was stored meanwhile is not applied again
        (``applied_before``: that copy replies; an update read as applied before is
        answered with :meth:`standing` by the hosts, without coming here).

        Another input of the same returnee stored meanwhile (by another task or worker:
        no lock is needed) makes the store refuse the step; the input is then applied
        again to the survey as stored now, so a button pressed for the question that was
        current is refused as stale and the returnee sees the question now current."""
        before = current
        for _ in range(RACE_ATTEMPTS):
            try:
                applied = await self._apply_once(
                    returnee_id, current, inp, language, update_id, may_start, before
                )
                if applied.outcome == "applied" and applied.step and applied.step.state.completed:
                    assert applied.wave is not None
                    await check_completed(
                        self.store, self.programme, self.definition, returnee_id, applied.wave
                    )
                return applied
            except StaleProgress:
                assert current is not None  # (only a step can be stale)
                current = await self._reread(returnee_id, current.wave)
        raise StaleProgress

    async def _reread(self, returnee_id: str, wave: Wave) -> OpenWave:
        """The survey of ``wave`` as stored now (after a step lost a race)."""
        opened = await self.store.open_survey(returnee_id)
        if opened is not None and opened.wave == wave:
            return OpenWave(wave, opened.state, opened)
        # completed meanwhile (the engine refuses the input), or erased (nothing to store)
        return OpenWave(wave, await self.store.load_state(returnee_id, wave, self.definition))

    async def _apply_once(
        self,
        returnee_id: str,
        current: OpenWave | None,
        inp: Input,
        language: str,
        update_id: int | None,
        may_start: bool,
        before: OpenWave | None,
    ) -> Applied:
        if current is None or (current.state is None and not may_start):
            return Applied("no_survey", before=before)
        definition, wave = self.definition, current.wave
        try:
            if current.state is None:
                step = start(definition, self.language_for(language))
                if not isinstance(inp, Resume | SetLanguage):
                    await self.store.save_step(returnee_id, wave, step)
                    step = resume(definition, step.state, inp)
            else:
                step = resume(definition, current.state, inp)
            if any(isinstance(e, InputRejected) for e in step.events):
                return Applied("rejected", step, wave, before=before)
            scores = self.score(step.state) if step.state.completed else None
            await self.store.save_step(
                returnee_id,
                wave,
                step,
                update_id=update_id,
                opened=current.opened,
                scores=scores,
                # (only a completing step is checked: a plain survey completes unscored)
                scored=not step.state.completed or self.scored,
            )
        except ConsentRequired:  # (withdrew meanwhile, e.g. from another device)
            return Applied("consent_required", before=before)
        except AlreadyApplied:  # a copy of the update, handled at the same time, stored it
            return Applied("applied_before", wave=wave, before=before)
        return Applied("applied", step, wave, scores, before=before)

    async def press(
        self,
        returnee_id: str,
        current: OpenWave | None,
        inp: Input,
        *,
        language: str,
        update_id: int | None = None,
    ) -> Applied:
        """Apply a survey button (:func:`button_input`): a button belongs to a survey in
        progress, so none is started (see :attr:`Applied.expired_button`)."""
        return await self.apply(
            returnee_id, current, inp, language=language, update_id=update_id, may_start=False
        )

    async def standing(
        self, returnee_id: str, return_date: date | None, read: Read = "unread"
    ) -> Standing:
        """What follows an input that was stored before: the current question, or the
        survey that input completed, with its stored scores."""
        current = await self.open_wave(returnee_id, return_date, read)
        if current is not None and current.state is not None:
            return Standing(resume(self.definition, current.state, Resume()), current=current)
        stored = await self.store.scores(returnee_id)
        return Standing(None, stored[-1].values if stored else None, current)
