"""The survey engine: pure functions from (definition, state, input) to (state, events).

No I/O, no clock, no Telegram, no SQL. The host (terminal, bot) stores the state,
performs the events (sends the question, stores the answer...) and feeds the next input.

Navigation rules:
- after an answer, the next question is the first unanswered shown question after it,
  else the first unanswered shown question anywhere; when none is left, the survey is
  completed;
- ``Back`` goes to the previous shown question, ``GoTo`` to any answered one; answering
  it again returns to where the respondent was;
- an answer whose question is no longer shown (``show_if``, ``relevant``) is discarded;
- notes are never asked: the notes just before a question (or at the end of the survey)
  are shown on the way to it (:class:`~flows.state.NoteShown`), and are skipped by
  ``Back`` and by question numbers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from flows import expressions
from flows.model import (
    MAX_INSTANCES,
    Calculate,
    ChoiceQuestion,
    FlowDefinition,
    MultiSelect,
    NotAsked,
    Note,
    Option,
    Question,
    RepeatPrompt,
    ShowIf,
    instance_key,
    options_of,
)
from flows.questions import Reject, Selection, handle
from flows.state import (
    Answer,
    AnswerDiscarded,
    AnswerRecorded,
    Back,
    ChoiceAnswer,
    Event,
    GoTo,
    Input,
    InputRejected,
    LanguageChanged,
    MultiAnswer,
    NoteShown,
    QuestionAsked,
    RejectReason,
    Resume,
    SelectionChanged,
    SessionState,
    SetLanguage,
    Special,
    SpecialAnswer,
    SurveyCompleted,
    TextAnswer,
    coded_value,
)


@dataclass(frozen=True)
class Step:
    """The new state and what happened, in order, and the ``seq`` of the state the step
    was computed from (``None`` for a new survey): a store saves the step only if the
    survey is still there (compare-and-set), so two inputs computed from one state are
    never both stored."""

    state: SessionState
    events: tuple[Event, ...]
    base_seq: int | None = None


def _condition_met(
    rule: ShowIf,
    answers: Mapping[str, Answer],
    definition: FlowDefinition | None = None,
    within: str | None = None,
) -> bool:
    """Whether a ``show_if`` holds; ``within``: the key of the item it belongs to (in a
    repeat, a question of the same repeat is read in the same instance)."""
    name = rule.question
    if within is not None and definition is not None and definition.repeats:
        here = definition.repeat_of(within)
        if here is not None and name in definition.questions_in_repeats:
            name = instance_key(name, here[1])
    answer = answers.get(name)
    if isinstance(answer, ChoiceAnswer):
        chosen = {answer.option}
    elif isinstance(answer, MultiAnswer):
        chosen = set(answer.options)
    else:
        return False  # unanswered, prefer not to answer, don't know: condition not met
    if rule.any_of is not None:
        return bool(chosen & set(rule.any_of))
    return not chosen & set(rule.none_of or [])


#: ``${name}`` in a text: that question's answer
REFERENCE = re.compile(r"\$\{([^}]+)\}")


class AnswerValues(Mapping[str, str | float | expressions.NodeSet]):
    """Each answer as XLSForm expressions read it (see :mod:`flows.expressions`): an
    option id, option ids separated by spaces, a text, a date as days since 1970; worked
    out when an expression asks for it (a condition reads two answers, not three
    hundred). ``within``: the key of the item the expression belongs to; in a repeat's
    instance, a question of the same repeat is read in that instance, one of another
    repeat as the answers of every instance (a :class:`~flows.expressions.NodeSet`)."""

    def __init__(
        self, definition: FlowDefinition, answers: Mapping[str, Answer], within: str | None = None
    ) -> None:
        self._definition, self._answers = definition, answers
        self._dates = definition.date_questions
        self._instance = definition.repeat_of(within) if within and definition.repeats else None
        #: the instance the expression is read in (``position(..)``)
        self.position = self._instance[1] if self._instance else 1

    def _found(self, qid: str) -> str | float | expressions.NodeSet | None:
        definition = self._definition
        if definition.repeats and qid in definition.questions_in_repeats:
            repeat = definition.question(qid).repeat
            assert repeat is not None
            if self._instance is not None and self._instance[0] == repeat:
                key = instance_key(qid, self._instance[1])
                found = self._answers.get(key)
                return None if found is None else _value(self._dates, qid, found)
            return expressions.NodeSet(
                tuple(
                    v
                    for n in range(1, instances(definition, repeat, self._answers) + 1)
                    if (a := self._answers.get(instance_key(qid, n))) is not None
                    and (v := _value(self._dates, qid, a)) is not None
                )
            )
        found = self._answers.get(qid)
        return None if found is None else _value(self._dates, qid, found)

    def __getitem__(self, qid: str) -> str | float | expressions.NodeSet:
        value = self._found(qid)
        if value is None:
            raise KeyError(qid)
        return value

    def get(self, qid: str, default: Any = None) -> Any:
        value = self._found(qid)
        return default if value is None else value

    def __iter__(self) -> Iterator[str]:
        return (qid for qid in self._answers if qid in self)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def expression_values(
    definition: FlowDefinition, answers: Mapping[str, Answer], within: str | None = None
) -> Mapping[str, str | float | expressions.NodeSet]:
    """The answers as XLSForm expressions read them (:class:`AnswerValues`)."""
    return AnswerValues(definition, answers, within)


def instances(definition: FlowDefinition, repeat: str, answers: Mapping[str, Answer]) -> int:
    """How many instances of a repeat there are given the answers: its ``count``
    worked out, else the prompts answered yes in a row (none where its ``relevant``
    is false)."""
    group = definition.repeats[repeat]
    if group.relevant is not None and not expressions.evaluate(
        expressions.parse(group.relevant), AnswerValues(definition, answers)
    ):
        return 0
    if group.count is not None:
        worked_out = expressions.value(
            expressions.parse(group.count), AnswerValues(definition, answers)
        )
        try:
            count = int(float(worked_out))
        except ValueError:
            return 0
        return max(0, min(count, MAX_INSTANCES))
    count = 0
    while count < MAX_INSTANCES:
        said = answers.get(instance_key(repeat, count + 1))
        if not (isinstance(said, ChoiceAnswer) and said.option == "yes"):
            break
        count += 1
    return count


def items(definition: FlowDefinition, answers: Mapping[str, Answer]) -> list[Question]:
    """The flow's items in order with each repeat's instances in place (its items once
    per instance, keyed ``id[n]``; a repeat without a count asks before each instance
    whether to add it, and once more after the last)."""
    if not definition.repeats:
        return definition.questions
    found: list[Question] = []
    done: set[str] = set()
    for q in definition.questions:
        repeat = q.repeat
        if repeat is None:
            found.append(q)
            continue
        if repeat in done:
            continue
        done.add(repeat)
        count = instances(definition, repeat, answers)
        group = definition.repeats[repeat]
        asked = group.count is None and (
            group.relevant is None
            or expressions.evaluate(
                expressions.parse(group.relevant), AnswerValues(definition, answers)
            )
        )
        body = definition.body(repeat)
        for n in range(1, count + 1):
            if asked:
                found.append(definition.question(instance_key(repeat, n)))
            found.extend(definition.question(instance_key(b.id, n)) for b in body)
        if asked and count < MAX_INSTANCES:
            found.append(definition.question(instance_key(repeat, count + 1)))
    return found


def _value(dates: frozenset[str], qid: str, answer: Answer) -> str | float | None:
    if isinstance(answer, ChoiceAnswer):
        return answer.option
    if isinstance(answer, MultiAnswer):
        return " ".join(answer.options)
    if isinstance(answer, TextAnswer):
        if qid in dates:
            return expressions.days(date.fromisoformat(answer.text))
        return answer.text
    return None


def _constraint_met(
    definition: FlowDefinition, question: Question, answer: Answer, answers: dict[str, Answer]
) -> bool:
    """Whether ``answer`` meets ``question``'s constraint, given the earlier answers
    (a special answer, such as "prefer not to answer", is not checked, as in ODK)."""
    constraint = getattr(question, "constraint", None)
    this = _value(definition.date_questions, question.id, answer)
    if not constraint or this is None:
        return True
    values = expression_values(definition, answers, question.id)
    return expressions.evaluate(expressions.parse(constraint), values, this)


def shown_text(
    definition: FlowDefinition,
    text: str,
    answers: Mapping[str, Answer],
    within: str | None = None,
) -> str:
    """A label, hint or message with each ``${name}`` it holds replaced by that
    question's answer as ODK shows it (an option's name, names separated by spaces, the
    text typed, a date as YYYY-MM-DD; nothing while unanswered); ``within``: the key of
    the item the text belongs to (in a repeat, its own instance's answers)."""
    if "${" not in text:
        return text
    here = definition.repeat_of(within) if within and definition.repeats else None

    def answer(match: re.Match[str]) -> str:
        name = match.group(1).strip()
        if here is not None and name in definition.questions_in_repeats:
            name = instance_key(name, here[1])
        found = answers.get(name)
        if isinstance(found, ChoiceAnswer):
            return found.option
        if isinstance(found, MultiAnswer):
            return " ".join(found.options)
        return found.text if isinstance(found, TextAnswer) else ""

    return REFERENCE.sub(answer, text)


def offered_options(
    definition: FlowDefinition, question: Question, answers: Mapping[str, Answer]
) -> list[Option]:
    """The options of a choice question offered given the answers so far: those its
    ``choice_filter`` keeps (all of them where it has none)."""
    options = options_of(question)
    choice_filter: str | None = getattr(question, "choice_filter", None)
    if not choice_filter:
        return options
    expression = expressions.parse(choice_filter)
    values = AnswerValues(definition, answers, question.id)
    return [
        o for o in options if expressions.offers(expression, values, {"name": o.id, **o.properties})
    ]


def offered(
    definition: FlowDefinition, question: Question, answers: Mapping[str, Answer]
) -> Question:
    """``question`` with only its offered options (:func:`offered_options`)."""
    if not getattr(question, "choice_filter", None):
        return question
    return question.model_copy(update={"options": offered_options(definition, question, answers)})


def _applies(
    definition: FlowDefinition,
    q: Question,
    answers: Mapping[str, Answer],
    values: Mapping[str, Any],
) -> bool:
    """Whether an item's ``show_if`` and ``relevant`` hold (``values``: the answers as
    expressions read them outside any repeat)."""
    within = q.id if q.repeat is not None else None
    if q.show_if is not None and not _condition_met(q.show_if, answers, definition, within):
        return False
    if q.relevant is None:
        return True
    if within is not None:
        values = AnswerValues(definition, answers, within)
    return expressions.evaluate(expressions.parse(q.relevant), values)


def visible_questions(
    definition: FlowDefinition,
    answers: dict[str, Answer],
    *,
    notes: bool = False,
    calculations: bool = False,
) -> list[Question]:
    """The questions shown given these answers, in order (a repeat's once per instance,
    with its prompts: :func:`items`); ``notes``: with the notes shown;
    ``calculations``: with the calculations that apply."""
    shown = items(definition, answers)
    if definition.has_notes and not notes:
        shown = [q for q in shown if not isinstance(q, Note)]
    if definition.calculations and not calculations:
        shown = [q for q in shown if not isinstance(q, Calculate)]
    if definition.repeats:
        values = expression_values(definition, answers)
        return [q for q in shown if _applies(definition, q, answers, values)]
    shown = [q for q in shown if q.show_if is None or _condition_met(q.show_if, answers)]
    if definition.has_relevant:
        values = expression_values(definition, answers)
        shown = [
            q
            for q in shown
            if q.relevant is None or expressions.evaluate(expressions.parse(q.relevant), values)
        ]
    return shown


def scored_answers(definition: FlowDefinition, answers: dict[str, Answer]) -> dict[str, str | None]:
    """Coded answers of the shown choice questions (option id, or a missing marker)."""
    shown = {q.id for q in visible_questions(definition, answers)}
    return {
        qid: coded_value(a)
        for qid, a in answers.items()
        if qid in shown and isinstance(definition.question(qid), ChoiceQuestion)
    }


def _notes_before(
    definition: FlowDefinition, answers: dict[str, Answer], target: str | None
) -> list[NoteShown]:
    """The notes shown just before ``target`` (None: the end of the survey)."""
    if not definition.has_notes:
        return []
    shown = visible_questions(definition, answers, notes=True)
    end = next((i for i, q in enumerate(shown) if q.id == target), len(shown))
    run: list[NoteShown] = []
    for q in reversed(shown[:end]):
        if not isinstance(q, Note):
            break
        run.insert(0, NoteShown(question=q.id))
    return run


def _pending_for(definition: FlowDefinition, state: SessionState, question_id: str) -> list[str]:
    """A multi-select's options ticked when it is asked: its answer's, else those its
    ``default`` suggests."""
    answer = state.answers.get(question_id)
    if isinstance(answer, MultiAnswer):
        return list(answer.options)
    question = definition.question(question_id)
    suggested = getattr(question, "default", None)
    if answer is None and suggested and isinstance(question, MultiSelect):
        return [o.id for o in question.options if o.id in suggested.split()]
    return []


def _ask(
    definition: FlowDefinition, state: SessionState, shown: list[str] | None = None
) -> QuestionAsked:
    """The current question as asked; ``shown``: the questions shown, where known."""
    assert state.current is not None
    if shown is None:
        shown = [q.id for q in visible_questions(definition, state.answers)]
    return QuestionAsked(
        question=state.current,
        number=shown.index(state.current) + 1,
        total=len(shown),
        current_answer=state.answers.get(state.current),
    )


def _prune_hidden(
    definition: FlowDefinition, state: SessionState, events: list[Event]
) -> list[Question] | None:
    """Drop the answers of questions no longer shown and work the calculations out
    again; the questions shown (no notes or calculations) when that changed nothing
    they depend on, else None."""
    visible = visible_questions(definition, state.answers, calculations=True)
    shown = {q.id for q in visible}
    hidden = [q for q in state.answers if q not in shown]
    for qid in hidden:
        del state.answers[qid]
        events.append(AnswerDiscarded(question=qid, reason="hidden"))
    changed = _recalculate(definition, state, events)
    if hidden or changed:
        return None
    return [q for q in visible if not isinstance(q, Calculate)]


def _recalculate(definition: FlowDefinition, state: SessionState, events: list[Event]) -> bool:
    """Work out every calculation that applies, in order (each may use the ones before;
    a repeat's once per instance), recording those whose value changed, and dropping
    those that no longer apply; whether any did."""
    if not definition.calculations:
        return False
    changed = False
    for _pass in range(3 if definition.repeats else 1):  # (a count may use a calculation)
        if not _recalculated(definition, state, events):
            break
        changed = True
    return changed


def _recalculated(definition: FlowDefinition, state: SessionState, events: list[Event]) -> bool:
    changed = False
    #: the calculations worked out so far in this pass, over the answers
    values = AnswerValues(definition, state.answers)
    calculations: Iterable[Question] = definition.calculations
    if definition.repeats:
        calculations = [q for q in items(definition, state.answers) if isinstance(q, Calculate)]
        wanted = {q.id for q in calculations}
        for key in [k for k in state.answers if k not in wanted]:  # (instances gone)
            if isinstance(definition.question(key), Calculate):
                del state.answers[key]
                events.append(AnswerDiscarded(question=key, reason="hidden"))
                changed = True
    answers = state.answers
    for calculation in calculations:
        assert isinstance(calculation, Calculate)
        here = (
            values
            if calculation.repeat is None
            else AnswerValues(definition, answers, calculation.id)
        )
        applies = (calculation.show_if is None and calculation.relevant is None) or _applies(
            definition, calculation, answers, values
        )
        previous = answers.get(calculation.id)
        if not applies:
            if previous is not None:
                del state.answers[calculation.id]
                events.append(AnswerDiscarded(question=calculation.id, reason="hidden"))
                changed = True
            continue
        kept = previous.text if isinstance(previous, TextAnswer) else None
        if kept and calculation.calculation.strip().startswith("once("):
            continue  # (worked out until it has a value, then kept: ODK's once())
        text = expressions.value(expressions.parse(calculation.calculation), here)
        if text != kept:
            worked_out = TextAnswer(text=text)
            changed = True
            state.answers[calculation.id] = worked_out
            events.append(
                AnswerRecorded(
                    question=calculation.id, answer=worked_out, changed=previous is not None
                )
            )
    return changed


def _move_on(
    definition: FlowDefinition,
    state: SessionState,
    after: str | None,
    events: list[Event],
    shown: list[Question] | None = None,
) -> None:
    """To the next question not answered after ``after`` (else the first one), or the
    end; ``shown``: the questions shown, where known."""
    if shown is None:
        shown = visible_questions(definition, state.answers)
    unanswered = [q.id for q in shown if q.id not in state.answers]
    if definition.repeats:
        order = {q.id: i for i, q in enumerate(shown)}
        at = order.get(after, -1) if after else -1
        later = [q for q in unanswered if order[q] > at] if after else []
    elif after:
        positions = definition.positions
        at = positions[after]
        later = [q for q in unanswered if positions[q] > at]
    else:
        later = []
    following = later or unanswered
    if not following:
        state.current, state.pending, state.completed = None, [], True
        events.extend(_notes_before(definition, state.answers, None))
        events.append(SurveyCompleted(answered=len(state.answers)))
        return
    events.extend(_notes_before(definition, state.answers, following[0]))
    state.current = following[0]
    state.pending = _pending_for(definition, state, state.current)
    events.append(_ask(definition, state, [q.id for q in shown]))


def _valid(definition: FlowDefinition, question_id: str, answer: Answer) -> bool:
    """Whether a stored answer still fits the definition (after a new flow version)."""
    if not definition.has_question(question_id):
        return False
    question = definition.question(question_id)
    if isinstance(question, Note):
        return False
    if isinstance(question, Calculate):
        return isinstance(answer, TextAnswer)
    if isinstance(answer, SpecialAnswer):
        return (
            answer.value == "prefer_not_to_answer"
            or (answer.value == "dont_know" and question.allow_dont_know)
            or (answer.value == "skip" and question.optional)
        )
    if not isinstance(question, ChoiceQuestion):
        return answer.kind == "text"
    known = {o.id for o in question.options}
    if isinstance(answer, ChoiceAnswer):
        return question.type != "multi_select" and answer.option in known
    if isinstance(answer, MultiAnswer):
        return question.type == "multi_select" and set(answer.options) <= known
    return False


def _reconcile(definition: FlowDefinition, state: SessionState, events: list[Event]) -> None:
    """Bring a stored state in line with the definition it is resumed with."""
    if state.flow_id != definition.id:
        raise ValueError(f"state of flow '{state.flow_id}' resumed with flow '{definition.id}'")
    if state.language not in definition.languages:
        state.language = definition.languages[0]
    known = definition.valid_answers  # (an answer is checked once per definition)
    for qid, answer in list(state.answers.items()):
        ok = known.get((qid, answer))
        if ok is None:
            ok = known[(qid, answer)] = _valid(definition, qid, answer)
        if not ok:
            del state.answers[qid]
            events.append(AnswerDiscarded(question=qid, reason="invalid"))
    state.flow_version = definition.version
    visible = _prune_hidden(definition, state, events)
    if state.completed:
        return
    if visible is None:
        visible = visible_questions(definition, state.answers)
    if state.current not in {q.id for q in visible}:
        state.current = None
        moved: list[Event] = []
        _move_on(definition, state, None, moved)
        # the caller decides whether to ask (and show notes); keep completion
        events.extend(e for e in moved if isinstance(e, SurveyCompleted))


def start(definition: FlowDefinition, language: str) -> Step:
    """Begin a new survey in ``language`` and ask the first question."""
    if language not in definition.languages:
        raise ValueError(f"flow '{definition.id}' has no language '{language}'")
    state = SessionState(flow_id=definition.id, flow_version=definition.version, language=language)
    events: list[Event] = []
    _recalculate(definition, state, events)
    _move_on(definition, state, None, events)
    return Step(state, tuple(events))


def _reject(state: SessionState, reason: RejectReason, limit: int | None = None) -> InputRejected:
    return InputRejected(question=state.current, reason=reason, limit=limit)


def resume(definition: FlowDefinition, state: SessionState, inp: Input | None = None) -> Step:
    """Apply one input to a stored state. ``inp`` defaults to :class:`Resume`.

    The state passed in is never modified; a rejected input returns an equal state.
    """
    inp = inp or Resume()
    base = state.seq
    # the answers are frozen models: copying the containers keeps the caller's state intact
    state = state.model_copy(
        update={"answers": dict(state.answers), "pending": list(state.pending)}
    )
    events: list[Event] = []
    _reconcile(definition, state, events)

    if isinstance(inp, SetLanguage):
        if inp.language not in definition.languages:
            events.append(_reject(state, "unknown_language"))
            return Step(state, tuple(events), base)
        state.language = inp.language
        state.seq += 1
        events.append(LanguageChanged(language=inp.language))
        if not state.completed:
            events.append(_ask(definition, state))
        return Step(state, tuple(events), base)

    if state.completed or state.current is None:
        events.append(_reject(state, "completed"))
        return Step(state, tuple(events), base)

    if (inp.question is not None and inp.question != state.current) or (
        inp.seq is not None and inp.seq != state.seq
    ):
        events.append(_reject(state, "stale"))
        return Step(state, tuple(events), base)

    question = definition.question(state.current)
    assert not isinstance(question, NotAsked)  # (notes and calculations are never current)

    if isinstance(inp, Resume):
        events.append(_ask(definition, state))
        return Step(state, tuple(events), base)

    if isinstance(inp, Back | GoTo):
        shown = [q.id for q in visible_questions(definition, state.answers)]
        if isinstance(inp, Back):
            position = shown.index(state.current)
            if position == 0:
                events.append(_reject(state, "at_start"))
                return Step(state, tuple(events), base)
            target = shown[position - 1]
        else:
            target = inp.target
            if not definition.has_question(target):
                events.append(_reject(state, "unknown_question"))
                return Step(state, tuple(events), base)
            if target not in shown or (target not in state.answers and target != state.current):
                events.append(_reject(state, "not_reachable"))
                return Step(state, tuple(events), base)
        state.current = target
        state.pending = _pending_for(definition, state, target)
        state.seq += 1
        events.append(_ask(definition, state))
        return Step(state, tuple(events), base)

    if isinstance(inp, Special):
        allowed = not isinstance(question, RepeatPrompt) and (
            inp.value == "prefer_not_to_answer"
            or (inp.value == "dont_know" and question.allow_dont_know)
            or (inp.value == "skip" and question.optional)
        )
        outcome: Answer | Selection | Reject = (
            SpecialAnswer(value=inp.value) if allowed else Reject("not_allowed")
        )
    else:
        outcome = handle(offered(definition, question, state.answers), state, inp)

    if not isinstance(outcome, Reject | Selection) and not _constraint_met(
        definition, question, outcome, state.answers
    ):
        outcome = Reject("constraint")
    if isinstance(outcome, Reject):
        events.append(_reject(state, outcome.reason, outcome.limit))
        return Step(state, tuple(events), base)
    state.seq += 1
    if isinstance(outcome, Selection):
        state.pending = list(outcome.selected)
        events.append(SelectionChanged(question=question.id, selected=outcome.selected))
        return Step(state, tuple(events), base)

    previous = state.answers.get(question.id)
    state.answers[question.id] = outcome
    state.pending = []
    events.append(
        AnswerRecorded(
            question=question.id,
            answer=outcome,
            changed=previous is not None and previous != outcome,
        )
    )
    visible = _prune_hidden(definition, state, events)
    _move_on(definition, state, question.id, events, visible)
    return Step(state, tuple(events), base)
