"""Benchmark staff reads at programme scale: exports, charts, the programme report and
re-scoring against the streaming floor.

    .venv/bin/python -m benchmarks.staff_reads --surveys 10000
    .venv/bin/python -m benchmarks.staff_reads --surveys 100000 --pg   # its own PG database

Seeds N completed surveys (three waves per returnee, random answers run through the survey
engine and scored, encrypted under one data key per returnee) in a database of its own,
with a profile (one special category sealed) and one or two items of assistance each,
then runs each staff command as staff would (``rssbot export ...`` in a child process) and
prints its wall time and peak memory beside the **floor**: one pass, in another child
process, that reads and decrypts every data key, answer and score once (for the
programme report, which reads no answer: every data key, score, sealed profile and
assistance item once). ``--no-analyze`` leaves PostgreSQL without statistics, as right
after a bulk load. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import random
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, select

from bot.survey_scores import score_survey
from flows import builtin_definition, resume, start
from flows.model import FreeText, MultiSelect
from flows.state import Choose, Done, Input, SessionState, Special, Text, Toggle
from scoring import default_weight_table
from storage.crypto import Keyring, decrypt_field, field_aad, new_data_key
from storage.db import make_engine, upgrade
from storage.models import (
    Answer,
    AssistanceItem,
    DataKey,
    Returnee,
    ReturneeProfile,
    Score,
    SurveyResponse,
)
from storage.store import Store, short_code
from storage.waves import WAVES

RSSBOT = [sys.executable, "-c", "from bot.cli import main; main()"]
PG = "postgresql+asyncpg://postgres@127.0.0.1:5432"
#: distinct answer sets the seeded surveys cycle through
TEMPLATES = 300


def random_survey(rng: random.Random) -> SessionState:
    """A completed survey with random answers (about 1 in 20 'prefer not to answer')."""
    definition = builtin_definition()
    step = start(definition, rng.choice(["en", "fr", "ar"]))
    while not step.state.completed:
        question = definition.question(step.state.current or "")
        inputs: list[Input]
        if isinstance(question, FreeText):
            inputs = [Text(text=f"comment {rng.randrange(10**6)}")]
        elif isinstance(question, MultiSelect):
            picked = rng.sample(question.options, k=rng.randint(1, 3))
            inputs = [*(Toggle(option=o.id) for o in picked), Done()]
        elif rng.random() < 0.05:
            inputs = [Special(value="prefer_not_to_answer")]
        else:
            inputs = [Choose(option=rng.choice(question.options).id)]
        for inp in inputs:
            step = resume(definition, step.state, inp)
    return step.state


ASSISTANCE = ("cash", "micro_business_grant", "counselling", "housing", "vocational_training")


async def seed(
    url: str, keyring: Keyring, surveys: int, seed_value: int = 7, *, analyze: bool = True
) -> None:
    rng = random.Random(seed_value)
    definition, table = builtin_definition(), default_weight_table()
    templates = []
    for _ in range(TEMPLATES):
        state = random_survey(rng)
        templates.append((state, json.dumps(score_survey(definition, table, state).as_dict())))
    engine = make_engine(url)
    await upgrade(engine)
    store = Store(engine, keyring)
    await store.verify()
    now = datetime.now(UTC)
    countries = ["GN", "SN", "ML", "NG", "AF", "IQ"]
    returnees = -(-surveys // len(WAVES))
    made = 0
    batch = 500
    t0 = time.monotonic()
    for first in range(0, returnees, batch):
        keys, people, responses, answers, scores = [], [], [], [], []
        profiles, items = [], []
        for i in range(first, min(first + batch, returnees)):
            rid = str(uuid.uuid4())
            dek = new_data_key()
            owner = f"returnee:{rid}"
            kek_id, wrapped = keyring.wrap(dek, owner)
            keys.append({"owner": owner, "kek_id": kek_id, "wrapped": wrapped, "created_at": now})
            case_ref = f"BENCH-{i}"
            people.append(
                {
                    "id": rid,
                    "public_id": short_code("R-"),
                    "case_ref_enc": store.enc(dek, "returnees", rid, "case_ref", case_ref),
                    "case_ref_index": store.case_ref_index(case_ref),
                    "country": countries[i % len(countries)],
                    "return_date": date(2025, 1, 1) + timedelta(days=i % 300),
                    "language": "fr",
                    "status": "active",
                    "consent_version": "bench",
                    "created_at": now,
                    "updated_at": now,
                }
            )
            sealed = json.dumps({"vulnerabilities": ["disability"] if i % 9 == 0 else []})
            profiles.append(
                {
                    "returnee_id": rid,
                    "attributes": json.dumps(
                        {
                            "sex": ("female", "male")[i % 2],
                            "age_band": ("18-24", "25-34")[i % 3 % 2],
                        }
                    ),
                    "sealed_enc": store.enc(dek, "returnee_profiles", rid, "sealed", sealed),
                    "contact_whatsapp": False,
                    "updated_at": now,
                }
            )
            for n in range(1 + i % 2):
                item_id = str(uuid.uuid4())
                kind = ASSISTANCE[(i + n) % len(ASSISTANCE)]
                details = json.dumps({"type": kind, "value": None, "currency": None})
                items.append(
                    {
                        "id": item_id,
                        "returnee_id": rid,
                        "item_key": uuid.uuid4().hex,
                        "details_enc": store.enc(
                            dek, "assistance_items", item_id, "details", details
                        ),
                        "level": "individual",
                        "status": "delivered",
                        "start_date": date(2024, 12, 1),
                        "end_date": None,
                        "source": "import",
                        "digest": None,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
            for wave in WAVES:
                if made >= surveys:
                    break
                made += 1
                state, values = templates[rng.randrange(TEMPLATES)]
                response_id = str(uuid.uuid4())
                responses.append(
                    {
                        "id": response_id,
                        "returnee_id": rid,
                        "wave": wave,
                        "flow_id": state.flow_id,
                        "flow_version": state.flow_version,
                        "language": state.language,
                        "status": "completed",
                        "seq": 40,
                        "started_at": now,
                        "updated_at": now,
                        "completed_at": now,
                    }
                )
                for question_id, value in state.answers.items():
                    answer_id = str(uuid.uuid4())
                    answers.append(
                        {
                            "id": answer_id,
                            "response_id": response_id,
                            "question_id": question_id,
                            "value_enc": store.enc(
                                dek, "answers", answer_id, "value", value.model_dump_json()
                            ),
                            "answered_at": now,
                        }
                    )
                score_id = str(uuid.uuid4())
                scores.append(
                    {
                        "id": score_id,
                        "response_id": response_id,
                        "weights_version": table.version,
                        "values_enc": store.enc(dek, "scores", score_id, "values", values),
                        "computed_at": now,
                    }
                )
        async with store.sessions.begin() as session:
            for model, rows in (
                (DataKey, keys),
                (Returnee, people),
                (ReturneeProfile, profiles),
                (AssistanceItem, items),
                (SurveyResponse, responses),
                (Answer, answers),
                (Score, scores),
            ):
                for chunk in _chunks(rows, 2000):
                    await session.execute(insert(model), chunk)
    if analyze and engine.dialect.name == "postgresql":  # statistics, as autovacuum gathers
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.exec_driver_sql("ANALYZE")
    await store.close()
    print(f"seeded {made} completed surveys in {time.monotonic() - t0:.0f} s", flush=True)


def _chunks(rows: list[dict[str, object]], size: int) -> Iterator[list[dict[str, object]]]:
    for i in range(0, len(rows), size):
        yield rows[i : i + size]


async def floor(url: str, keyring: Keyring, *, answers: bool = True) -> int:
    """One pass: every data key unwrapped, every answer and score decrypted, once (without
    ``answers``: every score, sealed profile and assistance item instead of the answers)."""
    engine = make_engine(url)
    deks: dict[str, bytes] = {}
    count = 0
    async with engine.connect() as connection:
        rows = await connection.stream(
            select(DataKey.owner, DataKey.kek_id, DataKey.wrapped).execution_options(yield_per=5000)
        )
        async for owner, kek_id, wrapped in rows:
            deks[owner.removeprefix("returnee:")] = keyring.unwrap(kek_id, wrapped, owner)
        for model, column, table in (
            (Answer, Answer.value_enc, "answers"),
            (Score, Score.values_enc, "scores"),
        ):
            if model is Answer and not answers:
                continue
            query = (
                select(model.id, SurveyResponse.returnee_id, column)
                .join(SurveyResponse, SurveyResponse.id == model.response_id)
                .execution_options(yield_per=5000)
            )
            column_name = "value" if table == "answers" else "values"
            async for row_id, returnee_id, blob in await connection.stream(query):
                decrypt_field(deks[returnee_id], blob, field_aad(table, row_id, column_name))
                count += 1
        if not answers:
            profiles = select(ReturneeProfile.returnee_id, ReturneeProfile.sealed_enc)
            async for rid, blob in await connection.stream(
                profiles.execution_options(yield_per=5000)
            ):
                decrypt_field(deks[rid], blob, field_aad("returnee_profiles", rid, "sealed"))
            items = select(
                AssistanceItem.id, AssistanceItem.returnee_id, AssistanceItem.details_enc
            )
            async for item_id, rid, blob in await connection.stream(
                items.execution_options(yield_per=5000)
            ):
                decrypt_field(deks[rid], blob, field_aad("assistance_items", item_id, "details"))
    await engine.dispose()
    return count


def measure(label: str, argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak resident MiB of one child process."""
    started = time.monotonic()
    child = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.monotonic() - started
    out = (child.stdout.read() if child.stdout else b"").decode()
    err = (child.stderr.read() if child.stderr else b"").decode()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{label} failed:\n{out}\n{err}")
    return elapsed, usage.ru_maxrss / 1024


COMMANDS: dict[str, list[str]] = {
    "export csv": ["export", "--format", "csv"],
    "export xlsx": ["export", "--format", "xlsx"],
    "chart cohort": ["chart", "cohort", "--wave", "initial"],
    "report": ["report", "--output", "{folder}/report"],
    "rescore": ["rescore", "--weights", "{weights}"],
}


def _psql(sql: str) -> None:
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", sql], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--surveys", type=int, default=5000)
    parser.add_argument("--pg", action="store_true", help="a PostgreSQL database of its own")
    parser.add_argument("--only", nargs="*", choices=list(COMMANDS), help="commands to run")
    parser.add_argument("--keep", type=Path, help="copy the files the commands wrote here")
    parser.add_argument(
        "--no-analyze", action="store_true", help="no statistics, as right after a bulk load"
    )
    parser.add_argument("--floor-only", choices=["all", "scores"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.floor_only:
        keyring = Keyring.from_json(os.environ["RSSBOT_MASTER_KEY"], "bench")
        everything = args.floor_only == "all"
        print(asyncio.run(floor(os.environ["DATABASE_URL"], keyring, answers=everything)))
        return
    folder = Path(tempfile.mkdtemp(prefix="rssbot-reads-"))
    database = f"rssbot_bench_{secrets.token_hex(4)}"
    url = f"{PG}/{database}" if args.pg else f"sqlite+aiosqlite:///{folder / 'bench.db'}"
    if args.pg:
        _psql(f'CREATE DATABASE "{database}"')
    keyring = Keyring.generate()
    try:
        asyncio.run(seed(url, keyring, args.surveys, analyze=not args.no_analyze))
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "RSSBOT_MASTER_KEY": keyring.to_json(),
            "RSSBOT_DATA_DIR": str(folder),
        }
        weights = folder / "elements.csv"
        source = Path(__file__).parents[1] / "scoring" / "data" / "elements.csv"
        rows = list(csv.reader(source.read_text(encoding="utf-8").splitlines()))
        for column in (4, 5):  # another table: two economic weights swapped
            rows[1][column], rows[2][column] = rows[2][column], rows[1][column]
        with weights.open("w", encoding="utf-8", newline="") as out:
            csv.writer(out).writerows(rows)
        floors: dict[str, tuple[float, float]] = {}
        backend = "PostgreSQL" if args.pg else "SQLite"
        statistics = ", no statistics" if args.no_analyze and args.pg else ""
        print(f"{args.surveys} completed surveys ({backend}{statistics})")
        for kind, label in (
            ("all", "floor (read + decrypt once)"),
            ("scores", "floor without answers"),
        ):
            if kind == "scores" and "report" not in (args.only or COMMANDS):
                continue
            floor_argv = [sys.executable, "-m", "benchmarks.staff_reads", "--floor-only", kind]
            floors[kind] = measure("floor", floor_argv, env)
            print(f"{label:<28} {floors[kind][0]:7.1f} s {floors[kind][1]:7.0f} MiB   1.0x")
        for name in args.only or COMMANDS:
            floor_s = floors["scores" if name == "report" else "all"][0]
            argv = [
                a.replace("{weights}", str(weights)).replace("{folder}", str(folder))
                for a in COMMANDS[name]
            ]
            if name.startswith(("export", "chart")):
                suffix = "png" if name.startswith("chart") else name.split()[1]
                argv += ["--output", str(folder / f"out.{suffix}")]
            if args.keep and name.startswith(("export", "chart")):
                args.keep.mkdir(parents=True, exist_ok=True)
                kept = {"chart cohort": "cohort-chart.png"}.get(name, f"export.{suffix}")
                argv[-1] = str(args.keep / kept)
            seconds, mib = measure(name, [*RSSBOT, *argv], env)
            print(
                f"{'rssbot ' + name:<28} {seconds:7.1f} s {mib:7.0f} MiB {seconds / floor_s:5.1f}x"
            )
    finally:
        if args.pg:
            _psql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


if __name__ == "__main__":
    main()
