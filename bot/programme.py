"""The programme around the survey, as configured: profile attributes (what they are, their
allowed values, how each is stored), the assistance taxonomy, and the follow-up rules that
flag a returnee after a completed survey. Read from ``bot/programme.yaml`` or the file
``RSSBOT_PROGRAMME`` names; a deployment changes all of it without code."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from babel import Locale
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from bot.languages import Languages, languages

DEFAULT_FILE = Path(__file__).with_name("programme.yaml")
Labels = dict[str, str]
DIMENSIONS = ("economic", "social", "psychosocial")


class ProgrammeError(ValueError):
    """A programme file that cannot be used, with where and why."""


def label_in(labels: Mapping[str, str], language: str, fallback: str) -> str:
    """A label in ``language``, else English, else ``fallback`` (the code)."""
    return labels.get(language) or labels.get("en") or fallback


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Value(Strict):
    id: str = Field(pattern=r"^[a-z0-9_]{1,40}$")
    label: Labels = {}

    def text(self, language: str) -> str:
        return label_in(self.label, language, self.id)


class Attribute(Strict):
    """A profile attribute. ``choice``: one of ``values``; ``choices``: any of them;
    ``country``: an ISO 3166 code; ``age_band``: computed from a birth year or an age at
    return, only the band kept (``bands``: each band's lowest age)."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")
    kind: Literal["choice", "choices", "country", "age_band"]
    storage: Literal["plain", "sealed"]
    label: Labels = {}
    values: tuple[Value, ...] = ()
    bands: tuple[int, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> Attribute:
        if self.kind in ("choice", "choices") and not self.values:
            raise ValueError(f"attribute {self.id}: a {self.kind} attribute lists its values")
        if self.kind == "age_band" and (not self.bands or list(self.bands) != sorted(self.bands)):
            raise ValueError(f"attribute {self.id}: bands are ages in increasing order")
        return self

    @property
    def sealed(self) -> bool:
        return self.storage == "sealed"

    def text(self, language: str) -> str:
        return label_in(self.label, language, self.id)

    def band_codes(self) -> list[str]:
        """Each band's code: ``0-17``, ``18-24``..., the last ``50+``."""
        edges = list(self.bands)
        return [
            f"{low}-{high - 1}" if high is not None else f"{low}+"
            for low, high in zip(edges, [*edges[1:], None], strict=True)
        ]

    def band_of(self, age: int) -> str:
        """The band an age falls in."""
        codes = self.band_codes()
        index = max(i for i, low in enumerate(self.bands) if age >= low) if age >= 0 else 0
        return codes[index]

    def allowed(self) -> list[str]:
        if self.kind == "age_band":
            return self.band_codes()
        if self.kind == "country":
            return []
        return [v.id for v in self.values]

    def value_text(self, code: str, language: str) -> str:
        """A value's label (a country by name; a band as it is)."""
        if self.kind == "country":
            return country_name(code, language)
        for value in self.values:
            if value.id == code:
                return value.text(language)
        return code


class AssistanceType(Value):
    dimension: Literal["economic", "social", "psychosocial"]


class Assistance(Strict):
    levels: tuple[Value, ...]
    statuses: tuple[Value, ...]
    types: tuple[AssistanceType, ...]

    def type(self, code: str) -> AssistanceType | None:
        return next((t for t in self.types if t.id == code), None)


class Rule(Strict):
    """Flags a returnee after a completed survey. ``score_below``: ``dimension``'s score
    under ``threshold``; ``drop``: ``dimension`` fell by ``by`` or more since the
    returnee's previous completed wave; ``answer``: ``question``'s answer is one of
    ``values`` (any of them, for a multiple choice)."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")
    kind: Literal["score_below", "drop", "answer"]
    label: Labels = {}
    dimension: Literal["economic", "social", "psychosocial", "composite"] | None = None
    threshold: float | None = None
    by: float | None = None
    question: str | None = None
    values: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _complete(self) -> Rule:
        need = {
            "score_below": ("dimension", "threshold"),
            "drop": ("dimension", "by"),
            "answer": ("question", "values"),
        }[self.kind]
        missing = [name for name in need if not getattr(self, name)]
        if self.kind == "score_below" and self.threshold is not None and "threshold" in missing:
            missing.remove("threshold")  # (a threshold of 0 is a threshold)
        if missing:
            raise ValueError(f"rule {self.id}: a {self.kind} rule needs {', '.join(missing)}")
        return self

    def text(self, language: str) -> str:
        return label_in(self.label, language, self.id)


class Followup(Strict):
    rules: tuple[Rule, ...] = ()
    actions: tuple[Value, ...]

    def rule(self, code: str) -> Rule | None:
        return next((r for r in self.rules if r.id == code), None)


class Programme(Strict):
    attributes: tuple[Attribute, ...]
    assistance: Assistance
    followup: Followup

    @model_validator(mode="after")
    def _unique(self) -> Programme:
        for what, ids in (
            ("attribute", [a.id for a in self.attributes]),
            ("assistance type", [t.id for t in self.assistance.types]),
            ("rule", [r.id for r in self.followup.rules]),
        ):
            twice = sorted({i for i in ids if ids.count(i) > 1})
            if twice:
                raise ValueError(f"{what} {', '.join(twice)} is defined twice")
        return self

    def attribute(self, code: str) -> Attribute | None:
        return next((a for a in self.attributes if a.id == code), None)

    def check_against(self, questions: Mapping[str, set[str]]) -> list[str]:
        """What in the rules does not fit the survey (``questions``: each question's id
        and its option ids): unknown questions or answers."""
        problems = []
        for rule in self.followup.rules:
            if rule.kind != "answer" or rule.question is None:
                continue
            if rule.question not in questions:
                problems.append(f"rule {rule.id}: the survey has no question {rule.question}")
                continue
            unknown = sorted(set(rule.values) - questions[rule.question])
            if unknown and questions[rule.question]:
                problems.append(
                    f"rule {rule.id}: {rule.question} has no answer {', '.join(unknown)}"
                )
        return problems


def load_programme(path: str | Path | None = None) -> Programme:
    """The programme file ``path`` (default: ``RSSBOT_PROGRAMME``, else the built-in one),
    with the labels each language folder has for it (``<language>/programme.yaml``);
    :class:`ProgrammeError` says what is wrong with it."""
    chosen = Path(path or os.environ.get("RSSBOT_PROGRAMME") or DEFAULT_FILE)
    return _with_language_files(chosen.resolve(), languages())


def _label_dicts(data: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, str]]]:
    """Each label of a dumped programme: its key, what it is, and the label (mutable)."""
    for a in data["attributes"]:
        yield f"attributes/{a['id']}", "profile attribute", a["label"]
        for v in a["values"]:
            yield f"attributes/{a['id']}/values/{v['id']}", f"value of {a['id']}", v["label"]
    for kind, what in (("types", "assistance type"), ("levels", "assistance level")):
        for v in data["assistance"][kind]:
            yield f"assistance/{kind}/{v['id']}", what, v["label"]
    for v in data["assistance"]["statuses"]:
        yield f"assistance/statuses/{v['id']}", "assistance status", v["label"]
    for r in data["followup"]["rules"]:
        yield f"followup/rules/{r['id']}", "follow-up reason", r["label"]
    for v in data["followup"]["actions"]:
        yield f"followup/actions/{v['id']}", "follow-up action", v["label"]


def programme_labels(programme: Programme, language: str) -> list[tuple[str, str, str, str]]:
    """Every label of the programme: (key, what it is, English, text in ``language``, ""
    where it has none)."""
    return [
        (key, what, label.get("en", ""), label.get(language, ""))
        for key, what, label in _label_dicts(programme.model_dump(mode="python"))
    ]


def with_labels(programme: Programme, language: str, labels: Mapping[str, str]) -> Programme:
    """``programme`` with the labels in ``language`` that ``labels`` (key -> text) gives;
    the others keep showing English."""
    data = programme.model_dump(mode="python")
    for key, _what, label in _label_dicts(data):
        text = str(labels.get(key) or "").strip()
        if text:
            label[language] = text
    return Programme.model_validate(data)


def labels_file(folder: Path) -> dict[str, str] | None:
    """The programme's labels in a language folder (None where it has none)."""
    path = folder / "programme.yaml"
    if not path.is_file():
        return None
    try:
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ProgrammeError(f"{path}: cannot be read ({exc})") from exc
    labels = raw.get("labels") if isinstance(raw, dict) else None
    if not isinstance(labels, dict):
        raise ProgrammeError(f"{path}: expected a mapping 'labels' of key -> text")
    return {str(k): "" if v is None else str(v) for k, v in labels.items()}


@cache
def _with_language_files(path: Path, registry: Languages) -> Programme:
    programme = _load(path)
    for code, language in registry.items():
        labels = labels_file(language.folder)
        if labels is not None:
            programme = with_labels(programme, code, labels)
    return programme


@cache
def _load(path: Path) -> Programme:
    try:
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ProgrammeError(f"{path}: cannot be read ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise ProgrammeError(f"{path}: not valid YAML ({exc})") from exc
    try:
        return Programme.model_validate(raw)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"])
            lines.append(f"{where}: {error['msg']}" if where else error["msg"])
        raise ProgrammeError(f"{path}: " + "; ".join(lines)) from exc


@cache
def _territories() -> frozenset[str]:
    # (Babel also names regions that are not countries: the EU, the UN, "unknown")
    regions = {"EU", "EZ", "UN", "QO", "ZZ"}
    return frozenset(
        str(c) for c in Locale("en").territories if str(c).isalpha() and str(c) not in regions
    )


def is_country(code: str) -> bool:
    """Whether ``code`` is an ISO 3166-1 alpha-2 country code (upper case)."""
    return len(code) == 2 and code in _territories()


def country_name(code: str, language: str) -> str:
    """A country's name in ``language`` (the code where Babel has no name)."""
    try:
        names = Locale.parse(languages().cldr(language)).territories
    except (ValueError, TypeError):
        names = Locale("en").territories
    return str(names.get(code, code))
