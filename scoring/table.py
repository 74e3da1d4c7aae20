"""Loading and validating a weight table (``elements.csv`` + ``scales.csv``).

Weights and codes are read as exact :class:`~fractions.Fraction` values, so scores are
computed without rounding and do not depend on the order of the answers.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable
from fractions import Fraction
from functools import cache
from importlib import resources
from pathlib import Path

from scoring.model import (
    DIMENSIONS,
    MISSING_ANSWERS,
    SUM_TOLERANCE,
    Element,
    WeightTable,
    WeightTableError,
)

ELEMENT_COLUMNS = (
    "id",
    "dimension",
    "indicator",
    "scale",
    "dimensional_weight",
    "composite_weight",
)
SCALE_COLUMNS = ("scale", "option", "code")
NOT_APPLICABLE_CODE = "NA"


def _number(text: str) -> Fraction:
    value = Fraction(text.strip())  # raises ValueError for '', 'abc', 'nan', 'inf'
    return value


def _rows(text: str, name: str, columns: Iterable[str]) -> list[tuple[int, dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    missing = [c for c in columns if c not in header]
    if missing:
        raise WeightTableError(f"{name}: missing column(s) {', '.join(missing)}; found {header}")
    rows = []
    for row in reader:
        if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
            continue  # blank line
        rows.append((reader.line_num, {k: (v or "").strip() for k, v in row.items() if k}))
    return rows


def _parse_scales(text: str, name: str, errors: list[str]) -> dict[str, dict[str, Fraction | None]]:
    scales: dict[str, dict[str, Fraction | None]] = {}
    for line, row in _rows(text, name, SCALE_COLUMNS):
        where = f"{name} line {line}"
        scale, option, code_text = row["scale"], row["option"], row["code"]
        if not scale or not option:
            errors.append(f"{where}: empty scale or option name")
            continue
        if option in MISSING_ANSWERS:
            errors.append(
                f"{where}: option '{option}' is reserved (every question accepts it as missing)"
            )
            continue
        options = scales.setdefault(scale, {})
        if option in options:
            errors.append(f"{where}: option '{option}' appears twice in scale '{scale}'")
            continue
        if code_text.upper() == NOT_APPLICABLE_CODE:
            options[option] = None
            continue
        try:
            code = _number(code_text)
        except (ValueError, ZeroDivisionError):
            errors.append(f"{where}: code '{code_text}' of option '{option}' is not a number or NA")
            continue
        if not 0 <= code <= 1:
            errors.append(f"{where}: code {code_text} of option '{option}' is outside [0, 1]")
            continue
        options[option] = code
    return scales


def _parse_elements(
    text: str,
    name: str,
    scales: dict[str, dict[str, Fraction | None]],
    errors: list[str],
) -> dict[str, Element]:
    elements: dict[str, Element] = {}
    for line, row in _rows(text, name, ELEMENT_COLUMNS):
        where = f"{name} line {line}"
        element_id = row["id"]
        if not element_id:
            errors.append(f"{where}: empty element id")
            continue
        if element_id in elements:
            errors.append(f"{where}: element '{element_id}' appears twice")
            continue
        dimension = row["dimension"]
        if dimension not in DIMENSIONS:
            errors.append(
                f"{where}: element '{element_id}' has unknown dimension '{dimension}' "
                f"(expected one of {', '.join(DIMENSIONS)})"
            )
            continue
        if row["scale"] not in scales:
            errors.append(f"{where}: element '{element_id}' uses unknown scale '{row['scale']}'")
            continue
        weights: list[Fraction] = []
        for column in ("dimensional_weight", "composite_weight"):
            try:
                weight = _number(row[column])
            except (ValueError, ZeroDivisionError):
                errors.append(
                    f"{where}: {column} '{row[column]}' of '{element_id}' is not a number"
                )
                continue
            if not 0 <= weight <= 1:
                errors.append(
                    f"{where}: {column} {row[column]} of '{element_id}' is outside [0, 1]"
                )
                continue
            weights.append(weight)
        if len(weights) != 2:
            continue
        elements[element_id] = Element(
            id=element_id,
            dimension=dimension,
            indicator=row["indicator"],
            scale=row["scale"],
            dimensional_weight=weights[0],
            composite_weight=weights[1],
            weight_status=row.get("weight_status", ""),
        )
    return elements


def _check_sums(elements: dict[str, Element], name: str, errors: list[str]) -> None:
    for dimension in DIMENSIONS:
        members = [e for e in elements.values() if e.dimension == dimension]
        if not members:
            errors.append(f"{name}: dimension '{dimension}' has no element")
            continue
        total = sum((e.dimensional_weight for e in members), Fraction(0))
        if abs(total - 1) > SUM_TOLERANCE:
            errors.append(
                f"{name}: dimensional weights of '{dimension}' sum to {float(total)!r}, not 1"
            )
    total = sum((e.composite_weight for e in elements.values()), Fraction(0))
    if elements and abs(total - 1) > SUM_TOLERANCE:
        errors.append(f"{name}: composite weights sum to {float(total)!r}, not 1")


def _version(elements: dict[str, Element], scales: dict[str, dict[str, Fraction | None]]) -> str:
    """Content hash over everything that changes a score (not wordings or file layout)."""
    canonical = {
        "elements": sorted(
            [
                e.id,
                e.dimension,
                e.indicator,
                e.scale,
                str(e.dimensional_weight),
                str(e.composite_weight),
            ]
            for e in elements.values()
        ),
        "scales": {
            scale: [[option, None if code is None else str(code)] for option, code in opts.items()]
            for scale, opts in sorted(scales.items())
        },
    }
    digest = hashlib.sha256(json.dumps(canonical, sort_keys=True).encode("utf-8")).hexdigest()
    return f"sha256:{digest[:16]}"


def parse_weight_table(
    elements_csv: str,
    scales_csv: str,
    *,
    elements_name: str = "elements.csv",
    scales_name: str = "scales.csv",
    expected_elements: Iterable[str] | None = None,
    source: str = "built-in",
) -> WeightTable:
    """Parse and validate a weight table from CSV text.

    ``expected_elements``, when given, is the set of element ids the instrument asks:
    an element outside it is *unknown*, one of it absent from the table is *missing*.
    All problems found are reported together in one :class:`WeightTableError`.
    """
    errors: list[str] = []
    scales = _parse_scales(scales_csv, scales_name, errors)
    elements = _parse_elements(elements_csv, elements_name, scales, errors)
    if expected_elements is not None:
        expected = set(expected_elements)
        unknown = sorted(set(elements) - expected)
        missing = sorted(expected - set(elements))
        if unknown:
            errors.append(f"{elements_name}: unknown element(s): {', '.join(unknown)}")
        if missing:
            errors.append(f"{elements_name}: missing element(s): {', '.join(missing)}")
    if not errors:
        _check_sums(elements, elements_name, errors)
    if errors:
        raise WeightTableError("invalid weight table:\n  " + "\n  ".join(errors))
    return WeightTable(
        elements=elements, scales=scales, version=_version(elements, scales), source=source
    )


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise WeightTableError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise WeightTableError(f"{path} is not UTF-8 text: {exc}") from exc


def _builtin(name: str) -> str:
    return resources.files("scoring").joinpath("data", name).read_text(encoding="utf-8")


@cache
def default_weight_table() -> WeightTable:
    """The weight table shipped with the project (a copy of ``shared/rss``)."""
    return parse_weight_table(_builtin("elements.csv"), _builtin("scales.csv"))


def load_weight_table(
    elements_path: str | Path | None,
    scales_path: str | Path | None = None,
    *,
    expected_elements: Iterable[str] | None = None,
) -> WeightTable:
    """Load another weight table with the same columns from a path.

    Without ``elements_path`` (or ``scales_path``) the shipped file is used.
    """
    if elements_path is None:
        elements_text, elements_name = _builtin("elements.csv"), "elements.csv (built-in)"
    else:
        elements_text, elements_name = _read(Path(elements_path)), str(elements_path)
    if scales_path is None:
        scales_text, scales_name = _builtin("scales.csv"), "scales.csv (built-in)"
    else:
        scales_text, scales_name = _read(Path(scales_path)), str(scales_path)
    return parse_weight_table(
        elements_text,
        scales_text,
        elements_name=elements_name,
        scales_name=scales_name,
        expected_elements=expected_elements,
        source=elements_name,
    )
