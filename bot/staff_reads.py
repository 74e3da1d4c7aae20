"""Heavy staff reads asked for in chat (``/export``, ``/stats``, ``/case``) run as
``rssbot`` child processes, so the worker that answers returnees never waits for them:
the child reads and decrypts on another core, writes its file, and the worker sends it.

The child opens the same database with the same keyring (handed over in its environment,
never on its command line), reads under the same weight table, and audits under the
staff member's id.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from pathlib import Path

from scoring import WeightTable
from storage.store import Store

log = logging.getLogger(__name__)
RSSBOT = [sys.executable, "-c", "from bot.cli import main; main()"]


class StaffReadFailed(Exception):
    """The child process ended with an error (its message, without personal data)."""


def _environment(store: Store) -> dict[str, str]:
    env = dict(os.environ)
    env["DATABASE_URL"] = store.engine.url.render_as_string(hide_password=False)
    env["RSSBOT_MASTER_KEY"] = store.keyring.to_json()
    env.pop("RSSBOT_KEY_FILE", None)
    return env


def weights_arguments(table: WeightTable) -> list[str]:
    """The child reads under the worker's weight table (a file, or the built-in one)."""
    source = Path(table.source)
    return ["--weights", str(source)] if source.is_file() else []


async def run_rssbot(store: Store, arguments: list[str], *, timeout: float = 1800) -> str:
    """Run ``rssbot ARGUMENTS`` against the worker's database; its standard output."""
    child = await asyncio.create_subprocess_exec(
        *RSSBOT,
        *arguments,
        env=_environment(store),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(child.communicate(), timeout)
    except (TimeoutError, asyncio.CancelledError):
        child.kill()
        await child.wait()
        raise
    if child.returncode != 0:
        # only the command line's own messages are repeated (never a traceback's values)
        lines = err.decode(errors="replace").splitlines()
        reason = next((line for line in lines if line.startswith("rssbot:")), None)
        log.error("rssbot %s ended with code %s: %s", arguments[0], child.returncode, reason)
        raise StaffReadFailed(reason or f"exit code {child.returncode}")
    return out.decode(errors="replace")
