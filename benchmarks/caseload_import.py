"""Benchmark a caseload import at country-office scale, on PostgreSQL by default.

    .venv/bin/python -m benchmarks.caseload_import --rows 10000
    .venv/bin/python -m benchmarks.caseload_import --rows 10000 --sqlite

Writes a realistic caseload (tests/support/caseload.py) as XLSX, then times, in this run:
reading and checking the file (the baseline), the first import (every returnee enrolled,
with a data key, an invitation, a profile and assistance items each), and the same file
imported again (nothing changes). Prints each time and its ratio to the baseline. Uses a
database of its own, dropped afterwards. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import tempfile
import time
from datetime import date
from pathlib import Path

from bot.caseload_file import check_file
from bot.programme import load_programme
from storage.crypto import Keyring
from storage.db import make_engine, upgrade
from storage.store import Store
from tests.backends import PG_HOST, PG_PORT, PG_USER, _pg_admin
from tests.support.caseload import make_caseload


async def main(rows: int, sqlite: bool) -> None:
    today = date.today()
    programme = load_programme()
    with tempfile.TemporaryDirectory() as tmp:
        path = make_caseload(programme, rows, today=today).write(Path(tmp) / "caseload.xlsx")
        started = time.perf_counter()
        checked = check_file(path, programme, ["en", "fr", "ar"], today)
        baseline = time.perf_counter() - started
        assert checked.ok, checked.errors[:3]
        name = f"rssbot_bench_{secrets.token_hex(4)}"
        if sqlite:
            url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        else:
            await _pg_admin(f'CREATE DATABASE "{name}"')
            url = f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
        engine = make_engine(url)
        try:
            await upgrade(engine)
            store = Store(engine, Keyring.generate())
            await store.verify()
            started = time.perf_counter()
            first = await store.caseload.import_records(checked.records, actor="bench")
            importing = time.perf_counter() - started
            started = time.perf_counter()
            again = await store.caseload.import_records(checked.records, actor="bench")
            reimporting = time.perf_counter() - started
            await store.close()
        finally:
            await engine.dispose()
            if not sqlite:
                await _pg_admin(f'DROP DATABASE IF EXISTS "{name}"')
    backend = "SQLite" if sqlite else "PostgreSQL"
    print(f"caseload of {rows} rows, {len(checked.records)} returnees, on {backend}")
    print(f"  read and check the file (baseline)  {baseline:7.2f} s   x1.00")
    print(
        f"  first import ({len(first.created)} enrolled)       {importing:7.2f} s   "
        f"x{importing / baseline:.2f}"
    )
    print(
        f"  same file again ({again.unchanged} unchanged)   {reimporting:7.2f} s   "
        f"x{reimporting / baseline:.2f}"
    )
    print(f"  total, check + first import          {baseline + importing:7.2f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10000)
    parser.add_argument("--sqlite", action="store_true", help="the embedded default instead")
    args = parser.parse_args()
    asyncio.run(main(args.rows, args.sqlite))
