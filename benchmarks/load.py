"""Load benchmark: N simulated returnees answer the whole survey through webhook workers
on PostgreSQL and Redis, over real HTTP, against the fake Bot API (or, with --channel
whatsapp, signed deliveries to the WhatsApp webhook and the fake Cloud API); then the same
number of updates through a bare echo bot on the same harness (aiogram's, or a bare
signed-webhook one for WhatsApp), as a baseline.

    .venv/bin/python -m benchmarks.load                     # 1,000 returnees, 2 workers
    .venv/bin/python -m benchmarks.load --returnees 200 --workers 1 --concurrency 20
    .venv/bin/python -m benchmarks.load --returnees 100 --workers 1 --concurrency 4 --api-delay 50
    .venv/bin/python -m benchmarks.load --channel whatsapp --returnees 300

Needs PostgreSQL (BENCH_PG, default postgresql://postgres@127.0.0.1:5432) and Redis
(BENCH_REDIS, default redis://127.0.0.1:6379/0); it creates and drops its own database and
Redis key prefix. Prints updates per second, p50/p95/p99 latency per update, the ratio to
the echo bot, and the memory of each worker. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from redis.asyncio import Redis

from storage.crypto import Keyring
from storage.db import make_engine, upgrade
from storage.store import Store
from tests.e2e.fake_telegram import TOKEN, FakeTelegram
from tests.support import fake_whatsapp
from tests.support.fake_whatsapp import FakeWhatsApp, Person, bsuid_for, continued

SECRET = "bench-webhook-secret-0123456789"
#: the body of a list that continues the one before, in every language
CONTINUED = continued()
RSSBOT = str(Path(sys.executable).parent / "rssbot")


@dataclass
class Run:
    latencies: list[float] = field(default_factory=list)
    started: float = 0.0
    finished: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.latencies) / (self.finished - self.started)

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def wait_healthy(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            try:
                async with http.get(url) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{url} did not become healthy")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time consumed so far by these processes (Linux /proc)."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / os.sysconf("SC_CLK_TCK")


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class Driver:
    """Plays Telegram: builds updates, POSTs them to the workers, reads the bot's replies."""

    def __init__(self, server: FakeTelegram, urls: list[str]) -> None:
        self.server, self.urls = server, urls
        self.update_id = 0
        self.run = Run()
        self._next = 0

    def _url(self) -> str:
        self._next += 1
        return self.urls[self._next % len(self.urls)]

    async def post(self, http: aiohttp.ClientSession, update: dict[str, Any]) -> None:
        self.update_id += 1
        body = {"update_id": self.update_id, **update}
        for _ in range(20):
            started = time.perf_counter()
            async with http.post(
                self._url(), json=body, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
            ) as response:
                await response.read()
                if response.status == 200:
                    self.run.latencies.append(time.perf_counter() - started)
                    return
            await asyncio.sleep(0.05)
        raise RuntimeError(f"update {self.update_id} refused")

    def message(self, user_id: int, text: str) -> dict[str, Any]:
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            content["entities"] = [
                {"type": "bot_command", "offset": 0, "length": len(text.split()[0])}
            ]
        return {
            "message": {
                "message_id": 1,
                "date": int(time.time()),
                "chat": {"id": user_id, "type": "private"},
                "from": {"id": user_id, "is_bot": False, "first_name": "B", "language_code": "en"},
                **content,
            }
        }

    def press(self, user_id: int, index: int) -> dict[str, Any]:
        message = next(m for m in reversed(self.server.messages[user_id]) if m.buttons())
        return {
            "callback_query": {
                "id": f"{user_id}:{self.update_id}",
                "from": {"id": user_id, "is_bot": False, "first_name": "B"},
                "chat_instance": str(user_id),
                "data": message.buttons()[index]["callback_data"],
                "message": self.server._message_json(message),
            }
        }

    async def survey(self, http: aiohttp.ClientSession, user_id: int) -> None:
        await self.post(http, self.message(user_id, "/start"))
        for _ in range(30):
            await self.post(http, self.press(user_id, 1))
        await self.post(http, self.press(user_id, 0))  # multi-select: cash
        await self.post(http, self.press(user_id, 9))  # Done
        await self.post(http, self.message(user_id, "Thank you for asking."))

    async def echo(self, http: aiohttp.ClientSession, user_id: int, updates: int) -> None:
        await self.post(http, self.message(user_id, "hello"))
        for i in range(updates - 1):
            if i % 2:
                await self.post(http, self.message(user_id, "hello again"))
            else:
                self.server.messages.setdefault(user_id, [])
                await self.post(
                    http,
                    {
                        "callback_query": {
                            "id": f"{user_id}:{i}",
                            "from": {"id": user_id, "is_bot": False, "first_name": "B"},
                            "chat_instance": str(user_id),
                            "data": "x",
                            "message": {
                                "message_id": 1,
                                "date": int(time.time()),
                                "chat": {"id": user_id, "type": "private"},
                                "text": "q",
                            },
                        }
                    },
                )


class WaDriver:
    """Plays WhatsApp: signed deliveries to the workers, replies read from the fake Cloud
    API (a question's choices may come as two lists)."""

    def __init__(self, server: FakeWhatsApp, urls: list[str]) -> None:
        self.server, self.urls = server, urls
        self.run = Run()
        self._next = 0
        self._ids = 0

    async def post(self, http: aiohttp.ClientSession, wa_id: str, message: dict[str, Any]) -> None:
        self._ids += 1
        message = {"from": wa_id, "id": f"wamid.bench.{self._ids}", "timestamp": "0", **message}
        body, signature = self.server.signed_delivery(wa_id, message)
        for _ in range(20):
            self._next += 1
            started = time.perf_counter()
            async with http.post(
                self.urls[self._next % len(self.urls)],
                data=body,
                headers={"Content-Type": "application/json", "X-Hub-Signature-256": signature},
            ) as response:
                await response.read()
                if response.status == 200:
                    self.run.latencies.append(time.perf_counter() - started)
                    return
            await asyncio.sleep(0.05)
        raise RuntimeError(f"delivery {self._ids} refused")

    async def text(self, http: aiohttp.ClientSession, wa_id: str, text: str) -> None:
        await self.post(http, wa_id, {"type": "text", "text": {"body": text}})

    async def press(self, http: aiohttp.ClientSession, wa_id: str, index: int) -> None:
        sent = self.server.messages[wa_id]
        last = max(i for i, m in enumerate(sent) if m.options)
        first = last
        while first > 0 and sent[first].body in CONTINUED:
            first -= 1  # (a question with more than 10 choices comes as two lists)
        options = [o for m in sent[first : last + 1] for o in m.options]
        reply_id, title, _description = options[index]
        reply = {"type": "list_reply", "list_reply": {"id": reply_id, "title": title}}
        await self.post(http, wa_id, {"type": "interactive", "interactive": reply})

    async def survey(self, http: aiohttp.ClientSession, user: int) -> None:
        wa_id = str(user)
        await self.text(http, wa_id, "START")
        for _ in range(30):
            await self.press(http, wa_id, 1)
        await self.press(http, wa_id, 0)  # multi-select: cash
        await self.press(http, wa_id, 9)  # Done
        await self.text(http, wa_id, "Thank you for asking.")

    async def echo(self, http: aiohttp.ClientSession, user: int, updates: int) -> None:
        for _ in range(updates):
            await self.text(http, str(user), "hello")


async def drive(driver: Driver | WaDriver, users: list[int], concurrency: int, work: Any) -> Run:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for user in users:
        queue.put_nowait(user)
    connector = aiohttp.TCPConnector(limit=concurrency * 2)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def worker() -> None:
            while not queue.empty():
                await work(http, queue.get_nowait())

        driver.run.started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        driver.run.finished = time.perf_counter()
    return driver.run


async def start_processes(command: list[list[str]], env: dict[str, str], log: Path) -> list[Any]:
    handle = log.open("ab")
    return [
        await asyncio.create_subprocess_exec(*c, env=env, stdout=handle, stderr=handle)
        for c in command
    ]


async def stop(processes: list[Any]) -> None:
    for p in processes:
        p.terminate()
    for p in processes:
        await asyncio.wait_for(p.wait(), 20)


async def main(args: argparse.Namespace) -> None:
    pg = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
    redis_url = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/0")
    name = f"rssbot_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(f"{pg}/postgres")
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = f"{pg.replace('postgresql://', 'postgresql+asyncpg://')}/{name}"
    folder = Path(tempfile.mkdtemp(prefix="rssbot-load-"))
    keyring = Keyring.generate()
    keyring.write_file(folder / "keys.json")
    prefix = f"rssbot-bench-{secrets.token_hex(4)}"
    whatsapp = args.channel == "whatsapp"
    server = FakeTelegram()
    server.delays["*"] = args.api_delay / 1000
    await server.start()
    wa_server = FakeWhatsApp()
    await wa_server.start()
    processes: list[Any] = []
    try:
        engine = make_engine(url)
        await upgrade(engine)
        store = Store(engine, keyring)
        await store.verify()
        users = [(22_170_000_000 if whatsapp else 2_000_000) + i for i in range(args.returnees)]
        t0 = time.perf_counter()
        for user in users:
            r = await store.enroll(
                case_ref=f"B-{user}", return_date=date.today(), country="GN", language="en"
            )
            if whatsapp:  # (as Meta shows people since 2026: a BSUID and their number)
                person = wa_server.register(
                    Person(key=str(user), user_id=bsuid_for(str(user)), phone=str(user))
                )
                await store.bind_telegram(
                    r.id, person.user_id, person.user_id, channel="whatsapp", phone=str(user)
                )
            else:
                await store.bind_telegram(r.id, user, user)
            await store.give_consent(r.id, version="bench", language="en")
        print(f"enrolled {len(users)} returnees in {time.perf_counter() - t0:.1f} s")

        env = {
            **os.environ,
            "DATABASE_URL": url,
            "REDIS_URL": redis_url,
            "RSSBOT_REDIS_PREFIX": prefix,
            "RSSBOT_KEY_FILE": str(folder / "keys.json"),
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE": server.base_url,
            "TELEGRAM_WEBHOOK_SECRET": SECRET,
        }
        env.pop("RSSBOT_MASTER_KEY", None)
        if whatsapp:  # WhatsApp only: the workers serve its webhook
            env.pop("TELEGRAM_BOT_TOKEN")
            env.update(
                WHATSAPP_TOKEN=fake_whatsapp.TOKEN,
                WHATSAPP_PHONE_NUMBER_ID=fake_whatsapp.PHONE_NUMBER_ID,
                WHATSAPP_APP_SECRET=fake_whatsapp.APP_SECRET,
                WHATSAPP_VERIFY_TOKEN=fake_whatsapp.VERIFY_TOKEN,
                WHATSAPP_API_BASE=wa_server.base_url,
            )
        ports = [18080 + i for i in range(args.workers)]
        mode = [] if whatsapp else ["--webhook"]
        processes = await start_processes(
            [[RSSBOT, "run", *mode, "--port", str(p), "--log-level", "WARNING"] for p in ports],
            env,
            folder / "workers.log",
        )
        for p in ports:
            await wait_healthy(f"http://127.0.0.1:{p}/healthz")
        path = "whatsapp" if whatsapp else "telegram"
        urls = [f"http://127.0.0.1:{p}/{path}" for p in ports]
        driver: Driver | WaDriver = WaDriver(wa_server, urls) if whatsapp else Driver(server, urls)
        cpu_before = cpu_seconds([p.pid for p in processes])
        survey = await drive(driver, users, args.concurrency, driver.survey)
        survey_cpu = cpu_seconds([p.pid for p in processes]) - cpu_before
        memory = [rss_kb(p.pid) // 1024 for p in processes]
        await stop(processes)
        async with store.sessions() as session:
            from sqlalchemy import func, select

            from storage.models import Answer, SurveyResponse

            answers = await session.scalar(select(func.count()).select_from(Answer))
            completed = await session.scalar(
                select(func.count())
                .select_from(SurveyResponse)
                .where(SurveyResponse.status == "completed")
            )
        await store.close()

        echo_ports = [19080 + i for i in range(args.workers)]
        echo_module = "benchmarks.echo_whatsapp" if whatsapp else "benchmarks.echo_bot"
        processes = await start_processes(
            [[sys.executable, "-m", echo_module, "--port", str(p)] for p in echo_ports],
            env,
            folder / "echo.log",
        )
        for p in echo_ports:
            await wait_healthy(f"http://127.0.0.1:{p}/healthz")
        echo_urls = [f"http://127.0.0.1:{p}/{path}" for p in echo_ports]
        echo_driver: Driver | WaDriver = (
            WaDriver(wa_server, echo_urls) if whatsapp else Driver(server, echo_urls)
        )
        per_user = len(survey.latencies) // len(users)
        cpu_before = cpu_seconds([p.pid for p in processes])
        echo = await drive(
            echo_driver,
            [(22_180_000_000 if whatsapp else 3_000_000) + i for i in range(args.returnees)],
            args.concurrency,
            lambda http, u: echo_driver.echo(http, u, per_user),
        )
        echo_cpu = cpu_seconds([p.pid for p in processes]) - cpu_before
        echo_memory = [rss_kb(p.pid) // 1024 for p in processes]
        await stop(processes)
        processes = []

        n = len(survey.latencies)
        print(
            f"\nsurvey on {args.channel}: {args.returnees} returnees x {per_user} updates = "
            f"{n} updates, {args.workers} webhook workers, PostgreSQL + Redis, encryption on, "
            f"concurrency {args.concurrency}"
            + (f", {args.api_delay:g} ms per Bot API call" if args.api_delay else "")
        )
        print(f"  stored: {answers} answers, {completed} completed surveys")
        print(f"  {survey.rate:.0f} updates/s overall, {survey.rate / args.workers:.0f} per worker")
        print(
            f"  latency per update: p50 {survey.pct(0.5):.1f} ms, p95 {survey.pct(0.95):.1f} ms, "
            f"p99 {survey.pct(0.99):.1f} ms, mean {statistics.mean(survey.latencies) * 1000:.1f} ms"
        )
        survey_ms = survey_cpu * 1000 / n
        print(
            f"  worker CPU per update: {survey_ms:.2f} ms, i.e. at most "
            f"{1000 / survey_ms:.0f} updates/s per worker on a core of its own"
        )
        print(f"  memory per worker (RSS): {', '.join(f'{m} MiB' for m in memory)}")
        print(f"echo bot (same harness, {len(echo.latencies)} updates):")
        echo_mem = ", ".join(f"{m} MiB" for m in echo_memory)
        print(
            f"  {echo.rate:.0f} updates/s overall; p50 {echo.pct(0.5):.1f} ms, "
            f"p95 {echo.pct(0.95):.1f} ms, p99 {echo.pct(0.99):.1f} ms; memory {echo_mem}"
        )
        echo_ms = echo_cpu * 1000 / len(echo.latencies)
        print(f"  worker CPU per update: {echo_ms:.2f} ms")
        latency_ratio = statistics.mean(survey.latencies) / statistics.mean(echo.latencies)
        print(
            f"cost per update vs echo bot: x{survey_ms / echo_ms:.2f} (worker CPU), "
            f"x{echo.rate / survey.rate:.2f} (throughput), x{latency_ratio:.2f} (mean latency)"
        )
    finally:
        if processes:
            await stop(processes)
        await server.stop()
        await wa_server.stop()
        redis = Redis.from_url(redis_url)
        keys = [k async for k in redis.scan_iter(match=f"{prefix}:*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--returnees", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--channel", choices=["telegram", "whatsapp"], default="telegram")
    parser.add_argument(
        "--api-delay",
        type=float,
        default=0,
        help="milliseconds each Bot API call takes (Telegram is not on loopback in real life)",
    )
    asyncio.run(main(parser.parse_args()))
