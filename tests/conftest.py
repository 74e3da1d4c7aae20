"""Shared fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from flows import FlowDefinition, builtin_definition, load_definition
from scoring import WeightTable, default_weight_table

pytest_plugins = ["tests.backends"]  # database back ends, keyring and store fixtures

TESTS = Path(__file__).parent
ROOT = TESTS.parent
#: the contract folder beside the repository (present in a developer's checkout and in CI)
SHARED_RSS = ROOT.parent / "shared" / "rss"


@pytest.fixture(scope="session")
def rss() -> FlowDefinition:
    return builtin_definition("rss")


@pytest.fixture(scope="session")
def mini() -> FlowDefinition:
    return load_definition(TESTS / "unit" / "data" / "mini.yaml")


@pytest.fixture(scope="session")
def table() -> WeightTable:
    return default_weight_table()


@pytest.fixture
def env_embedded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point the command line at a fresh data directory (the embedded default)."""
    for var in ("DATABASE_URL", "RSSBOT_MASTER_KEY", "RSSBOT_KEY_FILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("RSSBOT_DATA_DIR", str(tmp_path / "data"))
    yield tmp_path / "data"


@pytest.fixture
def initialised(env_embedded: Path) -> Path:
    """The embedded default after 'rssbot init'."""
    from typer.testing import CliRunner

    from bot.cli import app

    result = CliRunner().invoke(app, ["init"])
    assert result.exit_code == 0, result.output
    return env_embedded
