"""Audio prompts in a flow: clips per language on questions and choices, from the flow
YAML, an XLSForm's media::audio columns or a language folder; a clip a channel refuses,
or one that is missing, stops the flow from loading with the file and question named."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from flows.audio import inspect
from flows.loader import FlowDefinitionError, load_definition
from flows.translations import BadClips, survey_labels, with_language
from flows.xlsform import XLSFormError, read_xlsform, write_xlsform
from tests.support.audio import mp3_clip, opus_clip, wav_clip
from tests.support.xlsforms import EN, FR, write_form


def flow_file(folder: Path, question_audio: dict[str, str], option_audio: str | None) -> Path:
    flow = {
        "spec_version": 1,
        "id": "voice",
        "version": "1",
        "languages": ["en", "fr"],
        "title": {"en": "Voice", "fr": "Voix"},
        "questions": [
            {
                "id": "work",
                "type": "yes_no",
                "text": {"en": "Do you work?", "fr": "Travaillez-vous ?"},
                "audio": question_audio,
                "options": [
                    {
                        "id": "yes",
                        "label": {"en": "Yes", "fr": "Oui"},
                        **({"audio": {"en": option_audio}} if option_audio else {}),
                    },
                    {"id": "no", "label": {"en": "No", "fr": "Non"}},
                ],
            },
            {"id": "age", "type": "integer", "text": {"en": "Age?", "fr": "Âge ?"}},
        ],
    }
    path = folder / "voice.yaml"
    path.write_text(yaml.safe_dump(flow, allow_unicode=True))
    return path


def test_a_flow_carries_a_clip_per_language_beside_it_or_in_its_media_folder(
    tmp_path: Path,
) -> None:
    opus_clip(tmp_path / "work_en.ogg")
    (tmp_path / "voice-media").mkdir()
    mp3_clip(tmp_path / "voice-media" / "work_fr.mp3")
    opus_clip(tmp_path / "yes_en.ogg", 1)
    flow = load_definition(
        flow_file(tmp_path, {"en": "work_en.ogg", "fr": "work_fr.mp3"}, "yes_en.ogg")
    )
    work = flow.question("work")
    assert work.audio == {
        "en": str(tmp_path / "work_en.ogg"),
        "fr": str(tmp_path / "voice-media" / "work_fr.mp3"),
    }
    assert work.options[0].audio == {"en": str(tmp_path / "yes_en.ogg")}
    assert flow.question("age").audio is None
    clip = inspect(work.audio["fr"])
    assert (clip.mime_type, clip.seconds) == ("audio/mpeg", 2)
    assert inspect(work.audio["en"]).mime_type == "audio/ogg"


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda p: wav_clip(p / "work_en.wav"), "work_en.wav: WAV audio, not a format"),
        (lambda p: p / "work_en.ogg", "no such file"),
        (
            lambda p: (p / "work_en.ogg").write_bytes(b"OggS not really") and p / "work_en.ogg",
            "work_en.ogg",
        ),
    ],
)
def test_a_clip_no_channel_sends_as_a_voice_note_stops_the_flow(
    tmp_path: Path, make: object, expected: str
) -> None:
    clip = make(tmp_path)  # type: ignore[operator]
    with pytest.raises(FlowDefinitionError) as refused:
        load_definition(flow_file(tmp_path, {"en": Path(clip).name}, None))
    assert refused.value.question == "work"
    assert expected in str(refused.value) and "voice.yaml" in str(refused.value)


def test_an_oversized_clip_is_refused_naming_the_channel(tmp_path: Path) -> None:
    mp3_clip(tmp_path / "long.mp3", frames=17 * 1024 * 1024 // 417)
    with pytest.raises(FlowDefinitionError, match=r"long\.mp3: .*seconds long"):
        load_definition(flow_file(tmp_path, {"en": "long.mp3"}, None))


def test_a_clip_in_a_language_the_flow_does_not_have_is_refused(tmp_path: Path) -> None:
    opus_clip(tmp_path / "a.ogg")
    with pytest.raises(FlowDefinitionError, match="undeclared language ti"):
        load_definition(flow_file(tmp_path, {"ti": "a.ogg"}, None))


def xlsform(folder: Path, clip: str) -> Path:
    survey = [
        {
            "type": "select_one yn",
            "name": "work",
            f"label::{EN}": "Do you work?",
            f"label::{FR}": "Travaillez-vous ?",
            f"media::audio::{EN}": clip,
            "required": "yes",
        }
    ]
    choices = [
        {"list_name": "yn", "name": "yes", f"label::{EN}": "Yes", f"label::{FR}": "Oui",
         f"media::audio::{FR}": "oui.ogg"},
        {"list_name": "yn", "name": "no", f"label::{EN}": "No", f"label::{FR}": "Non"},
    ]  # fmt: skip
    return write_form(folder / "form.xlsx", survey, choices)


def test_an_xlsform_media_audio_column_gives_the_clips_and_round_trips(tmp_path: Path) -> None:
    opus_clip(tmp_path / "work.ogg")
    opus_clip(tmp_path / "oui.ogg", 1)
    flow = read_xlsform(xlsform(tmp_path, "work.ogg"))
    assert flow.question("work").audio == {"en": str(tmp_path / "work.ogg")}
    assert flow.question("work").options[0].audio == {"fr": str(tmp_path / "oui.ogg")}
    (tmp_path / "out").mkdir()
    write_xlsform(flow, tmp_path / "out" / "again.xlsx")
    again = read_xlsform(tmp_path / "out" / "again.xlsx")
    assert again.question("work").audio == flow.question("work").audio
    assert again.question("work").options[0].audio == flow.question("work").options[0].audio


def test_an_xlsform_clip_in_a_refused_format_is_named_at_its_row_and_column(
    tmp_path: Path,
) -> None:
    wav_clip(tmp_path / "work.wav")
    opus_clip(tmp_path / "oui.ogg", 1)
    with pytest.raises(XLSFormError) as refused:
        read_xlsform(xlsform(tmp_path, "work.wav"))
    error = refused.value
    assert (error.sheet, error.row) == ("survey", 2)
    assert error.column is not None and "media::audio::English (en)" in error.column
    assert "work.wav: WAV audio" in str(error)


def test_images_are_still_refused_with_their_column(tmp_path: Path) -> None:
    survey = [{"type": "text", "name": "t", "label": "Name?", "media::image": "x.png"}]
    with pytest.raises(XLSFormError, match="'image' is not supported"):
        read_xlsform(write_form(tmp_path / "img.xlsx", survey))


def test_a_language_folder_adds_its_own_clips(tmp_path: Path) -> None:
    opus_clip(tmp_path / "work_en.ogg")
    flow = load_definition(flow_file(tmp_path, {"en": "work_en.ogg"}, None))
    folder = tmp_path / "ti" / "surveys"
    folder.mkdir(parents=True)
    labels = {label.key: f"ትግ {label.text}" for label in survey_labels(flow, "en")}
    opus_clip(folder / "work.ogg", 3)
    labels["questions/work/audio"] = "work.ogg"
    tigrinya = with_language(flow, "ti", labels, folder)
    assert tigrinya.question("work").audio == {
        "en": str(tmp_path / "work_en.ogg"),
        "ti": str(folder / "work.ogg"),
    }
    wav_clip(folder / "bad.wav")
    labels["questions/work/options/yes/audio"] = "bad.wav"
    with pytest.raises(BadClips, match=r"questions/work/options/yes/audio \(ti\): bad\.wav"):
        with_language(flow, "ti", labels, folder)
