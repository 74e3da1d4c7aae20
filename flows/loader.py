"""Loading and validating flow definitions, with errors that say file, question and what."""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import TypeAdapter, ValidationError

from flows import audio, expressions, questions
from flows.model import (
    ID_PATTERN,
    SPEC_VERSION,
    AskedQuestion,
    Calculate,
    ChoiceQuestion,
    FlowDefinition,
    LocalizedText,
    MultiSelect,
    NotAsked,
    Note,
    Question,
    options_of,
)

_QUESTION: TypeAdapter[Question] = TypeAdapter(Question)


class FlowDefinitionError(ValueError):
    """A flow definition that cannot be used: ``source``, ``question`` and what is wrong."""

    def __init__(self, source: str, message: str, question: str | None = None) -> None:
        self.source = source
        self.question = question
        self.problem = message
        where = f"{source}: question '{question}'" if question else source
        super().__init__(f"{where}: {message}")


def _pydantic_problem(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        parts.append(f"{loc}: {err['msg']}" if loc else err["msg"])
    return "; ".join(parts)


def _resolve_option_sets(data: dict[str, Any], source: str) -> dict[str, Any]:
    """Replace ``options: <name>`` by the named entry of the top-level ``option_sets``."""
    sets = data.pop("option_sets", {}) or {}
    if not isinstance(sets, dict):
        raise FlowDefinitionError(source, "'option_sets' must be a mapping of name to options")
    questions = data.get("questions")
    if not isinstance(questions, list):
        raise FlowDefinitionError(source, "'questions' must be a list")
    resolved = []
    for i, raw in enumerate(questions):
        if not isinstance(raw, dict):
            raise FlowDefinitionError(source, f"questions[{i}] is not a mapping")
        q = dict(raw)
        if isinstance(q.get("options"), str):
            name = q["options"]
            if name not in sets:
                raise FlowDefinitionError(
                    source, f"options refer to unknown option set '{name}'", q.get("id")
                )
            q["options"] = sets[name]
        resolved.append(q)
    data["questions"] = resolved
    return data


def _check_texts(text: LocalizedText | None, languages: list[str], what: str) -> list[str]:
    if text is None:
        return []
    problems = [f"{what} has no '{lang}' text" for lang in languages if not text.get(lang)]
    extra = sorted(set(text) - set(languages))
    if extra:
        problems.append(f"{what} has text in undeclared language(s) {', '.join(extra)}")
    return problems


def _resolve_media(data: dict[str, Any], roots: list[Path]) -> None:
    """Name every clip by where it is (see :func:`flows.audio.resolve`), in place."""

    def resolved(value: Any) -> Any:
        if not isinstance(value, dict):
            return value  # (the model's validation says what is wrong)
        return {k: str(audio.resolve(str(v), roots)) if v else v for k, v in value.items()}

    for q in data["questions"]:
        if "audio" in q:
            q["audio"] = resolved(q["audio"])
        options = q.get("options")
        if isinstance(options, list):
            q["options"] = [
                {**o, "audio": resolved(o["audio"])} if isinstance(o, dict) and "audio" in o else o
                for o in options
            ]


def clip_problems(clips: LocalizedText | None, languages: list[str], what: str) -> list[str]:
    """What is wrong with the clips of one text: a language the flow does not have, a
    file missing or in a format a channel refuses (:func:`flows.audio.inspect`)."""
    if not clips:
        return []
    problems = []
    for lang, file in clips.items():
        if lang not in languages:
            problems.append(f"{what} has a clip in undeclared language {lang}")
            continue
        try:
            audio.inspect(file)
        except audio.ClipError as exc:
            problems.append(f"{what} ({lang}): {exc}")
    return problems


def _cross_checks(flow: FlowDefinition, source: str) -> None:
    langs = flow.languages
    for problem in _check_texts(flow.title, langs, "title"):
        raise FlowDefinitionError(source, problem)
    for name, title in flow.sections.items():
        for problem in _check_texts(title, langs, f"section '{name}'"):
            raise FlowDefinitionError(source, problem)
    seen: set[str] = set()
    _repeat_checks(flow, source)
    for q in flow.questions:
        if q.id in seen:
            raise FlowDefinitionError(source, "question id appears twice", q.id)
        if q.repeat is not None and q.repeat not in seen:  # (its first item)
            seen.add(q.repeat)
        problems = [] if isinstance(q, Calculate) else _check_texts(q.text, langs, "text")
        problems += _check_texts(q.hint, langs, "hint")
        problems += _reference_problems(flow, q)
        problems += clip_problems(q.audio, langs, "audio")
        for o in options_of(q):
            problems += _check_texts(o.label, langs, f"option '{o.id}'")
            problems += clip_problems(o.audio, langs, f"audio of option '{o.id}'")
        if isinstance(q, MultiSelect) and q.min_choices > len(q.options):
            problems.append("min_choices is larger than the number of options")
        if q.section is not None and q.section not in flow.sections:
            problems.append(f"unknown section '{q.section}'")
        if q.show_if is not None:
            problems += _show_if_problems(flow, q, seen)
        if q.relevant is not None:
            problems += relevant_problems(flow, q.relevant, seen)
        choice_filter = getattr(q, "choice_filter", None)
        if choice_filter:
            problems += _filter_problems(flow, choice_filter, seen)
        if isinstance(q, Calculate):
            problems += _calculation_problems(flow, q, seen)
        elif not isinstance(q, Note):
            problems += _constraint_problems(flow, q, langs, seen)
            problems += _default_problems(q)
        if problems:
            raise FlowDefinitionError(source, "; ".join(problems), q.id)
        seen.add(q.id)


def _repeat_checks(flow: FlowDefinition, source: str) -> None:
    """Each repeat: a known one, its items one run, something to answer, its label in
    every language, its count and relevant usable with the questions before it."""
    ids = {q.id for q in flow.questions}
    for q in flow.questions:
        if q.repeat is not None and q.repeat not in flow.repeats:
            raise FlowDefinitionError(source, f"unknown repeat '{q.repeat}'", q.id)
    before: set[str] = set()
    closed: set[str] = set()
    current: str | None = None
    for q in flow.questions:
        if q.repeat != current:
            if current is not None:
                closed.add(current)
            if q.repeat is not None and q.repeat in closed:
                raise FlowDefinitionError(
                    source, f"the questions of repeat '{q.repeat}' must follow each other", q.id
                )
            current = q.repeat
            if current is not None:
                _repeat_problems(flow, source, current, before, ids)
        before.add(q.id)
    for name in flow.repeats:
        if not any(q.repeat == name for q in flow.questions):
            raise FlowDefinitionError(source, f"repeat '{name}' has no question")


def _repeat_problems(
    flow: FlowDefinition, source: str, name: str, before: set[str], ids: set[str]
) -> None:
    repeat, where = flow.repeats[name], f"repeat '{name}'"
    problems = []
    if not re.match(ID_PATTERN, name) or name in ids:
        problems.append(f"{where}: its name must be one no question has")
    problems += [f"{where}: {p}" for p in _check_texts(repeat.label, flow.languages, "label")]
    if not any(not isinstance(q, NotAsked) for q in flow.body(name)):
        problems.append(f"{where} has nothing to answer")
    inside = {q.id for q in flow.body(name)}
    for column, text in (("repeat_count", repeat.count), ("relevant", repeat.relevant)):
        if text is None:
            continue
        try:
            expr = expressions.parse(text)
        except expressions.ExpressionError as exc:
            problems.append(f"{where}: {column}: {exc}{at_character(exc)}")
            continue
        problems += [
            f"{where}: the {column} refers to '{ref}', which is not an earlier question"
            for ref in expressions.references(expr)
            if ref not in before or ref in inside
        ]
    if problems:
        raise FlowDefinitionError(source, "; ".join(problems), name)


_REFERENCE = re.compile(r"\$\{([^}]*)\}")


def _reference_problems(flow: FlowDefinition, q: Question) -> list[str]:
    """A ``${name}`` in a text that names no question of the flow (or names itself)."""
    texts = [q.text, q.hint or {}, getattr(q, "constraint_message", None) or {}]
    names = {m.group(1).strip() for t in texts for v in t.values() for m in _REFERENCE.finditer(v)}
    unknown = sorted(n for n in names if not flow.has_question(n) or n == q.id)
    return [f"the text refers to '{n}', which is not another question" for n in unknown]


def _show_if_problems(flow: FlowDefinition, q: Question, seen: set[str]) -> list[str]:
    assert q.show_if is not None
    ref = q.show_if.question
    if ref not in seen:
        return [f"show_if refers to '{ref}', which is not an earlier question"]
    target = flow.question(ref)
    if not isinstance(target, ChoiceQuestion):
        return [f"show_if refers to '{ref}', which is not a choice question"]
    known = {o.id for o in target.options}
    wanted = set(q.show_if.any_of or []) | set(q.show_if.none_of or [])
    unknown = sorted(wanted - known)
    return [f"show_if names unknown option(s) {', '.join(unknown)} of '{ref}'"] if unknown else []


def _names_a_note(flow: FlowDefinition, name: str) -> bool:
    """Whether ``${name}`` names a note (which has no value); a repeat's name does not."""
    return name not in flow.repeats and isinstance(flow.question(name), Note)


def at_character(exc: expressions.ExpressionError) -> str:
    """Where in its expression a problem is, where the engine says."""
    return "" if exc.position is None else f" (at character {exc.position + 1})"


def relevant_problems(flow: FlowDefinition, relevant: str, earlier: set[str]) -> list[str]:
    """What is wrong with a ``relevant`` expression: outside the subset, a reference to a
    question that is not an earlier one (or is a note), an option a question does not have."""
    try:
        expr = expressions.parse(relevant)
    except expressions.ExpressionError as exc:
        return [f"relevant: {exc}{at_character(exc)}"]
    problems = []
    if expressions.uses_self(expr):
        problems.append("relevant cannot use '.' (it is for constraints)")
    for name in expressions.references(expr):
        if name not in earlier:
            problems.append(f"relevant refers to '{name}', which is not an earlier question")
        elif _names_a_note(flow, name):
            problems.append(f"relevant refers to '{name}', which is a note")
    for name, option in expressions.compared_options(expr):
        if name in earlier and name not in flow.repeats:
            target = flow.question(name)
            if isinstance(target, ChoiceQuestion) and target.option(option) is None:
                problems.append(f"relevant names unknown option '{option}' of '{name}'")
    return problems


def _filter_problems(flow: FlowDefinition, text: str, earlier: set[str]) -> list[str]:
    try:
        expr = expressions.parse(text)
    except expressions.ExpressionError as exc:
        return [f"choice_filter: {exc}{at_character(exc)}"]
    return [
        f"the choice_filter refers to '{name}', which is not an earlier question"
        for name in expressions.references(expr)
        if name not in earlier or _names_a_note(flow, name)
    ]


def _calculation_problems(flow: FlowDefinition, q: Calculate, earlier: set[str]) -> list[str]:
    try:
        expr = expressions.parse(q.calculation)
    except expressions.ExpressionError as exc:
        return [f"calculation: {exc}{at_character(exc)}"]
    problems = ["a calculation cannot use '.' (it has no answer)"] if expr.uses_self else []
    for name in expressions.references(expr):
        if name not in earlier or _names_a_note(flow, name):
            problems.append(f"the calculation refers to '{name}', which is not an earlier question")
    return problems


def _constraint_problems(
    flow: FlowDefinition, q: AskedQuestion, languages: list[str], earlier: set[str]
) -> list[str]:
    problems = _check_texts(q.constraint_message, languages, "constraint_message")
    if q.constraint is None:
        if q.constraint_message is not None:
            problems.append("constraint_message without a constraint")
        return problems
    try:
        expr = expressions.parse(q.constraint)
    except expressions.ExpressionError as exc:
        return [*problems, f"constraint: {exc}{at_character(exc)}"]
    if not expressions.uses_self(expr):
        problems.append("a constraint must test the answer '.'")
    for name in expressions.references(expr):
        if name not in earlier or _names_a_note(flow, name):
            problems.append(f"the constraint refers to '{name}', which is not an earlier question")
    return problems


def _default_problems(q: AskedQuestion) -> list[str]:
    """A suggested answer the question would refuse."""
    given = q.default
    if given is None:
        return []
    if isinstance(q, ChoiceQuestion):
        picks = given.split()
        unknown = [p for p in picks if q.option(p) is None]
        if unknown or not picks or (len(picks) > 1 and not isinstance(q, MultiSelect)):
            return [f"the default '{given}' is not one of the question's options"]
        return []
    accepted = {
        "integer": lambda: questions.parse_number(given, whole=True) is not None,
        "decimal": lambda: questions.parse_number(given, whole=False) is not None,
        "date": lambda: questions.parse_date(given) is not None,
        "time": lambda: questions.parse_time(given) is not None,
        "acknowledge": lambda: given == "OK",
        "free_text": lambda: 0 < len(given) <= getattr(q, "max_length", 0),
    }[q.type]()
    return [] if accepted else [f"the default '{given}' is not an answer this question takes"]


def parse_definition(
    data: Any, source: str = "<definition>", media: list[Path] | None = None
) -> FlowDefinition:
    """Validate a definition already parsed from YAML or JSON; its clips are looked for
    in the folders ``media`` (default: the working directory)."""
    if not isinstance(data, dict):
        raise FlowDefinitionError(source, "a flow definition must be a mapping")
    data = dict(data)
    spec = data.get("spec_version")
    if not isinstance(spec, int) or isinstance(spec, bool):
        raise FlowDefinitionError(source, "'spec_version' is missing or not an integer")
    if spec != SPEC_VERSION:
        raise FlowDefinitionError(
            source,
            f"spec_version {spec} is not supported: this program reads spec_version {SPEC_VERSION}",
        )
    data = _resolve_option_sets(data, source)
    _resolve_media(data, media if media is not None else [Path.cwd()])
    for raw in data["questions"]:
        try:
            _QUESTION.validate_python(raw)
        except ValidationError as exc:
            raise FlowDefinitionError(source, _pydantic_problem(exc), raw.get("id")) from exc
    try:
        flow = FlowDefinition.model_validate(data)
    except ValidationError as exc:
        raise FlowDefinitionError(source, _pydantic_problem(exc)) from exc
    _cross_checks(flow, source)
    return flow


def load_definition(path: str | Path) -> FlowDefinition:
    """Load a definition file: ``.yaml``/``.yml``, ``.json``, or an XLSForm (``.xlsx``,
    ``.xls`` or ``.csv``: :mod:`flows.xlsform`)."""
    path = Path(path)
    if path.suffix.lower() in (".xlsx", ".xls", ".csv"):
        from flows.xlsform import read_xlsform  # (pyxform is loaded only for workbooks)

        return read_xlsform(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise FlowDefinitionError(str(path), f"cannot read: {exc.strerror or exc}") from exc
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        raise FlowDefinitionError(str(path), f"not valid YAML/JSON: {exc}") from exc
    return parse_definition(data, str(path.name), media_folders(path))


def media_folders(path: Path) -> list[Path]:
    """Where the clips a flow file names are looked for: its folder, then the
    ``<name>-media`` folder beside it (where ODK keeps a form's media)."""
    return [path.parent, path.parent / f"{path.stem}-media"]


def dump_definition(flow: FlowDefinition) -> str:
    """A definition as YAML that :func:`load_definition` reads back to the same
    definition; defaults are left out, each question starts with its id and type."""
    data = flow.model_dump(mode="json", exclude_defaults=True)
    data["questions"] = [
        {"id": q.id, "type": q.type, **{k: v for k, v in dumped.items() if k != "id"}}
        for q, dumped in zip(flow.questions, data["questions"], strict=True)
    ]
    header = f"# {flow.title[flow.languages[0]]}: a flow definition (spec_version {SPEC_VERSION})\n"
    return header + yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)


def definition_at(path: str | Path | None) -> FlowDefinition:
    """The definition in a file, or the built-in RSS when no path is given."""
    return builtin_definition() if path is None or str(path) == "" else load_definition(path)


@cache
def builtin_definition(name: str = "rss") -> FlowDefinition:
    """A definition shipped in ``flows/definitions`` (``rss``: the RSS instrument)."""
    resource = resources.files("flows").joinpath("definitions", f"{name}.yaml")
    try:
        text = resource.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise FlowDefinitionError(f"{name}.yaml", "no such built-in flow definition") from exc
    folder = Path(str(resources.files("flows").joinpath("definitions")))
    return parse_definition(yaml.safe_load(text), f"{name}.yaml", [folder])
