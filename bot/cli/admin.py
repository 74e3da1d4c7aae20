"""``rssbot init``, ``rssbot db ...`` and ``rssbot keys ...``: set-up and key management."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.engine import make_url

from bot.common import configured_definition, fail, open_store, settings
from bot.consent import DataPolicy
from bot.survey_scores import score_unscored_surveys
from flows import FlowDefinition
from scoring import default_weight_table
from storage.crypto import CryptoError, Keyring
from storage.db import current_revision, head_revision, make_engine, upgrade
from storage.store import load_keyring

db_app = typer.Typer(help="The database (SQLite by default, PostgreSQL with DATABASE_URL).")
keys_app = typer.Typer(help="Encryption keys: generate, rotate, status.")


def _safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


async def _upgrade(url: str) -> str | None:
    engine = make_engine(url)
    try:
        await upgrade(engine)
        return await current_revision(engine)
    finally:
        await engine.dispose()


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the schema to the latest revision (safe to run again)."""
    url = settings().resolved_database_url
    try:
        revision = asyncio.run(_upgrade(url))
    except Exception as exc:  # connection refused, permissions...
        fail(f"cannot upgrade {_safe_url(url)}: {exc.__class__.__name__}: {exc}")
    typer.echo(f"{_safe_url(url)}: schema at revision {revision} (head {head_revision()})")
    try:
        keyring = load_keyring(settings())
    except CryptoError:
        typer.echo("No keyring here: completed surveys without scores are scored by 'rssbot run'.")
        return
    scored = asyncio.run(_score_unscored(keyring, configured_definition()))
    if scored:
        typer.echo(f"Scored {scored} completed surveys that had no scores.")


async def _score_unscored(keyring: Keyring, definition: FlowDefinition) -> int:
    store = await open_store(keyring=keyring)
    try:
        return await score_unscored_surveys(store, definition, default_weight_table())
    finally:
        await store.close()


@db_app.command("erase-expired")
def db_erase_expired() -> None:
    """Erase returnees past the retention period (RSSBOT_RETENTION_MONTHS after their
    return); the running bot does it every hour."""
    months = DataPolicy().retention_months

    async def _erase() -> int:
        store = await open_store()
        try:
            return await store.erase_past_retention(months)
        finally:
            await store.close()

    erased = asyncio.run(_erase())
    typer.echo(f"Erased {erased} returnees whose return was more than {months} months ago.")


def _generate(path: Path) -> None:
    Keyring.generate().write_file(path)
    typer.echo(
        f"Wrote a new keyring to {path} (mode 0600). Back it up apart from the database: "
        "without it the answers cannot be read; with it and a database copy, they can."
    )


@keys_app.command("generate")
def keys_generate(
    output: Annotated[
        Path | None, typer.Option(help="Where to write it (default: the key file).")
    ] = None,
    stdout: Annotated[
        bool, typer.Option("--stdout", help="Print it instead, for RSSBOT_MASTER_KEY.")
    ] = False,
) -> None:
    """Create a keyring: a key-encryption key and the pseudonym pepper."""
    if stdout:
        typer.echo(Keyring.generate().to_json().replace("\n", "").replace("  ", ""))
        return
    path = output or settings().resolved_key_file
    try:
        _generate(path)
    except CryptoError as exc:
        fail(str(exc))


async def _rotate(path: Path, batch_size: int) -> None:
    keyring = Keyring.read_file(path)
    store = await open_store(keyring=keyring)
    try:
        in_use = await store.keys_in_use()
        pending = {k: n for k, n in in_use.items() if k != keyring.active}
        if not pending and len(keyring.keks) == 1:
            rotated = Keyring.generate()
            keyring.keks[rotated.active] = rotated.keks[rotated.active]
            keyring.active = rotated.active
            keyring.write_file(path, overwrite=True)  # the new key is safe before it is used
            await store.verify()  # records the new key's check value
            typer.echo(f"New active key {keyring.active} saved in {path}.")
        elif pending:
            typer.echo(f"Resuming: {sum(pending.values())} data keys still under old keys.")
        done = await store.rewrap_data_keys(
            batch_size=batch_size, after_batch=lambda n: typer.echo(f"  re-wrapped {n}")
        )
        retired = sorted(k for k in keyring.keks if k != keyring.active)
        for kek_id in retired:
            del keyring.keks[kek_id]
        keyring.write_file(path, overwrite=True)
        typer.echo(
            f"Re-wrapped {done} data keys under {keyring.active}; retired "
            f"{', '.join(retired) or 'no old key'}. Answers were not touched. "
            "Replace your backup of the key file now."
        )
    finally:
        await store.close()


@keys_app.command("rotate")
def keys_rotate(
    batch_size: Annotated[int, typer.Option(min=1, help="Data keys per transaction.")] = 500,
) -> None:
    """Re-wrap every data key under a new key-encryption key (resumable if interrupted)."""
    config = settings()
    if config.master_key is not None:
        fail(
            "keys rotate works on a key file: write RSSBOT_MASTER_KEY to a file, point "
            "RSSBOT_KEY_FILE at it and unset RSSBOT_MASTER_KEY, rotate, then store the new one"
        )
    try:
        asyncio.run(_rotate(config.resolved_key_file, batch_size))
    except CryptoError as exc:
        fail(str(exc))


@keys_app.command("status")
def keys_status() -> None:
    """Which keys this database uses (no key material is printed)."""

    async def _status() -> None:
        store = await open_store()
        try:
            in_use = await store.keys_in_use()
        finally:
            await store.close()
        typer.echo(f"keyring: {store.keyring.source}; active key: {store.keyring.active}")
        for kek_id, count in sorted(in_use.items()):
            typer.echo(f"  {kek_id}: {count} data keys")

    asyncio.run(_status())


def init() -> None:
    """Set up the embedded default: a keyring (if none yet) and the database schema."""
    config = settings()
    if config.master_key is None and not config.resolved_key_file.exists():
        _generate(config.resolved_key_file)
    else:
        typer.echo("Keys: already configured.")
    db_upgrade()
