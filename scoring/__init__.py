"""Pure scoring of the Reintegration Sustainability Survey.

The weight table is data (``scoring/data/elements.csv`` and ``scales.csv``), validated on
load and versioned by a content hash. :func:`score` turns coded answers into the three
dimensional scores and the composite score exactly as ``SCORING.md`` defines them.
Nothing here does I/O beyond reading the table files it is asked to read.
"""

from scoring.model import (
    DIMENSIONS,
    MISSING_ANSWERS,
    DimensionScore,
    Element,
    ElementContribution,
    IndicatorContribution,
    ScoreResult,
    ScoringError,
    WeightTable,
    WeightTableError,
)
from scoring.score import score
from scoring.table import default_weight_table, load_weight_table, parse_weight_table

__all__ = [
    "DIMENSIONS",
    "MISSING_ANSWERS",
    "DimensionScore",
    "Element",
    "ElementContribution",
    "IndicatorContribution",
    "ScoreResult",
    "ScoringError",
    "WeightTable",
    "WeightTableError",
    "default_weight_table",
    "load_weight_table",
    "parse_weight_table",
    "score",
]
