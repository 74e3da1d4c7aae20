"""Helpers shared by the command-line modules."""

from __future__ import annotations

from typing import NoReturn

import typer

from storage.config import Settings
from storage.crypto import CryptoError, Keyring
from storage.store import StorageError, Store

EXIT_USAGE = 2


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """A clear message on stderr and a non-zero exit code."""
    typer.echo(f"rssbot: {message}", err=True)
    raise typer.Exit(code)


def settings() -> Settings:
    return Settings()


async def open_store(keyring: Keyring | None = None) -> Store:
    """Open the configured store; missing or wrong keys and an old schema end the command."""
    config = settings()
    try:
        return await Store.open(config, keyring=keyring)
    except (CryptoError, StorageError) as exc:
        fail(f"{exc} (nothing was stored)")
