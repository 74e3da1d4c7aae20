"""A survey's labels in one language, as a flat mapping a translator fills in.

Every localised text of a definition has a key that says where it is shown::

    title                                  the survey's title
    sections/<section>                     a section's heading
    questions/<id>/text                    a question's (or a note's) text
    questions/<id>/hint                    its hint
    questions/<id>/constraint_message      said when its constraint refuses an answer
    questions/<id>/options/<option>        one of its answers

and, where the language has recordings, ``questions/<id>/audio`` and
``questions/<id>/options/<option>/audio``: clips (files beside the labels file) sent as
voice notes, checked as a flow's own are (:mod:`flows.audio`).

:func:`survey_labels` lists them in the order a respondent meets them;
:func:`with_language` gives the definition with one more language from such a mapping
(a language's ``surveys/<flow>.yaml``), refusing one that leaves a text out.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flows import audio
from flows.loader import clip_problems
from flows.model import Calculate, FlowDefinition, LocalizedText

#: a label's own kinds, as translators read them
KINDS = {
    "title": "survey title",
    "sections": "section heading",
    "text": "question text",
    "hint": "hint",
    "constraint_message": "message when an answer is refused",
    "options": "answer",
}


@dataclass(frozen=True)
class SurveyLabel:
    """One localised text of a definition: where it is and what it says in ``language``
    (empty where the definition has none in that language)."""

    key: str
    kind: str
    question: str | None
    text: str


def _texts(flow: FlowDefinition) -> Iterator[tuple[str, str, str | None, LocalizedText]]:
    yield "title", KINDS["title"], None, flow.title
    for section, heading in flow.sections.items():
        yield f"sections/{section}", KINDS["sections"], None, heading
    for q in flow.questions:
        if isinstance(q, Calculate):
            continue  # (a calculation has no text)
        base = f"questions/{q.id}"
        yield f"{base}/text", KINDS["text"], q.id, q.text
        if q.hint:
            yield f"{base}/hint", KINDS["hint"], q.id, q.hint
        message = getattr(q, "constraint_message", None)
        if message:
            yield f"{base}/constraint_message", KINDS["constraint_message"], q.id, message
        for option in getattr(q, "options", []):
            yield f"{base}/options/{option.id}", KINDS["options"], q.id, option.label


def survey_labels(flow: FlowDefinition, language: str) -> list[SurveyLabel]:
    """Every label of ``flow`` in ``language``, in the order a respondent meets them."""
    return [
        SurveyLabel(key, kind, question, text.get(language, ""))
        for key, kind, question, text in _texts(flow)
    ]


class MissingLabels(ValueError):
    """A language's labels leave texts out: ``keys`` are the missing ones."""

    def __init__(self, language: str, keys: list[str]) -> None:
        shown = ", ".join(keys[:5]) + (f" and {len(keys) - 5} more" if len(keys) > 5 else "")
        super().__init__(f"no '{language}' text for {shown}")
        self.keys = keys


class BadClips(ValueError):
    """A language's clips are missing or in a format a channel refuses."""


def with_language(
    flow: FlowDefinition, language: str, labels: Mapping[str, str], media: Path | None = None
) -> FlowDefinition:
    """``flow`` with ``language`` added from ``labels`` (key -> text), its clips looked
    for in ``media`` (default: the working directory). Keys that name nothing in the flow
    are ignored (a label file may be a version ahead or behind)."""
    missing = [key for key, *_rest in _texts(flow) if not str(labels.get(key, "")).strip()]
    if missing:
        raise MissingLabels(language, missing)
    folder = media if media is not None else Path.cwd()

    def add(text: LocalizedText, key: str) -> LocalizedText:
        return {**text, language: str(labels[key]).strip()}

    def clip(clips: LocalizedText | None, key: str) -> LocalizedText | None:
        file = str(labels.get(key) or "").strip()
        if not file:
            return clips
        path = str(audio.resolve(file, [folder]))
        problems = clip_problems({language: path}, [language], key)
        if problems:
            raise BadClips("; ".join(problems))
        return {**(clips or {}), language: path}

    data: dict[str, Any] = flow.model_dump(mode="python")
    data["languages"] = [*flow.languages, language]
    data["title"] = add(flow.title, "title")
    data["sections"] = {s: add(t, f"sections/{s}") for s, t in flow.sections.items()}
    for raw, q in zip(data["questions"], flow.questions, strict=True):
        if isinstance(q, Calculate):
            continue
        base = f"questions/{q.id}"
        raw["text"] = add(q.text, f"{base}/text")
        raw["audio"] = clip(q.audio, f"{base}/audio")
        if q.hint:
            raw["hint"] = add(q.hint, f"{base}/hint")
        if raw.get("constraint_message"):
            raw["constraint_message"] = add(raw["constraint_message"], f"{base}/constraint_message")
        for option in raw.get("options") or []:
            option["label"] = add(option["label"], f"{base}/options/{option['id']}")
            option["audio"] = clip(option.get("audio"), f"{base}/options/{option['id']}/audio")
    return FlowDefinition.model_validate(data)
