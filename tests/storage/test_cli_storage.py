"""The storage side of the command line: init, db upgrade, keys, the persistent console."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from storage.crypto import Keyring
from storage.db import head_revision
from tests.backends import Backend

runner = CliRunner()


def test_without_keys_the_console_refuses_and_stores_nothing(env_embedded: Path) -> None:
    result = runner.invoke(app, ["console"], input="y\n1\n")
    assert result.exit_code == 2
    assert "no encryption key" in result.stderr and "rssbot keys generate" in result.stderr
    assert not (env_embedded / "rssbot.db").exists() or not any(
        b"satisfied" in p.read_bytes() for p in env_embedded.glob("rssbot.db*")
    )


def test_wrong_key_file_is_refused(initialised: Path) -> None:
    first = runner.invoke(app, ["console"], input="y\n1\nq\n")
    assert first.exit_code == 1
    (initialised / "keys.json").unlink()
    Keyring.generate().write_file(initialised / "keys.json")
    result = runner.invoke(app, ["console"], input="y\n1\n")
    assert result.exit_code == 2 and "does not match this database" in result.stderr


def test_the_console_survey_resumes_where_it_stopped(initialised: Path) -> None:
    first = runner.invoke(app, ["console", "-l", "fr"], input="y\n1\n2\nq\n")
    assert first.exit_code == 1, first.output
    assert "Questionnaire en pause" in first.stdout
    second = runner.invoke(app, ["console", "-l", "fr"], input="q\n")
    assert "Question 3 sur 32" in second.stdout
    assert "Question 1 sur 32" not in second.stdout
    assert "Avant de commencer" not in second.stdout  # consent is asked once
    # the language can change between sessions without losing anything
    third = runner.invoke(app, ["console", "-l", "ar"], input="q\n")
    assert "السؤال 3 من 32" in third.stdout
    shown = json.loads(runner.invoke(app, ["console", "--show-data"]).stdout)
    assert shown["language"] == "ar"  # the current language, not the first one


def test_declining_consent_stores_no_answer(initialised: Path) -> None:
    result = runner.invoke(app, ["console"], input="n\n")
    assert result.exit_code == 1
    assert "Nothing of your answers is kept" in result.stdout
    shown = runner.invoke(app, ["console", "--show-data"])
    data = json.loads(shown.stdout)
    assert data["status"] == "declined" and data["surveys"] == [] and data["case_ref"] is None


def test_show_data_and_erase(initialised: Path) -> None:
    runner.invoke(app, ["console"], input="y\n2\nq\n")
    shown = runner.invoke(app, ["console", "--show-data"])
    data = json.loads(shown.stdout)
    assert data["surveys"][0]["answers"]["econ_satisfaction"]["option"] == "satisfied"
    erased = runner.invoke(app, ["console", "--erase", "--yes"])
    assert erased.exit_code == 0 and "erased" in erased.stdout
    assert "Nothing is kept about you." in runner.invoke(app, ["console", "--show-data"]).stdout


def test_completed_console_survey_stores_scores(initialised: Path) -> None:
    lines = ["y"] + ["1"] * 30 + ["1", "Merci"]
    done = runner.invoke(app, ["console"], input="\n".join(lines) + "\n")
    assert done.exit_code == 0, done.output
    again = runner.invoke(app, ["console"])
    assert "already complete" in again.stdout and "1.00" in again.stdout
    assert "24 of the 30 weights are provisional" in again.stdout
    shown = json.loads(runner.invoke(app, ["console", "--show-data"]).stdout)
    assert shown["surveys"][0]["scores"][0]["composite"] == 1.0


def test_db_upgrade_on_a_new_sqlite_file_is_idempotent(env_embedded: Path) -> None:
    for _ in range(2):
        result = runner.invoke(app, ["db", "upgrade"])
        assert result.exit_code == 0, result.output
        assert f"schema at revision {head_revision()}" in result.stdout
    assert (env_embedded / "rssbot.db").exists()


async def test_db_upgrade_on_each_backend(
    backend: Backend, env_embedded: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    monkeypatch.setenv("DATABASE_URL", backend.url)
    result = await asyncio.to_thread(runner.invoke, app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert f"schema at revision {head_revision()}" in result.stdout


def test_db_upgrade_reports_an_unreachable_database(
    env_embedded: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://nobody:s3cret@127.0.0.1:1/none")
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 2 and "cannot upgrade" in result.stderr
    assert "s3cret" not in result.stderr  # the password is never printed


def test_keys_generate_refuses_to_overwrite(env_embedded: Path) -> None:
    assert runner.invoke(app, ["keys", "generate"]).exit_code == 0
    again = runner.invoke(app, ["keys", "generate"])
    assert again.exit_code == 2 and "refusing to overwrite" in again.stderr
    printed = runner.invoke(app, ["keys", "generate", "--stdout"])
    assert Keyring.from_json(printed.stdout, "stdout").active.startswith("kek-")


def test_master_key_from_the_environment(
    env_embedded: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RSSBOT_MASTER_KEY", Keyring.generate().to_json())
    assert runner.invoke(app, ["init"]).exit_code == 0
    assert not (env_embedded / "keys.json").exists()
    result = runner.invoke(app, ["console"], input="y\n1\nq\n")
    assert result.exit_code == 1 and "Question 2 of 32" in result.stdout
    rotate = runner.invoke(app, ["keys", "rotate"])
    assert rotate.exit_code == 2 and "key file" in rotate.stderr


def test_keys_rotate_from_the_command_line(initialised: Path) -> None:
    runner.invoke(app, ["console"], input="y\n1\n1\nq\n")
    before = Keyring.read_file(initialised / "keys.json")
    rotated = runner.invoke(app, ["keys", "rotate", "--batch-size", "1"])
    assert rotated.exit_code == 0, rotated.output
    after = Keyring.read_file(initialised / "keys.json")
    assert after.active != before.active and list(after.keks) == [after.active]
    assert after.pepper == before.pepper  # pseudonyms stay valid
    assert oct((initialised / "keys.json").stat().st_mode & 0o777) == "0o600"
    status = runner.invoke(app, ["keys", "status"])
    assert f"{after.active}: 1 data keys" in status.stdout
    assert after.to_json() not in status.stdout
    resumed = runner.invoke(app, ["console"], input="q\n")
    assert "Question 3 of 32" in resumed.stdout  # everything still opens
    assert os.environ.get("RSSBOT_MASTER_KEY") is None


def test_an_interrupted_rotation_resumes(initialised: Path) -> None:
    runner.invoke(app, ["console"], input="y\n1\nq\n")
    ring = Keyring.read_file(initialised / "keys.json")
    # as if 'keys rotate' had saved its new key and then been killed
    fresh = Keyring.generate()
    ring.keks[fresh.active] = fresh.keks[fresh.active]
    ring.active = fresh.active
    ring.write_file(initialised / "keys.json", overwrite=True)
    result = runner.invoke(app, ["keys", "rotate"])
    assert result.exit_code == 0, result.output
    assert "Resuming: 1 data keys still under old keys." in result.stdout
    assert list(Keyring.read_file(initialised / "keys.json").keks) == [fresh.active]
    assert "Question 2 of 32" in runner.invoke(app, ["console"], input="q\n").stdout
