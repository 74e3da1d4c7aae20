"""Benchmark what audio prompts cost: loading a flow whose every question carries a clip
(each inspected by its content), and finding a question's clips as it is asked.

    .venv/bin/python -m benchmarks.audio_prompts

In this run: the RSS loaded as written (the baseline), the same RSS with a clip (OGG
Opus) on each of its 32 questions and one on each choice of the first ten, loaded cold
(every clip read and checked) and warm (clips unchanged: their inspection is reused);
then, per question asked, the clips of the question (the baseline: building the
question's text) and with audio off. Prints each figure and its ratio to its baseline.
Not part of the test suite.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from bot.core.audio import Prompts
from bot.i18n import Translator
from bot.texts import question_text
from flows import audio, builtin_definition
from flows.engine import start
from flows.loader import dump_definition, load_definition
from flows.model import options_of
from flows.state import QuestionAsked
from storage.returnees import ReturneeInfo
from tests.support.audio import opus_clip


def timed(work: Callable[[], object], runs: int) -> float:
    """The median seconds of ``runs`` runs of ``work``."""
    times = []
    for _run in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def with_clips(folder: Path) -> tuple[Path, Path]:
    plain = folder / "rss.yaml"
    plain.write_text(dump_definition(builtin_definition()))
    data = yaml.safe_load(plain.read_text())
    for i, q in enumerate(data["questions"]):
        q["audio"] = {
            lang: str(opus_clip(folder / f"q{i}_{lang}.ogg", 3, marker=f"{i}{lang}".encode()))
            for lang in data["languages"]
        }
        if i < 10:
            for option in q.get("options") or []:
                clip = opus_clip(
                    folder / f"o{i}_{option['id']}.ogg", 1, marker=option["id"].encode()
                )
                option["audio"] = {"en": str(clip)}
    voiced = folder / "rss-voiced.yaml"
    voiced.write_text(yaml.safe_dump(data, allow_unicode=True))
    return plain, voiced


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        plain, voiced = with_clips(Path(tmp))
        base = timed(lambda: load_definition(plain), 20)
        audio._inspected.cache_clear()
        cold_started = time.perf_counter()
        flow = load_definition(voiced)
        cold = time.perf_counter() - cold_started
        warm = timed(lambda: load_definition(voiced), 20)
        clips = sum(1 for q in flow.questions if q.audio for _ in q.audio)
        clips += sum(1 for q in flow.questions for o in options_of(q) if o.audio)
        print(f"flow load, RSS as written (baseline):   {base * 1000:8.2f} ms")
        print(f"flow load, {clips} clips, cold:          {cold * 1000:8.2f} ms  x{cold / base:.2f}")
        print(f"flow load, {clips} clips, warm:          {warm * 1000:8.2f} ms  x{warm / base:.2f}")

        _ = Translator("en")
        step = start(flow, "en")
        question = flow.question(flow.questions[0].id)
        event = next(e for e in step.events if isinstance(e, QuestionAsked))
        on = ReturneeInfo("r", "R-1", "active", "en", "GN", None, "v1", True, audio=True)
        off = ReturneeInfo("r", "R-1", "active", "en", "GN", None, "v1", True, audio=False)
        text = timed(
            lambda: question_text(
                flow, question, event, "en", _, bold=str.upper, italic=str.lower, escape=str
            ),
            2000,
        )
        clips_on = timed(lambda: Prompts.of(question, "en", on), 2000)
        clips_off = timed(lambda: Prompts.of(question, "en", off), 2000)
        print(f"per question, its text (baseline):       {text * 1e6:8.1f} µs")
        print(f"per question, its clips (audio on):      {clips_on * 1e6:8.1f} µs", end="")
        print(f"  x{clips_on / text:.2f}")
        print(f"per question, audio off:                 {clips_off * 1e6:8.1f} µs", end="")
        print(f"  x{clips_off / text:.2f}")


if __name__ == "__main__":
    main()
