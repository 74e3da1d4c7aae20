"""A language's files as translators and the bot see them: every string with its
context, placeholders and length limit; the survey's labels merged into the flow; and
what is missing, overlong or broken, per language.

The interface's strings come from the catalogue template (``locales/messages.pot``,
extracted from the code with translator comments); a comment ``TRANSLATORS: ... at most
N characters`` gives a string its length limit. The survey's labels come from the flow
definition (:mod:`flows.translations`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po

from bot.languages import SOURCE_LANGUAGE, Language, LanguageError, Languages, languages
from bot.programme import Programme, load_programme, programme_labels
from bot.whatsapp.render import BODY_MAX, ROW_TITLE_MAX
from flows import FlowDefinition, FlowDefinitionError
from flows.translations import BadClips, MissingLabels, survey_labels, with_language

Part = Literal["interface", "survey", "programme"]
PLACEHOLDER = re.compile(r"\{(\w+)\}")
_LIMIT = re.compile(r"at most (\d+) characters")


@dataclass(frozen=True)
class Entry:
    """One string to translate. ``form`` is the plural form's index (None for a string
    without plural forms); ``source`` is the English text (its plural for ``form`` > 0)."""

    part: Part
    key: str
    context: str
    source: str
    translation: str
    limit: int | None = None
    form: int | None = None

    @property
    def placeholders(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(PLACEHOLDER.findall(self.source)))


@dataclass(frozen=True)
class Problem:
    """Something that would show wrongly (``error``) or less well (``warning``)."""

    severity: Literal["error", "warning"]
    part: Part
    key: str
    message: str


@dataclass
class Report:
    language: str
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]


def template_path() -> Path:
    return Path(str(resources.files("locales").joinpath("messages.pot")))


@cache
def _template(path: Path) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle)


def template() -> Catalog:
    """The interface's strings, as extracted from the code."""
    return _template(template_path())


def read_catalogue(language: Language) -> Catalog | None:
    """The language's interface catalogue (None where it has none yet)."""
    if not language.catalogue.is_file():
        return None
    with language.catalogue.open("rb") as handle:
        return read_po(handle, locale=language.locale.replace("-", "_"))


def limit_of(message: Message) -> int | None:
    """The length limit a translator comment gives a string."""
    for comment in message.auto_comments:
        found = _LIMIT.search(comment)
        if found:
            return int(found.group(1))
    return None


def context_of(message: Message) -> str:
    comments = [c.removeprefix("TRANSLATORS:").strip() for c in message.auto_comments]
    return " ".join(c for c in comments if c) or "interface"


def plural_count(language: Language) -> int:
    return Catalog(locale=language.locale.replace("-", "_")).num_plurals


def interface_entries(language: Language) -> list[Entry]:
    """Every interface string, with its translation in ``language`` ("" where none)."""
    catalogue = read_catalogue(language)
    entries: list[Entry] = []
    forms = catalogue.num_plurals if catalogue is not None else plural_count(language)
    for message in template():
        if not message.id:
            continue
        found = catalogue.get(message.id) if catalogue is not None else None
        done = found is not None and not found.fuzzy
        limit, context = limit_of(message), context_of(message)
        if isinstance(message.id, tuple):
            strings = found.string if done and found is not None else ()
            for form in range(forms):
                text = strings[form] if isinstance(strings, tuple) and form < len(strings) else ""
                source = str(message.id[0] if form == 0 else message.id[1])
                key = str(message.id[0])
                entries.append(Entry("interface", key, context, source, text, limit, form))
        else:
            text = str(found.string) if done and found is not None and found.string else ""
            key = str(message.id)
            entries.append(Entry("interface", key, context, key, text, limit))
    return entries


def survey_entries(flow: FlowDefinition, language: str) -> list[Entry]:
    """Every label of the survey, with its text in ``language`` ("" where none)."""
    source = SOURCE_LANGUAGE if SOURCE_LANGUAGE in flow.languages else flow.languages[0]
    english = {label.key: label.text for label in survey_labels(flow, source)}
    entries = []
    for label in survey_labels(flow, language):
        where = f"{label.kind} of question {label.question}" if label.question else label.kind
        limit = ROW_TITLE_MAX if label.key.split("/")[2:3] == ["options"] else BODY_MAX
        entries.append(
            Entry("survey", label.key, where, english[label.key], label.text, limit=limit)
        )
    return entries


def programme_entries(programme: Programme, language: str) -> list[Entry]:
    """Every label of the programme file (profile attributes, assistance, follow-up),
    with its text in ``language`` ("" where none: the console shows the English)."""
    return [
        Entry("programme", key, what, english, text)
        for key, what, english, text in programme_labels(programme, language)
    ]


def write_programme_labels(language: Language, labels: dict[str, str]) -> Path:
    path = language.folder / "programme.yaml"
    header = (
        f"# The programme's labels in {language.name} ({language.code}): key -> text "
        "(see bot/programme.py).\n"
    )
    body = yaml.safe_dump({"labels": labels}, allow_unicode=True, sort_keys=False, width=100)
    path.write_text(header + body, encoding="utf-8")
    return path


def labels_file(language: Language, flow: FlowDefinition) -> dict[str, str] | None:
    """The labels of ``flow`` in ``language``'s folder (None where it has none)."""
    path = language.survey_labels(flow.id)
    if not path.is_file():
        return None
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise FlowDefinitionError(str(path), f"cannot read: {exc}") from exc
    labels = data.get("labels") if isinstance(data, dict) else None
    if not isinstance(labels, dict):
        raise FlowDefinitionError(str(path), "expected a mapping 'labels' of key -> text")
    return {str(k): "" if v is None else str(v) for k, v in labels.items()}


def with_language_files(flow: FlowDefinition, registry: Languages | None = None) -> FlowDefinition:
    """``flow`` with every language whose folder has its labels (and that the flow does
    not carry itself) added. A labels file that leaves a text out stops the flow from
    loading, with the file and the texts named."""
    registry = registry if registry is not None else languages()
    for code, language in registry.items():
        if code in flow.languages:
            continue
        labels = labels_file(language, flow)
        if labels is None:
            continue
        try:
            flow = with_language(flow, code, labels, language.survey_labels(flow.id).parent)
        except (MissingLabels, BadClips) as exc:
            raise FlowDefinitionError(str(language.survey_labels(flow.id)), str(exc)) from exc
    return flow


def write_labels(language: Language, flow: FlowDefinition, labels: dict[str, str]) -> Path:
    """Write ``flow``'s labels in ``language`` to its folder; the path written."""
    path = language.survey_labels(flow.id)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = (
        f"# The labels of the survey '{flow.id}' (version {flow.version}) in "
        f"{language.name} ({language.code}): key -> text (see flows/translations.py).\n"
    )
    body = yaml.safe_dump(
        {"flow": flow.id, "version": flow.version, "labels": labels},
        allow_unicode=True,
        sort_keys=False,
        width=100,
    )
    path.write_text(header + body, encoding="utf-8")
    return path


def check(language: Language, flow: FlowDefinition) -> Report:
    """What would show wrongly (errors) or less well (warnings) in ``language``."""
    report = Report(language.code)
    add = report.problems.append
    if language.code != SOURCE_LANGUAGE:
        if read_catalogue(language) is None:
            add(Problem("error", "interface", "", f"no catalogue at {language.catalogue}"))
        else:
            _check_strings(interface_entries(language), add)
    if language.code not in flow.languages:
        try:
            labels = labels_file(language, flow)
        except FlowDefinitionError as exc:
            labels = None
            add(Problem("error", "survey", "", str(exc)))
        if labels is None:
            add(Problem("error", "survey", "", f"no labels for the survey '{flow.id}'"))
            return report
        try:
            flow = with_language(flow, language.code, labels)
        except MissingLabels as exc:
            for key in exc.keys:
                add(Problem("error", "survey", key, "missing"))
            return report
    _check_strings(survey_entries(flow, language.code), add)
    if language.code != SOURCE_LANGUAGE:
        for entry in programme_entries(load_programme(), language.code):
            if not entry.translation:
                add(
                    Problem("warning", "programme", entry.key, "missing: the console shows English")
                )
    missing = [c for c in ("stop", "start", "delete", "mydata") if c not in language.keywords]
    if missing and language.code != SOURCE_LANGUAGE:
        add(
            Problem(
                "warning",
                "interface",
                "language.yaml",
                f"no keywords for {', '.join(missing)}: returnees type the English ones",
            )
        )
    return report


def _check_strings(entries: Iterable[Entry], add: object) -> None:
    assert callable(add)
    for entry in entries:
        if not entry.translation.strip():
            add(Problem("error", entry.part, entry.key, "missing"))
            continue
        given = set(PLACEHOLDER.findall(entry.translation))
        wanted = set(entry.placeholders)
        if (entry.form is None and given != wanted) or (entry.form is not None and given - wanted):
            add(
                Problem(
                    "error",
                    entry.part,
                    entry.key,
                    "placeholders {" + "}, {".join(sorted(wanted)) + "} expected, "
                    "found {" + "}, {".join(sorted(given)) + "}",
                )
            )
        if entry.limit is not None and len(entry.translation) > entry.limit:
            severity: Literal["error", "warning"] = (
                "error" if entry.limit == BODY_MAX else "warning"
            )
            what = "cut short" if severity == "error" else "shown shortened or as a list"
            add(
                Problem(
                    severity,
                    entry.part,
                    entry.key,
                    f"{len(entry.translation)} characters, over WhatsApp's {entry.limit}: {what}",
                )
            )


__all__ = [
    "Entry",
    "LanguageError",
    "Problem",
    "Report",
    "check",
    "interface_entries",
    "survey_entries",
    "with_language_files",
    "write_labels",
]
