"""The whole bot over real HTTP: aiogram's session -> fake Bot API server on loopback."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import date
from typing import Any, TypeVar

import pytest
from aiohttp import web

from bot.core.services import Core
from bot.feedback_drafts import Drafts
from bot.telegram.app import build_bot, build_dispatcher
from bot.telegram.services import Services
from bot.whatsapp.client import CloudClient
from bot.whatsapp.conversation import WhatsAppConversation
from bot.whatsapp.webhook import add_routes
from flows import FlowDefinition, builtin_definition
from scoring import default_weight_table
from storage.crypto import Keyring
from storage.db import make_engine, upgrade
from storage.store import Store
from tests.backends import Backend
from tests.e2e.fake_telegram import TOKEN, FakeTelegram, FakeUser
from tests.support import fake_whatsapp
from tests.support.fake_whatsapp import FakeWhatsApp, WaUser


async def enrol_and_invite(store: Store, case: str, language: str, return_date: date) -> str:
    """Enrol a returnee of Guinea and make their invitation token."""
    returnee = await store.enroll(
        case_ref=case, return_date=return_date, country="GN", language=language
    )
    return await store.create_invite(returnee.id)


HarnessT = TypeVar("HarnessT", "Harness", "WaHarness")


class Harness:
    """A running bot (polling) against the fake server, restartable like a real process."""

    def __init__(self, server: FakeTelegram, backend: Backend, keyring: Keyring) -> None:
        self.server, self.backend, self.keyring = server, backend, keyring
        self.store: Store | None = None
        self._task: asyncio.Task[None] | None = None
        self._dp = None
        self.today = date(2026, 11, 25)
        #: the database as the bot reaches it (through a proxy a test cuts, say)
        self.database_url = backend.url
        #: returnees enrolled so far (each gets its own case reference)
        self.enrolled = 0
        #: the survey the bot asks (a test may set another one and restart)
        self.definition: FlowDefinition = builtin_definition()

    async def start(self) -> None:
        engine = make_engine(self.database_url)
        self.store = Store(engine, self.keyring)
        await self.store.verify()
        bot = build_bot(TOKEN, self.server.base_url, retry_delay=0.01)
        svc = Services(
            store=self.store,
            definition=self.definition,
            table=default_weight_table(),
            today=lambda: self.today,
        )
        self._dp = dp = build_dispatcher(svc)
        self._task = asyncio.create_task(
            dp.start_polling(bot, handle_signals=False, polling_timeout=1)
        )

    async def stop(self) -> None:
        if self._dp is not None and self._task is not None:
            with contextlib.suppress(RuntimeError):
                await self._dp.stop_polling()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(self._task, 10)
        if self.store is not None:
            await self.store.close()
        self._task = self._dp = self.store = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    async def invite(
        self,
        *,
        language: str = "en",
        return_date: date = date(2026, 10, 1),
        case: str | None = None,
    ) -> str:
        """Enrol a returnee (case references CASE-1, CASE-2... in order) and invite them."""
        assert self.store is not None
        self.enrolled += 1
        case = case or f"CASE-{self.enrolled}"
        return await enrol_and_invite(self.store, case, language, return_date)


@contextlib.asynccontextmanager
async def running_bot(
    backend: Backend, keyring: Keyring, definition: FlowDefinition | None = None
) -> AsyncIterator[Harness]:
    """The Telegram bot polling the fake Bot API, on a fresh database (asking
    ``definition``, else the RSS)."""
    server = FakeTelegram()
    h = Harness(server, backend, keyring)
    h.definition = definition or h.definition
    async with _running(backend, server, h) as running:
        yield running


@contextlib.asynccontextmanager
async def _running(backend: Backend, server: Any, h: HarnessT) -> AsyncIterator[HarnessT]:
    """``h`` started against ``server`` on a freshly migrated database; stopped after."""
    engine = make_engine(backend.url)
    await upgrade(engine)
    await engine.dispose()
    await server.start()
    await h.start()
    try:
        yield h
    finally:
        await h.stop()
        await server.stop()


@pytest.fixture
async def harness(backend: Backend, keyring: Keyring) -> AsyncIterator[Harness]:
    async with running_bot(backend, keyring) as h:
        yield h


@pytest.fixture
def user_factory(harness: Harness):  # type: ignore[no-untyped-def]
    ids = iter(range(50001, 60000))

    def make(language_code: str = "en") -> FakeUser:
        return FakeUser(harness.server, next(ids), language_code)

    return make


class WaHarness:
    """The bot's WhatsApp webhook (aiohttp on loopback) against the fake Cloud API,
    restartable like a real process."""

    def __init__(self, server: FakeWhatsApp, backend: Backend, keyring: Keyring) -> None:
        self.server, self.backend, self.keyring = server, backend, keyring
        self.store: Store | None = None
        self.client: CloudClient | None = None
        self.today = date(2026, 11, 25)
        self.enrolled = 0
        self.definition: FlowDefinition = builtin_definition()
        self._runner: web.AppRunner | None = None
        self._numbers = iter(range(22177000001, 22177999999))
        #: feedback being prepared (Redis-shared by several workers)
        self.drafts: Drafts | None = None
        #: this worker's webhook
        self.url = ""

    async def start(self) -> None:
        self.store = Store(make_engine(self.backend.url), self.keyring)
        await self.store.verify()
        self.client = CloudClient(
            fake_whatsapp.TOKEN, fake_whatsapp.PHONE_NUMBER_ID, base_url=self.server.base_url
        )
        core = Core(
            store=self.store,
            definition=self.definition,
            table=default_weight_table(),
            today=lambda: self.today,
        )
        app = web.Application()
        add_routes(
            app,
            WhatsAppConversation(
                core,
                self.client,
                drafts=self.drafts or Drafts(),
            ),
            path="/whatsapp",
            app_secret=fake_whatsapp.APP_SECRET,
            verify_token=fake_whatsapp.VERIFY_TOKEN,
        )
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = self.server.webhook_url = f"http://127.0.0.1:{port}/whatsapp"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self.client is not None:
            await self.client.close()
        if self.store is not None:
            await self.store.close()
        self._runner = self.client = self.store = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    async def invite(self, *, language: str = "en", return_date: date = date(2026, 10, 1)) -> str:
        assert self.store is not None
        self.enrolled += 1
        return await enrol_and_invite(self.store, f"CASE-{self.enrolled}", language, return_date)

    def new_user(self, language_code: str = "en") -> WaUser:
        return WaUser(self.server, str(next(self._numbers)))


@pytest.fixture
async def wa_harness(backend: Backend, keyring: Keyring) -> AsyncIterator[WaHarness]:
    async with running_wa_bot(backend, keyring) as h:
        yield h


@contextlib.asynccontextmanager
async def running_wa_bot(
    backend: Backend, keyring: Keyring, definition: FlowDefinition | None = None
) -> AsyncIterator[WaHarness]:
    """The bot's WhatsApp webhook against the fake Cloud API, on a fresh database (asking
    ``definition``, else the RSS)."""
    server = FakeWhatsApp()
    h = WaHarness(server, backend, keyring)
    h.definition = definition or h.definition
    async with _running(backend, server, h) as running:
        yield running
