"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows import FlowDefinition, builtin_definition, load_definition
from scoring import WeightTable, default_weight_table

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
