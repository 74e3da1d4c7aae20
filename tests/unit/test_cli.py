"""The command-line contract: ``rssbot score`` and ``rssbot console``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from scoring import WeightTable

runner = CliRunner()


def write(tmp_path: Path, data: object, name: str = "answers.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


def test_score_prints_one_json_object_at_full_precision(tmp_path: Path, table: WeightTable) -> None:
    answers = {e: next(iter(table.scales[el.scale])) for e, el in table.elements.items()}
    answers["econ_satisfaction"] = "satisfied"
    answers["ctx_assistance_received"] = ["cash", "training"]  # type: ignore[assignment]
    answers["ctx_comment"] = "ignored by scoring"
    result = runner.invoke(app, ["score", str(write(tmp_path, answers))])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["economic"] == 1 - 0.15 * 0.25
    assert out["composite"] == 1 - 0.05 * 0.25
    assert out["social"] == 1.0 and out["psychosocial"] == 1.0
    assert out["weights_version"] == table.version
    assert out["elements"]["econ_satisfaction"]["dimensional_points"] == 0.1125
    assert out["elements"]["econ_satisfaction"]["composite_points"] == 0.0375


def test_score_missing_and_null(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["score", str(write(tmp_path, {"econ_satisfaction": "prefer_not_to_answer"}))]
    )
    assert result.exit_code == 0
    out = json.loads(result.stdout)
    assert [out[k] for k in ("economic", "social", "psychosocial", "composite")] == [None] * 4


def test_score_reads_stdin(table: WeightTable) -> None:
    result = runner.invoke(app, ["score", "-"], input='{"econ_savings": "yes"}')
    assert result.exit_code == 0 and json.loads(result.stdout)["weights_version"] == table.version


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"econ_happiness": "yes"}, "unknown element(s): econ_happiness"),
        ({"econ_savings": "maybe"}, "unknown option 'maybe' for element 'econ_savings'"),
        ({"econ_savings": 1}, "must be an option id"),
        ("{not json", "not valid JSON"),
        ("[1, 2]", "must hold a JSON object"),
    ],
)
def test_score_bad_input_exits_2_with_a_message(
    tmp_path: Path, content: object, message: str
) -> None:
    result = runner.invoke(app, ["score", str(write(tmp_path, content))])
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stdout == ""


def test_score_unreadable_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["score", str(tmp_path / "none.json")])
    assert result.exit_code == 2 and "cannot read" in result.stderr


def test_score_with_another_weight_table(tmp_path: Path, table: WeightTable) -> None:
    elements = (Path(__file__).parents[2] / "scoring" / "data" / "elements.csv").read_text()
    other = elements.replace("econ_satisfaction,satisfaction5,0.15,0.05", "X").replace(
        "economic_satisfaction,satisfaction5,0.15,0.05",
        "economic_satisfaction,satisfaction5,0.15,0.06",
    )
    bad = runner.invoke(
        app,
        ["score", str(write(tmp_path, {})), "--weights", str(write(tmp_path, other, "w.csv"))],
    )
    assert bad.exit_code == 2 and "composite weights sum to 1.01" in bad.stderr
    good_text = elements.replace(
        "economic_satisfaction,satisfaction5,0.15,0.05",
        "economic_satisfaction,satisfaction5,0.15,0.04",
    ).replace(
        "econ_borrow_ability,economic,debt_to_spending,yes_good,0.08,0.02",
        "econ_borrow_ability,economic,debt_to_spending,yes_good,0.08,0.03",
    )
    ok = runner.invoke(
        app,
        [
            "score",
            str(write(tmp_path, {"econ_satisfaction": "satisfied"})),
            "--weights",
            str(write(tmp_path, good_text, "w2.csv")),
        ],
    )
    assert ok.exit_code == 0, ok.stderr
    assert json.loads(ok.stdout)["weights_version"] != table.version


def test_console_rejects_unknown_language(initialised: Path) -> None:
    result = runner.invoke(app, ["console", "--language", "de"])
    assert result.exit_code == 2 and "unknown language 'de'" in result.stderr


@pytest.mark.parametrize("language", ["en", "fr", "ar"])
def test_console_completes_all_32_questions(initialised: Path, language: str) -> None:
    lines = ["y"] + ["1"] * 30 + ["1,3", ""]
    result = runner.invoke(app, ["console", "--language", language], input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    from bot.i18n import Translator

    _ = Translator(language)
    assert _("Question {number} of {total}", number=32, total=32) in result.stdout
    assert _("Thank you! You have answered all the questions.") in result.stdout
    assert _.score(1.0) in result.stdout


def test_console_stop_exits_1_without_scores(initialised: Path) -> None:
    result = runner.invoke(app, ["console"], input="y\n1\nq\n")
    assert result.exit_code == 1
    assert "Survey paused." in result.stdout


def test_flow_validate(tmp_path: Path) -> None:
    ok = runner.invoke(app, ["flow", "validate", str(Path(__file__).parent / "data" / "mini.yaml")])
    assert ok.exit_code == 0 and "valid" in ok.stdout
    broken = tmp_path / "broken.yaml"
    broken.write_text("spec_version: 1\nid: x\n")
    bad = runner.invoke(app, ["flow", "validate", str(broken)])
    assert bad.exit_code == 2 and "broken.yaml" in bad.stderr


def test_staff_commands_start_without_the_telegram_client() -> None:
    """Commands that do not talk to Telegram do not import aiogram (seconds of CPU)."""
    import subprocess
    import sys

    code = (
        "import sys; from typer.testing import CliRunner; from bot.cli import app; "
        "result = CliRunner().invoke(app, ['export', '--help']); "
        "assert result.exit_code == 0, result.output; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'aiogram'))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
