"""The survey in a terminal: numbered options, back, prefer not to answer, scores at the end.

A host of the conversation core (:mod:`bot.core.survey`), like the Telegram bot: it turns
typed lines into inputs, hands them to the core (which stores every step and scores the
completed survey) and renders what happened with rich.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from bot.core.survey import OpenWave, SurveyService
from bot.i18n import Translator
from bot.texts import (
    acknowledge_label,
    answer_label,
    dimension_label,
    item_hint,
    item_text,
    option_label,
    provisional_note,
    rejection_message,
    repeat_heading,
    typing_hint,
)
from flows.engine import offered_options
from flows.model import (
    Acknowledge,
    AskedQuestion,
    ChoiceQuestion,
    FlowDefinition,
    MultiSelect,
    NotAsked,
    Question,
    RepeatPrompt,
)
from flows.state import (
    Answer,
    Back,
    Input,
    InputRejected,
    NoteShown,
    QuestionAsked,
    SessionState,
    SetLanguage,
    Special,
    SurveyCompleted,
    Text,
)
from scoring import ScoreResult
from storage.redaction import sensitive
from storage.store import ConsentRequired

QUIT_WORDS = frozenset({"q", "quit", "exit"})
BACK_WORDS = frozenset({"0", "b", "back"})


class ConsoleSurvey:
    """One respondent answering one survey in a terminal."""

    def __init__(
        self,
        core: SurveyService,
        returnee_id: str,
        language: str,
        read_line: Callable[[str], str],
        console: Console,
    ) -> None:
        self.core, self.returnee_id = core, returnee_id
        self.definition: FlowDefinition = core.definition
        self.table = core.table
        self.language = language
        self.read_line = read_line
        self.console = console
        self._ = Translator(language)
        self._section: str | None = None
        #: the answers so far (labels may show them: ``${name}``)
        self.answers: dict[str, Answer] = {}

    # -- rendering -----------------------------------------------------------------------

    def _answer_text(self, question: Question, answer: Answer) -> str:
        return answer_label(question, answer, self.language, self._)

    def _show_section(self, question: Question) -> None:
        if question.section and question.section != self._section:
            self._section = question.section
            title = self.definition.sections[question.section][self.language]
            self.console.print()
            self.console.rule(f"[bold]{title}[/bold]")

    def _show_note(self, event: NoteShown) -> None:
        note = self.definition.question(event.question)
        self._show_section(note)
        self.console.print()
        self._name_clips(note)
        answers, language = self.answers, self.language
        self.console.print(
            item_text(self.definition, note, language, answers, self._), highlight=False
        )
        hint = item_hint(self.definition, note, language, answers)
        if hint is not None:
            self.console.print(hint, style="italic", highlight=False)

    def _show_question(self, event: QuestionAsked) -> None:
        _ = self._
        question = self.definition.question(event.question)
        assert not isinstance(question, NotAsked)
        self._show_section(question)
        self.console.print()
        language = self.language
        heading = repeat_heading(self.definition, question, language, _)
        if heading is not None:
            self.console.print(heading, style="bold cyan", highlight=False, markup=False)
        self.console.print(
            _("Question {number} of {total}", number=event.number, total=event.total),
            style="dim",
        )
        self._name_clips(question)
        answers = self.answers
        text = item_text(self.definition, question, language, answers, _)
        self.console.print(f"[bold]{escape(text)}[/bold]", highlight=False)
        hint = item_hint(self.definition, question, language, answers)
        if hint is not None:
            self.console.print(hint, style="italic", highlight=False, markup=False)
        if isinstance(question, ChoiceQuestion):
            shown = offered_options(self.definition, question, answers)
            for number, option in enumerate(shown, start=1):
                clip = (option.audio or {}).get(language)
                heard = f"  🔊 {Path(clip).name}" if clip else ""
                label = escape(option_label(question, option, language, _))
                self.console.print(f"  [cyan]{number}[/cyan]  {label}{heard}", highlight=False)
        if isinstance(question, Acknowledge):
            label = escape(acknowledge_label(_))
            self.console.print(f"  [cyan]1[/cyan]  {label}", highlight=False)
        if event.current_answer is not None:
            self.console.print(
                _(
                    "Your answer: {answer}",
                    answer=self._answer_text(question, event.current_answer),
                ),
                style="green",
                highlight=False,
            )
        self.console.print(
            self._how_to_answer(question), style="dim", highlight=False, markup=False
        )

    def _name_clips(self, question: Question) -> None:
        """A terminal plays no sound: it names the clip a chat would send first."""
        clip = (question.audio or {}).get(self.language)
        if clip:
            self.console.print(
                "🔊 " + self._("Recording: {file}", file=Path(clip).name),
                style="magenta",
                highlight=False,
                markup=False,
            )

    def _how_to_answer(self, question: AskedQuestion) -> str:
        _ = self._
        typed = typing_hint(_, question)
        if typed is not None:
            skip = _("Press Enter to skip.")
            how = f"{typed} {skip}" if question.optional else typed
        elif isinstance(question, MultiSelect):
            how = _("Type the numbers of all that apply, for example 1,3.")
        else:
            how = _("Type the number of your answer.")
        extras = [_("[0] back")]
        if question.default and typing_hint(_, question) is not None:
            extras.append(_("[u] use the suggested answer"))
        if not isinstance(question, RepeatPrompt):
            extras.append(_("[p] prefer not to answer"))
        if question.allow_dont_know and not isinstance(question, RepeatPrompt):
            extras.append(_("[d] don't know"))
        extras.append(_("[q] stop"))
        return f"{how}  " + "  ".join(extras)

    def _show_scores(self, result: ScoreResult) -> None:
        _ = self._
        self.console.print(_("Your scores (0 = lowest, 1 = highest)"), style="bold")
        table = Table()
        table.add_column(_("Dimension"))
        table.add_column(_("Score"), justify="right")
        for dimension in ("economic", "social", "psychosocial"):
            value = result.dimensions[dimension].score
            table.add_row(dimension_label(_, dimension), _.score(value))
        table.add_row(
            f"[bold]{dimension_label(_, 'composite')}[/bold]",
            f"[bold]{_.score(result.composite)}[/bold]",
        )
        self.console.print(table)
        if self.table.provisional_weights:
            note = provisional_note(_, self.table.provisional_weights, len(self.table.elements))
            self.console.print(note, style="dim", highlight=False)
        lowest = result.lowest_dimension
        scores = {d.score for d in result.dimensions_by_score()}
        if lowest is not None and len(scores) > 1:  # name a gap, not a tie
            self.console.print(
                _(
                    "Where help may be needed most: {dimension}",
                    dimension=dimension_label(_, lowest),
                ),
                style="bold yellow",
                highlight=False,
            )

    # -- input ---------------------------------------------------------------------------

    def _to_input(self, line: str, question: Question) -> Input | None:
        word = line.strip().casefold()
        if word in QUIT_WORDS:
            return None
        if word in BACK_WORDS:
            return Back()
        if word == "p":
            return Special(value="prefer_not_to_answer")
        if word == "d":
            return Special(value="dont_know")
        suggested = getattr(question, "default", None)
        if word == "u" and suggested and typing_hint(self._, question) is not None:
            return Text(text=suggested)
        return Text(text=line)

    # -- the loop ------------------------------------------------------------------------

    async def run(self, current: OpenWave) -> tuple[SessionState | None, ScoreResult | None]:
        """Ask until the survey of ``current`` is complete or the respondent stops;
        returns the state (``completed`` says which; None if it never started) and the
        scores (None for a flow that is not scored).

        Every step is stored by the core before the next question is shown, so an
        interruption at any moment loses at most the answer being typed. Reading a line
        blocks: nothing else runs in a terminal survey.
        """
        _ = self._
        state = current.state
        if state is not None and state.completed:
            self.console.print(_("This survey is already complete."))
            result = self.core.score(state)
            if result is not None:
                self._show_scores(result)
            return state, result
        self.console.print(Panel(self.definition.title[self.language], expand=False))
        inp: Input = SetLanguage(language=self.language)
        line = ""
        while True:
            with sensitive(line.strip()):
                applied = await self.core.apply(
                    self.returnee_id,
                    OpenWave(current.wave, state),
                    inp,
                    language=self.language,
                )
            if applied.outcome == "consent_required":
                raise ConsentRequired("consent is required before answering")
            assert applied.step is not None  # (a terminal survey has its wave and no update)
            if applied.outcome == "applied":
                state = applied.step.state
            self.answers = dict(applied.step.state.answers)
            for event in applied.step.events:
                if isinstance(event, QuestionAsked):
                    self._show_question(event)
                elif isinstance(event, NoteShown):
                    self._show_note(event)
                elif isinstance(event, InputRejected):
                    refused = self.definition.question(event.question) if event.question else None
                    message = rejection_message(
                        _,
                        event,
                        question=refused,
                        language=self.language,
                        definition=self.definition,
                        answers=applied.step.state.answers,
                    )
                    self.console.print(message, style="red", highlight=False)
                elif isinstance(event, SurveyCompleted):
                    self.console.print()
                    self.console.print(
                        _("Thank you! You have answered all the questions."), style="bold green"
                    )
                    if applied.scores is not None:
                        self._show_scores(applied.scores)
                    return state, applied.scores
            assert state is not None and state.current is not None
            question = self.definition.question(state.current)
            try:
                line = self.read_line("> ")
            except (EOFError, KeyboardInterrupt):
                line = "q"
            next_input = self._to_input(line, question)
            if next_input is None:
                self.console.print(
                    _("Survey paused. Run the same command again to continue where you stopped."),
                    style="yellow",
                )
                return state, None
            inp = next_input
