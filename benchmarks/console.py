"""Benchmark the staff console's due list at programme scale: N returnees due today,
the page served over HTTP to a signed-in caseworker (who sees case references).

    .venv/bin/python -m benchmarks.console --returnees 10000

Prints the page's time against a baseline measured in the same run: the same list with
every case reference decrypted and audited (what a page would cost if it did not limit
that to the rows it shows); and the page for caseworkers with a scope (one country: all
of them; one office: half of them), whose condition is part of the query. Runs on a fresh
SQLite file in a temporary folder (or BENCH_DATABASE_URL, a database you can throw away).
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, insert, select

from bot.web.app import SERVER_OPTIONS, Console, build_console_app
from scoring import default_weight_table
from storage import console_auth, outbox
from storage.crypto import Keyring
from storage.db import make_engine, upgrade
from storage.models import AuditEntry, Returnee, ReturneeProfile
from storage.scopes import Scope
from storage.store import Store
from storage.waves import WaveWindows


async def _enrol(store: Store, n: int, today: date) -> None:
    """n returnees due today for the initial wave, consented."""
    for i in range(n):
        r = await store.enroll(
            case_ref=f"BENCH-{i}",
            return_date=today - timedelta(days=10),
            country="GN",
            language="fr",
        )
        await store.give_consent(r.id, version="bench", language="fr")


async def _audit_rows(store: Store) -> int:
    async with store.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(AuditEntry)) or 0)


async def main(returnees: int, repeat: int, url: str | None) -> None:
    folder = Path(tempfile.mkdtemp(prefix="rssbot-bench-"))
    url = url or f"sqlite+aiosqlite:///{folder / 'bench.db'}"
    engine = make_engine(url)
    await upgrade(engine)
    store = Store(engine, Keyring.generate())
    await store.verify()
    today = date.today()
    t0 = time.monotonic()
    await _enrol(store, returnees, today)
    async with store.sessions() as session:
        count = await session.scalar(select(func.count()).select_from(Returnee))
    print(f"enrolled {count} returnees due today in {time.monotonic() - t0:.1f} s")

    async with store.sessions.begin() as session:  # half of them followed by one office
        ids = list(await session.scalars(select(Returnee.id).order_by(Returnee.created_at)))
        await session.execute(
            insert(ReturneeProfile),
            [
                {
                    "returnee_id": rid,
                    "office": "Conakry" if i % 2 else "Kankan",
                    "contact_whatsapp": False,
                    "updated_at": store.clock(),
                }
                for i, rid in enumerate(ids)
            ],
        )
    server = TestServer(build_console_app(Console(store, default_weight_table(), base="")))
    await server.start_server(**SERVER_OPTIONS)
    clients: dict[str, TestClient] = {}  # type: ignore[type-arg]
    for n, (name, scope) in enumerate(
        (
            ("due page", None),
            ("due page, one country", "GN"),
            ("due page, one office", "offices:Conakry"),
        )
    ):
        staff_id = await store.add_staff(
            n + 1, "caseworker", name=name, scope=Scope.parse(scope) if scope else None
        )
        client = TestClient(server)  # type: ignore[var-annotated]
        await client.start_server()
        token = await console_auth.issue_link(store, staff_id)
        await client.post("/login", data={"token": token})
        clients[name] = client

    async def baseline() -> None:
        await outbox.due_returnees(
            store,
            wave="initial",
            country=None,
            windows=WaveWindows(),
            today=today,
            include_case_ref=True,
            actor="bench",
        )

    def page(client: TestClient) -> Callable[[], Awaitable[None]]:  # type: ignore[type-arg]
        async def work() -> None:
            response = await client.get("/due?wave=initial")
            assert response.status == 200
            await response.read()

        return work

    works: dict[str, Callable[[], Awaitable[None]]] = {"all case refs (baseline)": baseline}
    works |= {name: page(client) for name, client in clients.items()}
    timings: dict[str, list[float]] = {name: [] for name in works}
    audit: dict[str, int] = {}
    for _ in range(repeat):
        for name, work in works.items():
            before = await _audit_rows(store)
            start = time.perf_counter()
            await work()
            timings[name].append(time.perf_counter() - start)
            audit[name] = await _audit_rows(store) - before
    base = statistics.median(timings["all case refs (baseline)"])
    for name, values in timings.items():
        median = statistics.median(values)
        print(
            f"{name:>26}: median {median * 1000:7.0f} ms (x{median / base:.2f}), "
            f"{audit[name]} audit rows per view"
        )
    for client in clients.values():
        await client.close()
    await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--returnees", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.returnees, args.repeat, os.environ.get("BENCH_DATABASE_URL")))
