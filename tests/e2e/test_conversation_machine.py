"""A property-based conversation test: hypothesis drives random sequences of what returnees,
strangers and groups do (invitations, language, consent and refusal, answers, back, typed
text, stickers, /stop and stop words, block and unblock, /delete, feedback, group
messages, duplicated updates, reminder rounds) through the dispatcher, with Bot API calls
going over HTTP to the fake server, and checks after every step:

- nothing is stored without consent (no answer, no feedback from someone not active);
- no message after an opt-out (a reminder round reaches only active returnees, and a
  step by one person sends nothing to another);
- no personal data to a non-private chat (a group only ever gets the neutral line);
- a duplicated update is applied once (nothing changes, nothing is sent);
- at the end: every stored typed answer is a text the returnee sent, and the canary
  answer is nowhere in the database in clear nor in the logs.

Bounded in CI (``RSSBOT_MACHINE_EXAMPLES``, default 12 per back end); for a longer run:
``RSSBOT_MACHINE_EXAMPLES=500 .venv/bin/python -m pytest tests/e2e/test_conversation_machine.py``.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import secrets
import shutil
import tempfile
from datetime import date
from typing import Any

import pytest
from aiogram.methods import TelegramMethod
from aiogram.types import Update
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule
from sqlalchemy import func, select

from bot.rate_limits import RateLimiter
from bot.telegram.app import build_bot, build_dispatcher
from bot.telegram.private_chats import private_only_line
from bot.telegram.sender import RoundSender
from bot.telegram.services import Services
from flows import builtin_definition
from scoring import default_weight_table
from storage import outbox
from storage.crypto import Keyring
from storage.db import make_engine, upgrade
from storage.models import Answer, Base, Feedback, SurveyResponse
from storage.store import Store
from storage.waves import WaveWindows
from tests.backends import PG_HOST, PG_PORT, PG_USER, _pg_admin, services_required
from tests.e2e.fake_telegram import TOKEN, FakeTelegram, FakeUser

CANARY = "CANARY-machine-7d2e-heron-quartz"
TODAY = date(2026, 11, 25)
GROUP = -100777
TEXTS = [CANARY, "1", "2", "Satisfied", "hello", "/teleport", "", "x" * 600]
COMMANDS = [
    "/start",
    "/stop",
    "STOP",
    "ARRET",
    "توقف",
    "/mydata",
    "/language",
    "/help",
    "/feedback",
    "/cancel",
    "/delete",
]
EXAMPLES = int(os.environ.get("RSSBOT_MACHINE_EXAMPLES", "12"))


class RecordAll(logging.Handler):
    """Every log record's message, before any redaction."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


class Conversation(RuleBasedStateMachine):
    #: set by the test function: the back end ("sqlite" or "postgresql")
    backend = "sqlite"

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.tmp = tempfile.mkdtemp(prefix="rssbot-machine-")
        self.database: str | None = None
        self.log = RecordAll()
        logging.getLogger().addHandler(self.log)
        self.run(self._setup())

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    async def _setup(self) -> None:
        if self.backend == "postgresql":
            self.database = f"rssbot_machine_{secrets.token_hex(4)}"
            await _pg_admin(f'CREATE DATABASE "{self.database}"')
            url = f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{self.database}"
        else:
            url = f"sqlite+aiosqlite:///{self.tmp}/rssbot.db"
        engine = make_engine(url)
        await upgrade(engine)
        await engine.dispose()
        self.store = Store(make_engine(url), Keyring.generate())
        await self.store.verify()
        self.server = FakeTelegram()
        await self.server.start()
        self.bot = build_bot(TOKEN, self.server.base_url, retry_delay=0.01)
        svc = Services(
            store=self.store,
            definition=builtin_definition(),
            table=default_weight_table(),
            today=lambda: TODAY,
        )
        self.dp = build_dispatcher(svc)
        self.users = [
            FakeUser(self.server, 880001, "en"),
            FakeUser(self.server, 880002, "fr"),
            FakeUser(self.server, 880003, "ar"),
        ]
        self.invited: set[int] = set()
        self.cases = itertools.count(1)
        #: every text each user typed (a stored text answer must be one of them)
        self.typed: dict[int, set[str]] = {u.user_id: set() for u in self.users}
        self.last_private: dict[int, tuple[int, dict[str, Any]]] = {}
        #: who said stop (in a private chat, while registered) and has not agreed since:
        #: whatever the bot's state, nothing of theirs may be stored
        self.stopped: set[int] = set()

    def teardown(self) -> None:
        try:
            self.run(self._final_checks())
        finally:
            self.run(self._close())
            self.loop.close()
            logging.getLogger().removeHandler(self.log)
            shutil.rmtree(self.tmp, ignore_errors=True)

    async def _close(self) -> None:
        await self.bot.session.close()
        await self.store.close()
        await self.server.stop()
        if self.database is not None:
            await _pg_admin(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')

    # -- delivering updates, as polling would ---------------------------------------------

    async def _deliver(self) -> None:
        while self.server._updates:
            raw = self.server._updates.pop(0)
            update = Update.model_validate(raw, context={"bot": self.bot})
            result = await self.dp.feed_update(self.bot, update)
            if isinstance(result, TelegramMethod):
                await self.bot(result)

    async def _snapshot(self) -> dict[str, Any]:
        statuses: dict[int, str | None] = {}
        ids: dict[int, str] = {}
        for user in self.users:
            found = await self.store.find_by_telegram(user.user_id)
            statuses[user.user_id] = found.status if found else None
            if found:
                ids[user.user_id] = found.id
        async with self.store.sessions() as session:
            rows = await session.execute(
                select(SurveyResponse.returnee_id, func.count(Answer.id))
                .join(Answer, Answer.response_id == SurveyResponse.id)
                .group_by(SurveyResponse.returnee_id)
            )
            answers = {returnee: int(n) for returnee, n in rows.all()}
            feedback = int(await session.scalar(select(func.count()).select_from(Feedback)) or 0)
        return {
            "status": statuses,
            "answers": {u: answers.get(ids[u], 0) for u in ids},
            "feedback": feedback,
            "messages": {c: len(m) for c, m in self.server.messages.items()},
        }

    def _step(self, actor: FakeUser | None, act: Any, *, duplicate: bool = False) -> None:
        async def go() -> None:
            before = await self._snapshot()
            act()
            if actor is not None and actor.chat["type"] == "private" and actor.last_update:
                self.last_private[actor.user_id] = actor.last_update
            await self._deliver()
            after = await self._snapshot()
            self._check(actor, before, after, duplicate=duplicate)

        self.run(go())

    def _check(
        self,
        actor: FakeUser | None,
        before: dict[str, Any],
        after: dict[str, Any],
        *,
        duplicate: bool,
    ) -> None:
        for user_id, status in before["status"].items():
            if status != "active" or user_id in self.stopped:  # nothing without consent
                assert after["answers"].get(user_id, 0) <= before["answers"].get(user_id, 0)
        for user_id, status in after["status"].items():
            if status == "declined":  # "nothing of your answers is kept"
                assert after["answers"].get(user_id, 0) == 0, user_id
        acting_active = actor is not None and before["status"].get(actor.user_id) == "active"
        if not acting_active:
            assert after["feedback"] == before["feedback"]
        new_messages = {
            chat: n - before["messages"].get(chat, 0)
            for chat, n in after["messages"].items()
            if n > before["messages"].get(chat, 0)
        }
        if duplicate:  # applied once: nothing changes, nothing is sent
            assert after["answers"] == before["answers"]
            assert after["feedback"] == before["feedback"]
            assert new_messages == {}
        if actor is not None:  # one person's step sends nothing to another's chat
            others = {u.chat_id for u in self.users} - {actor.user_id}
            assert not set(new_messages) & others, new_messages
        for message in self.server.messages.get(GROUP, []):  # no personal data in a group
            assert message.kind == "text" and message.file is None
            assert message.text in {private_only_line(c) for c in ("en", "fr", "ar")}

    # -- rules ------------------------------------------------------------------------------

    @initialize(
        consent=st.lists(st.sampled_from(["agree", "refuse", "wait"]), min_size=3, max_size=3)
    )
    def open_invitations(self, consent: list[str]) -> None:
        """Most runs start with invited people at the consent screen, or past it."""
        for user, choice in zip(self.users, consent, strict=True):
            self.invite(self.users.index(user))
            language = user.last_with_buttons()
            self._step(
                user, lambda u=user, m=language: u.press_data(m.buttons()[0]["callback_data"], m)
            )
            if choice != "wait":
                screen = user.last_with_buttons()
                data = "consent:1" if choice == "agree" else "consent:0"
                self._step(user, lambda u=user, m=screen, d=data: u.press_data(d, m))

    @rule(who=st.integers(0, 2))
    def invite(self, who: int) -> None:
        user = self.users[who]

        async def token() -> str:
            returnee = await self.store.enroll(
                case_ref=f"CASE-{user.user_id}-{next(self.cases)}",  # (enrolled anew)
                return_date=date(2026, 10, 1),
                country="GN",
                language=user.language_code,
            )
            return await self.store.create_invite(returnee.id)

        link = self.run(token())
        self.invited.add(user.user_id)
        self._step(user, lambda: user.send(f"/start {link}"))

    @rule(who=st.integers(0, 2), n=st.integers(0, 40))
    def press(self, who: int, n: int) -> None:
        user = self.users[who]
        with_buttons = [m for m in user.messages if m.buttons()]
        if not with_buttons:
            return
        message = with_buttons[-1] if n % 5 else with_buttons[n % len(with_buttons)]
        data = message.buttons()[n % len(message.buttons())]["callback_data"]
        self._step(user, lambda: user.press_data(data, message))
        if data == "consent:1" and self._status(user) == "active":
            self.stopped.discard(user.user_id)

    def _status(self, user: FakeUser) -> str | None:
        found = self.run(self.store.find_by_telegram(user.user_id))
        return None if found is None else found.status

    @rule(who=st.integers(0, 2), presses=st.lists(st.integers(0, 3), min_size=1, max_size=6))
    def answer_a_few(self, who: int, presses: list[int]) -> None:
        """Press one of the first options of the latest message, a few times running."""
        user = self.users[who]
        for n in presses:
            with_buttons = [m for m in user.messages if m.buttons()]
            if not with_buttons:
                return
            message = with_buttons[-1]
            data = message.buttons()[n % len(message.buttons())]["callback_data"]
            self._step(user, lambda m=message, d=data: user.press_data(d, m))
            if data == "consent:1" and self._status(user) == "active":
                self.stopped.discard(user.user_id)  # (consent given again, as in press)

    @rule(who=st.integers(0, 2), text=st.sampled_from(TEXTS))
    def type_text(self, who: int, text: str) -> None:
        user = self.users[who]
        self.typed[user.user_id].add(text.strip())
        self._step(user, lambda: user.send(text or " "))

    @rule(who=st.integers(0, 2), command=st.sampled_from(COMMANDS))
    def command(self, who: int, command: str) -> None:
        user = self.users[who]
        registered = self.run(self.store.find_by_telegram(user.user_id)) is not None
        self._step(user, lambda: user.send(command))
        if registered and command in ("/stop", "STOP", "ARRET", "توقف"):
            self.stopped.add(user.user_id)

    @rule(who=st.integers(0, 2))
    def sticker(self, who: int) -> None:
        user = self.users[who]
        self._step(user, user.send_sticker)

    @rule(who=st.integers(0, 2), block=st.booleans())
    def block_or_unblock(self, who: int, block: bool) -> None:
        user = self.users[who]
        self._step(user, user.block if block else user.unblock)

    @rule(who=st.integers(0, 2), command=st.sampled_from([*COMMANDS, "/export", "/inbox"]))
    def in_a_group(self, who: int, command: str) -> None:
        user = self.users[who]
        in_group = user.in_chat(GROUP, "group")
        self._step(in_group, lambda: in_group.send(command))

    @rule(who=st.integers(0, 2))
    def press_in_a_group(self, who: int) -> None:
        user = self.users[who]
        with_buttons = [m for m in user.messages if m.buttons()]
        if not with_buttons:
            return
        in_group = user.in_chat(GROUP, "supergroup")
        message = with_buttons[-1]
        data = message.buttons()[0]["callback_data"]
        self._step(in_group, lambda: in_group.press_data(data, message))

    @precondition(lambda self: bool(self.last_private))
    @rule(who=st.integers(0, 2))
    def duplicate(self, who: int) -> None:
        user = self.users[who]
        last = self.last_private.get(user.user_id)
        if last is None:
            return
        self._step(user, lambda: self.server.redeliver(*last), duplicate=True)

    @rule()
    def reminder_round(self) -> None:
        async def go() -> None:
            before = await self._snapshot()
            preview = await outbox.preview_round(
                self.store, wave="initial", country=None, windows=WaveWindows(), today=TODAY
            )
            if preview.to_remind:
                round_id = await outbox.create_round(self.store, preview, actor="test")
                await RoundSender(self.store, self.bot, RateLimiter(rate=None)).run(round_id)
            after = await self._snapshot()
            for user in self.users:  # no message to anyone who is not active
                if before["status"][user.user_id] != "active":
                    old = before["messages"].get(user.chat_id, 0)
                    assert after["messages"].get(user.chat_id, 0) == old

        self.run(go())

    # -- at the end -------------------------------------------------------------------------

    async def _final_checks(self) -> None:
        for user in self.users:
            found = await self.store.find_by_telegram(user.user_id)
            if found is None:
                continue
            data = await self.store.my_data(found.id)
            for survey in data["surveys"]:
                for value in survey["answers"].values():
                    if value.get("kind") == "text":
                        assert value["text"] in self.typed[user.user_id]
        async with self.store.sessions() as session:
            for table in Base.metadata.sorted_tables:
                for row in (await session.execute(table.select())).all():
                    for value in row._mapping.values():
                        if isinstance(value, str | bytes):
                            raw = value.encode() if isinstance(value, str) else value
                            assert CANARY.encode() not in raw, table.name
        assert not any(CANARY in m for m in self.log.messages)


def _run(backend: str) -> None:
    Conversation.backend = backend
    test = Conversation.TestCase
    test.settings = settings(
        max_examples=EXAMPLES,
        stateful_step_count=30,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    test().runTest()


def test_conversations_on_sqlite() -> None:
    _run("sqlite")


def test_conversations_on_postgresql() -> None:
    async def available() -> str | None:
        try:
            await _pg_admin("SELECT 1")
        except Exception as exc:
            return repr(exc)
        return None

    problem = asyncio.run(available())
    if problem is not None:
        message = f"PostgreSQL at {PG_HOST}:{PG_PORT} is not available: {problem}"
        if services_required():
            pytest.fail(message)
        pytest.skip(message)
    _run("postgresql")
